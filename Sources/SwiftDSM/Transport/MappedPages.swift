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
        guard let peers = PeerMappings.map(cluster: cluster, fd: store.fd, length: store.length, "page stores") else {
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

    func read(home: Int, runs: UnsafeBufferPointer<FetchRun>) {
        for run in runs { memcpy(run.destination, peers[home]! + run.offset, run.length) }
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
