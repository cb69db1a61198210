/// Copies page runs from their homes: a memcpy from a mapped home, an MPI_Get, a UCP get,
/// or a request to the home's service thread.
protocol PageFetcher: AnyObject {
    /// Copies `length` bytes at `offset` of `home`'s page store into `destination` (memory
    /// MPI may write: never a protected page), leaving a read notice at the home. Returns
    /// when the bytes are there.
    func fetch(home: Int, offset: Int, length: Int, into destination: UnsafeMutableRawPointer)

    /// As `fetch(home:offset:length:into:)`, running `meanwhile` once while the bytes are on
    /// their way (after the request went, before the wait): work that does not need them,
    /// such as the mapping a fault makes for the page. Returns false, without running it,
    /// where a fetch has no wait to fill (a copy from a mapped home, a flush that does all).
    func fetch(home: Int, offset: Int, length: Int, into destination: UnsafeMutableRawPointer,
               meanwhile: () -> Void) -> Bool

    /// Copies every run of `runs` from `home` (each as `fetch` would), returning when all
    /// are there. Transports that can keep many in flight, or ask for all in one request, do.
    func fetch(home: Int, runs: UnsafeBufferPointer<FetchRun>)

    /// Copies every run as `fetch(home:runs:)` does, but leaves no read notices: for data
    /// copied out and not kept (`DSM.read`), which no later write at the home can make stale,
    /// so the home need not write-protect those pages at its next interval.
    func read(home: Int, runs: UnsafeBufferPointer<FetchRun>)
}

/// One run of whole pages a gathered fetch copies: `length` bytes at `offset` of the
/// home's page store into `destination`.
struct FetchRun {
    var offset: Int
    var length: Int
    var destination: UnsafeMutableRawPointer
}

extension PageFetcher {
    func fetch(home: Int, offset: Int, length: Int, into destination: UnsafeMutableRawPointer,
               meanwhile: () -> Void) -> Bool {
        fetch(home: home, offset: offset, length: length, into: destination)
        return false
    }

    /// One fetch after another: where a fetch is a memcpy there is nothing to overlap.
    func fetch(home: Int, runs: UnsafeBufferPointer<FetchRun>) {
        for run in runs { fetch(home: home, offset: run.offset, length: run.length, into: run.destination) }
    }
}

/// Applies diff batches (whole and partially changed words) at their homes.
protocol DiffSink: AnyObject {
    /// Starts writing `batch`'s runs into `home`'s page store. The batch must stay untouched
    /// until `completeWrites` returns.
    func write(_ batch: RunBatch, to home: Int)

    /// Returns when every batch started by `write` has been applied at its home.
    func completeWrites()
}

/// Writes runs of whole words into homes with one-sided operations (puts), which is
/// safe only for words no other rank or home writes in the interval (`RunBatch.whole`).
protocol WholeWordSink: AnyObject {
    /// Starts the puts of `runs`; they (and the batch holding them) stay untouched until
    /// `completeWholeWords` returns.
    func write(wholeWordsOf batch: RunBatch, to home: Int)

    /// Returns when every put started by `write(wholeWordsOf:to:)` has landed.
    func completeWholeWords()
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

/// A part of a transport that holds MPI, UCX or mapping resources.
protocol TransportPart: AnyObject {
    /// Called on every rank after the last DSM operation of the run (before the barrier
    /// that precedes `close`): peers closing their side from now on is no failure.
    func prepareToClose()

    /// Releases the part's resources. Collective.
    func close()
}

extension TransportPart {
    func prepareToClose() {}
}

/// The data path between a rank and the homes of the pages it caches, composed where the
/// transport is chosen (DSMRuntime) from a page fetcher, a diff sink and, where the homes
/// serve their own pages, a refetcher. Coherence calls these and never knows which parts run.
final class PageTransport {
    /// "shm", "rma", "ucx", "message", "tcp" or "loopback", for reports.
    let name: String
    let fetcher: PageFetcher
    let diffs: DiffSink
    /// Present where homes serve their own pages (the message paths), so they can keep
    /// write vectors.
    let refetcher: PageRefetching?
    /// Every part with resources, each once.
    private let parts: [TransportPart]

    init(name: String, fetcher: PageFetcher, diffs: DiffSink, refetcher: PageRefetching? = nil) {
        self.name = name
        self.fetcher = fetcher
        self.diffs = diffs
        self.refetcher = refetcher
        var parts: [TransportPart] = []
        for case let part as TransportPart in [fetcher, diffs, refetcher as AnyObject?]
        where !parts.contains(where: { $0 === part }) {
            parts.append(part)
        }
        if let lanes = diffs as? DiffLanes, !parts.contains(where: { $0 === lanes.whole }),
           let whole = lanes.whole as? TransportPart {
            parts.append(whole)
        }
        self.parts = parts
    }

    /// Convenience for a part that is both fetcher and diff sink (shm, message, loopback).
    convenience init<Part: PageFetcher & DiffSink>(name: String, _ part: Part) {
        self.init(name: name, fetcher: part, diffs: part, refetcher: part as? PageRefetching)
    }

    func fetch(home: Int, offset: Int, length: Int, into destination: UnsafeMutableRawPointer) {
        fetcher.fetch(home: home, offset: offset, length: length, into: destination)
    }

    func fetch(home: Int, offset: Int, length: Int, into destination: UnsafeMutableRawPointer,
               meanwhile: () -> Void) -> Bool {
        fetcher.fetch(home: home, offset: offset, length: length, into: destination, meanwhile: meanwhile)
    }

    func fetch(home: Int, runs: UnsafeBufferPointer<FetchRun>) { fetcher.fetch(home: home, runs: runs) }

    func read(home: Int, runs: UnsafeBufferPointer<FetchRun>) { fetcher.read(home: home, runs: runs) }

    func write(_ batch: RunBatch, to home: Int) { diffs.write(batch, to: home) }

    func completeWrites() { diffs.completeWrites() }

    func prepareToClose() { for part in parts { part.prepareToClose() } }

    func close() { for part in parts { part.close() } }
}
