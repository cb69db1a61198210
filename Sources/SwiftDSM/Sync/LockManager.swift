/// The manager of the locks homed on one rank (lock l is managed by rank l mod ranks):
/// who holds each lock, who waits, and the write notices recorded under it. Pure state,
/// driven by the service thread; see `LockService`.
struct LockManager {
    /// A page written under a lock: the scope of the latest release that published it,
    /// and its writer if only one rank ever published it (`several` otherwise).
    struct Notice: Equatable {
        var scope: Int
        var writer: Int
        static let several = -1
    }

    struct Grant: Equatable {
        let rank: Int
        let scope: Int
        let pages: [Int]
    }

    private struct Lock {
        var holder = -1
        var waiting: [(rank: Int, lastScope: Int)] = []
        var scope = 0
        var notices: [Int: Notice] = [:]
    }

    private var locks: [Int: Lock] = [:]

    /// A request to acquire `lock`; returns the grant if the lock was free.
    mutating func acquire(_ lock: Int, by rank: Int, lastScope: Int) -> Grant? {
        update(lock) { state in
            guard state.holder < 0 else {
                state.waiting.append((rank, lastScope))
                return nil
            }
            state.holder = rank
            return Self.grant(state, to: rank, lastScope: lastScope)
        }
    }

    /// `rank` releases `lock`, publishing the pages it wrote inside. Returns the grant for
    /// the next waiter, if any. A release by a non-holder is a protocol error.
    mutating func release(_ lock: Int, by rank: Int, pages: [Int]) -> Grant? {
        update(lock) { state in
            precondition(state.holder == rank, "SwiftDSM: lock \(lock) released by rank \(rank), held by \(state.holder)")
            state.scope += 1
            for page in pages {
                if let previous = state.notices[page], previous.writer != rank {
                    state.notices[page] = Notice(scope: state.scope, writer: Notice.several)
                } else {
                    state.notices[page] = Notice(scope: state.scope, writer: rank)
                }
            }
            state.holder = -1
            guard !state.waiting.isEmpty else { return nil }
            let next = state.waiting.removeFirst()
            state.holder = next.rank
            return Self.grant(state, to: next.rank, lastScope: next.lastScope)
        }
    }

    /// Mutates a lock's record in place (a copy would duplicate its notice table).
    private mutating func update<Result>(_ lock: Int, _ body: (inout Lock) -> Result) -> Result {
        if locks[lock] == nil { locks[lock] = Lock() }
        return body(&locks[lock]!)
    }

    /// The pages published under the lock since the acquirer's last grant of it, leaving
    /// out those only the acquirer itself wrote.
    private static func grant(_ state: Lock, to rank: Int, lastScope: Int) -> Grant {
        var pages: [Int] = []
        for (page, notice) in state.notices where notice.scope > lastScope && notice.writer != rank {
            pages.append(page)
        }
        pages.sort()
        return Grant(rank: rank, scope: state.scope, pages: pages)
    }

    func holder(of lock: Int) -> Int { locks[lock]?.holder ?? -1 }
}
