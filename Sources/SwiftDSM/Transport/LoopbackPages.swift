import Glibc

/// The other ranks' homes as one local page store: fetches copy from it and diffs are applied
/// to it, as a home's service thread would. It lets the coherence engine run in one process
/// (tests drive real faults, twins, diffs, evictions and refetches through it), and a test
/// can play another rank by writing `homes` between intervals.
final class LoopbackPages: PageFetcher, DiffSink, TransportPart {
    /// Every remote home's pages, at their offsets in the shared range.
    let homes: UnsafeMutableRawPointer
    let length: Int
    private(set) var fetches = 0
    private(set) var fetchedBytes = 0
    private(set) var batchesWritten = 0
    /// Gathered fetches (each also counts its runs in `fetches`), and of them those that
    /// leave no read notices (`read(home:runs:)`).
    private(set) var gatheredFetches = 0
    private(set) var reads = 0
    /// The home of each gathered fetch, in order (room reserved: the fetches run in the
    /// fault handler, which tests check allocates nothing).
    private(set) var gatheredHomes: [Int] = []
    /// When set, a fetch does as a path that waits for its reply: it runs the caller's
    /// `meanwhile` work, then `inFlight` (where a test looks at the page), then copies.
    var waitsForReplies = false
    var inFlight: (() -> Void)?

    init(length: Int) {
        self.length = length
        homes = .allocate(byteCount: length, alignment: 4096)
        homes.initializeMemory(as: UInt8.self, repeating: 0, count: length)
        gatheredHomes.reserveCapacity(4096)
    }

    func fetch(home: Int, offset: Int, length: Int, into destination: UnsafeMutableRawPointer) {
        precondition(offset >= 0 && offset + length <= self.length, "fetch outside the homes")
        memcpy(destination, homes + offset, length)
        fetches += 1
        fetchedBytes += length
    }

    func fetch(home: Int, offset: Int, length: Int, into destination: UnsafeMutableRawPointer,
               meanwhile: () -> Void) -> Bool {
        if waitsForReplies {
            meanwhile()
            inFlight?()
        }
        fetch(home: home, offset: offset, length: length, into: destination)
        return waitsForReplies
    }

    func fetch(home: Int, runs: UnsafeBufferPointer<FetchRun>) {
        gatheredFetches += 1
        gatheredHomes.append(home)
        for index in 0..<runs.count {
            fetch(home: home, offset: runs[index].offset, length: runs[index].length, into: runs[index].destination)
        }
    }

    /// A gathered fetch as any other (the loopback keeps no read notices), counted in `reads` too.
    func read(home: Int, runs: UnsafeBufferPointer<FetchRun>) {
        reads += 1
        fetch(home: home, runs: runs)
    }

    func write(_ batch: RunBatch, to home: Int) {
        batch.apply(to: homes)
        batchesWritten += 1
    }

    func completeWrites() {}

    func close() { homes.deallocate() }
}
