import CMPI
import CPlatform
import Foundation

/// One rank's DSM: builds the layers bottom-up at `jia_init` and takes them down at
/// `jia_exit`. The JIAJIA functions and the Swift API both call into the current runtime.
public final class DSMRuntime: @unchecked Sendable {
    nonisolated(unsafe) static var current: DSMRuntime?

    public let settings: Settings
    public let cluster: Cluster
    let space: AddressSpace
    let store: PageStore
    let service: ServiceThread
    let transport: PageTransport
    let engine: CoherenceEngine
    let sync: Synchronizer
    private let checkpointer: Checkpointer
    private let errorReports: ErrorReports
    let startNanoseconds = monotonicNanoseconds()

    /// Starts the DSM on this rank (collective). Returns the arguments left once the
    /// `--jia-` flags are taken out.
    static func start(arguments: [String]) -> (DSMRuntime, [String]) {
        if let current { return (current, arguments) }
        // A first look at the settings, before MPI starts: errors are reported on every rank below.
        let requested = try? Settings.load(environment: ProcessInfo.processInfo.environment, arguments: arguments)
        let cluster = Cluster(oneSidedAcrossHosts: requested?.0.transport == .rma)
        var settings = Settings()
        var remaining = arguments
        do {
            (settings, remaining) = try Settings.load(environment: ProcessInfo.processInfo.environment,
                                                      arguments: arguments)
        } catch {
            Fatal.everyRank("\(error)", comm: cluster.syncComm)
        }
        if settings.printConfig && cluster.rank == 0 {
            print("SwiftDSM settings (\(cluster.size) ranks)\n" + settings.configurationTable, terminator: "")
        }
        let runtime = DSMRuntime(cluster: cluster, settings: settings)
        current = runtime
        return (runtime, remaining)
    }

    private init(cluster: Cluster, settings: Settings) {
        self.cluster = cluster
        self.settings = settings
        DSMLog.configure(rank: cluster.rank, level: settings.logLevel)
        let capacity = (settings.capacity + settings.pageSize - 1) / settings.pageSize * settings.pageSize
        space = AddressSpace.agree(cluster: cluster, capacity: capacity, pageSize: settings.pageSize)
        store = PageStore(space: space, choice: settings.homeStore, cluster: cluster, fresh: settings.restart == .off)
        let choice = DSMRuntime.resolve(settings.transport, cluster: cluster)
        if choice == .ucx { DSMRuntime.refuseProtection(settings, cluster: cluster) }
        let ucx = choice == .ucx
            ? UCXNode.open(cluster: cluster, transports: settings.ucxTransports, spinMicroseconds: settings.ucxSpin) : nil
        let channel = DSMRuntime.chooseChannel(choice, settings, cluster: cluster, capacity: capacity, ucx: ucx)
        service = ServiceThread(channel: channel)
        let pageServer = PageServer(channel: channel, store: store, pagesLength: capacity, pageShift: space.pageShift)
        service.register(pageServer, for: [.fetchPages, .fetchRuns, .readRuns, .refetchPages, .diff])
        let syncService = SyncService(cluster: cluster, channel: channel, maxLocks: settings.maxLocks,
                                      maxConditions: settings.maxConditionVariables)
        syncService.handOff = settings.lockHandoff
        service.register(syncService, for: SyncService.kinds)
        errorReports = ErrorReports(cluster: cluster, channel: channel)
        service.register(errorReports, for: [.reportError])

        if let ucx {
            transport = DSMRuntime.createUCX(node: ucx, settings, cluster: cluster, store: store, channel: channel)
        } else {
            transport = DSMRuntime.chooseTransport(choice, settings, cluster: cluster, store: store, channel: channel)
        }
        engine = CoherenceEngine(rank: cluster.rank, ranks: cluster.size, space: space, store: store,
                                 cachePages: settings.cachePages, prefaultCache: settings.cachePrefault,
                                 transport: transport,
                                 prefetchPages: settings.prefetchPages)
        sync = Synchronizer(cluster: cluster, engine: engine, service: service, managers: syncService,
                            maxLocks: settings.maxLocks, maxConditions: settings.maxConditionVariables)
        engine.adaptiveWriteDetection = settings.adwd
        if let refetcher = transport.refetcher {
            // Homes serve their own pages here, so they can keep write vectors.
            let writeVectors = WriteVectors(pageCount: space.pageCount, pageShift: space.pageShift)
            pageServer.writeVectors = writeVectors
            engine.writeVectors = writeVectors
            engine.refetcher = refetcher
        }
        engine.useWriteVectors = settings.wvec
        sync.homeMigration = settings.hmig
        sync.lockMigration = settings.lockMigration
        // Where homes serve their own pages (the message paths), a fetch costs a round trip
        // through the home's thread, which a pushed copy saves.
        sync.broadcast = settings.broadcast ?? (transport.refetcher != nil)
        if let sealing = channel as? SealingChannel, let keys = sealing.keys {
            sync.pushSeals = (0..<cluster.size).map { keys.pushSeal(from: $0) }
            sync.noticeSeals = NoticeSeals(seals: (0..<cluster.size).map { keys.noticeSeal(of: $0) }, hosts: sealing.hosts)
        }
        service.start()
        checkpointer = Checkpointer(cluster: cluster, settings: settings, engine: engine, store: store,
                                    conditions: syncService)
        Fatal.install(collectiveComm: cluster.syncComm, notifier: errorReports)
        let engine = self.engine
        engine.describeFreed = { [unowned self] page in self.describeFreed(page) }
        FaultTrampoline.install(range: space.base, length: capacity) { address, isWrite in
            engine.handleFault(at: address, isWrite: isWrite)
        }
        DSMRuntime.checkMapCount(settings: settings, rank: cluster.rank)
        cluster.quietBarrier()
        startStatistics()
        let started = "started: \(cluster.size) ranks, transport \(transport.name), messages on \(channel.name), "
            + "shared range \(space.base) + \(capacity) bytes"
        DSMLog.logger.info("\(started)")
    }

    /// `auto` is `ucx` when every rank has an RDMA device with an active port: its gets
    /// and puts are then RDMA READs and WRITEs. Collective.
    private static func resolve(_ choice: TransportChoice, cluster: Cluster) -> TransportChoice {
        guard choice == .auto else { return choice }
        let devices = RDMADevices.list().filter { $0.port > 0 }
        var mine: Int32 = devices.isEmpty ? 0 : 1
        var everyone: Int32 = 0
        mpiCheck(MPI_Allreduce(&mine, &everyone, 1, cmpi_int32(), cmpi_op_min(), cluster.syncComm),
                 "MPI_Allreduce (RDMA devices)")
        guard everyone == 1 else { return .auto }
        DSMLog.logger.info("RDMA devices with an active port on every rank (here \(devices.map(\.ucxName))): transport auto is ucx")
        return .ucx
    }

    /// The channel of the DSM's messages:
    /// - `message`: MPI's messages, as frames (`FramedChannel`) under security or compression;
    /// - `tcp`, and `auto` across hosts: the tcp lanes; `auto` also with security on one host,
    ///   where only frames can be sealed;
    /// - `ucx`: as `ucx-messages` says; its `auto` takes the tcp lanes across hosts and MPI
    ///   on one host, both measured faster here than UCX's active messages over kernel TCP
    ///   or shared memory;
    /// - `shm`, `rma`, `auto` on one host: MPI's messages, whose shared memory beats a socket
    ///   for the lock traffic; security and LZ4 are refused there.
    private static func chooseChannel(_ choice: TransportChoice, _ settings: Settings, cluster: Cluster,
                                      capacity: Int, ucx: UCXNode?) -> MessageChannel {
        // The largest message: a diff of every word of the shared range, with its run heads.
        let maxPayload = capacity > Int(UInt32.max) / 4 ? Int(UInt32.max) : capacity * 4 + (1 << 20)
        let lanes = { TCPConnector.connect(cluster: cluster, settings: settings, maxPayload: maxPayload) }
        switch choice {
        case .message:
            return FramedChannel.open(over: MPIChannel(cluster: cluster), cluster: cluster, settings: settings,
                                      maxPayload: maxPayload)
        case .tcp:
            return lanes()
        case .ucx:
            guard let ucx else { preconditionFailure("the ucx transport opens its node before its channel") }
            var messages = settings.ucxMessages
            if messages == .auto { messages = cluster.allOnOneHost ? .mpi : .tcp }
            switch messages {
            case .ucx: return UCXChannel(node: ucx, spinMicroseconds: settings.ucxSpin, progressMPI: cluster.progressMPI)
            case .mpi: return MPIChannel(cluster: cluster)
            case .tcp, .auto: return lanes()
            }
        case .auto where !cluster.allOnOneHost || settings.security != .off:
            return lanes()
        case .auto, .shm, .rma:
            refuseProtection(settings, cluster: cluster)
            return MPIChannel(cluster: cluster)
        }
    }

    /// Security and LZ4 apply to the frames of the tcp and message transports; the others
    /// carry none SwiftDSM could seal or compress, so asking for them there is a mistake.
    private static func refuseProtection(_ settings: Settings, cluster: Cluster) {
        let transport = settings.transport == .auto ? "auto (on one host: shm, rma or message)" : settings.transport.rawValue
        let why: String
        switch settings.transport {
        case .shm, .auto: why = "maps the other ranks' memory, so pages never cross a network"
        case .rma: why = "moves pages with MPI's one-sided operations, which MPI or the NIC carry without frames of SwiftDSM's"
        case .ucx: why = "moves pages with UCX's one-sided gets and puts, which write memory without frames of SwiftDSM's"
        case .tcp, .message: return  // their frames are sealed and compressed
        }
        if settings.security != .off {
            Fatal.everyRank("security \(settings.security) protects the frames of the tcp and message transports, "
                + "but transport \(transport) \(why); use transport tcp (or auto, or message) with security, or "
                + "security off", comm: cluster.syncComm)
        }
        if settings.compression == .lz4 {
            Fatal.everyRank("compression lz4 applies to the frames of the tcp and message transports, but transport "
                + "\(transport) \(why); use transport tcp or message, or compression auto (which does nothing where "
                + "there are no frames)", comm: cluster.syncComm)
        }
    }

    /// Whether every diff goes to its home's own process: where the home store is a file
    /// with checkpoints, a home keeps each page in its undo log before the first change,
    /// which a one-sided put would not wait for.
    private static func homesApplyDiffs(_ settings: Settings) -> Bool {
        settings.homeStore != .memory && !settings.checkpointDirectory.isEmpty
    }

    /// Composes the page transport: who fetches pages and where diffs go. The one-sided
    /// parts (rma) write whole words themselves and hand partially changed words to the
    /// message path (`DiffLanes`), unless homes apply every diff (`homesApplyDiffs`).
    private static func chooseTransport(_ choice: TransportChoice, _ settings: Settings, cluster: Cluster,
                                        store: PageStore, channel: MessageChannel) -> PageTransport {
        func messages() -> PageTransport {
            PageTransport(name: channel is TCPChannel ? "tcp" : "message", MessagePages(channel: channel))
        }
        func oneSided(_ rma: RMAPages) -> PageTransport {
            let partial = MessagePages(channel: channel)
            return PageTransport(name: "rma", fetcher: rma,
                                 diffs: homesApplyDiffs(settings) ? partial : DiffLanes(whole: rma, partial: partial))
        }
        func mapped(_ mapped: MappedPages) -> PageTransport {
            guard homesApplyDiffs(settings) else { return PageTransport(name: "shm", mapped) }
            return PageTransport(name: "shm", fetcher: mapped, diffs: MessagePages(channel: channel))
        }
        if channel is TCPChannel { return messages() }
        switch choice {
        case .ucx:
            preconditionFailure("the ucx transport is made by createUCX")
        case .message, .tcp:
            return messages()
        case .shm:
            guard let shm = MappedPages.create(cluster: cluster, store: store) else {
                Fatal.everyRank("transport shm was requested, but the ranks cannot map each other's memory "
                    + "(they are not all on one host, or /proc/<pid>/fd cannot be opened); use transport auto",
                    comm: cluster.syncComm)
            }
            return mapped(shm)
        case .rma:
            guard let rma = RMAPages.create(cluster: cluster, store: store) else {
                let flags = cluster.preparedOneSidedAcrossHosts ? "" : "; across hosts over TCP, Open MPI's osc ucx "
                    + "gives windows when mpirun is given --mca osc ucx --mca osc_ucx_tls any --mca osc_ucx_devices any"
                Fatal.everyRank("transport rma was requested, but MPI cannot create RMA windows here "
                    + "(Open MPI over TCP has no one-sided support)\(flags); use transport message or auto "
                    + "(JIA_TRANSPORT=auto)", comm: cluster.syncComm)
            }
            return oneSided(rma)
        case .auto:
            // A window exists only where MPI runs over shared memory or RDMA; on one host that
            // also means the ranks may map each other's memory directly, which is faster still.
            guard let rma = RMAPages.create(cluster: cluster, store: store) else { return messages() }
            guard let shm = MappedPages.create(cluster: cluster, store: store) else { return oneSided(rma) }
            rma.close()
            return mapped(shm)
        }
    }

    private static func createUCX(node: UCXNode, _ settings: Settings, cluster: Cluster, store: PageStore,
                                  channel: MessageChannel) -> PageTransport {
        let ucx = UCXPages.create(cluster: cluster, node: node, channel: channel, store: store,
                                      transports: settings.ucxTransports, fetch: settings.ucxFetch)
        if settings.printConfig && cluster.rank == 0 && cluster.size > 1 {
            print("UCX lanes from rank 0 to rank 1:\n" + ucx.lanes[1], terminator: "")
        }
        for (rank, lanes) in ucx.lanes.enumerated() where !lanes.isEmpty {
            DSMLog.logger.info("UCX lanes to rank \(rank):\n\(lanes)")
        }
        let partial = MessagePages(channel: channel)
        return PageTransport(name: "ucx", fetcher: ucx,
                             diffs: homesApplyDiffs(settings) ? partial : DiffLanes(whole: ucx, partial: partial))
    }

    /// Every run of pages in a different protection is one kernel mapping, and resident pages
    /// of other ranks can alternate with missing ones page by page. Warn at start-up when the
    /// kernel's limit is below the cache size; a later ENOMEM also names the limit.
    private static func checkMapCount(settings: Settings, rank: Int) {
        let limit = maxMapCount()
        guard limit > 0, rank == 0, limit < settings.cachePages + 1024 else { return }
        let advice = "vm.max_map_count is \(limit), below what a cache of \(settings.cachePages) pages "
            + "can need in the worst case; if mmap or mprotect fails with ENOMEM, raise it with "
            + "`sysctl -w vm.max_map_count=\(max(262_144, settings.cachePages * 4))` or lower cache-pages"
        DSMLog.logger.warning("\(advice)")
    }

    public var transportName: String { transport.name }

    /// Makes `action` the handler of segmentation faults outside the shared range (the
    /// DSM's own stays in front); the one it replaces goes to `old`. 0 or errno.
    public static func setApplicationFaultHandler(_ action: UnsafePointer<sigaction>?,
                                                  replaced old: UnsafeMutablePointer<sigaction>?) -> Int32 {
        cplatform_set_application_fault_handler(action, old)
    }

    /// Whether a DSM runs in this process and no error is stopping the job.
    public static var isRunning: Bool { current != nil && !Fatal.isStopping }

    /// JIAJIA's ADWD (the adwd setting, jia_config(ADWD, ...)): pages written in consecutive
    /// intervals stay writable instead of taking a write fault in each. Per rank.
    public var adaptiveWriteDetection: Bool {
        get { engine.adaptiveWriteDetection }
        set { engine.adaptiveWriteDetection = newValue }
    }

    /// JIAJIA's WVEC (the wvec setting, jia_config(WVEC, ...)): a refetch of a stale copy
    /// moves only the blocks changed since it was made. It acts on the message paths (message, tcp), where
    /// homes serve their pages themselves; shm and rma read pages directly. Per rank.
    public var writeVectors: Bool {
        get { engine.useWriteVectors }
        set { engine.useWriteVectors = newValue }
    }

    /// JIAJIA's BROADCAST (the broadcast setting, jia_config(BROADCAST, ...)): pages every
    /// other rank fetched since the last barrier, and written before it, are sent by their
    /// home to all ranks inside the barrier. Must agree on every rank at each barrier.
    public var broadcast: Bool {
        get { sync.broadcast }
        set { sync.broadcast = newValue }
    }

    /// JIAJIA's HMIG (the hmig setting, jia_config(HMIG, ...)): at each barrier, a page
    /// written by one rank only, which held a copy, moves its home to that rank. Every rank
    /// must have the same value at each barrier (a difference is reported as an error).
    public var homeMigration: Bool {
        get { sync.homeMigration }
        set { sync.homeMigration = newValue }
    }

    /// Everything counted on this rank since the process started: the application thread's,
    /// the service thread's and the per-thread message counters.
    var rawStatistics: Statistics {
        var total = engine.statistics
        total.add(service.statistics)
        total.add(ThreadStatistics.total)
        return total
    }

    private var statisticsBaseline = Statistics()
    private var frozenStatistics: Statistics?
    private var statisticsStartNanoseconds: UInt64 = 0
    private var statisticsStopNanoseconds: UInt64?

    /// Statistics of this rank over the counting interval: from jia_init or the last
    /// `startStatistics()` (jia_startstat) to now, or to `stopStatistics()` (jia_stopstat).
    public var statistics: Statistics { frozenStatistics ?? rawStatistics.subtracting(statisticsBaseline) }

    /// Nanoseconds of the counting interval so far (or up to `stopStatistics()`).
    public var statisticsElapsedNanoseconds: UInt64 {
        (statisticsStopNanoseconds ?? monotonicNanoseconds()) &- statisticsStartNanoseconds
    }

    /// Starts a new counting interval (jia_startstat): what was counted before is left out.
    public func startStatistics() {
        statisticsBaseline = rawStatistics
        frozenStatistics = nil
        statisticsStopNanoseconds = nil
        statisticsStartNanoseconds = monotonicNanoseconds()
    }

    /// Ends the counting interval (jia_stopstat): later activity is not reported.
    public func stopStatistics() {
        guard frozenStatistics == nil else { return }
        frozenStatistics = statistics
        statisticsStopNanoseconds = monotonicNanoseconds()
    }

    public func resetStatistics() { startStatistics() }

    /// Whether jia_exit prints the core statistics table (the C face prints JIAJIA's instead).
    public var printsStatisticsTable = true

    /// The rank managing lock `lock` now (it moves at barriers with the lock-migration setting).
    public func manager(ofLock lock: Int) -> Int { sync.manager(of: lock) }

    /// Sends `bytes` as a request to `rank`'s service thread, bypassing every check of the
    /// sending side: for tests of what a rank does with malformed input from the network.
    public func sendRequestForTesting(_ bytes: [UInt8], to rank: Int) {
        service.channel.send(bytes, tag: Tag.request, to: rank)
    }

    /// Flips one byte of the next request frame to `rank` after it was sealed, as if on the
    /// wire (false unless the tcp or message transport runs with security or compression): for tests
    /// that nothing of a forged frame is applied.
    public func tamperWithNextRequestForTesting(to rank: Int) -> Bool {
        if let framed = service.channel as? FramedChannel {
            framed.tamperWithNextRequestForTesting(to: rank)
            return true
        }
        guard let tcp = service.channel as? TCPChannel else { return false }
        return tcp.tamperWithNextRequestForTesting(to: rank)
    }

    /// Flips one of this rank's write notices in the next collective call's allgather after
    /// it was sealed, as if on the way (false without security): for tests that every rank
    /// refuses notices that fail authentication.
    public func tamperWithNextNoticesForTesting() -> Bool {
        guard sync.noticeSeals != nil else { return false }
        sync.noticeSeals?.tamperWithNext = true
        return true
    }

    /// Runs `body` on the thread of this rank that stops the job, should one (tests only:
    /// to show the state a rank stopped in, such as a home page after a forged diff).
    public func whenStoppingForTesting(_ body: @escaping () -> Void) { Fatal.lastWordsForTesting = body }

    /// Makes the next fault of this rank fault again inside the handler, as a bug there
    /// would (tests only: the handler must say so and abort, not die silently or hang).
    public func faultInsideTheHandlerForTesting() { engine.faultInsideTheHandlerForTesting = true }

    /// Sends `rank` a UCX fetch request for pages outside the shared range (false unless the
    /// ucx transport fetches by request): for tests of malformed input on that path.
    public func sendMalformedUCXFetchForTesting(to rank: Int) -> Bool {
        guard let ucx = transport.fetcher as? UCXPages, ucx.fetchesByRequest else { return false }
        ucx.sendMalformedFetchForTesting(to: rank)
        return true
    }

    /// Sends a frame with a broken header to `rank` on the tcp transport (false on others):
    /// for tests of what a rank does with a corrupted stream.
    public func sendCorruptFrameForTesting(to rank: Int) -> Bool {
        guard let tcp = service.channel as? TCPChannel else { return false }
        tcp.sendCorruptFrameForTesting(to: rank)
        return true
    }

    // MARK: balance

    /// Each rank's power after the last computing balance (nil before one): the shares of
    /// `DSM.share(of:)` and, in the C face, `jia_divtask`.
    public private(set) var computePowers: [Double]?
    private var balancedAtNanoseconds = monotonicNanoseconds()
    private var waitedAtBalance: UInt64 = 0

    private var waitedNanoseconds: UInt64 {
        let counted = engine.statistics
        return counted.lockWaitNanoseconds &+ counted.barrierWaitNanoseconds &+ counted.conditionWaitNanoseconds
    }

    private var barriersSinceBalance = 0

    /// jia_barrier: the barrier, then every `balance-interval` barriers the automatic balance
    /// of the `balance` setting (collective too: every rank counts the same barriers).
    public func barrier() {
        sync.barrier()
        guard let mode = settings.balance else { return }
        barriersSinceBalance += 1
        guard barriersSinceBalance >= settings.balanceInterval else { return }
        barriersSinceBalance = 0
        _ = balance(mode)
    }

    /// Balances work, memory or both (collective; jia_balance). Computing: every rank's time
    /// computing since the last computing balance (or the start) sets its share of later
    /// `share(of:)` splits. Memory: with a barrier's coherence, each page homed elsewhere
    /// that one rank fetched more often than any other (at least twice) since the last
    /// memory balance becomes homed there. Returns the number of pages that moved.
    @discardableResult
    public func balance(_ mode: BalanceMode) -> Int {
        if mode != .memory {
            let now = monotonicNanoseconds()
            let waited = waitedNanoseconds &- waitedAtBalance
            let elapsed = now &- balancedAtNanoseconds
            let current = computePowers ?? [Double](repeating: 1 / Double(cluster.size), count: cluster.size)
            if let powers = sync.balanceComputing(computingNanoseconds: elapsed > waited ? elapsed - waited : 0,
                                                  powers: current) {
                computePowers = powers
            } else if computePowers == nil {
                computePowers = current
            }
            balancedAtNanoseconds = monotonicNanoseconds()
            waitedAtBalance = waitedNanoseconds
        }
        return mode == .computing ? 0 : sync.balanceHomes()
    }

    // MARK: allocation

    /// One allocation call of the run: its pages, how the program made it (its arguments,
    /// and whether it is still live, as a checkpoint records them).
    private struct Region {
        let firstPage: Int
        let pages: Int
        let call: String
        var allocation: CheckpointManifest.Allocation
    }

    /// Every allocation of the run, in order (a checkpoint records them; a restart compares).
    private var regions: [Region] = []
    /// Runs of freed pages an allocation may reuse, by first page (adjacent runs merged).
    private var freeRuns: [(first: Int, count: Int)] = []

    var allocationCount: Int { regions.count }

    /// Collective: `size` bytes, homed in blocks of `block` bytes cyclically from `startRank`.
    /// Errors name `call` (the program's call, jia_alloc3's by default) and its start argument
    /// as `startName`.
    func allocate(size: Int, block: Int, startRank: Int, call: String? = nil,
                  startName: String = "starthost", snapshotAge: Int = 0) -> UnsafeMutableRawPointer {
        sync.collectiveCall(.allocate(size: size, block: block, startRank: startRank))
        let call = call ?? "jia_alloc3(size: \(size), block: \(block), starthost: \(startRank))"
        guard size > 0 else {
            Fatal.everyRank("\(call): the size must be positive", comm: cluster.syncComm)
        }
        guard block > 0 else {
            Fatal.everyRank("\(call): the block size must be positive", comm: cluster.syncComm)
        }
        guard startRank >= 0 && startRank < cluster.size else {
            Fatal.everyRank("\(call): \(startName) must be a rank from 0 to \(cluster.size - 1)", comm: cluster.syncComm)
        }
        let pageSize = space.pageSize
        let pages = (size + pageSize - 1) / pageSize
        let blockPages = (block + pageSize - 1) / pageSize
        let first: Int
        if let reused = freeRuns.firstIndex(where: { $0.count >= pages }) {
            // First fit among freed pages: every rank frees and allocates alike, so all agree.
            first = freeRuns[reused].first
            freeRuns[reused] = (first + pages, freeRuns[reused].count - pages)
            if freeRuns[reused].count == 0 { freeRuns.remove(at: reused) }
        } else if let last = freeRuns.last, last.first + last.count == engine.table.allocatedPages,
                  pages - last.count <= space.pageCount - engine.table.allocatedPages {
            // A freed run at the end of the allocated pages continues into the unallocated rest.
            first = last.first
            freeRuns.removeLast()
        } else {
            first = engine.table.allocatedPages
            guard pages <= space.pageCount - first else {
                let freed = freeRuns.reduce(0) { $0 + $1.count } * pageSize
                Fatal.everyRank("\(call): the shared space is full: \(first * pageSize) of \(space.capacity) bytes "
                    + "are allocated (\(freed) of them freed, in pieces too small) and \(pages * pageSize) more were "
                    + "asked for; raise the capacity setting (JIA_CAPACITY or --jia-capacity=, now \(space.capacity))",
                    comm: cluster.syncComm)
            }
        }
        engine.addRegion(firstPage: first, pages: pages, blockPages: blockPages, startRank: startRank,
                         snapshotAge: snapshotAge)
        let allocation = CheckpointManifest.Allocation(size: size, block: block, startRank: startRank, live: true)
        checkpointer.restoreRegion(regions.count, call: call, allocation: allocation, firstPage: first, pages: pages)
        regions.append(Region(firstPage: first, pages: pages, call: call, allocation: allocation))
        return space.address(ofPage: first)
    }

    /// Releases the allocation that starts at `address` (collective, with a barrier first):
    /// its pages go back to the system on every rank, and later allocations may reuse them.
    /// `call` names the program's call in errors.
    func free(_ address: UnsafeRawPointer, call: String) {
        engine.lock.whileCalling("jia_free") {
            if !sync.heldLocks.isEmpty {
                Fatal.stop("\(call) called while holding locks \(sync.heldLocks); it starts with a barrier: release "
                    + "them with jia_unlock first")
            }
            sync.collectiveCall(.free(address: Int(bitPattern: address)))
            let page = space.contains(address) ? space.page(of: address) : -1
            guard let index = regions.lastIndex(where: { $0.firstPage == page }),
                  address == UnsafeRawPointer(space.address(ofPage: page)) else {
                Fatal.everyRank("\(call): \(address) is not the start of a shared allocation; pass the pointer "
                    + "jia_alloc* (or dsm.allocate) returned", comm: cluster.syncComm)
            }
            guard regions[index].allocation.live else {
                Fatal.everyRank("\(call): allocation \(index + 1) (\(regions[index].call)) was already freed",
                                comm: cluster.syncComm)
            }
            sync.barrier()
            let region = regions[index]
            engine.freeRegion(firstPage: region.firstPage, pages: region.pages)
            sync.forgetPushes(firstPage: region.firstPage, pages: region.pages)
            regions[index].allocation.live = false
            freeRuns.append((region.firstPage, region.pages))
            freeRuns.sort { $0.first < $1.first }
            var merged: [(first: Int, count: Int)] = []
            for run in freeRuns {
                if let last = merged.last, last.first + last.count == run.first {
                    merged[merged.count - 1].count += run.count
                } else {
                    merged.append(run)
                }
            }
            freeRuns = merged
        }
    }

    /// What a freed page belonged to, for the error of a use after free.
    private func describeFreed(_ page: Int) -> String {
        guard let index = regions.lastIndex(where: { page >= $0.firstPage && page < $0.firstPage + $0.pages }) else {
            return "page \(page)"
        }
        return "allocation \(index + 1) of the run (\(regions[index].call), \(regions[index].pages) pages at "
            + "\(space.address(ofPage: regions[index].firstPage)))"
    }

    /// The shared range and how much of it is allocated.
    public var sharedBase: UnsafeMutableRawPointer { space.base }
    public var sharedCapacity: Int { space.capacity }
    public var allocatedBytes: Int { engine.table.allocatedPages * space.pageSize }
    public var pageSize: Int { space.pageSize }

    /// The home rank of the page holding `address`, or nil outside the allocated memory.
    public func home(of address: UnsafeRawPointer) -> Int? {
        guard space.contains(address) else { return nil }
        let page = space.page(of: address)
        return page < engine.table.allocatedPages ? Int(engine.table.home[page]) : nil
    }

    /// Makes shared memory safe to hand to MPI: valid copies, and writable ones (twinned,
    /// so what MPI writes becomes a diff) when MPI will write it.
    public func prepare(_ address: UnsafeRawPointer, length: Int, forWriting: Bool) {
        engine.makeAccessible(address, length: length, forWriting: forWriting)
    }

    /// `call` names the API call in the errors (`DSM.read`, `jia_read`).
    public func read(from address: UnsafeRawPointer, byteCount: Int, into destination: UnsafeMutableRawPointer,
                     call: StaticString = "DSM.read") {
        engine.copyOut(address, length: byteCount, into: destination, call: call)
    }

    // MARK: checkpoints

    /// Saves the shared memory, the allocation table and the condition variables, with
    /// `tag` (collective; a barrier first). See `Checkpointer`.
    @discardableResult
    public func checkpoint(tag: Int) -> CheckpointReport {
        engine.lock.whileCalling("jia_checkpoint") { () -> CheckpointReport in
            if !sync.heldLocks.isEmpty {
                Fatal.stop("jia_checkpoint(\(tag)) called while holding locks \(sync.heldLocks); a checkpoint is a "
                    + "barrier: release them with jia_unlock first")
            }
            sync.collectiveCall(.checkpoint(tag: tag))
            sync.barrier()
            return checkpointer.checkpoint(tag: tag, allocations: regions.map(\.allocation))
        }
    }

    /// The tag of the checkpoint this run was restored from (the restart setting), or nil.
    public var restoredTag: Int? { checkpointer.restoredTag }

    /// Runs `body` on every rank once all parts of a checkpoint are written and before its
    /// manifest is (tests only: a crash there leaves an incomplete checkpoint).
    public func whenCheckpointPartsWrittenForTesting(_ body: @escaping (Int) -> Void) {
        checkpointer.partsWrittenForTesting = body
    }

    // MARK: exit

    func shutdown() {
        if !sync.heldLocks.isEmpty {
            DSMLog.logger.warning("jia_exit while holding locks \(sync.heldLocks); releasing nothing")
        }
        sync.collectiveCall(.exit)
        if settings.statistics || !settings.statisticsJSON.isEmpty {
            StatisticsReport.report(statistics, elapsed: statisticsElapsedNanoseconds, cluster: cluster,
                                    transport: transport.name, lanes: (transport.fetcher as? UCXPages)?.laneSummary ?? "",
                                    table: settings.statistics && printsStatisticsTable,
                                    jsonPath: settings.statisticsJSON)
        }
        FaultTrampoline.remove()
        Fatal.uninstall()
        service.channel.prepareToClose()
        transport.prepareToClose()
        service.stop()
        // After the barrier no rank serves, reads or writes another's memory any more, so a
        // peer closing its side (UCX's endpoints, say) is no failure anywhere.
        cluster.quietBarrier()
        transport.close()
        service.channel.close()
        engine.close()
        store.close()
        space.close()
        DSMRuntime.current = nil
        cluster.finish()
    }
}
