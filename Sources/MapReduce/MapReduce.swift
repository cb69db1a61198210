import Collectives
import SwiftDSM

/// MapReduce over the DSM. A job is collective: every rank maps its share of the input
/// splits (`dsm.share(of:)`), combines what it emitted in a private dictionary, sends each
/// key to its reducer through `Shuffle` (buckets homed on the reducers), and each reducer
/// writes its keys, sorted, to shared output homed on itself; a barrier ends the job.
///
/// Keys are partitioned by `Partition.reducer` unless a partition function is given (it
/// must give the same answer on every rank). Values from different mappers reach a reducer
/// in rank order and within a mapper in key order, so a job's result is deterministic for
/// a given number of ranks.
public final class MapReduce<Key: BitwiseCopyable & Hashable & Comparable, Value: BitwiseCopyable> {
    public let dsm: DSM
    public let reducerOf: (Key) -> Int
    private var shuffle: Shuffle<KeyValue<Key, Value>>
    private var keyBlocks: RankBlocks
    private var valueBlocks: RankBlocks
    private var endBlocks: RankBlocks
    private var inJob = false
    /// What this rank did in the last job.
    public private(set) var statistics = JobStatistics()

    public init(_ dsm: DSM, partition: ((Key) -> Int)? = nil) {
        self.dsm = dsm
        let reducers = dsm.rankCount
        reducerOf = partition ?? { Partition.reducer(of: $0, reducers: reducers) }
        shuffle = Shuffle(dsm)
        keyBlocks = RankBlocks(dsm)
        valueBlocks = RankBlocks(dsm)
        endBlocks = RankBlocks(dsm)
    }

    /// A job whose values combine: `combine` merges two values of one key, in the mapper
    /// (the combiner) and in the reducer. `map(split, emit)` is called for this rank's splits.
    public func combining(splits: Int, map: (Int, (Key, Value) -> Void) -> Void,
                          combine: (Value, Value) -> Value) -> CombinedOutput<Key, Value> {
        begin("combining", splits: splits, kind: 1)
        defer { inJob = false }
        var clock = monotonicNanoseconds()

        var table: [Key: Value] = [:]
        var emitted = 0
        // `combine` runs inside `map`'s emit closure; it is done with before `map` returns.
        withoutActuallyEscaping(combine) { combine in
            for split in dsm.share(of: splits) {
                map(split) { key, value in
                    emitted += 1
                    if let index = table.index(forKey: key) {
                        table.values[index] = combine(table.values[index], value)
                    } else {
                        table[key] = value
                    }
                }
            }
        }
        var outgoing = partitioned(table.lazy.map { KeyValue($0.key, $0.value) })
        for reducer in outgoing.indices { outgoing[reducer].sort { $0.key < $1.key } }
        statistics = JobStatistics(emitted: emitted, combined: table.count)
        statistics.mapNanoseconds = lap(&clock)
        table = [:]

        var reduced: [Key: Value] = [:]
        shuffle.exchange(counts: outgoing.map(\.count), write: { reducer, region in
            _ = region.initialize(from: outgoing[reducer])
        }, read: { _, records in
            for record in records {
                if let index = reduced.index(forKey: record.key) {
                    reduced.values[index] = combine(reduced.values[index], record.value)
                } else {
                    reduced[record.key] = record.value
                }
            }
        })
        outgoing = []
        statistics.shuffled = shuffle.receivedRecords
        statistics.shuffleNanoseconds = lap(&clock)

        let keys = reduced.keys.sorted()
        let counts = Collectives.allgather([keys.count])
        let largest = counts.max() ?? 0
        keyBlocks.reserve(bytes: largest * MemoryLayout<Key>.stride)
        valueBlocks.reserve(bytes: largest * MemoryLayout<Value>.stride)
        let myKeys = keyBlock(dsm.rank, Key.self)
        let myValues = valueBlock(dsm.rank, Value.self)
        for (index, key) in keys.enumerated() {
            myKeys[index] = key
            myValues[index] = reduced[key]!
        }
        dsm.barrier()
        statistics.reduced = keys.count
        statistics.reduceNanoseconds = lap(&clock)
        return CombinedOutput(counts: counts, keyBlocks: (0..<dsm.rankCount).map { keyBlock($0, Key.self) },
                              valueBlocks: (0..<dsm.rankCount).map { valueBlock($0, Value.self) },
                              reducerOf: reducerOf)
    }

    /// A job whose values are kept: every key's values reach its reducer (from mapper 0 first,
    /// in emission order within a mapper), `reduce(key, &values)` may reorder, deduplicate or
    /// shorten them, and the output holds each key with its list.
    public func grouping(splits: Int, map: (Int, (Key, Value) -> Void) -> Void,
                         reduce: (Key, inout [Value]) -> Void) -> GroupedOutput<Key, Value> {
        begin("grouping", splits: splits, kind: 2)
        defer { inJob = false }
        var clock = monotonicNanoseconds()

        var table: [Key: [Value]] = [:]
        var emitted = 0
        for split in dsm.share(of: splits) {
            map(split) { key, value in
                emitted += 1
                table[key, default: []].append(value)
            }
        }
        // Per reducer: its keys in order, and how many records they make.
        var keysFor = [[Key]](repeating: [], count: dsm.rankCount)
        var counts = [Int](repeating: 0, count: dsm.rankCount)
        for (key, values) in table {
            let reducer = checkedReducer(of: key)
            keysFor[reducer].append(key)
            counts[reducer] += values.count
        }
        for reducer in keysFor.indices { keysFor[reducer].sort() }
        statistics = JobStatistics(emitted: emitted, combined: table.count)
        statistics.mapNanoseconds = lap(&clock)

        var grouped: [Key: [Value]] = [:]
        shuffle.exchange(counts: counts, write: { reducer, region in
            var index = 0
            for key in keysFor[reducer] {
                for value in table[key]! {
                    region[index] = KeyValue(key, value)
                    index += 1
                }
            }
        }, read: { _, records in
            for record in records { grouped[record.key, default: []].append(record.value) }
        })
        table = [:]
        statistics.shuffled = shuffle.receivedRecords
        statistics.shuffleNanoseconds = lap(&clock)

        let keys = grouped.keys.sorted()
        var lists: [[Value]] = []
        lists.reserveCapacity(keys.count)
        var total = 0
        for key in keys {
            var values = grouped.removeValue(forKey: key)!
            reduce(key, &values)
            total += values.count
            lists.append(values)
        }
        let sizes = Collectives.allgather([keys.count, total])
        let keyCounts = stride(from: 0, to: sizes.count, by: 2).map { sizes[$0] }
        let largestKeys = keyCounts.max() ?? 0
        let largestValues = stride(from: 1, to: sizes.count, by: 2).map { sizes[$0] }.max() ?? 0
        keyBlocks.reserve(bytes: largestKeys * MemoryLayout<Key>.stride)
        endBlocks.reserve(bytes: largestKeys * MemoryLayout<Int>.stride)
        valueBlocks.reserve(bytes: largestValues * MemoryLayout<Value>.stride)
        let myKeys = keyBlock(dsm.rank, Key.self)
        let myEnds = endBlock(dsm.rank)
        let myValues = valueBlock(dsm.rank, Value.self)
        var end = 0
        for (index, key) in keys.enumerated() {
            myKeys[index] = key
            for value in lists[index] {
                myValues[end] = value
                end += 1
            }
            myEnds[index] = end
        }
        dsm.barrier()
        statistics.reduced = keys.count
        statistics.reduceNanoseconds = lap(&clock)
        return GroupedOutput(counts: keyCounts, keyBlocks: (0..<dsm.rankCount).map { keyBlock($0, Key.self) },
                             endBlocks: (0..<dsm.rankCount).map { endBlock($0) },
                             valueBlocks: (0..<dsm.rankCount).map { valueBlock($0, Value.self) },
                             reducerOf: reducerOf)
    }

    // MARK: helpers

    /// Stops a job started from inside another (its closures run between the first job's
    /// collective calls, so the ranks would deadlock) and one whose ranks disagree.
    private func begin(_ name: String, splits: Int, kind: Int) {
        if inJob {
            Fatal.stop("MapReduce.\(name) called from inside a map, combine or reduce closure of a running job")
        }
        inJob = true
        let mine = [splits, kind, MemoryLayout<Key>.stride, MemoryLayout<Value>.stride]
        let all = Collectives.allgather(mine)
        for rank in 0..<dsm.rankCount where Array(all[(rank * 4)..<(rank * 4 + 4)]) != mine {
            let theirs = Array(all[(rank * 4)..<(rank * 4 + 4)])
            Fatal.everyRank("MapReduce.\(name): rank \(rank) and rank \(dsm.rank) disagree on the job "
                + "(splits, kind, key bytes, value bytes): \(theirs) vs \(mine); every rank must run the same job")
        }
        if splits < 0 { Fatal.everyRank("MapReduce.\(name): splits must not be negative (\(splits))") }
    }

    @inline(__always)
    private func checkedReducer(of key: Key) -> Int {
        let reducer = reducerOf(key)
        if reducer < 0 || reducer >= dsm.rankCount {
            Fatal.stop("MapReduce: the partition function sent key \(key) to reducer \(reducer); "
                + "reducers are 0..<\(dsm.rankCount)")
        }
        return reducer
    }

    private func partitioned<Pairs: Sequence>(_ pairs: Pairs) -> [[KeyValue<Key, Value>]]
    where Pairs.Element == KeyValue<Key, Value> {
        var outgoing = [[KeyValue<Key, Value>]](repeating: [], count: dsm.rankCount)
        for pair in pairs { outgoing[checkedReducer(of: pair.key)].append(pair) }
        return outgoing
    }

    private func keyBlock<T>(_ rank: Int, _ type: T.Type) -> UnsafeMutablePointer<T> {
        keyBlocks.block(rank).bindMemory(to: T.self, capacity: keyBlocks.blockBytes / MemoryLayout<T>.stride)
    }

    private func valueBlock<T>(_ rank: Int, _ type: T.Type) -> UnsafeMutablePointer<T> {
        valueBlocks.block(rank).bindMemory(to: T.self, capacity: valueBlocks.blockBytes / MemoryLayout<T>.stride)
    }

    private func endBlock(_ rank: Int) -> UnsafeMutablePointer<Int> {
        endBlocks.block(rank).bindMemory(to: Int.self, capacity: endBlocks.blockBytes / MemoryLayout<Int>.stride)
    }

    private func lap(_ clock: inout UInt64) -> UInt64 {
        let now = monotonicNanoseconds()
        defer { clock = now }
        return now - clock
    }
}

/// What one rank did in a job.
public struct JobStatistics: Sendable {
    /// Pairs the map closure emitted here, and distinct keys after the local combiner.
    public var emitted = 0
    public var combined = 0
    /// Records this rank received as a reducer, and keys it output.
    public var shuffled = 0
    public var reduced = 0
    public var mapNanoseconds: UInt64 = 0
    public var shuffleNanoseconds: UInt64 = 0
    public var reduceNanoseconds: UInt64 = 0

    public init(emitted: Int = 0, combined: Int = 0) {
        self.emitted = emitted
        self.combined = combined
    }
}
