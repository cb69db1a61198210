import Glibc

/// The home-based multiple-writer protocol on one rank: what a fault does, what the end
/// of an interval pushes to the homes, and what an invalidation drops. Runs on the
/// application's thread only (faults are synchronous), so its state needs no locking.
///
/// Every page lives at its own offset of the page store, so a fetch lands in place
/// through the alias and a fault costs one transfer plus one protection change.
final class CoherenceEngine {
    let rank: Int
    let ranks: Int
    let space: AddressSpace
    var table: PageTable
    let store: PageStore
    let transport: PageTransport
    private var residents: ResidentPages
    private let twins: TwinStore
    private let prefetchPages: Int
    var statistics = Statistics()

    /// Cached pages made writable (twinned) in this interval.
    private var dirtyPages: [Int] = []
    /// Home pages made writable in this interval.
    private var dirtyHomePages: [Int] = []
    /// Pages written in this interval whose diff already went home because they were evicted.
    private var evictedWrites: [Int] = []
    /// One reusable batch per home rank.
    private var batches: [RunBatch]
    private var flushed: [Int] = []

    init(rank: Int, ranks: Int, space: AddressSpace, store: PageStore, cachePages: Int,
         transport: PageTransport, prefetchPages: Int) {
        self.rank = rank
        self.ranks = ranks
        self.space = space
        self.table = PageTable(pageCount: space.pageCount)
        self.store = store
        self.transport = transport
        self.residents = ResidentPages(capacity: cachePages)
        self.twins = TwinStore(slotCount: cachePages, pageSize: space.pageSize)
        self.prefetchPages = min(prefetchPages, cachePages)
        self.batches = [RunBatch](repeating: RunBatch(), count: ranks)
    }

    private var pageSize: Int { space.pageSize }
    private var pageShift: Int { space.pageShift }

    // MARK: allocation

    /// Records the homes of newly allocated pages and opens the ones homed here.
    func addRegion(firstPage: Int, pages: Int, blockPages: Int, startRank: Int) {
        for run in HomeLayout.runs(firstPage: firstPage, pages: pages, blockPages: blockPages,
                                   startRank: startRank, ranks: ranks) {
            let home = Int32(run.home)
            let state: PageState = run.home == rank ? (ranks == 1 ? .homeWritable : .homeReadOnly) : .unmapped
            for page in run.firstPage..<(run.firstPage + run.count) {
                table.home[page] = home
                table.setState(page, state)
            }
            if run.home == rank {
                space.protect(firstPage: run.firstPage, count: run.count, ranks == 1 ? .readWrite : .read)
            }
        }
        table.allocatedPages = firstPage + pages
    }

    // MARK: faults

    /// Resolves a fault at `address`. Returns false only for a state that cannot fault.
    func handleFault(at address: UnsafeMutableRawPointer, isWrite: Bool) -> Bool {
        let page = space.page(of: address)
        guard page < table.allocatedPages else {
            Fatal.stop("\(isWrite ? "write" : "read") at \(address) is outside the allocated shared memory "
                + "[\(space.base), \(space.address(ofPage: table.allocatedPages))): "
                + "only memory returned by jia_alloc may be accessed")
        }
        switch table.state(page) {
        case .unmapped:
            if isWrite {
                statistics.writeFaults += 1
                fetchForWriting(page)
            } else {
                statistics.readFaults += 1
                fetchForReading(page)
            }
        case .readOnly:
            if isWrite {
                statistics.writeFaults += 1
                startWriting(page, count: run(from: page, in: .readOnly, sameHome: false))
            }
        case .homeReadOnly:
            if isWrite {
                statistics.homeWriteFaults += 1
                protect(page, count: 1, .readWrite)
                table.setState(page, .homeWritable)
                dirtyHomePages.append(page)
            }
        case .readWrite, .homeWritable:
            break  // already writable: the access retries and succeeds
        }
        DSMLog.trace("fault \(isWrite ? "write" : "read") page \(page) home \(table.home[page])")
        return true
    }

    /// The faulting page and the pages after it in the same state (and on the same home,
    /// when they must be fetched), up to the prefetch length: a sequential sweep then takes
    /// one fault, one transfer and one protection change per run instead of per page.
    private func run(from page: Int, in state: PageState, sameHome: Bool) -> Int {
        let home = table.home[page]
        var count = 1
        while count < prefetchPages, page + count < table.allocatedPages, table.state(page + count) == state,
              !sameHome || table.home[page + count] == home {
            count += 1
        }
        return count
    }

    private func fetchForReading(_ page: Int) {
        let count = run(from: page, in: .unmapped, sameHome: true)
        fetch(page, count: count)
        protect(page, count: count, .read)
        for index in page..<(page + count) { table.setState(index, .readOnly) }
    }

    /// A write to a missing page fetches the run after it too, all twinned and writable:
    /// pages the program does not write produce empty diffs and no write notices.
    private func fetchForWriting(_ page: Int) {
        let count = run(from: page, in: .unmapped, sameHome: true)
        fetch(page, count: count)
        startWriting(page, count: count)
    }

    /// Copies pages from their home into place (through the alias) and makes them resident.
    private func fetch(_ page: Int, count: Int) {
        makeRoom(for: page, count: count)
        let start = monotonicNanoseconds()
        transport.fetch(home: Int(table.home[page]), offset: page << pageShift, length: count << pageShift,
                        into: store.aliasAddress(ofPage: page))
        statistics.fetchNanoseconds += monotonicNanoseconds() - start
        statistics.fetchOperations += 1
        statistics.pagesFetched += UInt64(count)
        for index in page..<(page + count) where table.resident[index] == 0 {
            table.resident[index] = 1
            residents.append(index)
        }
    }

    /// Twins a run of valid pages and makes it writable with one protection change.
    private func startWriting(_ page: Int, count: Int) {
        for index in page..<(page + count) {
            let slot = twins.take()
            memcpy(twins.address(slot), store.aliasAddress(ofPage: index), pageSize)
            table.setTwin(index, slot)
            table.setState(index, .readWrite)
            dirtyPages.append(index)
        }
        protect(page, count: count, .readWrite)
    }

    private func protect(_ page: Int, count: Int, _ protection: Protection) {
        space.protect(firstPage: page, count: count, protection)
        statistics.protectionCalls += 1
    }

    // MARK: cache replacement

    /// Evicts the oldest resident pages until a whole run fits. (Counting only the run's
    /// non-resident pages could undercount: eviction may pick a page of the run itself.)
    private func makeRoom(for page: Int, count: Int) {
        guard residents.freeCount < count else { return }
        var victims: [Int] = []
        while residents.freeCount < count { victims.append(residents.removeOldest()) }
        evict(victims)
    }

    /// Drops resident pages and frees their memory; a dirty one first sends its diff home
    /// (and stays a write notice of this interval).
    private func evict(_ pages: [Int]) {
        var wroteDiffs = false
        for page in pages where table.state(page) == .readWrite {
            if encodeDiff(page) { wroteDiffs = true }
            evictedWrites.append(page)
            statistics.dirtyEvictions += 1
        }
        if wroteDiffs { sendBatches() }
        statistics.evictions += UInt64(pages.count)
        let sorted = pages.sorted()
        close(sorted)
        forEachRun(sorted) { first, count in store.discard(firstPage: first, count: count) }
        for page in sorted { table.resident[page] = 0 }
    }

    /// Protects sorted cached pages against any access and forgets their twins.
    private func close(_ sortedPages: [Int]) {
        forEachRun(sortedPages) { first, count in protect(first, count: count, .none) }
        for page in sortedPages {
            if let slot = table.twin(page) {
                twins.give(slot)
                table.setTwin(page, nil)
            }
            table.setState(page, .unmapped)
        }
    }

    // MARK: intervals

    /// Ends the current interval: every page written in it has its diff applied at its
    /// home when this returns, and is write-protected again. Returns those pages: the
    /// write notices of the interval.
    func endInterval() -> [Int] {
        guard ranks > 1 else { return [] }
        var written = evictedWrites
        evictedWrites.removeAll(keepingCapacity: true)
        if !dirtyPages.isEmpty {
            flushed.removeAll(keepingCapacity: true)
            for page in dirtyPages where table.state(page) == .readWrite {
                if encodeDiff(page) { written.append(page) }
                twins.give(table.twin(page)!)
                table.setTwin(page, nil)
                table.setState(page, .readOnly)
                flushed.append(page)
            }
            dirtyPages.removeAll(keepingCapacity: true)
            sendBatches()
            flushed.sort()
            forEachRun(flushed) { first, count in protect(first, count: count, .read) }
        }
        if !dirtyHomePages.isEmpty {
            dirtyHomePages.sort()
            forEachRun(dirtyHomePages) { first, count in protect(first, count: count, .read) }
            for page in dirtyHomePages { table.setState(page, .homeReadOnly) }
            written.append(contentsOf: dirtyHomePages)
            dirtyHomePages.removeAll(keepingCapacity: true)
        }
        return written
    }

    /// Batches are handed to the transport once they reach this size, so no single MPI
    /// message or operation approaches MPI's 2^31-element count limit.
    private static let batchLimitBytes = 64 << 20

    /// Diffs a twinned page into its home's batch. Returns true if any word changed.
    private func encodeDiff(_ page: Int) -> Bool {
        let home = Int(table.home[page])
        let changed = DiffEncoder.encode(page: store.aliasAddress(ofPage: page), twin: twins.address(table.twin(page)!),
                                         length: pageSize, offset: page << pageShift, into: &batches[home])
        if batches[home].byteCount >= Self.batchLimitBytes {
            transport.write(batches[home], to: home)  // completed with the rest by sendBatches
            batches[home] = RunBatch()
        }
        if changed > 0 {
            statistics.diffsSent += 1
            statistics.diffBytesSent += UInt64(changed * 8)
        }
        return changed > 0
    }

    /// Writes every non-empty batch to its home and waits until all are applied.
    private func sendBatches() {
        for home in 0..<ranks where !batches[home].isEmpty { transport.write(batches[home], to: home) }
        transport.completeWrites()
        for home in 0..<ranks { batches[home].removeAll() }
    }

    /// Drops this rank's copies of `pages` (pages homed here are always current). Their
    /// memory stays resident, to be refetched in place or evicted later.
    func invalidate(_ pages: [Int]) {
        var stale: [Int] = []
        for page in pages where page < table.allocatedPages {
            switch table.state(page) {
            case .readOnly, .readWrite: stale.append(page)
            default: break
            }
        }
        guard !stale.isEmpty else { return }
        stale.sort()
        stale.removeDuplicatesFromSorted()
        statistics.invalidations += UInt64(stale.count)
        close(stale)
    }

    /// Makes [address, address+length) accessible without faults (so MPI may read it, or
    /// write it when `forWriting`): the same steps a fault would take, page by page.
    func makeAccessible(_ address: UnsafeRawPointer, length: Int, forWriting: Bool) {
        guard length > 0, space.contains(address) else { return }
        let first = space.page(of: address)
        let last = space.page(of: address + (length - 1))
        for page in first...last {
            let state = table.state(page)
            let needsFault = state == .unmapped
                || (forWriting && (state == .readOnly || state == .homeReadOnly))
            if needsFault { _ = handleFault(at: space.address(ofPage: page), isWrite: forWriting) }
        }
    }

    func release() {
        twins.release()
        table.release()
    }

    private func forEachRun(_ sortedPages: [Int], _ body: (Int, Int) -> Void) {
        var index = 0
        while index < sortedPages.count {
            let first = sortedPages[index]
            var count = 1
            while index + count < sortedPages.count, sortedPages[index + count] == first + count { count += 1 }
            body(first, count)
            index += count
        }
    }
}
