import CMPI
import Foundation

/// The MPI side of a run: this rank, the number of ranks, and the DSM's own communicators
/// (duplicates of MPI_COMM_WORLD, so application messages never match DSM traffic).
/// Stored properties unchecked for exclusivity at run time, as `CoherenceEngine` says why.
public final class Cluster: @unchecked Sendable {
    public let rank: Int
    public let size: Int
    /// Requests to service threads on the MPI message channel (page fetches, diffs, lock and
    /// condition-variable traffic).
    let requestComm: MPI_Comm
    /// Replies to main threads on the MPI message channel (page data, diff acknowledgements, grants).
    let replyComm: MPI_Comm
    /// Collectives among main threads (barrier, allocation checks) and for `Collectives`.
    public let syncComm: MPI_Comm
    /// The communicator offered to applications for their own DSM-related collectives.
    public let userComm: MPI_Comm
    /// Whether every rank runs on this host (MPI's shared-memory split spans the world).
    public let allOnOneHost: Bool
    /// True when SwiftDSM called MPI_Init and so must call MPI_Finalize.
    private let ownsMPI: Bool
    /// Scratch of `allgather(block:into:)` (main thread, one collective call at a time).
    @exclusivity(unchecked) var rotatedBlocks: [Int64] = []
    /// Where ranks are on several hosts and the tcp lanes run: the connections that carry
    /// `allgather(block:into:)` instead of MPI's messages (set at start-up, before any
    /// collective call).
    @exclusivity(unchecked) var collectiveLinks: CollectiveLinks?

    /// Whether SwiftDSM told Open MPI, before starting it, to serve RMA windows across hosts
    /// (not when the user chose Open MPI's osc components).
    let preparedOneSidedAcrossHosts: Bool

    /// With `oneSidedAcrossHosts`, when SwiftDSM starts MPI itself on ranks spread over several
    /// hosts, Open MPI is told to take its osc ucx component over any UCX transport (by default
    /// it takes only RDMA devices, and over TCP no window can be created at all). Settings the
    /// user gave (OMPI_MCA_osc... variables, mpirun --mca) win.
    init(oneSidedAcrossHosts: Bool = false) {
        var initialized: Int32 = 0
        MPI_Initialized(&initialized)
        var provided: Int32 = 0
        let environment = ProcessInfo.processInfo.environment
        let spread = environment["OMPI_COMM_WORLD_LOCAL_SIZE"].map { $0 != environment["OMPI_COMM_WORLD_SIZE"] } ?? false
        preparedOneSidedAcrossHosts = oneSidedAcrossHosts && initialized == 0 && spread
            && environment["OMPI_MCA_osc"] == nil
        if preparedOneSidedAcrossHosts {
            for (name, value) in [("OMPI_MCA_osc", "ucx"), ("OMPI_MCA_osc_ucx_tls", "any"),
                                  ("OMPI_MCA_osc_ucx_devices", "any")] {
                setenv(name, value, 0)
            }
        }
        if initialized == 0 {
            let code = MPI_Init_thread(nil, nil, Int32(MPI_THREAD_MULTIPLE), &provided)
            if code != MPI_SUCCESS {
                Fatal.local("MPI_Init_thread failed: \(mpiErrorText(code)); is this program started with mpirun?")
            }
            ownsMPI = true
        } else {
            MPI_Query_thread(&provided)
            ownsMPI = false
        }
        var worldRank: Int32 = 0
        var worldSize: Int32 = 0
        MPI_Comm_rank(cmpi_comm_world(), &worldRank)
        MPI_Comm_size(cmpi_comm_world(), &worldSize)
        rank = Int(worldRank)
        size = Int(worldSize)
        Fatal.install(rank: rank)
        if provided < Int32(MPI_THREAD_MULTIPLE) {
            Fatal.everyRank("MPI was initialized with thread level \(provided), but SwiftDSM's service thread "
                + "needs MPI_THREAD_MULTIPLE: initialize MPI with MPI_Init_thread(..., MPI_THREAD_MULTIPLE, ...) "
                + "or let jia_init initialize it", comm: cmpi_comm_world())
        }
        requestComm = Cluster.duplicateWorld()
        replyComm = Cluster.duplicateWorld()
        syncComm = Cluster.duplicateWorld()
        userComm = Cluster.duplicateWorld()
        var nodeComm: MPI_Comm? = nil
        mpiCheck(MPI_Comm_split_type(syncComm, Int32(MPI_COMM_TYPE_SHARED), Int32(rank), cmpi_info_null(), &nodeComm),
                 "MPI_Comm_split_type")
        var nodeSize: Int32 = 0
        mpiCheck(MPI_Comm_size(nodeComm, &nodeSize), "MPI_Comm_size")
        mpiCheck(MPI_Comm_free(&nodeComm), "MPI_Comm_free")
        allOnOneHost = Int(nodeSize) == size
    }

    private static func duplicateWorld() -> MPI_Comm {
        var comm: MPI_Comm? = nil
        mpiCheck(MPI_Comm_dup(cmpi_comm_world(), &comm), "MPI_Comm_dup")
        mpiCheck(MPI_Comm_set_errhandler(comm, cmpi_errors_return()), "MPI_Comm_set_errhandler")
        return comm!
    }

    /// Frees the communicators and finalizes MPI if SwiftDSM initialized it.
    func finish() {
        collectiveLinks?.close()
        for comm in [requestComm, replyComm, syncComm, userComm] {
            var handle: MPI_Comm? = comm
            MPI_Comm_free(&handle)
        }
        if ownsMPI { MPI_Finalize() }
    }

    // MARK: waiting without spinning

    /// Waits for a nonblocking request, backing off so an idle rank leaves the CPU to others.
    func wait(_ request: inout MPI_Request?, backoff: Backoff = Backoff()) {
        var backoff = backoff
        var done: Int32 = 0
        while true {
            mpiCheck(MPI_Test(&request, &done, cmpi_status_ignore()), "MPI_Test")
            if done != 0 { return }
            backoff.pause()
        }
    }

    /// Drives MPI's progress engine once. A thread that waits on another channel (tcp lanes,
    /// UCX) calls it between its sleeps: a nonblocking MPI collective that this rank has
    /// finished may still need its progress to deliver what it queued to a rank still inside
    /// (seen: a barrier's page pushes hung across hosts while their pusher slept on its sockets).
    func progressMPI() {
        var found: Int32 = 0
        var status = MPI_Status()
        mpiCheck(MPI_Iprobe(cmpi_any_source(), cmpi_any_tag(), syncComm, &found, &status), "MPI_Iprobe (progress)")
    }

    /// A barrier among main threads that sleeps while it waits.
    public func quietBarrier() {
        var request: MPI_Request? = cmpi_request_null()
        mpiCheck(MPI_Ibarrier(syncComm, &request), "MPI_Ibarrier")
        wait(&request)
    }

    // MARK: start-up exchanges

    /// Every rank's `mine` (any length), by rank (collective).
    func allgather(bytes mine: [UInt8], _ what: String) -> [[UInt8]] {
        var length = Int32(mine.count)
        var lengths = [Int32](repeating: 0, count: size)
        mpiCheck(MPI_Allgather(&length, 1, cmpi_int32(), &lengths, 1, cmpi_int32(), syncComm),
                 "MPI_Allgather (\(what) lengths)")
        var offsets = [Int32](repeating: 0, count: size)
        for rank in 1..<max(1, size) { offsets[rank] = offsets[rank - 1] + lengths[rank - 1] }
        var all = [UInt8](repeating: 0, count: Int(lengths.reduce(0, +)))
        var source = mine
        mpiCheck(MPI_Allgatherv(&source, length, cmpi_byte(), &all, lengths, offsets, cmpi_byte(), syncComm),
                 "MPI_Allgatherv (\(what))")
        return (0..<size).map { Array(all[Int(offsets[$0])..<Int(offsets[$0] + lengths[$0])]) }
    }

    /// Stops every rank, naming each rank's problem, if any rank has one (collective).
    func stopIfAnyRank(_ problem: String?, _ what: String) {
        let texts = allgather(bytes: Array((problem ?? "").utf8), what)
        let problems = texts.enumerated().filter { !$0.element.isEmpty }
            .map { "rank \($0.offset): " + String(decoding: $0.element, as: UTF8.self) }
        if !problems.isEmpty { Fatal.everyRank(problems.joined(separator: "; "), comm: syncComm) }
    }

    /// Every rank's host name, by rank (collective): for messages naming a peer.
    func hostNames() -> [String] {
        allgather(bytes: Array(Cluster.hostName().utf8), "host names").map { String(decoding: $0, as: UTF8.self) }
    }

    /// This host's name ("localhost" if it has none).
    static func hostName() -> String {
        var name = [CChar](repeating: 0, count: 256)
        guard gethostname(&name, name.count - 1) == 0 else { return "localhost" }
        return String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
