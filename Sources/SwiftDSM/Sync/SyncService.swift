import CMPI
import Synchronization

/// Runs the lock and condition-variable managers of this rank on its service thread and
/// sends their grants. The locks this rank manages are also taken and released by its own
/// application thread directly (`acquireHere`, `releaseHere`), without a message to
/// itself: the lock table is shared by the two threads under a mutex.
final class SyncService: RequestHandler, @unchecked Sendable {
    private let cluster: Cluster
    private let locks = Mutex(LockManager())
    private var conditions = ConditionManager()

    private let maxLocks: Int
    private let maxConditions: Int

    init(cluster: Cluster, maxLocks: Int, maxConditions: Int) {
        self.cluster = cluster
        self.maxLocks = maxLocks
        self.maxConditions = maxConditions
    }

    static let kinds: [RequestKind] = [.acquireLock, .releaseLock, .setCondition, .resetCondition, .waitCondition]

    func handle(_ kind: RequestKind, from source: Int, body: inout MessageReader) throws(MalformedMessage) {
        switch kind {
        case .acquireLock:
            let lock = try body.int(in: 0..<maxLocks, "lock id")
            let lastScope = try body.int()
            let barriers = try body.int()
            let grant = locks.withLock { $0.acquire(lock, by: source, lastScope: lastScope, barriers: barriers) }
            if let grant { send(grant) }
        case .releaseLock:
            let lock = try body.int(in: 0..<maxLocks, "lock id")
            let barriers = try body.int()
            let pages = try body.ints()
            guard pages.allSatisfy({ $0 >= 0 }) else { throw MalformedMessage(reason: "a negative page number") }
            let grant = try locks.withLock { manager throws(MalformedMessage) -> LockManager.Grant? in
                if manager.isStale(lock, barriers: barriers) { return nil }  // sent before the manager moved
                guard manager.holder(of: lock) == source else {
                    throw MalformedMessage(reason: "release of lock \(lock), which rank \(source) does not hold")
                }
                return manager.release(lock, by: source, pages: pages, barriers: barriers)
            }
            if let grant { send(grant) }
        case .setCondition:
            for rank in conditions.set(try body.int(in: 0..<maxConditions, "condition id")) { sendConditionGrant(to: rank) }
        case .resetCondition:
            conditions.reset(try body.int(in: 0..<maxConditions, "condition id"))
        case .waitCondition:
            if conditions.wait(try body.int(in: 0..<maxConditions, "condition id"), by: source) {
                sendConditionGrant(to: source)
            }
        default:
            throw MalformedMessage(reason: "the synchronization service takes no \(kind) requests")
        }
    }

    /// This rank's own acquire of a lock it manages: the grant at once if the lock is free;
    /// otherwise this rank waits in line and its grant comes as a message, as for any rank.
    func acquireHere(_ lock: Int, lastScope: Int, barriers: Int) -> LockManager.Grant? {
        locks.withLock { $0.acquire(lock, by: cluster.rank, lastScope: lastScope, barriers: barriers) }
    }

    /// This rank's own release of a lock it manages; the next waiter's grant is sent from here.
    func releaseHere(_ lock: Int, pages: [Int], barriers: Int) {
        let grant = locks.withLock { $0.release(lock, by: cluster.rank, pages: pages, barriers: barriers) }
        if let grant { send(grant) }
    }

    /// At a barrier: `lock` is managed by another rank from now on, or by this one.
    func managerMoved(_ lock: Int, atBarrier barriers: Int, away: Bool) {
        locks.withLock { $0.managerMoved(lock, atBarrier: barriers, away: away) }
    }

    private func send(_ grant: LockManager.Grant) {
        var writer = MessageWriter(capacity: 24 + grant.pages.count * 8)
        writer.append(grant.scope)
        writer.append(grant.pages)
        ServiceThread.send(writer.bytes, to: grant.rank, tag: Tag.lockGrant, comm: cluster.replyComm)
    }

    private func sendConditionGrant(to rank: Int) {
        ServiceThread.send([1], to: rank, tag: Tag.conditionGrant, comm: cluster.replyComm)
    }
}
