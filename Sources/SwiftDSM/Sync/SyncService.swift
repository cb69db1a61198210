import CMPI
import Synchronization

/// Runs the lock and condition-variable managers of this rank on its service thread and
/// sends their grants. The locks this rank manages are also taken and released by its own
/// application thread directly (`acquireHere`, `releaseHere`), without a message to
/// itself: the lock table is shared by the two threads under a mutex. Stored properties
/// unchecked for exclusivity at run time, as `CoherenceEngine` says why.
final class SyncService: RequestHandler, @unchecked Sendable {
    private let cluster: Cluster
    private let locks = Mutex(LockManager())
    private let conditions = Mutex(ConditionManager())
    /// Checkpoint markers received in the current round (`snapshotConditions`).
    @exclusivity(unchecked) private var markers = 0
    /// The lock-handoff setting: this rank, as a manager, names successors to holders, and as
    /// a holder defers releases (which only a naming can recall).
    /// Set before the service thread starts.
    @exclusivity(unchecked) var handOff = true
    /// This rank as the holder of locks other ranks manage: named successors, deferred releases.
    private let holder = Mutex(LockHolder())

    private let maxLocks: Int
    private let maxConditions: Int

    private let channel: MessageChannel

    init(cluster: Cluster, channel: MessageChannel, maxLocks: Int, maxConditions: Int) {
        self.cluster = cluster
        self.channel = channel
        self.maxLocks = maxLocks
        self.maxConditions = maxConditions
    }

    static let kinds: [RequestKind] = [.acquireLock, .releaseLock, .lockSuccessor, .setCondition, .resetCondition,
                                       .waitCondition, .conditionMarker]

    func handle(_ kind: RequestKind, from source: Int, body: inout MessageReader) throws(MalformedMessage) {
        switch kind {
        case .acquireLock:
            let lock = try body.int(in: 0..<maxLocks, "lock id")
            let lastScope = try body.int()
            let barriers = try body.int()
            if try body.int(in: 0..<2, "release flag") == 1 {  // its deferred release of the lock
                try applyRelease(of: lock, from: source, body: &body)
            }
            let grant = locks.withLock { $0.acquire(lock, by: source, lastScope: lastScope, barriers: barriers) }
            if let grant { send(grant) } else { nameSuccessor(lock) }
        case .releaseLock:
            let lock = try body.int(in: 0..<maxLocks, "lock id")
            try applyRelease(of: lock, from: source, body: &body)
        case .lockSuccessor:
            let lock = try body.int(in: 0..<maxLocks, "lock id")
            let holderScope = try body.int()
            let holderBarriers = try body.int()
            let rank = try body.int(in: 0..<cluster.size, "successor rank")
            let scope = try body.int()
            let pages = try body.ints()
            guard pages.allSatisfy({ $0 >= 0 }) else { throw MalformedMessage(reason: "a negative page number") }
            let successor = LockManager.Successor(lock: lock, holder: cluster.rank, holderScope: holderScope,
                                                  holderBarriers: holderBarriers,
                                                  grant: LockManager.Grant(rank: rank, scope: scope, pages: pages))
            if let outcome = holder.withLock({ $0.named(successor) }) { carryOut(outcome) }
        case .setCondition:
            let cv = try body.int(in: 0..<maxConditions, "condition id")
            for rank in conditions.withLock({ $0.set(cv) }) { sendConditionGrant(to: rank) }
        case .resetCondition:
            let cv = try body.int(in: 0..<maxConditions, "condition id")
            conditions.withLock { $0.reset(cv) }
        case .waitCondition:
            let cv = try body.int(in: 0..<maxConditions, "condition id")
            if conditions.withLock({ $0.wait(cv, by: source) }) { sendConditionGrant(to: source) }
        case .conditionMarker:
            // Every rank's requests sent before its marker were handled before it (each
            // rank's requests arrive in order), so once all markers are in, the set
            // conditions are those of the moment every rank entered the checkpoint.
            markers += 1
            guard markers == cluster.size else { return }
            markers = 0
            var writer = MessageWriter(capacity: 16)
            writer.append(conditions.withLock { $0.setConditions })
            channel.send(writer.bytes, tag: Tag.conditionSnapshot, to: cluster.rank)
        default:
            throw MalformedMessage(reason: "the synchronization service takes no \(kind) requests")
        }
    }

    /// A release (`barriers`, hand-off flag, pages) of `lock` by `source`, alone or carried
    /// by its next request of the lock.
    private func applyRelease(of lock: Int, from source: Int, body: inout MessageReader) throws(MalformedMessage) {
        let barriers = try body.int()
        let handedOff = try body.int(in: 0..<2, "hand-off flag") == 1
        let pages = try body.ints()
        guard pages.allSatisfy({ $0 >= 0 }) else { throw MalformedMessage(reason: "a negative page number") }
        let grant = try locks.withLock { manager throws(MalformedMessage) -> LockManager.Grant? in
            if manager.isStale(lock, barriers: barriers) { return nil }  // sent before the manager moved
            guard manager.mayRelease(lock, by: source) else {
                throw MalformedMessage(reason: "release of lock \(lock), which rank \(source) does not hold")
            }
            guard !handedOff || manager.successor(of: lock, heldBy: source) != nil else {
                throw MalformedMessage(reason: "hand-off of lock \(lock) by rank \(source), which was named no successor")
            }
            return manager.release(lock, by: source, pages: pages, barriers: barriers, handedOff: handedOff)
        }
        if let grant { send(grant) }
        nameSuccessor(lock)
    }

    /// This rank's own acquire of a lock it manages: the grant at once if the lock is free;
    /// otherwise this rank waits in line and its grant comes as a message, as for any rank.
    func acquireHere(_ lock: Int, lastScope: Int, barriers: Int) -> LockManager.Grant? {
        let grant = locks.withLock { $0.acquire(lock, by: cluster.rank, lastScope: lastScope, barriers: barriers) }
        if grant == nil { nameSuccessor(lock) }
        return grant
    }

    /// This rank's own release of a lock it manages; the next waiter's grant is sent from here.
    func releaseHere(_ lock: Int, pages: [Int], barriers: Int) {
        let grant = locks.withLock { $0.release(lock, by: cluster.rank, pages: pages, barriers: barriers) }
        if let grant { send(grant) }
        nameSuccessor(lock)
    }

    /// With hand-off on: tells the lock's holder who waits next (see `LockManager.Successor`).
    private func nameSuccessor(_ lock: Int) {
        guard handOff, let successor = locks.withLock({ $0.nameSuccessor(lock, except: cluster.rank) }) else { return }
        var writer = MessageWriter(kind: .lockSuccessor, capacity: 56 + successor.grant.pages.count * 8)
        writer.append(lock)
        writer.append(successor.holderScope)
        writer.append(successor.holderBarriers)
        writer.append(successor.grant.rank)
        writer.append(successor.grant.scope)
        writer.append(successor.grant.pages)
        channel.send(writer, to: successor.holder)
    }

    /// This rank releases a lock another rank manages (see `LockHolder`): hands it to the
    /// successor named for this holding, or defers the release if `deferrable`, or sends it.
    func release(_ release: LockHolder.Release, deferrable: Bool) {
        carryOut(holder.withLock { $0.release(release, deferrable: handOff && deferrable) })
    }

    /// A request for a lock another rank manages, carrying this rank's deferred release of it
    /// if there is one; every other deferred release is sent first.
    func request(_ lock: Int, from manager: Int, lastScope: Int, barriers: Int) {
        let (carried, others) = holder.withLock { holder -> (LockHolder.Release?, [LockHolder.Release]) in
            let carried = holder.takeDeferred(lock)
            return (carried, holder.deferredCount == 0 ? [] : holder.takeAllDeferred())
        }
        for release in others { send(release, handedOff: false) }
        var request = MessageWriter(kind: .acquireLock, capacity: 72 + (carried?.pages.count ?? 0) * 8)
        request.append(lock)
        request.append(lastScope)
        request.append(barriers)
        request.append(carried == nil ? 0 : 1)
        if let carried { Self.append(carried, handedOff: false, to: &request) }
        channel.send(request, to: manager)
    }

    /// Sends every deferred release (before a collective call: none may outlive it).
    func sendDeferredReleases() {
        for release in holder.withLock({ $0.deferredCount == 0 ? [] : $0.takeAllDeferred() }) {
            send(release, handedOff: false)
        }
    }

    private func carryOut(_ outcome: LockHolder.Outcome) {
        switch outcome {
        case .handOff(let successor, let release):
            var handed = successor.grant.pages + release.pages
            handed.sort()
            handed.removeDuplicatesFromSorted()
            // Counted before the grant leaves: its taker may report back at once.
            ThreadStatistics.current.pointee.locksHandedOff &+= 1
            send(LockManager.Grant(rank: successor.grant.rank, scope: successor.grant.scope + 1, pages: handed))
            send(release, handedOff: true)
        case .send(let release):
            send(release, handedOff: false)
        case .deferred:
            break
        }
    }

    private func send(_ release: LockHolder.Release, handedOff: Bool) {
        var writer = MessageWriter(kind: .releaseLock, capacity: 40 + release.pages.count * 8)
        writer.append(release.lock)
        Self.append(release, handedOff: handedOff, to: &writer)
        channel.send(writer, to: release.manager)
    }

    private static func append(_ release: LockHolder.Release, handedOff: Bool, to writer: inout MessageWriter) {
        writer.append(release.barriers)
        writer.append(handedOff ? 1 : 0)
        writer.append(release.pages)
    }

    /// At a barrier: `lock` is managed by another rank from now on, or by this one. Every
    /// lock is free at a barrier, so the successors named before it are of no use either.
    func managerMoved(_ lock: Int, atBarrier barriers: Int, away: Bool) {
        locks.withLock { $0.managerMoved(lock, atBarrier: barriers, away: away) }
    }

    /// Sends a grant (the manager's, or one this rank's application thread hands off).
    func send(_ grant: LockManager.Grant) {
        var writer = MessageWriter(capacity: 24 + grant.pages.count * 8)
        writer.append(grant.scope)
        writer.append(grant.pages)
        channel.send(writer.bytes, tag: Tag.lockGrant, to: grant.rank)
    }

    /// The condition variables managed here that are set, as of the moment every rank
    /// called this (collective, on the application thread: a checkpoint's).
    func snapshotConditions() -> [Int] {
        for rank in 0..<cluster.size { channel.send(MessageWriter(kind: .conditionMarker), to: rank) }
        let reply = channel.receive(tag: Tag.conditionSnapshot, from: cluster.rank).bytes
        let set = reply.withUnsafeBytes { raw -> [Int]? in
            var reader = MessageReader(raw)
            return try? reader.ints()
        }
        guard let set else { Fatal.stop("jia_checkpoint: the condition snapshot is malformed (\(reply.count) bytes)") }
        return set
    }

    /// Sets the condition variables a checkpoint saved as set (restart, before any request).
    func restoreConditions(_ set: [Int]) {
        conditions.withLock { manager in for cv in set { _ = manager.set(cv) } }
    }

    private func sendConditionGrant(to rank: Int) {
        channel.send([1], tag: Tag.conditionGrant, to: rank)
    }
}

extension RequestKind {
    static let acquireLock = RequestKind(3, "acquireLock")
    static let releaseLock = RequestKind(4, "releaseLock")
    static let setCondition = RequestKind(5, "setCondition")
    static let resetCondition = RequestKind(6, "resetCondition")
    static let waitCondition = RequestKind(7, "waitCondition")
    static let lockSuccessor = RequestKind(11, "lockSuccessor")
    static let conditionMarker = RequestKind(12, "conditionMarker")
}

extension Tag {
    static let lockGrant: Int32 = 12
    static let conditionGrant: Int32 = 13
    static let conditionSnapshot: Int32 = 15
}
