/// The manager of the locks homed on one rank (lock l is managed by rank l mod ranks):
/// who holds each lock, who waits, and the write notices recorded under it. Pure state,
/// driven by the service thread; see `SyncService`.
///
/// Notices are pruned at barriers, as JIAJIA does: every request carries how many barriers
/// its sender has passed. Once some rank has passed barrier k, every rank has entered it,
/// so every later acquire comes after it, and barrier k invalidated everywhere each page
/// written before it: a notice published before barrier k is of no use to anyone.
struct LockManager {
    /// A page written under a lock: the scope of the latest release that published it,
    /// its writer if only one rank ever published it (`several` otherwise), and how many
    /// barriers that release's rank had passed.
    struct Notice: Equatable {
        var scope: Int
        var writer: Int
        var barriers: Int
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
        /// The barrier count below which this lock's notices were last pruned.
        var prunedBelow = 0
    }

    private var locks: [Int: Lock] = [:]
    /// The most barriers any requester had passed.
    private var barriersPassed = 0
    /// For a lock whose manager moved (here or away) at a barrier: that barrier's count. A
    /// release sent before it is stale: the barrier invalidated its pages everywhere, and the
    /// lock was free there.
    private var managedSince: [Int: Int] = [:]

    /// A request to acquire `lock` from a rank that has passed `barriers` barriers; returns
    /// the grant if the lock was free.
    mutating func acquire(_ lock: Int, by rank: Int, lastScope: Int, barriers: Int = 0) -> Grant? {
        barriersPassed = max(barriersPassed, barriers)
        let passed = barriersPassed
        return update(lock) { state in
            guard state.holder < 0 else {
                state.waiting.append((rank, lastScope))
                return nil
            }
            state.holder = rank
            return Self.grant(&state, to: rank, lastScope: lastScope, barriersPassed: passed)
        }
    }

    /// `rank` releases `lock`, publishing the pages it wrote inside. Returns the grant for
    /// the next waiter, if any. A release by a non-holder is a protocol error.
    mutating func release(_ lock: Int, by rank: Int, pages: [Int], barriers: Int = 0) -> Grant? {
        barriersPassed = max(barriersPassed, barriers)
        let passed = barriersPassed
        return update(lock) { state in
            precondition(state.holder == rank, "SwiftDSM: lock \(lock) released by rank \(rank), held by \(state.holder)")
            state.scope += 1
            if barriers >= passed {  // else a barrier since has invalidated these pages everywhere
                for page in pages {
                    if let previous = state.notices[page], previous.writer != rank {
                        state.notices[page] = Notice(scope: state.scope, writer: Notice.several, barriers: barriers)
                    } else {
                        state.notices[page] = Notice(scope: state.scope, writer: rank, barriers: barriers)
                    }
                }
            }
            state.holder = -1
            guard !state.waiting.isEmpty else { return nil }
            let next = state.waiting.removeFirst()
            state.holder = next.rank
            return Self.grant(&state, to: next.rank, lastScope: next.lastScope, barriersPassed: passed)
        }
    }

    /// Mutates a lock's record in place (a copy would duplicate its notice table).
    private mutating func update<Result>(_ lock: Int, _ body: (inout Lock) -> Result) -> Result {
        if locks[lock] == nil { locks[lock] = Lock() }
        return body(&locks[lock]!)
    }

    /// The pages published under the lock since the acquirer's last grant of it, leaving
    /// out those only the acquirer itself wrote, after dropping notices older than the
    /// latest barrier.
    private static func grant(_ state: inout Lock, to rank: Int, lastScope: Int, barriersPassed below: Int) -> Grant {
        if state.prunedBelow < below {
            state.notices = state.notices.filter { $0.value.barriers >= below }
            state.prunedBelow = below
        }
        var pages: [Int] = []
        for (page, notice) in state.notices where notice.scope > lastScope && notice.writer != rank {
            pages.append(page)
        }
        pages.sort()
        return Grant(rank: rank, scope: state.scope, pages: pages)
    }

    func holder(of lock: Int) -> Int { locks[lock]?.holder ?? -1 }

    /// A release sent before the barrier at which this lock's manager last moved.
    func isStale(_ lock: Int, barriers: Int) -> Bool { barriers < (managedSince[lock] ?? 0) }

    /// At barrier `barriers`, the lock's manager moves away from this rank (`away`) or to it.
    /// A lock is free at a barrier and its notices are of no use after it, so the state that
    /// leaves is dropped, and the new manager starts without any (it keeps what requests made
    /// after the barrier may already have created).
    mutating func managerMoved(_ lock: Int, atBarrier barriers: Int, away: Bool) {
        if away { locks[lock] = nil }
        managedSince[lock] = barriers
    }

    /// How many pages the lock's notice table holds (for tests: pruning keeps it small).
    func noticeCount(of lock: Int) -> Int { locks[lock]?.notices.count ?? 0 }
}
