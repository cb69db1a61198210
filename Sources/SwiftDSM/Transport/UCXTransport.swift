import CMPI
import CUCX
import Foundation

/// Pages and diffs over UCX's UCP: every rank's home arena alias is registered with UCP and
/// its remote key handed to every rank at start-up. On InfiniBand or RoCE (rc, dc lanes) a
/// fetch is one `ucp_get_nbx`, an RDMA READ the home's CPU never sees; elsewhere it is one
/// active-message request the home's worker answers (`cucx_fetch`). A diff batch's
/// whole-word runs are one `ucp_put_nbx` each, all in flight at once, completed together by
/// a flush (partially changed words go to the home's service thread, as on the rma path).
/// Over UCX's tcp and emulated transports the home's progress thread
/// (`cucx_start_progress`) serves the operations.
final class UCXTransport: PageTransport {
    let name = "ucx"
    private let node: OpaquePointer
    /// Partially changed words travel as messages to the home's service thread.
    private let messages: MessageTransport
    private let notices: ReadNotices
    private let pageShift: Int
    /// Batches whose puts may still be in flight; kept alive until `completeWrites`.
    private var inFlight: [RunBatch] = []
    /// Source of the read-notice puts.
    private var ones: [UInt8] = []
    /// UCX's description of the lanes to each other rank (which UCX transports carry what).
    let lanes: [String]
    /// The UCX transports and devices of the lanes to every rank, as in "tcp/eth0, sysv/memory".
    var laneSummary: String {
        var found = Set<String>()
        for line in lanes.joined(separator: "\n").split(separator: "\n") where line.contains("lane[") {
            // "#   lane[0]:  2:tcp/eth0.0 md[1] -> ...": the resource after the index.
            guard let resource = line.split(separator: " ").first(where: { $0.contains(":") && $0.contains("/") }),
                  let colon = resource.firstIndex(of: ":") else { continue }
            let name = resource[resource.index(after: colon)...]
            found.insert(String(name.lastIndex(of: ".").map { name[..<$0] } ?? name))
        }
        return found.sorted().joined(separator: ", ")
    }
    /// Whether a fetch is a request the home's worker answers (`cucx_fetch`), not a get.
    let fetchesByRequest: Bool
    private var closed = false

    /// Collective. Stops every rank with UCX's reason (and the setting to change) if any rank
    /// cannot open UCX with `transports`, reach every other rank or register its arena.
    static func create(cluster: Cluster, channel: MessageChannel, store: PageStore,
                       transports: String, fetch: UCXFetchChoice, spinMicroseconds: Int) -> UCXTransport {
        var reason = [CChar](repeating: 0, count: 512)
        let device = chooseDevice()
        let node = cucx_open(transports, device?.ucxName, Int32(cluster.size), &reason, reason.count)
        let opened = agree(node != nil, cluster: cluster, step: "open UCX", reason: reason, transports: transports)
        guard opened, let node else { fatalError("unreachable: agree stops the job") }

        var addressLength = 0
        let address = UnsafeRawBufferPointer(start: cucx_address(node, &addressLength), count: addressLength)
        let addresses = exchange(Array(address), cluster: cluster)
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

        var key: UnsafeRawPointer? = nil
        var keyLength = 0
        let registered = cucx_register(node, store.alias, store.length, &key, &keyLength, &reason, reason.count) == 0
        _ = agree(registered, cluster: cluster, step: "register the home arena", reason: reason,
                  transports: transports)
        var base = UInt64(UInt(bitPattern: store.alias)).littleEndian
        var mine = withUnsafeBytes(of: &base) { Array($0) }
        mine += Array(UnsafeRawBufferPointer(start: key, count: keyLength))
        let keys = exchange(mine, cluster: cluster)
        var unpacked = true
        for rank in 0..<cluster.size where rank != cluster.rank && unpacked {
            let remoteBase = keys[rank].withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
            unpacked = keys[rank].withUnsafeBytes {
                cucx_add_key(node, Int32(rank), $0.baseAddress! + 8, remoteBase, &reason, reason.count) == 0
            }
        }
        _ = agree(unpacked, cluster: cluster, step: "take every rank's remote key", reason: reason,
                  transports: transports)

        let served = cucx_serve_pages(node, Int32(cluster.rank), store.alias, store.readNotices.pageCount << store.pageShift,
                                      store.alias + store.readNotices.offset, store.readNotices.pageCount,
                                      Int32(store.pageShift), Int32(ReadNotices.chunkShift), reportMalformed,
                                      &reason, reason.count) == 0
        _ = agree(served, cluster: cluster, step: "serve page requests", reason: reason, transports: transports)

        let lanes = (0..<cluster.size).map { rank -> String in
            guard rank != cluster.rank else { return "" }
            var text = [CChar](repeating: 0, count: 8192)
            cucx_describe(node, Int32(rank), &text, text.count)
            return text.text
        }
        // RDMA lanes read a home's memory without its CPU; elsewhere UCX emulates a get with an
        // active message each way, and a request does the same plus the read notices, which
        // would otherwise be two more emulated puts (measured: 35 us a fault instead of 22).
        let rdma = lanes.contains { $0.contains("rc_") || $0.contains("dc_") }
        let requests = fetch == .request || (fetch == .auto && !rdma)
        return UCXTransport(node: node, channel: channel, store: store, lanes: lanes, requests: requests,
                            spinNanoseconds: UInt64(spinMicroseconds) * 1000)
    }

    private init(node: OpaquePointer, channel: MessageChannel, store: PageStore, lanes: [String], requests: Bool,
                 spinNanoseconds: UInt64) {
        self.node = node
        self.lanes = lanes
        fetchesByRequest = requests
        messages = MessageTransport(channel: channel)
        notices = store.readNotices
        pageShift = store.pageShift
        if cucx_start_progress(node, spinNanoseconds) != 0 {
            Fatal.stop("cannot start the UCX progress thread (pthread_create failed: too many threads?)")
        }
    }

    /// By get: the read notices go first, then the page; the fence makes the notices land
    /// before the read, in one wait. By request: the home sets them before it reads.
    func fetch(home: Int, offset: Int, length: Int, into destination: UnsafeMutableRawPointer) {
        if fetchesByRequest {
            cucx_fetch(node, Int32(home), destination, length, UInt64(offset))
            ThreadStatistics.current.pointee.rmaOperations &+= 1
        } else {
            markCopies(home: home, first: offset >> pageShift, count: length >> pageShift)
            cucx_fence(node)
            cucx_get(node, Int32(home), destination, length, UInt64(offset))
            ThreadStatistics.current.pointee.rmaOperations &+= 3
        }
        wait(cucx_wait, "a page fetch")
    }

    private func markCopies(home: Int, first: Int, count: Int) {
        let chunks = ((first + count - 1) >> ReadNotices.chunkShift) - (first >> ReadNotices.chunkShift) + 1
        if ones.count < count { ones = [UInt8](repeating: 1, count: count) }
        ones.withUnsafeBytes { source in
            cucx_put(node, Int32(home), source.baseAddress, count, UInt64(notices.pageByteOffset(first)))
            cucx_put(node, Int32(home), source.baseAddress, chunks, UInt64(notices.chunkByteOffset(first)))
        }
    }

    /// Whole words go by one put per run, straight from the batch; partially changed words
    /// go to the home's service thread, which applies them with atomic XORs (a NIC's
    /// read-modify-write is not atomic with the home CPU's own stores).
    func write(_ batch: RunBatch, to home: Int) {
        guard !batch.isEmpty else { return }
        inFlight.append(batch)
        if !batch.partial.isEmpty { messages.write(batch.partialOnly, to: home) }
        let runs = inFlight[inFlight.count - 1].whole
        guard !runs.isEmpty else { return }
        runs.words.withUnsafeBytes { values in
            var position = 0
            for index in runs.offsets.indices {
                let bytes = Int(runs.lengths[index]) * 8
                cucx_put(node, Int32(home), values.baseAddress! + position, bytes, UInt64(runs.offsets[index]))
                position += bytes
            }
        }
        ThreadStatistics.current.pointee.rmaOperations &+= UInt64(runs.runCount)
    }

    func completeWrites() {
        guard !inFlight.isEmpty else { return }
        wait(cucx_flush, "writing diffs")
        messages.completeWrites()
        inFlight.removeAll(keepingCapacity: true)
    }

    private func wait(_ completion: (OpaquePointer?, UnsafeMutablePointer<Int32>?, UnsafeMutablePointer<CChar>?, Int) -> Int32,
                      _ what: String) {
        var failedRank: Int32 = -1
        // Every fault waits here: no reason buffer unless something failed (then a wait,
        // with nothing outstanding, returns at once and fills it).
        guard completion(node, &failedRank, nil, 0) != 0 else { return }
        var reason = [CChar](repeating: 0, count: 256)
        _ = cucx_wait(node, &failedRank, &reason, reason.count)
        Fatal.stop("UCX could not complete \(what) with rank \(failedRank) (\(reason.text)): "
            + "the rank or its host is gone, or its network failed")
    }

    /// Sends `home` a fetch request for pages outside the shared range, without waiting (tests
    /// only: the home must stop the job naming this rank and serve nothing).
    func sendMalformedFetchForTesting(to home: Int) {
        cucx_fetch(node, Int32(home), UCXTransport.scratch, 4096, 1 << 50)
    }

    private nonisolated(unsafe) static let scratch = UnsafeMutableRawPointer.allocate(byteCount: 4096, alignment: 4096)

    /// Collective: after a barrier no rank reads or writes another's arena any more.
    func close() {
        guard !closed else { return }
        closed = true
        cucx_close(node)
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

    /// Every rank's `mine`, by rank.
    private static func exchange(_ mine: [UInt8], cluster: Cluster) -> [[UInt8]] {
        var length = Int32(mine.count)
        var lengths = [Int32](repeating: 0, count: cluster.size)
        mpiCheck(MPI_Allgather(&length, 1, cmpi_int32(), &lengths, 1, cmpi_int32(), cluster.syncComm),
                 "MPI_Allgather (UCX address lengths)")
        var offsets = [Int32](repeating: 0, count: cluster.size)
        for rank in 1..<max(1, cluster.size) { offsets[rank] = offsets[rank - 1] + lengths[rank - 1] }
        var all = [UInt8](repeating: 0, count: Int(lengths.reduce(0, +)))
        var source = mine
        mpiCheck(MPI_Allgatherv(&source, length, cmpi_byte(), &all, lengths, offsets, cmpi_byte(), cluster.syncComm),
                 "MPI_Allgatherv (UCX addresses)")
        return (0..<cluster.size).map { Array(all[Int(offsets[$0])..<Int(offsets[$0] + lengths[$0])]) }
    }

    /// Whether every rank managed `step`; if one did not, every rank stops, each naming its
    /// own reason (or that another rank failed).
    private static func agree(_ done: Bool, cluster: Cluster, step: String, reason: [CChar],
                              transports: String) -> Bool {
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

/// A malformed fetch request or reply from another rank, seen by UCX's progress.
private func reportMalformed(_ rank: Int32, _ what: UnsafePointer<CChar>?) {
    let sender = rank >= 0 ? "rank \(rank)" : "a rank"
    Fatal.stop("\(sender) sent \(String(cString: what!)) over UCX; nothing of it was applied")
}

extension [CChar] {
    /// The NUL-terminated text a C function wrote into this buffer.
    var text: String { withUnsafeBufferPointer { String(cString: $0.baseAddress!) } }
}
