import CMPI

/// Runs the lock and condition-variable managers of this rank on its service thread and
/// sends their grants.
final class SyncService: RequestHandler {
    private let cluster: Cluster
    private var locks = LockManager()
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
            if let grant = locks.acquire(lock, by: source, lastScope: lastScope, barriers: barriers) { send(grant) }
        case .releaseLock:
            let lock = try body.int(in: 0..<maxLocks, "lock id")
            let barriers = try body.int()
            let pages = try body.ints()
            guard locks.holder(of: lock) == source else {
                throw MalformedMessage(reason: "release of lock \(lock), which rank \(source) does not hold")
            }
            guard pages.allSatisfy({ $0 >= 0 }) else { throw MalformedMessage(reason: "a negative page number") }
            if let grant = locks.release(lock, by: source, pages: pages, barriers: barriers) { send(grant) }
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
