/// This rank's side of the locks other ranks manage: the successors their managers named
/// to it, and its deferred releases. Pure state; `SyncService` keeps it under a mutex
/// shared by the application thread (releases, requests) and the service thread (namings).
///
/// A deferred release: a rank that releases a lock it was also the last holder of (no other
/// rank took it in between) keeps the release instead of sending it, because the likeliest
/// next taker is itself. Its next request of the lock carries the release (one message a
/// round, not two); a request for another lock or a collective call sends it first; and if
/// another rank asks for the lock meanwhile, the manager names that rank the holder's
/// successor as usual, and the holder's service thread hands the lock off at once.
struct LockHolder {
    struct Release: Equatable {
        let lock: Int
        let manager: Int
        /// The scope of the grant this release ends, and the barriers passed at it.
        let scope: Int
        let barriers: Int
        let pages: [Int]
    }

    /// What to do with a release now.
    enum Outcome: Equatable {
        /// Grant the lock to the named successor (its notices with the release's pages
        /// added) and tell the manager, with the release marked handed off.
        case handOff(LockManager.Successor, Release)
        case send(Release)
        case deferred
    }

    private var successors: [Int: LockManager.Successor] = [:]
    private var deferred: [Int: Release] = [:]

    var deferredCount: Int { deferred.count }

    /// The application thread releases a lock: to its successor if one was named for this
    /// holding (older namings are dropped), else deferred if `deferrable`, else sent.
    mutating func release(_ release: Release, deferrable: Bool) -> Outcome {
        if let successor = successors.removeValue(forKey: release.lock), Self.names(successor, release) {
            return .handOff(successor, release)
        }
        guard deferrable else { return .send(release) }
        deferred[release.lock] = release
        return .deferred
    }

    /// The service thread got a successor named by `lock`'s manager: if this rank deferred
    /// that holding's release, the lock goes to the successor now; otherwise the naming
    /// waits for the application thread's release.
    mutating func named(_ successor: LockManager.Successor) -> Outcome? {
        if let release = deferred[successor.lock], Self.names(successor, release) {
            deferred[successor.lock] = nil
            return .handOff(successor, release)
        }
        successors[successor.lock] = successor
        return nil
    }

    /// The deferred release of `lock`, to travel with this rank's next request of it.
    mutating func takeDeferred(_ lock: Int) -> Release? { deferred.removeValue(forKey: lock) }

    /// Every deferred release, to be sent (before a collective call, or a request for
    /// another lock), in lock order.
    mutating func takeAllDeferred() -> [Release] {
        let all = deferred.values.sorted { $0.lock < $1.lock }
        deferred.removeAll(keepingCapacity: true)
        return all
    }

    /// Whether `successor` was named for the holding `release` ends.
    private static func names(_ successor: LockManager.Successor, _ release: Release) -> Bool {
        successor.holderScope == release.scope && successor.holderBarriers == release.barriers
    }
}
