import SwiftDSM

/// The result of `MapReduce.combining`: one value per key, in shared memory homed on the
/// key's reducer, sorted by key within each reducer. Any rank may read it; it stays valid
/// until the next job of the same `MapReduce`.
public struct CombinedOutput<Key: BitwiseCopyable & Comparable, Value: BitwiseCopyable> {
    /// Keys held by each reducer.
    public let counts: [Int]
    let keyBlocks: [UnsafeMutablePointer<Key>]
    let valueBlocks: [UnsafeMutablePointer<Value>]
    let reducerOf: (Key) -> Int

    public var count: Int { counts.reduce(0, +) }

    public func keys(of reducer: Int) -> UnsafeBufferPointer<Key> {
        UnsafeBufferPointer(start: keyBlocks[reducer], count: counts[reducer])
    }

    public func values(of reducer: Int) -> UnsafeBufferPointer<Value> {
        UnsafeBufferPointer(start: valueBlocks[reducer], count: counts[reducer])
    }

    /// The value of `key`, found by binary search in its reducer's sorted keys.
    public subscript(key: Key) -> Value? {
        let reducer = reducerOf(key)
        guard let index = sortedIndex(of: key, in: keys(of: reducer)) else { return nil }
        return valueBlocks[reducer][index]
    }

    /// Every key and value, reducer by reducer, keys ascending within a reducer.
    public func forEach(_ body: (Key, Value) -> Void) {
        for reducer in counts.indices {
            let keys = keys(of: reducer)
            let values = values(of: reducer)
            for index in 0..<keys.count { body(keys[index], values[index]) }
        }
    }
}

/// The result of `MapReduce.grouping`: every key with its list of values (as the reduce
/// closure left it), homed on the key's reducer, keys sorted within each reducer.
public struct GroupedOutput<Key: BitwiseCopyable & Comparable, Value: BitwiseCopyable> {
    /// Keys held by each reducer.
    public let counts: [Int]
    let keyBlocks: [UnsafeMutablePointer<Key>]
    /// ends[i]: one past the last value of key i (the values of key i start at ends[i - 1]).
    let endBlocks: [UnsafeMutablePointer<Int>]
    let valueBlocks: [UnsafeMutablePointer<Value>]
    let reducerOf: (Key) -> Int

    public var count: Int { counts.reduce(0, +) }

    public func keys(of reducer: Int) -> UnsafeBufferPointer<Key> {
        UnsafeBufferPointer(start: keyBlocks[reducer], count: counts[reducer])
    }

    /// The values of the key at `index` of `reducer`'s keys.
    public func values(of reducer: Int, at index: Int) -> UnsafeBufferPointer<Value> {
        let ends = endBlocks[reducer]
        let start = index == 0 ? 0 : ends[index - 1]
        return UnsafeBufferPointer(start: valueBlocks[reducer] + start, count: ends[index] - start)
    }

    public subscript(key: Key) -> UnsafeBufferPointer<Value>? {
        let reducer = reducerOf(key)
        guard let index = sortedIndex(of: key, in: keys(of: reducer)) else { return nil }
        return values(of: reducer, at: index)
    }

    public func forEach(_ body: (Key, UnsafeBufferPointer<Value>) -> Void) {
        for reducer in counts.indices {
            let keys = keys(of: reducer)
            for index in 0..<keys.count { body(keys[index], values(of: reducer, at: index)) }
        }
    }
}

func sortedIndex<Key: Comparable>(of key: Key, in keys: UnsafeBufferPointer<Key>) -> Int? {
    var low = 0
    var high = keys.count
    while low < high {
        let middle = (low + high) / 2
        if keys[middle] < key { low = middle + 1 } else { high = middle }
    }
    return low < keys.count && keys[low] == key ? low : nil
}
