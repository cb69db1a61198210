import CMPI

/// Pages and whole words over MPI one-sided communication: every rank's page store's alias
/// is an MPI window held in a passive-target epoch (lock_all) for the whole run. A fetch is
/// one MPI_Get; a diff batch's whole words are one MPI_Put whose target datatype lists the
/// scattered runs (the transport sends its partially changed words through `DiffLanes`).
final class RMAPages: PageFetcher, WholeWordSink, TransportPart {
    private let cluster: Cluster
    private var window: MPI_Win?
    /// Batches whose puts may still be in flight; kept alive until `completeWholeWords`.
    private var inFlight: [RunBatch] = []

    /// Creates the window collectively over the store's alias (`length` bytes). Returns nil on every
    /// rank if any rank could not create it (Open MPI over TCP has no one-sided support).
    static func create(cluster: Cluster, store: PageStore) -> RMAPages? {
        let alias = store.alias
        let length = store.length
        var window: MPI_Win? = cmpi_win_null()
        var info: MPI_Info? = nil
        mpiCheck(MPI_Info_create(&info), "MPI_Info_create")
        mpiCheck(MPI_Info_set(info, "same_disp_unit", "true"), "MPI_Info_set")
        mpiCheck(MPI_Info_set(info, "accumulate_ordering", "none"), "MPI_Info_set")
        let code = MPI_Win_create(alias, MPI_Aint(length), 1, info, cluster.syncComm, &window)
        mpiCheck(MPI_Info_free(&info), "MPI_Info_free")
        var mine: Int32 = code == MPI_SUCCESS ? 1 : 0
        var everyone: Int32 = 0
        mpiCheck(MPI_Allreduce(&mine, &everyone, 1, cmpi_int32(), cmpi_op_min(), cluster.syncComm),
                 "MPI_Allreduce (window agreement)")
        if everyone == 0 {
            if code == MPI_SUCCESS {
                // Others failed; a collective free could hang against them, so keep the handle.
                DSMLog.logger.warning("RMA window created here but not on every rank; using messages")
            } else {
                DSMLog.logger.info("MPI_Win_create failed (\(mpiErrorText(code))); using messages")
            }
            return nil
        }
        mpiCheck(MPI_Win_set_errhandler(window, cmpi_errors_return()), "MPI_Win_set_errhandler")
        mpiCheck(MPI_Win_lock_all(MPI_MODE_NOCHECK, window), "MPI_Win_lock_all")
        return RMAPages(cluster: cluster, window: window, notices: store.readNotices, pageShift: store.pageShift)
    }

    private let notices: ReadNotices
    private let pageShift: Int
    /// Source of the read-notice puts.
    private var ones: [UInt8] = []

    private init(cluster: Cluster, window: MPI_Win?, notices: ReadNotices, pageShift: Int) {
        self.cluster = cluster
        self.window = window
        inFlight.reserveCapacity(64)  // a dirty eviction writes from the fault handler
        self.notices = notices
        self.pageShift = pageShift
    }

    func fetch(home: Int, offset: Int, length: Int, into destination: UnsafeMutableRawPointer) {
        markCopies(home: home, first: offset >> pageShift, count: length >> pageShift)
        mpiCheck(MPI_Get(destination, Int32(length), cmpi_byte(), Int32(home), MPI_Aint(offset),
                         Int32(length), cmpi_byte(), window), "MPI_Get from rank \(home)")
        ThreadStatistics.current.pointee.rmaOperations &+= 1
        mpiCheck(MPI_Win_flush(Int32(home), window), "MPI_Win_flush(\(home))")
    }

    /// The read notices of every run, one flush, then every get, one flush: the notices land
    /// before any page is read, as in a single fetch.
    func fetch(home: Int, runs: UnsafeBufferPointer<FetchRun>) {
        let longest = runs.reduce(0) { max($0, $1.length >> pageShift) }
        if ones.count < longest { ones = [UInt8](repeating: 1, count: longest) }
        for run in runs { putNotices(home: home, first: run.offset >> pageShift, count: run.length >> pageShift) }
        mpiCheck(MPI_Win_flush(Int32(home), window), "MPI_Win_flush(\(home))")
        read(home: home, runs: runs)
    }

    /// Every get, one flush; no notices.
    func read(home: Int, runs: UnsafeBufferPointer<FetchRun>) {
        for run in runs {
            mpiCheck(MPI_Get(run.destination, Int32(run.length), cmpi_byte(), Int32(home), MPI_Aint(run.offset),
                             Int32(run.length), cmpi_byte(), window), "MPI_Get from rank \(home)")
        }
        ThreadStatistics.current.pointee.rmaOperations &+= UInt64(runs.count)
        mpiCheck(MPI_Win_flush(Int32(home), window), "MPI_Win_flush(\(home))")
    }

    private func markCopies(home: Int, first: Int, count: Int) {
        if ones.count < count { ones = [UInt8](repeating: 1, count: count) }
        putNotices(home: home, first: first, count: count)
        mpiCheck(MPI_Win_flush(Int32(home), window), "MPI_Win_flush(\(home))")
    }

    /// Puts the read notices of `count` pages from `first` (`ones` holds at least `count`).
    private func putNotices(home: Int, first: Int, count: Int) {
        let chunks = ((first + count - 1) >> ReadNotices.chunkShift) - (first >> ReadNotices.chunkShift) + 1
        ones.withUnsafeBufferPointer { source in
            mpiCheck(MPI_Put(source.baseAddress, Int32(count), cmpi_byte(), Int32(home),
                             MPI_Aint(notices.pageByteOffset(first)), Int32(count), cmpi_byte(), window),
                     "MPI_Put (read notices to rank \(home))")
            mpiCheck(MPI_Put(source.baseAddress, Int32(chunks), cmpi_byte(), Int32(home),
                             MPI_Aint(notices.chunkByteOffset(first)), Int32(chunks), cmpi_byte(), window),
                     "MPI_Put (read notices to rank \(home))")
        }
        ThreadStatistics.current.pointee.rmaOperations &+= 2
    }

    /// One MPI_Put per batch, the target datatype listing the scattered runs: it writes
    /// only bytes this rank changed.
    func write(wholeWordsOf batch: RunBatch, to home: Int) {
        let runs = batch.whole
        guard !runs.isEmpty else { return }
        inFlight.append(batch)
        runs.words.withUnsafeBufferPointer { values in
            if runs.runCount == 1 {
                mpiCheck(MPI_Put(values.baseAddress, Int32(values.count), cmpi_uint64(), Int32(home),
                                 MPI_Aint(runs.offsets[0]), Int32(values.count), cmpi_uint64(), window),
                         "MPI_Put to rank \(home)")
                ThreadStatistics.current.pointee.rmaOperations &+= 1
                return
            }
            var targetType: MPI_Datatype? = cmpi_datatype_null()
            runs.lengths.withUnsafeBufferPointer { lengths in
                runs.offsets.withUnsafeBufferPointer { offsets in
                    offsets.withMemoryRebound(to: MPI_Aint.self) { displacements in
                        mpiCheck(MPI_Type_create_hindexed(Int32(runs.runCount), lengths.baseAddress,
                                                          displacements.baseAddress, cmpi_uint64(), &targetType),
                                 "MPI_Type_create_hindexed")
                    }
                }
            }
            mpiCheck(MPI_Type_commit(&targetType), "MPI_Type_commit")
            mpiCheck(MPI_Put(values.baseAddress, Int32(values.count), cmpi_uint64(), Int32(home), 0, 1,
                             targetType, window), "MPI_Put to rank \(home)")
            ThreadStatistics.current.pointee.rmaOperations &+= 1
            mpiCheck(MPI_Type_free(&targetType), "MPI_Type_free")
        }
    }

    func completeWholeWords() {
        guard !inFlight.isEmpty else { return }
        mpiCheck(MPI_Win_flush_all(window), "MPI_Win_flush_all")
        inFlight.removeAll(keepingCapacity: true)
    }

    func close() {
        guard window != nil else { return }
        mpiCheck(MPI_Win_unlock_all(window), "MPI_Win_unlock_all")
        mpiCheck(MPI_Win_free(&window), "MPI_Win_free")
        window = nil
    }
}
