import CMPI
import CUCX
import Foundation
import Synchronization

/// One rank's UCX worker, with an endpoint to every other rank and the progress thread
/// that serves them: what the ucx transport's gets and puts (`UCXPages`) and its
/// messages (`UCXChannel`) share. Opening it is collective.
final class UCXNode: @unchecked Sendable {
    let pointer: OpaquePointer
    /// Host names by rank, for messages about lost peers.
    let hosts: [String]
    /// UCX's description of the lanes to each other rank (which UCX transports carry what).
    let lanes: [String]
    /// Whether the lanes from this rank to every other are RDMA (rc, dc).
    let rdma: Bool
    private let closed = Atomic<Bool>(false)

    /// Stops every rank with UCX's reason (and the setting to change) if any rank cannot
    /// open UCX with `transports` or reach every other rank.
    static func open(cluster: Cluster, transports: String, spinMicroseconds: Int) -> UCXNode {
        var reason = [CChar](repeating: 0, count: 512)
        let device = chooseDevice()
        let node = cucx_open(transports, device?.ucxName, Int32(cluster.rank), Int32(cluster.size), &reason,
                             reason.count)
        let opened = agree(node != nil, cluster: cluster, step: "open UCX", reason: reason, transports: transports)
        guard opened, let node else { fatalError("unreachable: agree stops the job") }

        var addressLength = 0
        let address = UnsafeRawBufferPointer(start: cucx_address(node, &addressLength), count: addressLength)
        let addresses = cluster.allgather(bytes: Array(address), "UCX addresses")
        // Across hosts a dead peer must fail the operations on it, not hang them; on one host
        // UCX's shared-memory transports cannot tell, and mpirun ends the job when a rank dies.
        let detectFailure: Int32 = cluster.allOnOneHost ? 0 : 1
        var connected = true
        for rank in 0..<cluster.size where rank != cluster.rank && connected {
            connected = addresses[rank].withUnsafeBytes {
                cucx_connect(node, Int32(rank), $0.baseAddress, detectFailure, &reason, reason.count) == 0
            }
        }
        _ = agree(connected, cluster: cluster, step: "connect to every rank", reason: reason, transports: transports)
        let hosts = cluster.hostNames()
        let lanes = (0..<cluster.size).map { rank -> String in
            guard rank != cluster.rank else { return "" }
            var text = [CChar](repeating: 0, count: 8192)
            cucx_describe(node, Int32(rank), &text, text.count)
            return text.text
        }
        let rdma = cluster.size > 1 && lanes.enumerated().allSatisfy { rank, description in
            rank == cluster.rank || description.contains("rc_") || description.contains("dc_")
        }
        if cucx_start_progress(node, UInt64(spinMicroseconds) * 1000) != 0 {
            Fatal.stop("cannot start the UCX progress thread (pthread_create failed: too many threads?)")
        }
        return UCXNode(pointer: node, hosts: hosts, lanes: lanes, rdma: rdma)
    }

    private init(pointer: OpaquePointer, hosts: [String], lanes: [String], rdma: Bool) {
        self.pointer = pointer
        self.hosts = hosts
        self.lanes = lanes
        self.rdma = rdma
    }

    /// Stops the progress thread, closes the endpoints and the worker (once; after a
    /// barrier, when no rank reads or writes another's page store or sends any more).
    func close() {
        guard !closed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        cucx_close(pointer)
    }

    /// The RDMA device nearest this rank's cores, unless UCX_NET_DEVICES chooses (nil also
    /// where there is none: UCX then uses what it finds).
    private static func chooseDevice() -> RDMADevice? {
        guard ProcessInfo.processInfo.environment["UCX_NET_DEVICES"] == nil else { return nil }
        let devices = RDMADevices.list()
        let cores = RDMADevices.boundCores()
        guard let chosen = RDMADevices.nearest(devices, to: cores) else { return nil }
        let bound = cores.map { "cores \($0.sorted())" } ?? "unknown cores"
        let all = devices.map { "\($0.ucxName) near cores \($0.cores.sorted())" }.joined(separator: ", ")
        DSMLog.logger.info("RDMA device \(chosen.ucxName) for this rank (bound to \(bound)), of \(all)")
        return chosen
    }

    /// Whether every rank managed `step`; if one did not, every rank stops, each naming its
    /// own reason (or that another rank failed).
    static func agree(_ done: Bool, cluster: Cluster, step: String, reason: [CChar], transports: String) -> Bool {
        var mine: Int32 = done ? 1 : 0
        var everyone: Int32 = 0
        mpiCheck(MPI_Allreduce(&mine, &everyone, 1, cmpi_int32(), cmpi_op_min(), cluster.syncComm),
                 "MPI_Allreduce (UCX agreement)")
        guard everyone == 0 else { return true }
        let asked = transports.isEmpty ? "UCX's default transports (UCX_TLS unset)" : "ucx-transports \(transports)"
        let why = done ? "another rank could not" : "UCX said \(reason.text)"
        Fatal.everyRank("transport ucx could not \(step) with \(asked): \(why); set ucx-transports "
            + "(JIA_UCX_TRANSPORTS) to transports this machine has (`ucx_info -d` lists them: tcp, "
            + "sm or posix/sysv/cma on one host, rc or dc with an RDMA device), or use transport auto",
            comm: cluster.syncComm)
    }
}

extension [CChar] {
    /// The NUL-terminated text a C function wrote into this buffer.
    var text: String { withUnsafeBufferPointer { String(cString: $0.baseAddress!) } }
}
