import CMPI

/// Pages and diffs over MPI one-sided communication: every rank's home arena alias is an
/// MPI window held in a passive-target epoch (lock_all) for the whole run. A fetch is one
/// MPI_Get; a diff batch is one MPI_Put whose target datatype lists the scattered runs.
final class RMATransport: PageTransport {
    let name = "rma"
    private let cluster: Cluster
    private var window: MPI_Win?
    /// Batches whose puts may still be in flight; kept alive until `completeWrites`.
    private var inFlight: [RunBatch] = []

    /// Creates the window collectively over `arena` (`length` bytes). Returns nil on every
    /// rank if any rank could not create it (Open MPI over TCP has no one-sided support).
    static func create(cluster: Cluster, arena: UnsafeMutableRawPointer, length: Int) -> RMATransport? {
        var window: MPI_Win? = cmpi_win_null()
        var info: MPI_Info? = nil
        MPI_Info_create(&info)
        MPI_Info_set(info, "same_disp_unit", "true")
        MPI_Info_set(info, "accumulate_ordering", "none")
        MPI_Info_set(info, "accumulate_ops", "same_op")
        let code = MPI_Win_create(arena, MPI_Aint(length), 1, info, cluster.syncComm, &window)
        MPI_Info_free(&info)
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
        MPI_Win_set_errhandler(window, cmpi_errors_return())
        mpiCheck(MPI_Win_lock_all(MPI_MODE_NOCHECK, window), "MPI_Win_lock_all")
        return RMATransport(cluster: cluster, window: window)
    }

    private init(cluster: Cluster, window: MPI_Win?) {
        self.cluster = cluster
        self.window = window
    }

    func fetch(home: Int, offset: Int, length: Int, into destination: UnsafeMutableRawPointer) {
        mpiCheck(MPI_Get(destination, Int32(length), cmpi_byte(), Int32(home), MPI_Aint(offset),
                         Int32(length), cmpi_byte(), window), "MPI_Get from rank \(home)")
        mpiCheck(MPI_Win_flush(Int32(home), window), "MPI_Win_flush(\(home))")
    }

    /// One MPI_Accumulate with MPI_BXOR per batch: the target datatype lists the runs, so
    /// scattered changes move in one operation, and concurrent writers' deltas commute.
    func write(_ batch: RunBatch, to home: Int) {
        guard !batch.isEmpty else { return }
        inFlight.append(batch)
        batch.words.withUnsafeBufferPointer { deltas in
            if batch.runCount == 1 {
                mpiCheck(MPI_Accumulate(deltas.baseAddress, Int32(deltas.count), cmpi_uint64(), Int32(home),
                                        MPI_Aint(batch.offsets[0]), Int32(deltas.count), cmpi_uint64(),
                                        cmpi_op_bxor(), window), "MPI_Accumulate to rank \(home)")
                return
            }
            var targetType: MPI_Datatype? = cmpi_datatype_null()
            batch.lengths.withUnsafeBufferPointer { lengths in
                batch.offsets.withUnsafeBufferPointer { offsets in
                    offsets.withMemoryRebound(to: MPI_Aint.self) { displacements in
                        mpiCheck(MPI_Type_create_hindexed(Int32(batch.runCount), lengths.baseAddress,
                                                          displacements.baseAddress, cmpi_uint64(), &targetType),
                                 "MPI_Type_create_hindexed")
                    }
                }
            }
            mpiCheck(MPI_Type_commit(&targetType), "MPI_Type_commit")
            mpiCheck(MPI_Accumulate(deltas.baseAddress, Int32(deltas.count), cmpi_uint64(), Int32(home), 0, 1,
                                    targetType, cmpi_op_bxor(), window), "MPI_Accumulate to rank \(home)")
            MPI_Type_free(&targetType)
        }
    }

    func completeWrites() {
        guard !inFlight.isEmpty else { return }
        mpiCheck(MPI_Win_flush_all(window), "MPI_Win_flush_all")
        inFlight.removeAll(keepingCapacity: true)
    }

    func close() {
        guard window != nil else { return }
        MPI_Win_unlock_all(window)
        MPI_Win_free(&window)
        window = nil
    }
}
