import Glibc

/// The home-based multiple-writer protocol on one rank: what a fault does, what the end
/// of an interval pushes to the homes, and what an invalidation drops. Runs on the
/// application's thread only (faults are synchronous), so its state needs no locking.
final class CoherenceEngine {
    let rank: Int
    let ranks: Int
    let space: AddressSpace
    var table: PageTable
    let arena: HomeArena
    let cache: PageCache
    let transport: PageTransport
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
    private var victims: [Int] = []

    init(rank: Int, ranks: Int, space: AddressSpace, arena: HomeArena, cache: PageCache,
         transport: PageTransport, prefetchPages: Int) {
        self.rank = rank
        self.ranks = ranks
        self.space = space
        self.table = PageTable(pageCount: space.pageCount)
        self.arena = arena
        self.cache = cache
        self.transport = transport
        self.prefetchPages = prefetchPages
        self.batches = [RunBatch](repeating: RunBatch(), count: ranks)
    }

    private var pageSize: Int { space.pageSize }
    private var pageShift: Int { space.pageShift }

    // MARK: allocation

    /// Records the homes of newly allocated pages and maps the ones homed here.
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
                arena.mapHome(space, firstPage: run.firstPage, count: run.count, writable: ranks == 1)
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
                startWriting(page)
            }
        case .homeReadOnly:
            if isWrite {
                statistics.homeWriteFaults += 1
                space.protect(firstPage: page, count: 1, .readWrite)
                statistics.protectionCalls += 1
                table.setState(page, .homeWritable)
                dirtyHomePages.append(page)
            }
        case .readWrite, .homeWritable:
            break  // already writable: the access retries and succeeds
        }
        DSMLog.trace("fault \(isWrite ? "write" : "read") page \(page) home \(table.home[page])")
        return true
    }

    /// Fetches the faulting page, and the missing pages after it on the same home, into
    /// consecutive cache slots with one transfer, and maps them read-only with one call.
    private func fetchForReading(_ page: Int) {
        let home = table.home[page]
        var count = 1
        while count < prefetchPages, page + count < table.allocatedPages,
              table.home[page + count] == home, table.state(page + count) == .unmapped {
            count += 1
        }
        let slots = takeSlots(count)
        let fetched = slots.count
        fetch(page, count: fetched, home: Int(home), slot: slots.lowerBound)
        space.mapShared(firstPage: page, count: fetched, .read, fd: cache.fd,
                        fileOffset: slots.lowerBound * pageSize, populate: true)
        statistics.protectionCalls += 1
        for index in 0..<fetched {
            table.setState(page + index, .readOnly)
            table.setSlot(page + index, slots.lowerBound + index)
            cache.assign(slots.lowerBound + index, to: page + index)
        }
    }

    private func fetchForWriting(_ page: Int) {
        let slot = takeSlots(1).lowerBound
        fetch(page, count: 1, home: Int(table.home[page]), slot: slot)
        memcpy(cache.twinAddress(slot), cache.slotAddress(slot), pageSize)
        space.mapShared(firstPage: page, count: 1, .readWrite, fd: cache.fd, fileOffset: slot * pageSize,
                        populate: true)
        statistics.protectionCalls += 1
        table.setState(page, .readWrite)
        table.setSlot(page, slot)
        cache.assign(slot, to: page)
        dirtyPages.append(page)
    }

    private func startWriting(_ page: Int) {
        let slot = table.slot(page)!
        memcpy(cache.twinAddress(slot), cache.slotAddress(slot), pageSize)
        space.protect(firstPage: page, count: 1, .readWrite)
        statistics.protectionCalls += 1
        table.setState(page, .readWrite)
        dirtyPages.append(page)
    }

    private func fetch(_ page: Int, count: Int, home: Int, slot: Int) {
        let start = monotonicNanoseconds()
        transport.fetch(home: home, offset: page << pageShift, length: count << pageShift,
                        into: cache.slotAddress(slot))
        statistics.fetchNanoseconds += monotonicNanoseconds() - start
        statistics.fetchOperations += 1
        statistics.pagesFetched += UInt64(count)
    }

    // MARK: cache replacement

    /// Takes up to `count` consecutive slots, evicting what they held.
    private func takeSlots(_ count: Int) -> Range<Int> {
        let slots = cache.ring.take(count)
        victims.removeAll(keepingCapacity: true)
        for slot in slots where cache.owner[slot] >= 0 { victims.append(cache.owner[slot]) }
        if !victims.isEmpty { evict(victims) }
        return slots
    }

    /// Drops cached pages; a dirty one first sends its diff home (and stays a write
    /// notice of this interval).
    private func evict(_ pages: [Int]) {
        var wroteDiffs = false
        for page in pages where table.state(page) == .readWrite {
            if encodeDiff(page) { wroteDiffs = true }
            evictedWrites.append(page)
            statistics.dirtyEvictions += 1
        }
        if wroteDiffs { sendBatches() }
        statistics.evictions += UInt64(pages.count)
        drop(pages.sorted())
    }

    /// Unmaps sorted cached pages (one call per consecutive run) and frees their slots.
    private func drop(_ sortedPages: [Int]) {
        forEachRun(sortedPages) { first, count in
            space.unmapToReserved(firstPage: first, count: count)
            statistics.protectionCalls += 1
        }
        for page in sortedPages {
            if let slot = table.slot(page) { cache.free(slot) }
            table.setSlot(page, nil)
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
                table.setState(page, .readOnly)
                flushed.append(page)
                if encodeDiff(page) { written.append(page) }
            }
            dirtyPages.removeAll(keepingCapacity: true)
            sendBatches()
            flushed.sort()
            forEachRun(flushed) { first, count in
                space.protect(firstPage: first, count: count, .read)
                statistics.protectionCalls += 1
            }
        }
        if !dirtyHomePages.isEmpty {
            dirtyHomePages.sort()
            forEachRun(dirtyHomePages) { first, count in
                space.protect(firstPage: first, count: count, .read)
                statistics.protectionCalls += 1
            }
            for page in dirtyHomePages { table.setState(page, .homeReadOnly) }
            written.append(contentsOf: dirtyHomePages)
            dirtyHomePages.removeAll(keepingCapacity: true)
        }
        return written
    }

    /// Diffs a twinned page into its home's batch. Returns true if any byte changed.
    private func encodeDiff(_ page: Int) -> Bool {
        let slot = table.slot(page)!
        let home = Int(table.home[page])
        let changed = DiffEncoder.encode(page: cache.slotAddress(slot), twin: cache.twinAddress(slot),
                                         length: pageSize, offset: page << pageShift, into: &batches[home])
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

    /// Drops this rank's cached copies of `pages` (pages homed here are always current).
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
        drop(stale)
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
