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

    /// Direct hand-off: the lock's holder (the one whose grant had `holderScope`, after
    /// `holderBarriers` barriers) sends `grant`, with its own released pages added and the
    /// scope one higher, straight to the next waiter when it releases, and tells the
    /// manager it did. Saves the manager's hop (release to it, then a grant from it).
    struct Successor: Equatable {
        let lock: Int
        let holder: Int
        let holderScope: Int
        let holderBarriers: Int
        let grant: Grant
    }

    private struct Waiter {
        let rank: Int
        let lastScope: Int
        let barriers: Int
    }

    private struct Lock {
        var holder = -1
        var holderScope = 0
        var holderBarriers = 0
        var waiting: [Waiter] = []
        /// The first waiter, once named to the holder as its successor (and out of `waiting`).
        var successor: Waiter?
        /// The successor's own release, when it arrives before the holder's hand-off
        /// (messages from two ranks are not ordered): applied right after it.
        var earlyRelease: (pages: [Int], barriers: Int)?
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
                state.waiting.append(Waiter(rank: rank, lastScope: lastScope, barriers: barriers))
                return nil
            }
            Self.hold(&state, Waiter(rank: rank, lastScope: lastScope, barriers: barriers))
            return Self.grant(&state, to: rank, lastScope: lastScope, barriersPassed: passed)
        }
    }

    private static func hold(_ state: inout Lock, _ waiter: Waiter) {
        state.holder = waiter.rank
        state.holderScope = state.scope
        state.holderBarriers = waiter.barriers
    }

    /// Names the first waiter to the holder as its successor, if the lock has a holder other
    /// than `except` (the manager's own rank, whose release grants in one hop anyway), a
    /// waiter, and no successor named yet. The successor's grant holds the notices up to now.
    mutating func nameSuccessor(_ lock: Int, except: Int) -> Successor? {
        let passed = barriersPassed
        return update(lock) { state in
            guard state.holder >= 0, state.holder != except, state.successor == nil, !state.waiting.isEmpty else {
                return nil
            }
            let next = state.waiting.removeFirst()
            state.successor = next
            let grant = Self.grant(&state, to: next.rank, lastScope: next.lastScope, barriersPassed: passed)
            return Successor(lock: lock, holder: state.holder, holderScope: state.holderScope,
                             holderBarriers: state.holderBarriers, grant: grant)
        }
    }

    /// Whether a release of `lock` by `rank` is expected: it holds the lock, or it is the
    /// named successor, whose grant came from the holder.
    func mayRelease(_ lock: Int, by rank: Int) -> Bool {
        guard let state = locks[lock] else { return false }
        return state.holder == rank || state.successor?.rank == rank
    }

    /// `rank` releases `lock`, publishing the pages it wrote inside, and handed it to its
    /// named successor if `handedOff`. Returns the grant the manager must send to the next
    /// holder, if any. A release by a rank that may not release it is a protocol error.
    mutating func release(_ lock: Int, by rank: Int, pages: [Int], barriers: Int = 0, handedOff: Bool = false) -> Grant? {
        barriersPassed = max(barriersPassed, barriers)
        let passed = barriersPassed
        let early: (pages: [Int], barriers: Int)? = update(lock) { state in
            guard state.holder != rank, state.successor?.rank == rank else { return nil }
            state.earlyRelease = (pages, barriers)  // before the holder's hand-off: applied after it
            return (pages, barriers)
        }
        if early != nil { return nil }
        let grant: Grant? = update(lock) { state in
            precondition(state.holder == rank, "SwiftDSM: lock \(lock) released by rank \(rank), held by \(state.holder)")
            precondition(!handedOff || state.successor != nil, "SwiftDSM: lock \(lock) handed off without a successor")
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
            if let successor = state.successor {  // its grant came from the holder, or comes from here
                state.successor = nil
                Self.hold(&state, successor)
                if handedOff { return nil }
                return Self.grant(&state, to: successor.rank, lastScope: successor.lastScope, barriersPassed: passed)
            }
            guard !state.waiting.isEmpty else { return nil }
            let next = state.waiting.removeFirst()
            Self.hold(&state, next)
            return Self.grant(&state, to: next.rank, lastScope: next.lastScope, barriersPassed: passed)
        }
        // The successor's release that came first: the lock is its now, so apply it.
        guard let early = locks[lock]?.earlyRelease, locks[lock]?.holder != rank else { return grant }
        locks[lock]!.earlyRelease = nil
        precondition(grant == nil, "SwiftDSM: lock \(lock): an early release of a successor the manager granted")
        return release(lock, by: locks[lock]!.holder, pages: early.pages, barriers: early.barriers)
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

    /// The successor named to `holder`, if `holder` holds `lock` and one was named.
    func successor(of lock: Int, heldBy holder: Int) -> Int? {
        guard let state = locks[lock], state.holder == holder else { return nil }
        return state.successor?.rank
    }

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
