/// JIAJIA 2.1's home migration (HMIG): a page written by exactly one rank between two
/// barriers, which held a valid copy of it, becomes homed on that rank. Every rank decides
/// alike from the barrier's notice lists, so migration costs no message of its own.
///
/// In the lists a notice is `page << 1 | tag`, the tag set when the writer holds a valid
/// cached copy of the page (so, after its diff went home, a current one).
struct HomeMigration {
    struct Move: Equatable {
        let page: Int
        let from: Int
        let to: Int
    }

    static func notice(_ page: Int, heldValid: Bool) -> Int64 { Int64(page << 1 | (heldValid ? 1 : 0)) }
    static func page(_ notice: Int64) -> Int { Int(notice >> 1) }

    /// Per page: the barrier in which it was last seen in a list, and its writer then
    /// (`several` once a second rank noticed it, `untagged - rank` for a writer without a copy).
    private let seen: PageArray<UInt32>
    private let writer: PageArray<Int32>
    private var epoch: UInt32 = 0
    private static let several = Int32.min

    init(pageCount: Int) {
        seen = PageArray(count: pageCount)
        writer = PageArray(count: pageCount)
    }

    /// The moves of one barrier, in page order. `lists(rank)` are the notices rank wrote.
    mutating func moves(ranks: Int, lists: (Int) -> ArraySlice<Int64>, home: (Int) -> Int) -> [Move] {
        epoch &+= 1
        if epoch == 0 {
            seen.pointer.update(repeating: 0, count: seen.count)
            epoch = 1
        }
        var candidates: [Int] = []
        for rank in 0..<ranks {
            for notice in lists(rank) {
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
            moves.append(Move(page: page, from: home(page), to: Int(writer[page])))
        }
        moves.sort { $0.page < $1.page }
        return moves
    }

    func release() {
        seen.release()
        writer.release()
    }
}
