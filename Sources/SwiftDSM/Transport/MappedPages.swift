import CMPI
import CPlatform
import Glibc

/// Pages and diffs between ranks on one host without MPI: every rank maps the other ranks'
/// page stores (opened through /proc/<pid>/fd), so a fetch is a memcpy from the home's
/// memory and a diff is applied by XOR straight into it (atomically where a word is shared
/// with other writers). No system call, no message, no target involvement.
final class MappedPages: PageFetcher, DiffSink, TransportPart {
    /// Each rank's page store, mapped here (nil for this rank).
    private var peers: [UnsafeMutableRawPointer?]
    /// Each rank's read notices, in its mapped store.
    private let readNotices: [ReadNotices?]
    private let length: Int

    /// Collective. Returns nil on every rank unless all ranks share one host and each could
    /// map every other rank's page store.
    static func create(cluster: Cluster, store: PageStore) -> MappedPages? {
        var nodeComm: MPI_Comm? = nil
        mpiCheck(MPI_Comm_split_type(cluster.syncComm, Int32(MPI_COMM_TYPE_SHARED), Int32(cluster.rank),
                                     cmpi_info_null(), &nodeComm), "MPI_Comm_split_type")
        var nodeSize: Int32 = 0
        mpiCheck(MPI_Comm_size(nodeComm, &nodeSize), "MPI_Comm_size")
        mpiCheck(MPI_Comm_free(&nodeComm), "MPI_Comm_free")
        var mine: [Int64] = [Int64(getpid()), Int64(store.fd)]
        var all = [Int64](repeating: 0, count: 2 * cluster.size)
        mpiCheck(MPI_Allgather(&mine, 2, cmpi_int64(), &all, 2, cmpi_int64(), cluster.syncComm), "MPI_Allgather")
        var peers = [UnsafeMutableRawPointer?](repeating: nil, count: cluster.size)
        var ok: Int32 = nodeSize == Int32(cluster.size) ? 1 : 0
        if ok == 1 {
            for rank in 0..<cluster.size where rank != cluster.rank {
                let fd = open("/proc/\(all[2 * rank])/fd/\(all[2 * rank + 1])", O_RDWR | O_CLOEXEC)
                if fd < 0 { ok = 0; break }
                let code = cplatform_map_shared(store.length, fd, 0, &peers[rank])
                Glibc.close(fd)
                if code != 0 { ok = 0; break }
            }
        }
        var everyone: Int32 = 0
        mpiCheck(MPI_Allreduce(&ok, &everyone, 1, cmpi_int32(), cmpi_op_min(), cluster.syncComm), "MPI_Allreduce")
        if everyone == 0 {
            for case let peer? in peers { munmap(peer, store.length) }
            DSMLog.logger.info("ranks cannot map each other's memory (not one host, or /proc not usable)")
            return nil
        }
        return MappedPages(peers: peers, length: store.length, notices: store.readNotices,
                               pageShift: store.pageShift)
    }

    private let pageShift: Int

    private init(peers: [UnsafeMutableRawPointer?], length: Int, notices: ReadNotices, pageShift: Int) {
        self.peers = peers
        self.length = length
        self.pageShift = pageShift
        readNotices = peers.map { peer in
            peer.map { ReadNotices(storeBase: $0, offset: notices.offset, pageCount: notices.pageCount) }
        }
    }

    func fetch(home: Int, offset: Int, length: Int, into destination: UnsafeMutableRawPointer) {
        readNotices[home]!.mark(first: offset >> pageShift, count: length >> pageShift)
        memcpy(destination, peers[home]! + offset, length)
    }

    func write(_ batch: RunBatch, to home: Int) {
        batch.apply(to: peers[home]!)
    }

    /// The deltas are in the homes' memory already; the fence orders them before the write
    /// notices this rank publishes next.
    func completeWrites() { cplatform_memory_fence() }

    func close() {
        for case let peer? in peers { munmap(peer, length) }
        peers = []
    }
}
