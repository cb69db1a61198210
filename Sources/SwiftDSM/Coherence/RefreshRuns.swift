/// The runs of a snapshot region's refresh (`CoherenceEngine.refreshExpiredCopies`),
/// collected in page order and handed out grouped by home, one gathered fetch each: a
/// counting sort, so a refresh costs one pass over its pages and one over the ranks, not a
/// pass over its pages per rank. Plain memory, made large enough at each invalidation: the
/// fault path allocates nothing.
struct RefreshRuns {
    private var runs = UnsafeMutableBufferPointer<FetchRun>(start: nil, count: 0)
    private var homes = UnsafeMutableBufferPointer<Int32>(start: nil, count: 0)
    private var sorted = UnsafeMutableBufferPointer<FetchRun>(start: nil, count: 0)
    /// Runs per home, then where each home's runs start in `sorted`.
    private var starts: [Int]
    private(set) var count = 0

    init(ranks: Int) {
        starts = [Int](repeating: 0, count: ranks + 1)
    }

    /// Room for `capacity` runs (a region's expired copies, at most one run each).
    mutating func reserve(_ capacity: Int) {
        guard runs.count < capacity else { return }
        runs.deallocate()
        homes.deallocate()
        sorted.deallocate()
        runs = .allocate(capacity: capacity)
        homes = .allocate(capacity: capacity)
        sorted = .allocate(capacity: capacity)
    }

    mutating func removeAll() { count = 0 }

    mutating func append(_ run: FetchRun, home: Int) {
        runs[count] = run
        homes[count] = Int32(home)
        count += 1
    }

    /// Calls `body` once per home with runs, with that home's runs in page order.
    mutating func forEachHome(_ body: (Int, UnsafeBufferPointer<FetchRun>) -> Void) {
        let ranks = starts.count - 1
        for home in 0...ranks { starts[home] = 0 }
        for index in 0..<count { starts[Int(homes[index]) + 1] += 1 }
        for home in 0..<ranks { starts[home + 1] += starts[home] }
        // starts[home] is now where home's runs begin; fill, advancing each home's cursor.
        for index in 0..<count {
            let home = Int(homes[index])
            sorted[starts[home]] = runs[index]
            starts[home] += 1
        }
        // Each cursor ended where the next home's runs begin.
        var first = 0
        for home in 0..<ranks {
            let end = starts[home]
            if end > first { body(home, UnsafeBufferPointer(rebasing: sorted[first..<end])) }
            first = end
        }
    }

    /// Gives the memory back (at jia_exit); `reserve` may make room again.
    mutating func deallocate() {
        runs.deallocate()
        homes.deallocate()
        sorted.deallocate()
        runs = UnsafeMutableBufferPointer(start: nil, count: 0)
        homes = UnsafeMutableBufferPointer(start: nil, count: 0)
        sorted = UnsafeMutableBufferPointer(start: nil, count: 0)
        count = 0
    }
}
