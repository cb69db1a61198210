/// JIAJIA 2.1's home migration (HMIG): a page written by exactly one rank between two
/// barriers, which held a valid copy of it, becomes homed on that rank. Every rank decides
/// alike from the barrier's notice lists, so migration costs no message of its own.
///
/// In the lists a notice is `page << 1 | tag`, the tag set when the writer holds a valid
/// cached copy of the page (so, after its diff went home, a current one).
///
/// Unlike 2.1, a page that moved waits before it may move again, twice as long after each
/// move (2, 4, 8 ... up to 1024 barriers): where the writers of a page take turns, its home
/// would otherwise follow them at every barrier, each move costing a copy, two mapping
/// changes and a rendezvous (NPB-style LU with rows dealt cyclically: BENCHMARKS.md).
struct HomeMigration: ~Copyable {
    struct Move: Equatable {
        let page: Int
        let from: Int
        let to: Int
    }

    static func notice(_ page: Int, heldValid: Bool) -> Int64 { Int64(page << 1 | (heldValid ? 1 : 0)) }
    static func page(_ notice: Int64) -> Int { Int(notice >> 1) }
    /// A page's write notice among a barrier's values, not a lock's statistics (negative) or
    /// a broadcast subscription.
    static func isWriteNotice(_ value: Int64) -> Bool { value >= 0 && !ReadBroadcast.isSubscription(value) }

    /// Per page: the barrier in which it was last seen in a list, and its writer then
    /// (`several` once a second rank noticed it, `untagged - rank` for a writer without a copy).
    private let seen: PageArray<UInt32>
    private let writer: PageArray<Int32>
    /// Per page: the barrier of its last move, and how many moves it made (capped).
    private let movedAt: PageArray<UInt32>
    private let moveCount: PageArray<UInt8>
    private var epoch: UInt32 = 0
    private static let several = Int32.min
    private static let maxBackoffShift: UInt8 = 10

    init(pageCount: Int) {
        seen = PageArray(count: pageCount)
        writer = PageArray(count: pageCount)
        movedAt = PageArray(count: pageCount)
        moveCount = PageArray(count: pageCount)
    }

    /// The moves of one barrier, in page order. `lists(rank)` are the notices rank wrote.
    mutating func moves(ranks: Int, lists: (Int) -> ArraySlice<Int64>, home: (Int) -> Int) -> [Move] {
        epoch &+= 1
        if epoch == 0 {  // after 2^32 barriers: forget what was seen, and every page's history
            seen.pointer.update(repeating: 0, count: seen.count)
            moveCount.pointer.update(repeating: 0, count: moveCount.count)
            epoch = 1
        }
        var candidates: [Int] = []
        for rank in 0..<ranks {
            for notice in lists(rank) where Self.isWriteNotice(notice) {
                let page = Self.page(notice)
                if seen[page] != epoch {
                    seen[page] = epoch
                    writer[page] = notice & 1 == 1 ? Int32(rank) : -1 - Int32(rank)
                    candidates.append(page)
                } else if writer[page] != Int32(rank) && writer[page] != -1 - Int32(rank) {
                    writer[page] = Self.several
                }
            }
        }
        var moves: [Move] = []
        for page in candidates where writer[page] >= 0 && Int(writer[page]) != home(page) {
            let count = moveCount[page]
            guard count == 0 || epoch &- movedAt[page] >= UInt32(1) << UInt32(count) else { continue }
            movedAt[page] = epoch
            moveCount[page] = min(count + 1, Self.maxBackoffShift)
            moves.append(Move(page: page, from: home(page), to: Int(writer[page])))
        }
        moves.sort { $0.page < $1.page }
        return moves
    }

    // MARK: memory balance

    /// In a balance's lists a notice is `page << 16 | fetches`.
    static func fetchNotice(_ page: Int, count: Int) -> Int64 { Int64(page << 16 | min(count, 0xFFFF)) }

    /// The moves of a memory balance, in page order: each page goes to the rank that fetched
    /// it most often, if that rank is alone in fetching it that often (a tie moves nothing).
    static func balanceMoves(ranks: Int, lists: (Int) -> ArraySlice<Int64>, home: (Int) -> Int) -> [Move] {
        var best: [Int: (rank: Int, count: Int, tied: Bool)] = [:]
        for rank in 0..<ranks {
            for notice in lists(rank) {
                let page = Int(notice >> 16), count = Int(notice & 0xFFFF)
                if let current = best[page] {
                    if count > current.count { best[page] = (rank, count, false) }
                    else if count == current.count { best[page] = (current.rank, count, true) }
                } else {
                    best[page] = (rank, count, false)
                }
            }
        }
        return best.compactMap { page, choice in
            choice.tied || choice.rank == home(page) ? nil : Move(page: page, from: home(page), to: choice.rank)
        }.sorted { $0.page < $1.page }
    }

}
