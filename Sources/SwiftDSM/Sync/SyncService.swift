import CMPI

/// Runs the lock and condition-variable managers of this rank on its service thread and
/// sends their grants.
final class SyncService: RequestHandler {
    private let cluster: Cluster
    private var locks = LockManager()
    private var conditions = ConditionManager()

    init(cluster: Cluster) { self.cluster = cluster }

    static let kinds: [RequestKind] = [.acquireLock, .releaseLock, .setCondition, .resetCondition, .waitCondition]

    func handle(_ kind: RequestKind, from source: Int, body: inout MessageReader) {
        switch kind {
        case .acquireLock:
            let lock = body.int()
            let lastScope = body.int()
            let barriers = body.int()
            if let grant = locks.acquire(lock, by: source, lastScope: lastScope, barriers: barriers) { send(grant) }
        case .releaseLock:
            let lock = body.int()
            let barriers = body.int()
            let pages = body.ints()
            if let grant = locks.release(lock, by: source, pages: pages, barriers: barriers) { send(grant) }
        case .setCondition:
            for rank in conditions.set(body.int()) { sendConditionGrant(to: rank) }
        case .resetCondition:
            conditions.reset(body.int())
        case .waitCondition:
            if conditions.wait(body.int(), by: source) { sendConditionGrant(to: source) }
        default:
            Fatal.stop("synchronization service cannot handle \(kind)")
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
