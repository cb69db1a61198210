import CPlatform
import Glibc

/// The home-based multiple-writer protocol on one rank: what a fault does, what the end
/// of an interval pushes to the homes, and what an invalidation drops. Any thread of the
/// rank may fault; `lock` lets one at a time in (see `EngineLock`).
///
/// Its stored properties are `@exclusivity(unchecked)`: one thread at a time works on the
/// engine, and Swift's run-time exclusivity checks of them (an access-set lookup each)
/// cost about a fifth of a barrier or a lock round on one host (BENCHMARKS.md). The same
/// holds for the other classes on those paths that say so.
///
/// A fetched page lands in a cache slot (memory reused from page to page), which is then
/// mapped at the page's address; a stale copy keeps its slot and is refetched in place.
final class CoherenceEngine {
    let rank: Int
    let ranks: Int
    let space: AddressSpace
    @exclusivity(unchecked) var table: PageTable
    let store: PageStore
    let cache: PageCache
    let transport: PageTransport
    private let prefetchPages: Int
    /// Sequential read faults double the prefetch window up to this many pages.
    private let maxPrefetchPages: Int
    @exclusivity(unchecked) private var readWindow: Int
    @exclusivity(unchecked) private var lastReadRunStart = -1
    @exclusivity(unchecked) private var lastReadRunEnd = -1
    @exclusivity(unchecked) var statistics = Statistics()
    /// Held by the thread that works on the engine: a fault's, or a synchronization call's.
    let lock = EngineLock()
    /// Tests only: called right after a fetched run (first page, count) is mapped, where
    /// another thread of the rank could already be writing it.
    @exclusivity(unchecked) var runMappedForTesting: ((Int, Int) -> Void)?
    /// JIAJIA's ADWD: cached pages written in consecutive intervals stay writable with their
    /// twin (diffed at each release), and home pages written in a barrier interval stay
    /// writable into the next. Settable at any time (jia_config); each rank decides alone.
    @exclusivity(unchecked) var adaptiveWriteDetection = false
    /// This rank's count of intervals, for "written recently" (0 means never: the count
    /// starts beyond the ADWD window).
    @exclusivity(unchecked) private var interval: UInt32 = CoherenceEngine.firstInterval
    private static let firstInterval: UInt32 = 16
    /// This rank's count of barrier intervals (from 2, so 0 and 1 mean "never written").
    @exclusivity(unchecked) private var barrierInterval: UInt32 = 2
    /// JIAJIA's WVEC: where the transport can (the message paths), a refetch of stale copies
    /// moves only the blocks changed since they were made. Settable at any time (jia_config).
    @exclusivity(unchecked) var useWriteVectors = false
    /// The transport's refetch through the homes' write vectors, where it has one.
    @exclusivity(unchecked) var refetcher: PageRefetching?
    /// The broadcast setting (JIAJIA's BROADCAST): the pages this rank fetches become
    /// subscriptions of the next barrier (see `ReadBroadcast`). Must agree on every rank.
    @exclusivity(unchecked) var broadcastReads = false
    /// Subscriptions and unsubscriptions for the next barrier's notices.
    @exclusivity(unchecked) private var subscriptionChanges: [Int64] = []
    /// The read-ahead over pushed copies (see `useBroadcastCopy`).
    @exclusivity(unchecked) private var pushedWindow = 1
    @exclusivity(unchecked) private var lastPushedRunEnd = -1
    /// A barrier's subscriptions stop growing here (so its notice lists stay bounded).
    private static let subscriptionLimit = 1 << 16
    /// This rank's write vectors as a home, where its service thread serves refetches.
    @exclusivity(unchecked) var writeVectors: WriteVectors?
    @exclusivity(unchecked) private var homeTwins: HomeTwins
    @exclusivity(unchecked) private var homeChanges: [(page: Int, mask: UInt64)] = []

    /// Synchronizations (invalidations by a barrier or a lock grant) so far: the clock of
    /// snapshot reads' ages.
    @exclusivity(unchecked) private var synchronizations: UInt32 = 1
    /// Pages whose copy here went stale under snapshot reads, until refetched or too old.
    @exclusivity(unchecked) private var staleCopies: [Int] = []
    /// The snapshot allocations and their copies too old to use (see `refreshExpiredCopies`).
    @exclusivity(unchecked) private var snapshots = SnapshotRegions()
    /// The fault path's lists for a region's refresh, made large enough at each invalidation
    /// (the runs are plain memory: an array of them allocates where the code is not specialized).
    @exclusivity(unchecked) private var refreshPages: [Int] = []
    @exclusivity(unchecked) private var refreshRuns: RefreshRuns
    /// Tests only: the next fault reads the shared range's last page (never accessible) while
    /// it is being resolved, as a bug in the handler would.
    @exclusivity(unchecked) var faultInsideTheHandlerForTesting = false
    /// Names the allocation a freed page belonged to, for the error of a use after free.
    @exclusivity(unchecked) var describeFreed: ((Int) -> String)?
    /// Pages changed since the last checkpoint; nil unless checkpoints are on.
    @exclusivity(unchecked) var checkpointChanges: ChangedPages?

    /// Cached pages made writable (twinned) in this interval, or kept writable from the last.
    @exclusivity(unchecked) private var dirtyPages: [Int] = []
    /// Home pages made writable in this interval.
    @exclusivity(unchecked) private var dirtyHomePages: [Int] = []
    /// Pages written in this interval whose diff already went home because they were evicted.
    @exclusivity(unchecked) private var evictedWrites: [Int] = []
    /// One reusable batch per home rank.
    @exclusivity(unchecked) private var batches: [RunBatch]
    @exclusivity(unchecked) private var flushed: [Int] = []
    @exclusivity(unchecked) private var kept: [Int] = []
    @exclusivity(unchecked) private var arrived: [Int] = []
    @exclusivity(unchecked) private var departed: [Int] = []
    @exclusivity(unchecked) private var victims: [Int] = []
    /// Faults and fetches for the debug log, logged outside the fault handler.
    @exclusivity(unchecked) private var trace = FaultTrace(enabled: DSMLog.tracing)

    init(rank: Int, ranks: Int, space: AddressSpace, store: PageStore, cachePages: Int, prefaultCache: Bool,
         transport: PageTransport, prefetchPages: Int) {
        self.rank = rank
        self.ranks = ranks
        self.space = space
        self.table = PageTable(pageCount: space.pageCount)
        self.store = store
        self.cache = PageCache(slotCount: cachePages, pageSize: space.pageSize, prefault: prefaultCache && ranks > 1)
        self.transport = transport
        self.prefetchPages = min(prefetchPages, cachePages)
        self.maxPrefetchPages = min(max(prefetchPages, 256), cachePages)
        self.readWindow = self.prefetchPages
        self.batches = [RunBatch](repeating: RunBatch(), count: ranks)
        self.homeTwins = HomeTwins(bufferCount: cachePages, pageSize: space.pageSize)
        self.refreshRuns = RefreshRuns(ranks: ranks)
        reserveFaultState()
    }

    /// The fault path runs in a signal handler, where malloc may not be called: the lists it
    /// appends to are reserved here, for a cache's worth of pages (they are emptied with their
    /// capacity kept), and each home's diff batch for a prefetch window of dirty evictions
    /// (reused at every interval end; only a larger eviction than any before grows one).
    private func reserveFaultState() {
        let slots = cache.slotCount
        victims.reserveCapacity(maxPrefetchPages)
        dirtyPages.reserveCapacity(2 * slots)
        evictedWrites.reserveCapacity(2 * slots)
        dirtyHomePages.reserveCapacity(min(space.pageCount, 2 * slots))
        subscriptionChanges.reserveCapacity(min(Self.subscriptionLimit, 2 * slots))
        let words = prefetchPages * pageSize / 8
        for home in batches.indices where home != rank {
            batches[home].reserveCapacity(words: words, runs: words / 8)
        }
    }

    private var pageSize: Int { space.pageSize }
    private var pageShift: Int { space.pageShift }

    // MARK: allocation

    /// Records the homes of newly allocated pages and opens the ones homed here.
    func addRegion(firstPage: Int, pages: Int, blockPages: Int, startRank: Int, snapshotAge: Int = 0) {
        (table.snapshotAge.pointer + firstPage).update(repeating: UInt8(snapshotAge), count: pages)
        (table.staleSince.pointer + firstPage).update(repeating: 0, count: pages)
        if snapshotAge > 0 { snapshots.add(firstPage: firstPage, pages: pages) }
        for run in HomeLayout.runs(firstPage: firstPage, pages: pages, blockPages: blockPages,
                                   startRank: startRank, ranks: ranks) {
            let home = Int32(run.home)
            // Home pages are write-protected until the first write shows whether they need
            // detection (see `handleFault`); a page that is never written then costs nothing.
            let state: PageState = run.home == rank ? (ranks == 1 ? .homeOpen : .homeReadOnly) : .uncached
            for page in run.firstPage..<(run.firstPage + run.count) {
                table.home[page] = home
                table.setState(page, state)
            }
            if run.home == rank {
                space.protect(firstPage: run.firstPage, count: run.count, ranks == 1 ? .readWrite : .read)
            }
        }
        table.allocatedPages = max(table.allocatedPages, firstPage + pages)
    }

    // MARK: faults

    /// Resolves a fault at `address`. Returns false only for a state that cannot fault.
    func handleFault(at address: UnsafeMutableRawPointer, isWrite: Bool) -> Bool {
        lock.whileFaulting { resolveFault(at: address, isWrite: isWrite) }
    }

    private func resolveFault(at address: UnsafeMutableRawPointer, isWrite: Bool) -> Bool {
        if faultInsideTheHandlerForTesting { touchInaccessibleMemory(space.address(ofPage: space.pageCount - 1)) }
        let faultStart = monotonicNanoseconds()
        let page = space.page(of: address)
        guard page < table.allocatedPages else {
            Fatal.stop("\(isWrite ? "write" : "read") at \(address) is outside the allocated shared memory "
                + "[\(space.base), \(space.address(ofPage: table.allocatedPages))): "
                + "only memory returned by jia_alloc may be accessed")
        }
        switch table.state(page) {
        case .uncached:
            if isWrite {
                statistics.writeFaults += 1
                let count = fetchIntoNewSlots(page, limit: prefetchPages, .readWrite)
                startWriting(page, count: count, protect: false, twinned: true)
            } else {
                statistics.readFaults += 1
                fetchForReading(page)
            }
        case .invalid:
            if !isWrite && table.snapshotAge[page] > 0 && refreshExpiredCopies(around: page) {
                statistics.readFaults += 1
                break
            }
            let count = refetchIntoSlots(page, limit: isWrite ? 1 : prefetchPages)
            if isWrite {
                statistics.writeFaults += 1
                startWriting(page, count: count, protect: true)
            } else {
                statistics.readFaults += 1
                protect(page, count: count, .read)
            }
        case .stale where !isWrite:
            // A snapshot read: the copies held are young enough, so no fetch; the stale pages
            // that follow open with it (one protection change, as a fetched run).
            let count = run(from: page, in: .stale, sameHome: false, limit: prefetchPages)
            statistics.staleReads += UInt64(count)
            protect(page, count: count, .read)
            for index in page..<(page + count) { table.setState(index, .readOnly) }
        case .stale:
            refetchStaleForWriting(page)
        case .readOnly where isWrite && table.staleSince[page] != 0:
            refetchStaleForWriting(page)
        case .readOnly:
            if isWrite {
                statistics.writeFaults += 1
                startWriting(page, count: run(from: page, in: .readOnly, sameHome: false, limit: prefetchPages),
                             protect: true)
            }
        case .homeReadOnly:
            if isWrite {
                statistics.homeWriteFaults += 1
                startHomeWriting(page)
            }
        case .pushed:
            useBroadcastCopy(page, isWrite: isWrite)
        case .freed:
            Fatal.stop("\(isWrite ? "write" : "read") at \(address) is in shared memory released by jia_free: "
                + (describeFreed?(page) ?? "page \(page)") + "; a pointer into it may not be used after the free")
        case .readWrite, .homeWritable, .homeOpen:
            break  // already writable: the access retries and succeeds
        }
        let faultTime = monotonicNanoseconds() &- faultStart
        statistics.faultNanoseconds &+= faultTime
        statistics.faultLatency.record(faultTime)
        if DSMLog.tracing { trace.record(.fault(page: page, home: table.home[page], isWrite: isWrite, nanoseconds: faultTime)) }
        return true
    }

    /// A write to a stale copy (snapshot reads): writes see the current page, so it is
    /// refetched first.
    private func refetchStaleForWriting(_ page: Int) {
        table.setState(page, .invalid)
        let count = refetchIntoSlots(page, limit: 1)
        statistics.writeFaults += 1
        startWriting(page, count: count, protect: true)
    }

    /// The faulting page and the pages after it in the same state (and on the same home,
    /// when they must be fetched), up to `limit`: a sequential sweep then takes one fault,
    /// one transfer and one mapping change per run instead of per page.
    private func run(from page: Int, in state: PageState, sameHome: Bool, limit: Int) -> Int {
        let home = table.home[page]
        var count = 1
        // A stale copy (snapshot reads) joins only a run of stale copies: it is refetched before a write.
        while count < limit, page + count < table.allocatedPages, table.state(page + count) == state,
              !sameHome || table.home[page + count] == home, state == .stale || table.staleSince[page + count] == 0 {
            count += 1
        }
        return count
    }

    /// A read fault right after the previous run doubles the window (a sequential sweep
    /// then takes few faults per megabyte); a fault right before it does the same going
    /// down (a descending sweep, or a memcpy that copies backwards); any other fault starts
    /// again from the setting and reads ahead.
    private func fetchForReading(_ page: Int) {
        let ascending = page == lastReadRunEnd
        let descending = page + 1 == lastReadRunStart
        readWindow = ascending || descending ? min(readWindow * 2, maxPrefetchPages) : prefetchPages
        var first = page
        if descending {
            let home = table.home[page]
            while page - first + 1 < readWindow, first > 0, table.state(first - 1) == .uncached,
                  table.home[first - 1] == home {
                first -= 1
            }
        }
        let count = fetchIntoNewSlots(first, limit: descending ? page - first + 1 : readWindow, .read)
        lastReadRunStart = first
        lastReadRunEnd = first + count
    }

    /// Fetches a run of uncached pages into consecutive free slots with one transfer and
    /// maps the slots at the pages' addresses with one call. Returns the run's length.
    ///
    /// Where the transport waits for the bytes, the run is mapped meanwhile, inaccessible
    /// (another thread touching it waits in its own fault), and opened once they are there.
    /// Measured across 2 hosts: the mmap, 3.3-3.8 us, hides in a 17 us fetch; opening the
    /// untouched mapping takes 1.1-1.3 us, where the mmap after the fetch took 4.0.
    /// A read run is never pre-filled: a read's minor fault maps the resident pages around
    /// it (16 at a time), so reading 16 freshly opened pages took 5.2-5.6 us against 13-16
    /// for a pre-filled mmap. Writes fault page by page: a write run of 4 or more is
    /// pre-filled (`populate`), and so mapped after the fetch.
    private func fetchIntoNewSlots(_ page: Int, limit: Int, _ protection: Protection) -> Int {
        let wanted = run(from: page, in: .uncached, sameHome: true, limit: limit)
        let slots = takeSlots(wanted)
        let count = slots.count
        let populate = protection == .readWrite && count >= 4
        var premapped = false
        if !populate {
            premapped = fetch(page, count: count, into: cache.slotAddress(slots.lowerBound)) {
                mapSlots(slots, at: page, .none, populate: false)
            }
        } else {
            fetch(page, count: count, into: cache.slotAddress(slots.lowerBound))
        }
        if protection == .readWrite {
            // Twins first: once the pages are mapped writable, another thread may write them.
            for slot in slots { cache.makeTwin(of: slot) }
        }
        if premapped {
            protect(page, count: count, protection)
        } else {
            mapSlots(slots, at: page, protection, populate: populate)
        }
        runMappedForTesting?(page, count)
        for index in 0..<count {
            table.setSlot(page + index, slots.lowerBound + index)
            table.setState(page + index, .readOnly)
            cache.assign(slots.lowerBound + index, to: page + index)
        }
        return count
    }

    /// Refetches stale cached pages into the slots they still hold: the run continues while
    /// the following pages are stale, on the same home, in the following slots.
    private func refetchIntoSlots(_ page: Int, limit: Int) -> Int {
        let slot = table.slot(page)!
        var count = run(from: page, in: .invalid, sameHome: true, limit: min(limit, cache.slotCount - slot))
        for index in 1..<max(count, 1) where table.slot(page + index) != slot + index {
            count = index
            break
        }
        (table.staleSince.pointer + page).update(repeating: 0, count: count)
        if useWriteVectors, let refetcher {
            let start = monotonicNanoseconds()
            let saved = refetcher.refetch(home: Int(table.home[page]), firstPage: page, count: count, pageShift: pageShift,
                                          versions: cache.versions.pointer + slot, into: cache.slotAddress(slot))
            statistics.refetchBytesSaved += UInt64(saved)
            countFetch(page, count: count, since: start)
        } else {
            fetch(page, count: count, into: cache.slotAddress(slot))
            (cache.versions.pointer + slot).update(repeating: 0, count: count)
        }
        for index in page..<(page + count) { table.setState(index, .readOnly) }
        return count
    }

    /// Snapshot reads: the first read of a copy too old to use refreshes every expired copy
    /// of its allocation held here, with one gathered fetch per home. A rank that must wait
    /// for the newest data so waits once per region, its requests queued at the homes among
    /// the other ranks', instead of faulting page by page in a storm of single fetches.
    /// Returns false (nothing done) unless `page` and at least one more copy are expired.
    /// (Index loops throughout: the generic algorithms allocate where they are not specialized.)
    private func refreshExpiredCopies(around page: Int) -> Bool {
        refreshPages.removeAll(keepingCapacity: true)
        var faulted = false
        for index in snapshots.expiredIndices(inRegionOf: page) {
            let expired = snapshots.expired(at: index)
            if table.state(expired) == .invalid && table.slot(expired) != nil {
                refreshPages.append(expired)
                faulted = faulted || expired == page
            }
        }
        guard refreshPages.count > 1, faulted else { return false }
        refreshRuns.removeAll()
        var index = 0
        while index < refreshPages.count {
            let first = refreshPages[index]
            let home = Int(table.home[first])
            guard home != rank, let slot = table.slot(first) else {
                index += 1
                continue
            }
            // A run: the following pages, on this home, in the following slots.
            var count = 1
            while index + count < refreshPages.count, count < maxPrefetchPages,
                  refreshPages[index + count] == first + count, Int(table.home[first + count]) == home,
                  let next = table.slot(first + count), next == slot + count {
                count += 1
            }
            refreshRuns.append(FetchRun(offset: first << pageShift, length: count << pageShift,
                                        destination: cache.slotAddress(slot)), home: home)
            index += count
        }
        refreshRuns.forEachHome { home, runs in
            let start = monotonicNanoseconds()
            transport.fetch(home: home, runs: runs)
            let elapsed = monotonicNanoseconds() &- start
            statistics.fetchNanoseconds += elapsed
            statistics.fetchLatency.record(elapsed)
            statistics.fetchOperations += 1
            var pages = 0
            for run in runs {
                noteFetched(run.offset >> pageShift, count: run.length >> pageShift)
                pages += run.length >> pageShift
            }
            if DSMLog.tracing {
                trace.record(.fetch(page: runs[0].offset >> pageShift, count: pages, home: Int32(home), nanoseconds: elapsed))
            }
        }
        forEachRun(refreshPages) { first, count in protect(first, count: count, .read) }
        for index in 0..<refreshPages.count {
            let expired = refreshPages[index]
            table.staleSince[expired] = 0
            cache.versions[table.slot(expired)!] = 0
            table.setState(expired, .readOnly)
        }
        statistics.snapshotRefreshes += 1
        return true
    }

    private func fetch(_ page: Int, count: Int, into destination: UnsafeMutableRawPointer) {
        _ = fetch(page, count: count, into: destination) {}
    }

    /// As `fetch(_:count:into:)`, running `meanwhile` while the bytes are on their way where
    /// the transport waits for them; returns whether it ran.
    private func fetch(_ page: Int, count: Int, into destination: UnsafeMutableRawPointer,
                       meanwhile: () -> Void) -> Bool {
        let start = monotonicNanoseconds()
        let ran = transport.fetch(home: Int(table.home[page]), offset: page << pageShift, length: count << pageShift,
                                  into: destination, meanwhile: meanwhile)
        countFetch(page, count: count, since: start)
        return ran
    }

    /// Maps `slots` of the cache at the addresses of the pages from `page`, with one call.
    private func mapSlots(_ slots: Range<Int>, at page: Int, _ protection: Protection, populate: Bool) {
        let start = monotonicNanoseconds()
        space.mapShared(firstPage: page, count: slots.count, protection, fd: cache.fd,
                        fileOffset: slots.lowerBound * pageSize, populate: populate)
        statistics.protectionNanoseconds &+= monotonicNanoseconds() &- start
        statistics.protectionCalls += 1
    }

    private func countFetch(_ page: Int, count: Int, since start: UInt64) {
        let elapsed = monotonicNanoseconds() - start
        statistics.fetchNanoseconds += elapsed
        statistics.fetchLatency.record(elapsed)
        statistics.fetchOperations += 1
        noteFetched(page, count: count)
        if DSMLog.tracing { trace.record(.fetch(page: page, count: count, home: table.home[page], nanoseconds: elapsed)) }
    }

    /// What every fetched run leaves: its count, the subscription, the pages' fetch counts.
    private func noteFetched(_ page: Int, count: Int) {
        countFetched(page, count: count)
        subscribe(page, count: count)
    }

    private func countFetched(_ page: Int, count: Int) {
        statistics.pagesFetched += UInt64(count)
        for index in page..<(page + count) where table.fetchCount[index] < UInt16.max { table.fetchCount[index] += 1 }
    }

    /// The first use of a copy the last barrier's broadcast installed: no fetch, a protection
    /// change, and a renewed subscription. A read opens the page alone, unless it follows the
    /// run the last such read opened: then the window doubles (up to prefetch-pages), as a
    /// fetch's read-ahead does. So a sequential reader takes few faults, and copies nobody
    /// reads (a fetch's read-ahead past a boundary row) are not renewed and stop being
    /// pushed. Each page opened counts as a fetch for a memory balance.
    private func useBroadcastCopy(_ page: Int, isWrite: Bool) {
        pushedWindow = !isWrite && page == lastPushedRunEnd ? min(pushedWindow * 2, prefetchPages) : 1
        let count = run(from: page, in: .pushed, sameHome: false, limit: pushedWindow)
        for index in page..<(page + count) {
            table.setState(index, .readOnly)
            if table.fetchCount[index] < UInt16.max { table.fetchCount[index] += 1 }
        }
        subscribe(page, count: count)
        lastPushedRunEnd = page + count
        if isWrite {
            statistics.writeFaults += 1
            startWriting(page, count: 1, protect: true)
        } else {
            statistics.readFaults += 1
            protect(page, count: count, .read)
        }
    }

    /// A use of the page: subscribed from the next barrier on, if not yet. Pages of snapshot
    /// allocations are not: a push would replace a copy the rank means to keep using, and
    /// their expired copies are refreshed together instead (`refreshExpiredCopies`).
    private func subscribe(_ page: Int, count: Int) {
        guard broadcastReads else { return }
        for index in page..<(page + count) where table.snapshotAge[index] == 0 {
            if table.subscription[index] == PageTable.subscribed { continue }
            if table.subscription[index] & PageTable.subscribed == 0 {
                guard subscriptionChanges.count < Self.subscriptionLimit else { continue }
                subscriptionChanges.append(ReadBroadcast.subscription(index))
            }
            table.subscription[index] = PageTable.subscribed
        }
    }

    /// The subscriptions and unsubscriptions since the last call (the last barrier).
    func takeSubscriptionChanges() -> [Int64] {
        defer { subscriptionChanges.removeAll(keepingCapacity: true) }
        return Array.copying(subscriptionChanges)  // as in endInterval: the reservation stays this list's
    }

    /// Home pages this rank is about to push (inside a barrier, in page order): their copies
    /// are noted (read notices), and those open for want of copies are protected again, so
    /// the home's next writes are detected and noticed (rather than noticed unseen at the
    /// next interval end). Pages ADWD keeps open stay so: they are written every interval.
    func pushingHomePages(_ pages: [Int]) {
        let notices = store.readNotices
        flushed.removeAll(keepingCapacity: true)
        for page in pages {
            notices.mark(first: page, count: 1)
            let keptOpen = adaptiveWriteDetection && table.writtenBarrier[page] == barrierInterval &- 1
            if table.state(page) == .homeOpen && !keptOpen {
                table.setState(page, .homeReadOnly)
                flushed.append(page)
            }
        }
        forEachRun(flushed) { first, count in protect(first, count: count, .read) }
        if let writeVectors, !flushed.isEmpty {
            writeVectors.homeWritesNoticed(flushed.map { ($0, WriteVectors.everyBlock) }, protected: flushed)
        }
        statistics.pagesBroadcastOut += UInt64(pages.count)
    }

    /// A page's home moved: its subscriptions start again on every rank.
    func forgetSubscription(_ page: Int) { table.subscription[page] = 0 }

    /// A broadcast of a page homed elsewhere: installs its contents in the slot of this rank's
    /// copy if the barrier just invalidated it (otherwise leaves it), and unsubscribes after
    /// `ReadBroadcast.unusedLimit` broadcasts in a row that were not used.
    func installBroadcast(_ page: Int, from contents: UnsafeRawPointer) {
        let subscription = table.subscription[page]
        if subscription & PageTable.subscribed != 0 {
            if subscription & ~PageTable.subscribed + 1 >= ReadBroadcast.unusedLimit {
                table.subscription[page] = 0
                subscriptionChanges.append(ReadBroadcast.unsubscription(page))
            } else {
                table.subscription[page] = subscription + 1
            }
        }
        guard table.state(page) == .invalid, let slot = table.slot(page) else { return }
        memcpy(cache.slotAddress(slot), contents, pageSize)
        cache.versions[slot] = 0
        table.setState(page, .pushed)
        statistics.pagesBroadcastIn += 1
    }

    /// A write to a protected home page. If no other rank holds a copy (read notices), the
    /// page and the following protected ones without copies (unless checkpoints are on) become open: writable, with no
    /// write detection, until a copy is made. Otherwise the write is noticed at the end of
    /// the interval.
    private func startHomeWriting(_ page: Int) {
        let notices = store.readNotices
        guard !notices.hasCopies(page) else {
            store.willChange(first: page, count: 1)
            if let writeVectors {
                if useWriteVectors { homeTwins.make(page, from: store.aliasAddress(ofPage: page)) }
                writeVectors.homeMayWrite(first: page, count: 1)
            }
            protect(page, count: 1, .readWrite)
            table.setState(page, .homeWritable)
            dirtyHomePages.append(page)
            return
        }
        // With checkpoints on, only the faulting page opens: an open page counts as changed
        // at the next checkpoint, and its neighbours may never be written.
        let limit = checkpointChanges == nil ? prefetchPages : 1
        var count = 1
        while count < limit, page + count < table.allocatedPages,
              table.state(page + count) == .homeReadOnly, !notices.hasCopies(page + count) {
            count += 1
        }
        store.willChange(first: page, count: count)
        writeVectors?.homeMayWrite(first: page, count: count)
        protect(page, count: count, .readWrite)
        for index in page..<(page + count) { table.setState(index, .homeOpen) }
    }

    /// Twins a run of valid cached pages (unless the caller did, before mapping them
    /// writable) and makes it writable (with one protection change unless the caller mapped
    /// it writable already). The twin always precedes the protection change: from then on
    /// another thread of the rank may write the page.
    private func startWriting(_ page: Int, count: Int, protect needsProtect: Bool, twinned: Bool = false) {
        for index in page..<(page + count) {
            if !twinned { cache.makeTwin(of: table.slot(index)!) }
            table.setState(index, .readWrite)
            dirtyPages.append(index)
        }
        if needsProtect { protect(page, count: count, .readWrite) }
    }

    private func protect(_ page: Int, count: Int, _ protection: Protection) {
        let start = monotonicNanoseconds()
        space.protect(firstPage: page, count: count, protection)
        statistics.protectionNanoseconds &+= monotonicNanoseconds() &- start
        statistics.protectionCalls += 1
    }

    // MARK: cache replacement

    /// Takes up to `count` consecutive slots, evicting what they held.
    private func takeSlots(_ count: Int) -> Range<Int> {
        let slots = cache.ring.take(count)
        victims.removeAll(keepingCapacity: true)
        var slot = slots.lowerBound
        while slot < slots.upperBound {
            if cache.owner[slot] >= 0 { victims.append(cache.owner[slot]) }
            slot += 1
        }
        if !victims.isEmpty { evict() }
        return slots
    }

    /// Drops the cached pages in `victims` and frees their slots; a dirty one sends its diff
    /// home (and stays a write notice of this interval). The pages leave the shared range
    /// before they are diffed (from the slot's alias), so a write of another thread cannot
    /// land after its diff. Runs inside the fault handler: no allocation (index loops, an
    /// in-place sort, lists and batches reserved at start-up: `reserveFaultState`).
    private func evict() {
        Self.sortInPlace(&victims)
        forEachRun(victims) { first, count in
            let start = monotonicNanoseconds()
            store.restore(space, firstPage: first, count: count)
            statistics.protectionNanoseconds &+= monotonicNanoseconds() &- start
            statistics.protectionCalls += 1
        }
        var wroteDiffs = false
        var index = 0
        while index < victims.count {
            let page = victims[index]
            index += 1
            guard table.state(page) == .readWrite else { continue }
            if encodeDiff(page) { wroteDiffs = true }
            cache.dropTwin(of: table.slot(page)!)
            evictedWrites.append(page)
            statistics.dirtyEvictions += 1
        }
        if wroteDiffs { sendBatches() }
        statistics.evictions += UInt64(victims.count)
        index = 0
        while index < victims.count {
            let page = victims[index]
            index += 1
            cache.free(table.slot(page)!)
            table.setSlot(page, nil)
            table.setState(page, .uncached)
            table.staleSince[page] = 0
        }
    }

    /// Insertion sort: the victims of one fault are at most a prefetch window, mostly in
    /// order already (slots are taken in ring order), and `sort()` may allocate.
    private static func sortInPlace(_ pages: inout [Int]) {
        pages.withUnsafeMutableBufferPointer { buffer in
            var index = 1
            while index < buffer.count {
                let page = buffer[index]
                var position = index
                while position > 0 && buffer[position - 1] > page {
                    buffer[position] = buffer[position - 1]
                    position -= 1
                }
                buffer[position] = page
                index += 1
            }
        }
    }

    // MARK: intervals

    /// Ends the current interval: every page written in it has its diff applied at its
    /// home when this returns, and is write-protected again unless adaptive write detection
    /// keeps it open. Returns the write notices of the interval: the pages written in it
    /// that another rank may hold a copy of. `atBarrier`: the interval ends at a barrier,
    /// whose notices reach every rank (so the read notices of those pages can be forgotten).
    func endInterval(atBarrier: Bool) -> [Int] {
        trace.flush()
        guard ranks > 1 else { return [] }
        interval &+= 1
        if interval == 0 {  // after 2^32 intervals: forget, since 0 means "never written"
            table.writtenInterval.pointer.update(repeating: 0, count: table.writtenInterval.count)
            interval = Self.firstInterval
        }
        // Copied out, not shared: emptying a list whose buffer another array still holds
        // allocates a new one of its whole reserved capacity (2 x the cache's slots).
        var written = Array.copying(evictedWrites)
        evictedWrites.removeAll(keepingCapacity: true)
        if !dirtyPages.isEmpty { endCachedWrites(into: &written) }
        endHomeWrites(atBarrier: atBarrier, into: &written)
        return written
    }

    /// Diffs every written cached page to its home. With ADWD a page written again within
    /// `adaptiveWindow` intervals of its last write stays writable with a fresh twin, until
    /// that many interval ends pass without a change; the others are protected again.
    private func endCachedWrites(into written: inout [Int]) {
        flushed.removeAll(keepingCapacity: true)
        kept.removeAll(keepingCapacity: true)
        // A page evicted and written again appears twice; its mark skips the second entry.
        for page in dirtyPages where table.state(page) == .readWrite && table.writtenInterval[page] != interval {
            let slot = table.slot(page)!
            let recent = interval &- table.writtenInterval[page] <= Self.adaptiveWindow
            let changed = encodeDiff(page)
            if changed {
                written.append(page)
                table.writtenInterval[page] = interval
            }
            if adaptiveWriteDetection && recent {
                kept.append(page)
            } else {
                cache.dropTwin(of: slot)
                table.setState(page, .readOnly)
                flushed.append(page)
            }
        }
        sendBatches()
        for page in kept where table.writtenInterval[page] == interval { cache.refreshTwin(of: table.slot(page)!) }
        statistics.pagesKeptWritable += UInt64(kept.count)
        // Copied, not swapped: the dirty list keeps its room (the fault handler appends to it).
        dirtyPages.removeAll(keepingCapacity: true)
        dirtyPages.append(contentsOf: kept)
        kept.removeAll(keepingCapacity: true)
        flushed.sort()
        forEachRun(flushed) { first, count in protect(first, count: count, .read) }
    }

    /// ADWD keeps a page writable while it is written at least once every this many intervals
    /// (a critical section's writes leave the interval between two sections unchanged).
    private static let adaptiveWindow: UInt32 = 2

    /// Write notices and protection of home pages. Open pages (no write detection) that
    /// gained a copy since the last interval end may have been written: they are noticed,
    /// and detected from now on. Detected writes are noticed if some rank holds a copy; a
    /// page nobody holds a copy of is left open. With ADWD, a page whose writes were noticed
    /// in this barrier interval and the one before stays open into the next: its copies are
    /// invalidated by this barrier, and the next interval end notices it again if a copy is
    /// made (so a home that stops writing it costs one needless notice, then detection).
    private func endHomeWrites(atBarrier: Bool, into written: inout [Int]) {
        let notices = store.readNotices
        cplatform_memory_fence()  // this rank's writes before the notices are read (see ReadNotices)
        flushed.removeAll(keepingCapacity: true)
        let firstNoticed = written.count
        let limit = table.allocatedPages
        notices.forEachChunkWithNewCopies(below: limit) { first in
            for page in first..<min(first + (1 << ReadNotices.chunkShift), limit)
            where table.state(page) == .homeOpen && notices.hasCopies(page) {
                written.append(page)
                table.writtenBarrier[page] = barrierInterval
                table.setState(page, .homeReadOnly)
                flushed.append(page)
            }
        }
        for page in dirtyHomePages where table.state(page) == .homeWritable {
            guard notices.hasCopies(page) else {
                table.setState(page, .homeOpen)
                homeTwins.drop(page)
                continue
            }
            written.append(page)
            let writtenBefore = table.writtenBarrier[page] == barrierInterval &- 1
            table.writtenBarrier[page] = barrierInterval
            if atBarrier && adaptiveWriteDetection && writtenBefore {
                table.setState(page, .homeOpen)
                statistics.pagesKeptWritable += 1
            } else {
                table.setState(page, .homeReadOnly)
                flushed.append(page)
            }
        }
        dirtyHomePages.removeAll(keepingCapacity: true)
        flushed.sort()
        forEachRun(flushed) { first, count in protect(first, count: count, .read) }
        if let writeVectors { recordHomeChanges(written[firstNoticed...], in: writeVectors) }
        if atBarrier { barrierInterval &+= 1 }
    }

    /// The blocks of each noticed home page that changed in this interval (compared with its
    /// twin, or all of them), for the write vectors; `flushed` holds the pages protected again.
    private func recordHomeChanges(_ noticed: ArraySlice<Int>, in writeVectors: WriteVectors) {
        homeChanges.removeAll(keepingCapacity: true)
        for page in noticed {
            homeChanges.append((page, homeTwins.changedBlocks(page, at: store.aliasAddress(ofPage: page))))
        }
        writeVectors.homeWritesNoticed(homeChanges, protected: flushed)
    }

    /// At a barrier, once the notices of `pages` (this rank's, since the last barrier) are
    /// about to reach every rank: every copy of those homed here is invalidated by it.
    func forgetCopies(of pages: [Int]) {
        let notices = store.readNotices
        for page in pages where table.home[page] == rank { notices.clear(page) }
    }

    // MARK: home migration

    /// A valid cached copy of a page homed elsewhere (a migration candidate's condition).
    func holdsValidCopy(_ page: Int) -> Bool {
        let state = table.state(page)
        return table.home[page] != rank && (state == .readOnly || state == .readWrite) && table.staleSince[page] == 0
    }

    /// The first half of moving homes here: copies each page that `moves` brings to this rank
    /// into its page store, from a valid cached copy (current once its diff went home) or
    /// else from its old home. Every old home must still hold its pages while this runs.
    func receiveHomes(_ moves: [HomeMigration.Move]) {
        for move in moves where move.to == rank {
            let destination = store.aliasAddress(ofPage: move.page)
            store.willChange(first: move.page, count: 1)
            if holdsValidCopy(move.page) {
                memcpy(destination, cache.slotAddress(table.slot(move.page)!), pageSize)
            } else {
                transport.fetch(home: move.from, offset: move.page << pageShift, length: pageSize, into: destination)
            }
        }
    }

    /// The second half (after `receiveHomes` on every rank): a page moving here becomes a
    /// home page (its cache slot freed); a page moving away leaves this rank's store; every
    /// rank records the new home. `copiesRemain`: other ranks may keep valid copies (a
    /// balance), so the new home notes them (read notices) and detects its writes; after a
    /// barrier's migration every other copy was invalidated, so the page starts open.
    func migrate(_ moves: [HomeMigration.Move], copiesRemain: Bool) {
        arrived.removeAll(keepingCapacity: true)
        departed.removeAll(keepingCapacity: true)
        let notices = store.readNotices
        for move in moves {
            if move.to == rank {
                if let slot = table.slot(move.page) {
                    if table.state(move.page) == .readWrite { cache.dropTwin(of: slot) }
                    cache.free(slot)
                    table.setSlot(move.page, nil)
                }
                table.setState(move.page, copiesRemain ? .homeReadOnly : .homeOpen)
                table.staleSince[move.page] = 0
                writeVectors?.arrived(move.page, writable: !copiesRemain)
                if copiesRemain { notices.mark(first: move.page, count: 1) } else { notices.clear(move.page) }
                arrived.append(move.page)
            } else {
                if move.from == rank {
                    table.setState(move.page, .uncached)
                    departed.append(move.page)
                    writeVectors?.departed(move.page)
                } else if let slot = table.slot(move.page) {
                    cache.versions[slot] = 0  // a version of the old home's, meaningless to the new
                }
                notices.clear(move.page)
            }
            table.home[move.page] = Int32(move.to)
        }
        if !arrived.isEmpty { dirtyPages.removeAll { table.home[$0] == rank } }
        forEachRun(arrived) { first, count in
            store.mapHome(space, firstPage: first, count: count, copiesRemain ? .read : .readWrite)
        }
        forEachRun(departed) { first, count in store.dropHome(space, firstPage: first, count: count) }
        checkpointChanges?.mark(arrived)
        statistics.pagesMigratedIn += UInt64(arrived.count)
        statistics.pagesMigratedOut += UInt64(departed.count)
    }

    // MARK: freeing

    /// Releases a region (collective, right after a barrier, so no diff of it is pending):
    /// home pages return their memory (a hole in the store), cached copies their slots, and
    /// every page is `.freed` until an allocation reuses it. The pages count as changed for
    /// the next checkpoint, since older checkpoints may hold their former contents.
    func freeRegion(firstPage: Int, pages: Int) {
        let range = firstPage..<(firstPage + pages)
        let notices = store.readNotices
        arrived.removeAll(keepingCapacity: true)  // here: cached pages
        departed.removeAll(keepingCapacity: true)  // here: home pages
        for page in range {
            switch table.state(page) {
            case .readOnly, .invalid, .pushed, .readWrite, .stale:
                let slot = table.slot(page)!
                if table.state(page) == .readWrite { cache.dropTwin(of: slot) }
                cache.free(slot)
                table.setSlot(page, nil)
                arrived.append(page)
            case .homeReadOnly, .homeWritable, .homeOpen:
                homeTwins.drop(page)
                writeVectors?.departed(page)
                departed.append(page)
            case .uncached, .freed:
                break
            }
            notices.clear(page)
            table.subscription[page] = 0
            table.fetchCount[page] = 0
            table.staleSince[page] = 0
            table.setState(page, .freed)
        }
        dirtyPages.removeAll { range.contains($0) }
        dirtyHomePages.removeAll { range.contains($0) }
        snapshots.remove(firstPage: firstPage, pages: pages)
        subscriptionChanges.removeAll { range.contains(ReadBroadcast.page(ofSubscription: $0)) }
        forEachRun(arrived) { first, count in store.restore(space, firstPage: first, count: count) }
        forEachRun(departed) { first, count in store.dropHome(space, firstPage: first, count: count) }
        checkpointChanges?.mark(Array(range))
    }

    // MARK: checkpoints

    /// The home pages a checkpoint saves (after its barrier): all of them (`full`), or those
    /// changed since the last checkpoint: named by a barrier's notices, arrived by
    /// migration, or open (written without detection, so perhaps changed). Open pages are
    /// write-protected again so that their next write is seen, and the marks start over.
    func homePagesForCheckpoint(full: Bool) -> [Int] {
        let limit = table.allocatedPages
        var pages: [Int] = []
        flushed.removeAll(keepingCapacity: true)
        for page in 0..<limit where table.home[page] == rank {
            let open = table.state(page) == .homeOpen
            if full || open || checkpointChanges?.contains(page) == true { pages.append(page) }
            if open {
                table.setState(page, .homeReadOnly)
                flushed.append(page)
            }
        }
        forEachRun(flushed) { first, count in protect(first, count: count, .read) }
        if let writeVectors, !flushed.isEmpty {
            writeVectors.homeWritesNoticed(flushed.map { ($0, UInt64.max) }, protected: flushed)
        }
        checkpointChanges?.clear(below: limit)
        return pages
    }

    /// A new region's homes as a checkpoint recorded them (at a restart, before anything is
    /// in it): pages whose recorded home differs from the layout's move without any data.
    func adoptHomes(firstPage: Int, _ homes: ArraySlice<Int32>) {
        arrived.removeAll(keepingCapacity: true)
        departed.removeAll(keepingCapacity: true)
        for (offset, home) in homes.enumerated() where table.home[firstPage + offset] != home {
            let page = firstPage + offset
            if table.home[page] == rank {
                table.setState(page, .uncached)
                departed.append(page)
                writeVectors?.departed(page)
            } else if Int(home) == rank {
                table.setState(page, ranks == 1 ? .homeOpen : .homeReadOnly)
                writeVectors?.arrived(page, writable: false)
                arrived.append(page)
            }
            table.home[page] = home
        }
        forEachRun(arrived) { first, count in store.mapHome(space, firstPage: first, count: count, .read) }
        forEachRun(departed) { first, count in store.dropHome(space, firstPage: first, count: count) }
    }

    /// Home pages of a region written without detection (open) are protected, so that
    /// their next write is seen (a restart from a file home store, whose undo log must see
    /// every first change).
    func detectHomeWrites(firstPage: Int, pages: Int) {
        flushed.removeAll(keepingCapacity: true)
        for page in firstPage..<(firstPage + pages) where table.state(page) == .homeOpen {
            table.setState(page, .homeReadOnly)
            flushed.append(page)
        }
        forEachRun(flushed) { first, count in protect(first, count: count, .read) }
        if let writeVectors, !flushed.isEmpty {
            writeVectors.homeWritesNoticed(flushed.map { ($0, UInt64.max) }, protected: flushed)
        }
    }

    /// Pages of other homes this rank fetched since the last `resetFetchCounts`, with the
    /// number of fetches of each (at least `minimum`): what a memory balance weighs.
    func fetchCounts(minimum: UInt16) -> [(page: Int, count: Int)] {
        var counts: [(page: Int, count: Int)] = []
        for page in 0..<table.allocatedPages where table.fetchCount[page] >= minimum && table.home[page] != rank {
            counts.append((page, Int(table.fetchCount[page])))
        }
        return counts
    }

    func resetFetchCounts() {
        table.fetchCount.pointer.update(repeating: 0, count: table.allocatedPages)
    }

    /// Batches are handed to the transport once they reach this size, so no single MPI
    /// message or operation approaches MPI's 2^31-element count limit.
    private static let batchLimitBytes = 64 << 20

    /// Diffs a twinned page into its home's batch. Returns true if any word changed.
    private func encodeDiff(_ page: Int) -> Bool {
        let home = Int(table.home[page])
        let slot = table.slot(page)!
        let changed = DiffEncoder.encode(page: cache.slotAddress(slot), twin: cache.twinAddress(slot),
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

    /// Marks this rank's copies of `pages` stale (pages homed here are always current).
    /// They keep their slots, so a later access refetches in place.
    func invalidate(_ pages: [Int]) {
        trace.flush()
        synchronizations &+= 1
        if synchronizations == 0 { synchronizations = 1 }  // 0 means "current" in staleSince
        var stale: [Int] = []
        if !staleCopies.isEmpty { expireStaleCopies(into: &stale) }
        if !snapshots.isEmpty {
            snapshots.tidy { table.state($0) == .invalid && table.slot($0) != nil }
            refreshPages.reserveCapacity(snapshots.expiredCount)
            refreshRuns.reserve(snapshots.expiredCount)
        }
        var keptStale: [Int] = []
        var droppedWritable = false
        for page in pages where page < table.allocatedPages {
            switch table.state(page) {
            case .readOnly where table.snapshotAge[page] > 0:
                // Snapshot reads: the copy stays, stale, until it is too old.
                if table.staleSince[page] == 0 {
                    table.staleSince[page] = synchronizations
                    staleCopies.append(page)
                    keptStale.append(page)
                }
            case .readOnly:
                stale.append(page)
            case .readWrite:  // kept writable by ADWD; its diff went home when the interval ended
                cache.dropTwin(of: table.slot(page)!)
                table.setState(page, .invalid)  // at once: the list may name the page twice
                table.staleSince[page] = 0
                stale.append(page)
                droppedWritable = true
            case .pushed:  // inaccessible already
                table.setState(page, .invalid)
                statistics.invalidations += 1
            default:
                break  // .stale: its age counts from when it first went stale
            }
        }
        if !keptStale.isEmpty {
            keptStale.sort()
            forEachRun(keptStale) { first, count in protect(first, count: count, .none) }
            for page in keptStale { table.setState(page, .stale) }
        }
        guard !stale.isEmpty else { return }
        if droppedWritable { dirtyPages.removeAll { table.state($0) == .invalid } }
        stale.sort()
        stale.removeDuplicatesFromSorted()
        statistics.invalidations += UInt64(stale.count)
        DSMLog.trace("invalidate \(stale.count) pages, first \(stale[0])")
        forEachRun(stale) { first, count in protect(first, count: count, .none) }
        for page in stale { table.setState(page, .invalid) }
    }

    /// Stale copies older than their allocation's snapshot age become invalid (added to
    /// `stale`); copies refetched or dropped since they went stale leave the list.
    private func expireStaleCopies(into stale: inout [Int]) {
        var index = 0
        while index < staleCopies.count {
            let page = staleCopies[index]
            let since = table.staleSince[page]
            if since != 0 && synchronizations &- since < UInt32(table.snapshotAge[page]) {
                index += 1
                continue
            }
            if since != 0 {
                table.staleSince[page] = 0
                let state = table.state(page)
                if state == .stale || state == .readOnly {
                    stale.append(page)
                    snapshots.noteExpired(page)
                    table.setState(page, .invalid)  // at once: this invalidation may name it too
                }
            }
            staleCopies.swapAt(index, staleCopies.count - 1)
            staleCopies.removeLast()
        }
    }

    /// Makes [address, address+length) accessible without faults (so MPI may read it, or
    /// write it when `forWriting`, or a program may announce a bulk write): the steps a fault
    /// would take, with a run of home pages opened for writing by one protection change.
    func makeAccessible(_ address: UnsafeRawPointer, length: Int, forWriting: Bool) {
        lock.whileFaulting { prepare(address, length: length, forWriting: forWriting) }
    }

    private func prepare(_ address: UnsafeRawPointer, length: Int, forWriting: Bool) {
        guard length > 0, space.contains(address) else { return }
        var page = space.page(of: address)
        let last = space.page(of: address + (length - 1))
        while page <= last {
            let state = table.state(page)
            if forWriting && state == .homeReadOnly {
                let count = run(from: page, in: .homeReadOnly, sameHome: false, limit: last - page + 1)
                statistics.homeWriteFaults += 1
                writeVectors?.homeMayWrite(first: page, count: count)
                protect(page, count: count, .readWrite)
                for index in page..<(page + count) {
                    table.setState(index, .homeWritable)
                    dirtyHomePages.append(index)
                }
                page += count
                continue
            }
            let needsFault = state == .uncached || state == .invalid || state == .pushed || state == .freed
                || state == .stale
                || (forWriting && state == .readOnly)
            if needsFault { _ = handleFault(at: space.address(ofPage: page), isWrite: forWriting) }
            page += 1
        }
    }

    /// Copies `length` bytes at `address` of the shared range into `destination` (private
    /// memory), as reads of them would see them, without mapping anything: what is readable
    /// here (home pages, valid copies) comes from where it is, the rest straight from its
    /// homes (one gathered fetch per home; a page only partly wanted goes through a page of
    /// scratch). No fault, no cache slot, no protection change for those. With `broadcast`,
    /// a small read's missing pages are cached instead, for pushes to land in. Other pages
    /// (pushed, snapshot copies, freed or unallocated ones, and a small read's stale copies)
    /// take a fault's path, which also reports a mistake.
    /// `call` names the API call (`DSM.read`, `jia_read`) in the errors.
    func copyOut(_ address: UnsafeRawPointer, length: Int, into destination: UnsafeMutableRawPointer,
                 call: StaticString = "DSM.read") {
        lock.whileFaulting { copyOutLocked(address, length: length, into: destination, call: call) }
    }

    private func copyOutLocked(_ address: UnsafeRawPointer, length: Int, into destination: UnsafeMutableRawPointer,
                               call: StaticString) {
        guard length > 0 else { return }
        func what() -> String { "\(call): \(length) bytes from \(address) into \(destination)" }  // errors only
        guard space.contains(address), space.contains(address + (length - 1)) else {
            Fatal.stop("\(what()): the range read is not inside the shared memory "
                + "[\(space.base), \(space.address(ofPage: space.pageCount))); only memory returned by jia_alloc may be read")
        }
        if space.contains(destination) || space.contains(destination + (length - 1)) {
            Fatal.stop("\(what()): the destination is shared memory; read into private memory (copy shared to "
                + "shared with plain loads and stores)")
        }
        // With `broadcast`, a small read caches its missing pages (below), where the homes'
        // pushes at the next barriers can land (across 4 test-bed hosts NPB CG,
        // reading 7 pages per home each step, took 0.91 s fetching them directly and 0.61 s
        // on pushes); a bulk read is fetched directly (NPB IS: 0.17-0.20 s against 0.23-0.32).
        let direct = !broadcastReads || length >= Self.directReadBytes
        let end = address + length
        var fetches: [(home: Int, run: FetchRun)] = []
        var scratch: [(page: Int, from: Int, count: Int, into: UnsafeMutableRawPointer)] = []
        var page = space.page(of: address)
        let lastPage = space.page(of: end - 1)
        while page <= lastPage {
            let pageStart = UnsafeRawPointer(space.address(ofPage: page))
            let from = max(address, pageStart), to = min(end, pageStart + pageSize)
            let into = destination + (from - address), within = from - pageStart, count = to - from
            let state = page < table.allocatedPages ? table.state(page) : .freed
            switch state {
            case .homeReadOnly, .homeWritable, .homeOpen:
                memcpy(into, store.aliasAddress(ofPage: page) + within, count)
            case .readOnly, .readWrite:
                memcpy(into, cache.slotAddress(table.slot(page)!) + within, count)
            case .uncached where direct, .invalid where direct:
                let home = Int(table.home[page])
                if count < pageSize {
                    scratch.append((page, within, count, into))
                } else if let last = fetches.last, last.home == home,
                          last.run.offset + last.run.length == page << pageShift,
                          last.run.destination + last.run.length == into {
                    fetches[fetches.count - 1].run.length += pageSize
                } else {
                    fetches.append((home, FetchRun(offset: page << pageShift, length: pageSize, destination: into)))
                }
            case .uncached:
                // A small read with `broadcast`: cached (and subscribed) so that pushes can land,
                // but only its own pages, not a fault's read-ahead (NPB IS's block header would
                // otherwise bring its keys' first pages, which then came by push, not directly).
                _ = fetchIntoNewSlots(page, limit: lastPage - page + 1, .read)
                memcpy(into, cache.slotAddress(table.slot(page)!) + within, count)
            case .invalid, .pushed, .stale, .freed:
                _ = resolveFault(at: UnsafeMutableRawPointer(mutating: pageStart), isWrite: false)
                memcpy(into, from, count)
            }
            page += 1
        }
        if !scratch.isEmpty {
            let buffer = UnsafeMutableRawPointer.allocate(byteCount: pageSize * scratch.count, alignment: pageSize)
            defer { buffer.deallocate() }
            for (index, part) in scratch.enumerated() {
                fetches.append((Int(table.home[part.page]),
                                FetchRun(offset: part.page << pageShift, length: pageSize,
                                         destination: buffer + index * pageSize)))
            }
            fetchDirectly(fetches)
            for (index, part) in scratch.enumerated() { memcpy(part.into, buffer + index * pageSize + part.from, part.count) }
        } else {
            fetchDirectly(fetches)
        }
    }

    /// Reads of at least this many bytes are fetched directly even with `broadcast` on.
    private static let directReadBytes = 256 << 10

    /// The runs of `copyOut`, one gathered fetch per home.
    private func fetchDirectly(_ fetches: [(home: Int, run: FetchRun)]) {
        var index = 0
        while index < fetches.count {
            let home = fetches[index].home
            let runs = fetches[index...].prefix { $0.home == home }.map(\.run)
            let start = monotonicNanoseconds()
            runs.withUnsafeBufferPointer { transport.read(home: home, runs: $0) }  // no copy kept: no read notices
            let elapsed = monotonicNanoseconds() &- start
            statistics.fetchNanoseconds += elapsed
            statistics.fetchLatency.record(elapsed)
            statistics.fetchOperations += 1
            // Counted as fetched (a memory balance weighs them), not subscribed: a push lands
            // only in a cached copy, and these pages have none.
            for run in runs { countFetched(run.offset >> pageShift, count: run.length >> pageShift) }
            index += runs.count
        }
    }

    /// Gives the cache's memory back at jia_exit (the page tables go with the engine).
    func close() {
        cache.close()
        refreshRuns.deallocate()
    }

    /// Hands each run of consecutive pages in `sortedPages` to `body` as (first, count).
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

/// A read the optimizer keeps, its value stored where it cannot prove nobody looks (tests
/// of a fault inside the fault handler).
nonisolated(unsafe) private var touchedValue: UInt8 = 0

@inline(never)
private func touchInaccessibleMemory(_ address: UnsafeMutableRawPointer) {
    touchedValue &+= address.assumingMemoryBound(to: UInt8.self).pointee
}
