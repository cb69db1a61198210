/// The data path between a rank and the homes of the pages it caches. Coherence calls
/// these verbs and never knows which implementation runs.
protocol PageTransport: AnyObject {
    /// "rma" or "message", for reports.
    var name: String { get }

    /// Copies `length` bytes at `offset` of `home`'s arena into `destination` (memory
    /// MPI may write: never a protected page). Returns when the bytes are there.
    func fetch(home: Int, offset: Int, length: Int, into destination: UnsafeMutableRawPointer)

    /// Starts writing `batch`'s runs into `home`'s arena. The batch must stay untouched
    /// until `completeWrites` returns.
    func write(_ batch: RunBatch, to home: Int)

    /// Returns when every batch started by `write` has been applied at its home.
    func completeWrites()

    /// Called on every rank after the last DSM operation of the run (before the barrier
    /// that precedes `close`): peers closing their side from now on is no failure.
    func prepareToClose()

    /// Releases MPI resources. Collective.
    func close()
}

extension PageTransport {
    func prepareToClose() {}
}

/// A transport whose homes keep write vectors (`WriteVectors`): a refetch of stale copies
/// moves only the blocks changed since each copy was made.
protocol PageRefetching: AnyObject {
    /// Brings `count` stale copies of pages from `firstPage`, at `destination`, up to date
    /// from `home`. `versions` holds each copy's version (0: unknown) and receives the new
    /// one. Returns the bytes that did not move because their blocks were unchanged.
    func refetch(home: Int, firstPage: Int, count: Int, pageShift: Int, versions: UnsafeMutablePointer<UInt64>,
                 into destination: UnsafeMutableRawPointer) -> Int
}
