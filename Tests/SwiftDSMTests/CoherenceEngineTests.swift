import CAllocationCounter
import Dispatch
import XCTest
@testable import SwiftDSM

/// The coherence engine in one process: a locally reserved shared range, this process as
/// rank 0 of 2, and a loopback transport whose homes are rank 1's homes. Real faults go
/// through the SIGSEGV handler: read runs, twins and diffs, dirty eviction, invalidation
/// and refetch in place, and faults from several threads at once.
final class CoherenceEngineTests: XCTestCase {
    private let pageSize = 4096
    private let remotePages = 32
    private let homePages = 32
    private var space: AddressSpace!
    private var store: PageStore!
    private var transport: LoopbackPages!
    private var engine: CoherenceEngine!

    /// Pages 0..<32 are homed on rank 1 (the loopback homes), pages 32..<64 here.
    private func start(cachePages: Int, prefetchPages: Int = 4, ranks: Int = 2) {
        let capacity = (remotePages + homePages) * pageSize
        space = try! AddressSpace.reserveLocally(capacity: capacity, pageSize: pageSize)
        store = PageStore(space: space)
        transport = LoopbackPages(length: capacity)
        engine = CoherenceEngine(rank: 0, ranks: ranks, space: space, store: store, cachePages: cachePages,
                                 prefaultCache: false, transport: PageTransport(name: "loopback", transport),
                                 prefetchPages: prefetchPages)
        engine.addRegion(firstPage: 0, pages: remotePages, blockPages: remotePages, startRank: 1)
        engine.addRegion(firstPage: remotePages, pages: homePages, blockPages: homePages, startRank: 0)
        let engine = self.engine!
        FaultTrampoline.install(range: space.base, length: capacity) { address, isWrite in
            engine.handleFault(at: address, isWrite: isWrite)
        }
    }

    override func tearDown() {
        FaultTrampoline.remove()
        engine?.close()
        store?.close()
        space?.close()
        transport?.close()
    }

    private var words: UnsafeMutablePointer<Int> { space.base.assumingMemoryBound(to: Int.self) }
    private var homeWords: UnsafeMutablePointer<Int> { transport.homes.assumingMemoryBound(to: Int.self) }
    private var wordsPerPage: Int { pageSize / 8 }

    func testAReadFaultFetchesARunFromItsHome() {
        start(cachePages: 16, prefetchPages: 4)
        homeWords[3 * wordsPerPage + 5] = 42
        XCTAssertEqual(words[3 * wordsPerPage + 5], 42)
        XCTAssertEqual(engine.statistics.readFaults, 1)
        XCTAssertEqual(transport.fetches, 1)
        XCTAssertEqual(transport.fetchedBytes, 4 * pageSize, "the page and the three after it, in one transfer")
        XCTAssertEqual(words[6 * wordsPerPage], 0)
        XCTAssertEqual(engine.statistics.readFaults, 1, "a page of the run is there without a fault")
    }

    /// `DSM.read`: a range over uncached pages (partly wanted at both ends), a written copy
    /// and a home page is copied out as reads would see it, with no fault, no slot taken and
    /// no page mapped.
    func testACopyOutReadsWithoutFaultsOrMappings() {
        start(cachePages: 16, prefetchPages: 4)
        for word in 0..<(homePages + remotePages) * wordsPerPage { homeWords[word] = word }
        words[2 * wordsPerPage + 7] = -1  // page 2: a copy written here (not yet home)
        for word in 0..<homePages * wordsPerPage { words[remotePages * wordsPerPage + word] = -word }  // home pages
        let faults = engine.statistics.readFaults + engine.statistics.writeFaults
        let (reads, gathered) = (transport.reads, transport.gatheredFetches)
        let first = wordsPerPage - 3, last = (remotePages + 2) * wordsPerPage + 5  // pages 0 ... 34
        let destination = UnsafeMutablePointer<Int>.allocate(capacity: last - first)
        defer { destination.deallocate() }
        engine.copyOut(words + first, length: (last - first) * 8, into: destination)
        XCTAssertEqual(transport.reads - reads, 1, "one gathered read from the remote home")
        XCTAssertEqual(transport.gatheredFetches - gathered, 1, "and no fetch that leaves read notices")
        for word in first..<last {
            let page = word / wordsPerPage
            let expected = page >= remotePages ? -(word - remotePages * wordsPerPage) : (word == 2 * wordsPerPage + 7 ? -1 : word)
            if destination[word - first] != expected {
                XCTFail("word \(word) (page \(page)): \(destination[word - first]), expected \(expected)")
                break
            }
        }
        XCTAssertEqual(engine.statistics.readFaults + engine.statistics.writeFaults, faults, "no fault")
        for page in [0, 1, 10, 20, remotePages - 1] {  // (the write fetched pages 2-5)
            XCTAssertEqual(engine.table.state(page), .uncached, "page \(page) was not cached or mapped")
        }
        XCTAssertEqual(engine.table.state(2), .readWrite)
    }

    /// With `broadcast`, a small `DSM.read` caches exactly its own missing pages (where the
    /// homes' pushes can land), not a fault's read-ahead.
    func testASmallCopyOutWithBroadcastCachesOnlyItsPages() {
        start(cachePages: 16, prefetchPages: 8)
        engine.broadcastReads = true
        for word in 0..<remotePages * wordsPerPage { homeWords[word] = word }
        let first = 4 * wordsPerPage + 1, last = 6 * wordsPerPage + 2  // pages 4, 5, 6
        let destination = UnsafeMutablePointer<Int>.allocate(capacity: last - first)
        defer { destination.deallocate() }
        let reads = transport.reads
        engine.copyOut(words + first, length: (last - first) * 8, into: destination)
        XCTAssertEqual(transport.reads, reads, "cached copies are fetched, with read notices")
        for word in first..<last where destination[word - first] != word {
            XCTFail("word \(word): \(destination[word - first])")
            break
        }
        XCTAssertEqual(engine.statistics.readFaults, 0)
        for page in 4...6 { XCTAssertEqual(engine.table.state(page), .readOnly, "page \(page) is cached") }
        XCTAssertEqual(engine.table.state(7), .uncached, "no read-ahead past the read")
        XCTAssertEqual(engine.table.state(3), .uncached)
    }

    func testWritesReachTheirHomeAtTheIntervalsEnd() {
        start(cachePages: 16)
        for page in 0..<10 { words[page * wordsPerPage + page] = 100 + page }
        XCTAssertEqual(homeWords[wordsPerPage + 1], 0, "nothing moves before the release")
        let notices = engine.endInterval(atBarrier: false)
        for page in 0..<10 { XCTAssertEqual(homeWords[page * wordsPerPage + page], 100 + page, "page \(page)") }
        XCTAssertEqual(Set(notices), Set(0..<10), "every written page is a write notice")
        XCTAssertEqual(homeWords[wordsPerPage], 0, "only the changed words went home")
    }

    func testAnInvalidatedCopyIsRefetchedInPlace() {
        start(cachePages: 16)
        XCTAssertEqual(words[5 * wordsPerPage], 0)
        let slot = engine.table.slot(5)
        homeWords[5 * wordsPerPage] = 7  // another rank's write, published at its home
        XCTAssertEqual(words[5 * wordsPerPage], 0, "the copy stays until it is invalidated")
        engine.invalidate([5])
        XCTAssertEqual(words[5 * wordsPerPage], 7)
        XCTAssertEqual(engine.table.slot(5), slot, "refetched into the slot it held")
    }

    /// Snapshot reads: a stale copy is read without a fetch for `maxAge` synchronizations,
    /// then refetched; a write refetches at once; strict pages beside it are refetched as usual.
    func testSnapshotReadsUseAStaleCopyUntilItIsTooOld() {
        start(cachePages: 16, prefetchPages: 1)
        engine.addRegion(firstPage: 0, pages: 8, blockPages: 8, startRank: 1, snapshotAge: 2)
        XCTAssertEqual(words[2 * wordsPerPage], 0)
        XCTAssertEqual(words[10 * wordsPerPage], 0)  // a strict page
        homeWords[2 * wordsPerPage] = 5
        homeWords[10 * wordsPerPage] = 6
        let fetches = transport.fetches
        engine.invalidate([2, 10])
        XCTAssertEqual(engine.table.state(2), .stale)
        XCTAssertEqual(words[2 * wordsPerPage], 0, "the stale copy is read as it was")
        XCTAssertEqual(engine.statistics.staleReads, 1)
        XCTAssertEqual(words[10 * wordsPerPage], 6, "a strict page is refetched")
        XCTAssertEqual(transport.fetches, fetches + 1)
        engine.invalidate([])
        XCTAssertEqual(words[2 * wordsPerPage], 0, "still within two synchronizations")
        engine.invalidate([])
        XCTAssertEqual(words[2 * wordsPerPage], 5, "too old: refetched")
        XCTAssertEqual(engine.table.staleSince[2], 0)
        homeWords[3 * wordsPerPage] = 9
        XCTAssertEqual(words[3 * wordsPerPage], 9)
        homeWords[3 * wordsPerPage + 1] = 4
        engine.invalidate([3])
        words[3 * wordsPerPage + 2] = 1  // a write sees the current page
        XCTAssertEqual(words[3 * wordsPerPage + 1], 4)
    }

    /// Snapshot reads: the first read of an expired copy refreshes every expired copy of its
    /// allocation with one gathered fetch (one fault, not one per page); strict pages beside
    /// it, and a lone expired copy, are refetched as before.
    func testExpiredSnapshotCopiesOfAnAllocationAreRefreshedTogether() {
        start(cachePages: 32, prefetchPages: 1)
        engine.addRegion(firstPage: 0, pages: 8, blockPages: 8, startRank: 1, snapshotAge: 1)
        let held = [0, 2, 4, 5, 7]
        for page in held + [10] { XCTAssertEqual(words[page * wordsPerPage], 0) }
        for page in held + [10] { homeWords[page * wordsPerPage] = 100 + page }
        engine.invalidate(held + [10])
        for page in held { XCTAssertEqual(words[page * wordsPerPage], 0, "page \(page): the stale copy is used") }
        XCTAssertEqual(words[10 * wordsPerPage], 110, "a strict page is refetched")
        engine.invalidate([])  // the copies are now too old
        for page in held { XCTAssertEqual(engine.table.state(page), .invalid, "page \(page)") }
        let faults = engine.statistics.readFaults
        let fetches = transport.fetches
        let pages = engine.statistics.pagesFetched
        let allocations = allocation_counter_thread()
        let read = words[4 * wordsPerPage]
        XCTAssertEqual(allocation_counter_thread() - allocations, 0, "the refresh allocated in the fault handler")
        XCTAssertEqual(read, 104)
        XCTAssertEqual(engine.statistics.snapshotRefreshes, 1)
        XCTAssertEqual(transport.gatheredFetches, 1)
        for page in held { XCTAssertEqual(words[page * wordsPerPage], 100 + page, "page \(page) refreshed") }
        XCTAssertEqual(engine.statistics.readFaults, faults + 1, "one fault refreshed the allocation's copies")
        XCTAssertEqual(transport.fetches, fetches + 4, "runs: 0, 2, 4-5 (slots in a row), 7")
        XCTAssertEqual(engine.statistics.pagesFetched, pages + UInt64(held.count))

        // A single expired copy is refetched alone; a strict page never joins a refresh.
        homeWords[2 * wordsPerPage] = 7
        homeWords[10 * wordsPerPage] = 8
        engine.invalidate([2, 10])
        engine.invalidate([])
        XCTAssertEqual(words[2 * wordsPerPage], 7)
        XCTAssertEqual(words[10 * wordsPerPage], 8)
        XCTAssertEqual(engine.statistics.snapshotRefreshes, 1)
        XCTAssertEqual(transport.gatheredFetches, 1)
    }

    /// A refresh whose copies have several homes: one gathered fetch per home, in home
    /// order, each with its runs in page order (the runs are sorted by home in one pass).
    func testARefreshGathersOneFetchPerHome() {
        start(cachePages: 32, prefetchPages: 1, ranks: 4)
        // Pages 0-1 homed on rank 1, 2-3 on rank 2, 4-5 on rank 3, 6-7 here, 8-9 on rank 1.
        engine.addRegion(firstPage: 0, pages: 10, blockPages: 2, startRank: 1, snapshotAge: 1)
        let held = [0, 1, 2, 5, 8, 9]
        for page in held { XCTAssertEqual(words[page * wordsPerPage], 0) }
        for page in held { homeWords[page * wordsPerPage] = 200 + page }
        engine.invalidate(held)
        engine.invalidate([])
        let fetches = transport.fetches
        XCTAssertEqual(words[5 * wordsPerPage], 205)
        XCTAssertEqual(engine.statistics.snapshotRefreshes, 1)
        XCTAssertEqual(transport.gatheredHomes, [1, 2, 3], "rank 1's runs 0-1 and 8-9 in one fetch")
        XCTAssertEqual(transport.fetches, fetches + 4, "runs: 0-1, 8-9 (rank 1), 2 (rank 2), 5 (rank 3)")
        for page in held { XCTAssertEqual(words[page * wordsPerPage], 200 + page, "page \(page) refreshed") }
    }

    func testASmallCacheEvictsDirtyPagesWithoutLosingAWrite() {
        start(cachePages: 4, prefetchPages: 2)
        for page in 0..<remotePages { words[page * wordsPerPage + 3] = page &* 31 &+ 1 }
        XCTAssertGreaterThan(engine.statistics.dirtyEvictions, 0)
        let notices = engine.endInterval(atBarrier: false)
        for page in 0..<remotePages { XCTAssertEqual(homeWords[page * wordsPerPage + 3], page &* 31 &+ 1, "page \(page)") }
        XCTAssertEqual(Set(notices), Set(0..<remotePages), "evicted pages stay notices of the interval")
    }

    func testHomePagesAreWrittenInPlace() {
        start(cachePages: 16)
        words[40 * wordsPerPage + 2] = 99
        XCTAssertEqual(store.aliasAddress(ofPage: 40).assumingMemoryBound(to: Int.self)[2], 99)
        XCTAssertEqual(transport.fetches, 0)
        _ = engine.endInterval(atBarrier: false)
        XCTAssertEqual(transport.batchesWritten, 0, "a home page needs no diff")
    }

    /// Another thread's write that lands the moment a fetched run is mapped writable (and
    /// before the faulting thread returns) still reaches the home: the run was twinned
    /// before it was mapped.
    func testAWriteRightAfterARunIsMappedIsNotLost() {
        start(cachePages: 16, prefetchPages: 4)
        let words = self.words, perPage = wordsPerPage
        engine.runMappedForTesting = { first, count in
            XCTAssertEqual(count, 4)
            words[(first + 2) * perPage + 9] = 4242  // a page of the run nobody faulted on
        }
        words[0] = 1  // a write fault on page 0 fetches and maps pages 0..<4
        engine.runMappedForTesting = nil
        _ = engine.endInterval(atBarrier: false)
        XCTAssertEqual(homeWords[0], 1)
        XCTAssertEqual(homeWords[2 * perPage + 9], 4242, "the write in the window was lost")
    }

    /// Where a fetch waits for its reply, the run is mapped while the bytes are on their way,
    /// inaccessible, and opened after: during the fetch /proc/self/maps shows the page as
    /// the cache's file with no access, then it is readable (a read run, of any length) or
    /// writable with a twin (a write run of fewer than 4 pages), with the home's data. A write
    /// run of 4 is mapped after the fetch, pre-filled: during its fetch the page is still
    /// where an uncached page lies (the page store's file, with no access).
    func testARunIsMappedInaccessibleWhileItsBytesAreOnTheirWay() {
        start(cachePages: 16, prefetchPages: 4)
        transport.waitsForReplies = true
        let maps = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 8)
        defer { maps.deallocate() }
        var mapsLength = 0
        transport.inFlight = {
            // Raw reads into a buffer allocated before: this runs in the fault handler.
            let fd = open("/proc/self/maps", O_RDONLY)
            mapsLength = 0
            while mapsLength < maps.count {
                let count = read(fd, maps.baseAddress! + mapsLength, maps.count - mapsLength)
                if count <= 0 { break }
                mapsLength += count
            }
            close(fd)
        }
        /// The page's access and the file it maps ("cache", "store"), as the fetch saw them.
        func mapping(ofPage page: Int) -> String? {
            let address = UInt(bitPattern: space.address(ofPage: page))
            let text = String(decoding: UnsafeRawBufferPointer(rebasing: maps[0..<mapsLength]), as: UTF8.self)
            for line in text.split(separator: "\n") {
                let fields = line.split(separator: " ")
                let range = fields[0].split(separator: "-").map { UInt($0, radix: 16)! }
                guard range[0] <= address && address < range[1] else { continue }
                let file = line.contains("swiftdsm-cache") ? "cache" : line.contains("swiftdsm-pages") ? "store" : "other"
                return "\(fields[1]) \(file)"
            }
            return nil
        }
        homeWords[3 * wordsPerPage + 5] = 42
        homeWords[6 * wordsPerPage + 1] = 43
        homeWords[31 * wordsPerPage + 3] = 9
        homeWords[20 * wordsPerPage + 3] = 10
        let protectionCalls = engine.statistics.protectionCalls
        XCTAssertEqual(words[3 * wordsPerPage + 5], 42)  // a read run, pages 3..<7
        XCTAssertEqual(mapping(ofPage: 3), "---s cache", "mapped, inaccessible, during the fetch")
        XCTAssertEqual(engine.statistics.protectionCalls, protectionCalls + 2, "the mapping, then its opening")
        XCTAssertEqual(words[6 * wordsPerPage + 1], 43, "the run's last page")
        words[31 * wordsPerPage] = 5  // a write run of 1 (page 32 is homed here): twinned, opened writable
        XCTAssertEqual(mapping(ofPage: 31), "---s cache")
        XCTAssertEqual(words[31 * wordsPerPage + 3], 9)
        words[20 * wordsPerPage] = 6  // a write run of 4, pages 20..<24
        XCTAssertEqual(mapping(ofPage: 20), "---s store", "not mapped yet during the fetch")
        XCTAssertEqual(words[20 * wordsPerPage + 3], 10)
        XCTAssertEqual(engine.statistics.readFaults, 1)
        XCTAssertEqual(engine.statistics.writeFaults, 2)
        _ = engine.endInterval(atBarrier: false)
        XCTAssertEqual(homeWords[31 * wordsPerPage], 5, "the write reached its home (its twin was made)")
        XCTAssertEqual(homeWords[31 * wordsPerPage + 3], 9)
        XCTAssertEqual(homeWords[20 * wordsPerPage], 6)
        transport.inFlight = nil
    }

    /// The fault path runs in a signal handler, so it must not allocate (malloc is not
    /// async-signal-safe): every kind of fault makes no heap allocation on the faulting
    /// thread, in the rounds after a first (where the Swift runtime instantiates what a
    /// first use needs, and a list longer than its reservation grows once). Kinds:
    /// a read run fetched, a write to an unfetched page, a write to a read-only copy, a
    /// refetch of an invalidated copy, writes that evict dirty pages (diffs sent home), and
    /// a write to a home page with and without copies elsewhere.
    func testFaultsAllocateNothing() {
        start(cachePages: 4, prefetchPages: 2)
        var allocating: [String] = []
        func count(_ what: String, _ access: () -> Void) {
            let before = allocation_counter_thread()
            access()
            let made = allocation_counter_thread() - before
            if made > 0 { allocating.append("\(what): \(made)") }
        }
        var read = 0
        for round in 0..<4 {
            allocating.removeAll()
            let dirtyEvictions = engine.statistics.dirtyEvictions
            for page in 0..<8 { count("write evicting page \(page)") { words[page * wordsPerPage + 1] = round } }
            XCTAssertGreaterThan(engine.statistics.dirtyEvictions, dirtyEvictions)
            count("read fault (fetch)") { read = words[12 * wordsPerPage] }
            XCTAssertEqual(read, round == 0 ? 0 : round - 1)
            count("write to a read-only copy") { words[13 * wordsPerPage] = round }
            count("write fault (fetch)") { words[20 * wordsPerPage] = round }
            count("home write") { words[40 * wordsPerPage] = round }
            store.readNotices.mark(first: 41, count: 1)
            count("home write with copies") { words[41 * wordsPerPage] = round }
            let notices = engine.endInterval(atBarrier: false)
            homeWords[12 * wordsPerPage] = round
            engine.invalidate(notices + [12])
            XCTAssertEqual(engine.table.state(12), .invalid, "page 12 keeps its slot, to be refetched in place")
            count("refetch") { read = words[12 * wordsPerPage] }
            XCTAssertEqual(read, round)
        }
        XCTAssertEqual(allocating, [], "faults allocated")
        for page in 0..<8 { XCTAssertEqual(homeWords[page * wordsPerPage + 1], 3, "page \(page)") }
    }

    /// An interval end (every barrier, lock and unlock) hands out what the lists the fault
    /// path appends to hold, and those lists keep their start-up reservation. Emptying a list
    /// whose buffer had been handed out allocated a new one of the whole reservation (2 x the
    /// cache's slots): 512 KiB twice a barrier with the default cache, a one-host barrier of
    /// 15 us instead of 2.
    func testIntervalEndsKeepTheFaultPathsReservations() {
        start(cachePages: 4096, prefetchPages: 1)
        let reservation = 2 * 4096 * MemoryLayout<Int>.size
        for round in 1...4 {
            words[round * wordsPerPage] = round  // a copy written: diffed home at the end
            words[(40 + round) * wordsPerPage] = round  // a home page written
            let before = allocation_counter_thread_bytes()
            let written = engine.endInterval(atBarrier: true)
            let subscriptions = engine.takeSubscriptionChanges()
            let made = allocation_counter_thread_bytes() - before
            XCTAssertTrue(written.contains(round), "round \(round): the written copy is noticed")
            XCTAssertTrue(subscriptions.isEmpty)
            XCTAssertLessThan(made, UInt64(reservation / 8), "round \(round): an interval end allocated \(made) bytes")
        }
        for round in 1...4 { XCTAssertEqual(homeWords[round * wordsPerPage], round) }
    }

    func testFaultsFromFourThreadsAtOnce() {
        start(cachePages: 8, prefetchPages: 4)
        let threads = 4
        let base = UncheckedPointer(words)
        let perPage = wordsPerPage, pages = remotePages
        DispatchQueue.concurrentPerform(iterations: threads) { thread in
            var index = thread
            while index < pages * perPage {
                base.pointer[index] = index &+ 1
                index += threads
            }
        }
        _ = engine.endInterval(atBarrier: false)
        var wrong = 0
        for index in 0..<(pages * perPage) where homeWords[index] != index &+ 1 { wrong += 1 }
        XCTAssertEqual(wrong, 0, "words lost or wrong at the home")
        let sums = UncheckedPointer(UnsafeMutablePointer<Int>.allocate(capacity: threads))
        defer { sums.pointer.deallocate() }
        DispatchQueue.concurrentPerform(iterations: threads) { thread in
            var sum = 0
            for step in 0..<(pages * perPage) { sum &+= base.pointer[(step + thread * 1000) % (pages * perPage)] }
            sums.pointer[thread] = sum
        }
        let expected = (1...(pages * perPage)).reduce(0, &+)
        for thread in 0..<threads { XCTAssertEqual(sums.pointer[thread], expected, "thread \(thread)'s sum") }
    }
}

private struct UncheckedPointer<Element>: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<Element>
    init(_ pointer: UnsafeMutablePointer<Element>) { self.pointer = pointer }
}
