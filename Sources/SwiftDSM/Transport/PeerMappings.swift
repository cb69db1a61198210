import CMPI
import CPlatform
import Glibc

/// Memory every rank of one host shares: each rank's memfd, mapped by every other rank
/// through /proc/<pid>/fd.
enum PeerMappings {
    /// Collective. Each rank's file `fd` of `length` bytes, mapped here (nil for this rank);
    /// nil on every rank unless all ranks share one host and each could map every other's.
    static func map(cluster: Cluster, fd: Int32, length: Int, _ what: String) -> [UnsafeMutableRawPointer?]? {
        var mine: [Int64] = [Int64(getpid()), Int64(fd)]
        var all = [Int64](repeating: 0, count: 2 * cluster.size)
        mpiCheck(MPI_Allgather(&mine, 2, cmpi_int64(), &all, 2, cmpi_int64(), cluster.syncComm),
                 "MPI_Allgather (\(what))")
        var peers = [UnsafeMutableRawPointer?](repeating: nil, count: cluster.size)
        var ok: Int32 = cluster.allOnOneHost ? 1 : 0
        if ok == 1 {
            for rank in 0..<cluster.size where rank != cluster.rank {
                let peerFD = open("/proc/\(all[2 * rank])/fd/\(all[2 * rank + 1])", O_RDWR | O_CLOEXEC)
                if peerFD < 0 { ok = 0; break }
                let code = cplatform_map_shared(length, peerFD, 0, &peers[rank])
                Glibc.close(peerFD)
                if code != 0 { ok = 0; break }
            }
        }
        var everyone: Int32 = 0
        mpiCheck(MPI_Allreduce(&ok, &everyone, 1, cmpi_int32(), cmpi_op_min(), cluster.syncComm),
                 "MPI_Allreduce (\(what))")
        guard everyone == 1 else {
            for case let peer? in peers { munmap(peer, length) }
            DSMLog.logger.info("\(what): ranks cannot map each other's memory (not one host, or /proc not usable)")
            return nil
        }
        return peers
    }
}
