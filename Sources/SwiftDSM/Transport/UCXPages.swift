import CMPI
import CUCX
import Foundation

/// Pages and whole words over UCX's UCP: every rank's page store's alias is registered with UCP and
/// its remote key handed to every rank at start-up. On InfiniBand or RoCE (rc, dc lanes) a
/// fetch is one `ucp_get_nbx`, an RDMA READ the home's CPU never sees; elsewhere it is one
/// active-message request the home's worker answers (`cucx_fetch`). A diff batch's
/// whole-word runs are one `ucp_put_nbx` each, all in flight at once, completed together by
/// a flush (the transport sends partially changed words through `DiffLanes`, as on the rma
/// path). Over UCX's tcp and emulated transports the home's progress
/// thread (`cucx_start_progress`, started by `UCXNode`) serves the operations.
final class UCXPages: PageFetcher, WholeWordSink, TransportPart {
    private let owner: UCXNode
    private let node: OpaquePointer
    private let notices: ReadNotices
    private let pageShift: Int
    /// Batches whose puts may still be in flight; kept alive until `completeWholeWords`.
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

    /// Collective. Stops every rank with UCX's reason (and the setting to change) if any rank
    /// cannot register its page store or take another's remote key.
    static func create(cluster: Cluster, node ucx: UCXNode, channel: MessageChannel, store: PageStore,
                       transports: String, fetch: UCXFetchChoice) -> UCXPages {
        let node = ucx.pointer
        if !(channel is UCXChannel) {
            // No thread takes this node's messages: what its progress sees stops the job there.
            cucx_on_problem(node, reportProblem)
        }
        var reason = [CChar](repeating: 0, count: 512)
        var key: UnsafeRawPointer? = nil
        var keyLength = 0
        let registered = cucx_register(node, store.alias, store.length, &key, &keyLength, &reason, reason.count) == 0
        _ = UCXNode.agree(registered, cluster: cluster, step: "register the page store", reason: reason,
                          transports: transports)
        var base = UInt64(UInt(bitPattern: store.alias)).littleEndian
        var mine = withUnsafeBytes(of: &base) { Array($0) }
        mine += Array(UnsafeRawBufferPointer(start: key, count: keyLength))
        let keys = cluster.allgather(bytes: mine, "UCX remote keys")
        var unpacked = true
        for rank in 0..<cluster.size where rank != cluster.rank && unpacked {
            let remoteBase = keys[rank].withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
            unpacked = keys[rank].withUnsafeBytes {
                cucx_add_key(node, Int32(rank), $0.baseAddress! + 8, remoteBase, &reason, reason.count) == 0
            }
        }
        _ = UCXNode.agree(unpacked, cluster: cluster, step: "take every rank's remote key", reason: reason,
                          transports: transports)

        let served = cucx_serve_pages(node, store.alias, store.readNotices.pageCount << store.pageShift,
                                      store.alias + store.readNotices.offset, store.readNotices.pageCount,
                                      Int32(store.pageShift), Int32(ReadNotices.chunkShift), &reason, reason.count) == 0
        _ = UCXNode.agree(served, cluster: cluster, step: "serve page requests", reason: reason,
                          transports: transports)

        // RDMA lanes read a home's memory without its CPU; elsewhere UCX emulates a get with an
        // active message each way, and a request does the same plus the read notices, which
        // would otherwise be two more emulated puts (measured: 35 us a fault instead of 22).
        let requests = fetch == .request || (fetch == .auto && !ucx.rdma)
        return UCXPages(node: ucx, store: store, lanes: ucx.lanes, requests: requests)
    }

    private init(node: UCXNode, store: PageStore, lanes: [String], requests: Bool) {
        owner = node
        self.node = node.pointer
        self.lanes = lanes
        fetchesByRequest = requests
        inFlight.reserveCapacity(64)  // a dirty eviction writes from the fault handler
        notices = store.readNotices
        pageShift = store.pageShift
    }

    func fetch(home: Int, offset: Int, length: Int, into destination: UnsafeMutableRawPointer) {
        _ = fetch(home: home, offset: offset, length: length, into: destination, meanwhile: {})
    }

    /// By get: the read notices go first, then the page; the fence makes the notices land
    /// before the read, in one wait. By request: the home sets them before it reads.
    func fetch(home: Int, offset: Int, length: Int, into destination: UnsafeMutableRawPointer,
               meanwhile: () -> Void) -> Bool {
        if fetchesByRequest {
            cucx_fetch(node, Int32(home), destination, length, UInt64(offset))
            ThreadStatistics.current.pointee.rmaOperations &+= 1
        } else {
            markCopies(home: home, first: offset >> pageShift, count: length >> pageShift)
            cucx_fence(node)
            cucx_get(node, Int32(home), destination, length, UInt64(offset))
            ThreadStatistics.current.pointee.rmaOperations &+= 3
        }
        meanwhile()
        wait(cucx_wait, "a page fetch")
        return true
    }

    /// Every run in flight at once (the notices first, fenced, where the runs are gets),
    /// completed by one wait.
    func fetch(home: Int, runs: UnsafeBufferPointer<FetchRun>) {
        if fetchesByRequest {
            for run in runs { cucx_fetch(node, Int32(home), run.destination, run.length, UInt64(run.offset)) }
            ThreadStatistics.current.pointee.rmaOperations &+= UInt64(runs.count)
        } else {
            // `ones` is sized once: the notice puts read it until the wait.
            let longest = runs.reduce(0) { max($0, $1.length >> pageShift) }
            if ones.count < longest { ones = [UInt8](repeating: 1, count: longest) }
            for run in runs { markCopies(home: home, first: run.offset >> pageShift, count: run.length >> pageShift) }
            cucx_fence(node)
            ThreadStatistics.current.pointee.rmaOperations &+= UInt64(2 * runs.count)  // the notice puts
            read(home: home, runs: runs)  // the gets, and one wait for everything
            return
        }
        wait(cucx_wait, "a page fetch")
    }

    /// Gets, whether fetches go by get or by request: a request's home would set the
    /// notices, and a get alone costs what a request does.
    func read(home: Int, runs: UnsafeBufferPointer<FetchRun>) {
        for run in runs { cucx_get(node, Int32(home), run.destination, run.length, UInt64(run.offset)) }
        ThreadStatistics.current.pointee.rmaOperations &+= UInt64(runs.count)
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

    /// One put per run, straight from the batch.
    func write(wholeWordsOf batch: RunBatch, to home: Int) {
        guard !batch.whole.isEmpty else { return }
        inFlight.append(batch)
        let runs = inFlight[inFlight.count - 1].whole
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

    func completeWholeWords() {
        guard !inFlight.isEmpty else { return }
        wait(cucx_flush, "writing diffs")
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
        let host = owner.hosts.indices.contains(Int(failedRank)) ? " on host \(owner.hosts[Int(failedRank)])" : ""
        Fatal.stop("lost the connection to rank \(failedRank)\(host): its process ended or its host is unreachable "
            + "(UCX could not complete \(what): \(reason.text))")
    }

    /// Sends `home` a fetch request for pages outside the shared range, without waiting (tests
    /// only: the home must stop the job naming this rank and serve nothing).
    func sendMalformedFetchForTesting(to home: Int) {
        cucx_fetch(node, Int32(home), UCXPages.scratch, 4096, 1 << 50)
    }

    private nonisolated(unsafe) static let scratch = UnsafeMutableRawPointer.allocate(byteCount: 4096, alignment: 4096)

    func prepareToClose() { cucx_prepare_to_close(node) }

    /// Collective: after a barrier no rank reads or writes another's page store any more (the
    /// ucx channel, where it shares the node, closes it once too).
    func close() { owner.close() }
}

/// A malformed fetch request or reply, or a lost peer, seen by UCX's progress where no ucx
/// channel takes messages (one host: the messages go through MPI, which can report it).
private func reportProblem(_ problem: Int32, _ rank: Int32, _ what: UnsafePointer<CChar>?) {
    var name = [CChar](repeating: 0, count: 256)
    gethostname(&name, name.count - 1)
    let peer = rank >= 0 ? "rank \(rank) on host \(name.text)" : "a rank"
    if problem == Int32(cucx_problem_lost) {
        Fatal.stop("lost the connection to \(peer): its process ended or its host is unreachable (UCX: \(String(cString: what!)))")
    }
    Fatal.stop("\(peer) sent \(String(cString: what!)) over UCX; nothing of it was applied")
}
