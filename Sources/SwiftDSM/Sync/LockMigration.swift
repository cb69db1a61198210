/// Dynamic lock managers: at a barrier, a lock moves its manager to the rank that took it
/// most since the last barrier, if that rank took it at least twice and more often than all
/// the others together. Every rank decides alike from the counts the barrier gathered (sent
/// along with its write notices, as negative values), so the move costs no message.
enum LockMigration {
    struct Move: Equatable {
        let lock: Int
        let from: Int
        let to: Int
    }

    /// This rank's counts, each `-(lock << 24 | count) - 1`, in lock order.
    static func statistics(_ acquires: [Int: Int]) -> [Int64] {
        acquires.sorted { $0.key < $1.key }.map { -((Int64($0.key) << 24) | Int64(min($0.value, 0xFF_FFFF))) - 1 }
    }

    static func moves(ranks: Int, lists: (Int) -> ArraySlice<Int64>, manager: (Int) -> Int) -> [Move] {
        var counts: [Int: [(rank: Int, count: Int)]] = [:]
        for rank in 0..<ranks {
            for value in lists(rank) where value < 0 {
                let entry = -value - 1
                counts[Int(entry >> 24), default: []].append((rank, Int(entry & 0xFF_FFFF)))
            }
        }
        var moves: [Move] = []
        for (lock, takers) in counts {
            let total = takers.reduce(0) { $0 + $1.count }
            guard let top = takers.max(by: { $0.count < $1.count }), top.count >= 2, top.count * 2 > total,
                  top.rank != manager(lock) else { continue }
            moves.append(Move(lock: lock, from: manager(lock), to: top.rank))
        }
        return moves.sorted { $0.lock < $1.lock }
    }
}
