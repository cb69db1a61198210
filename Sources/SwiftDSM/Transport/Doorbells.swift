import CPlatform
import Glibc

/// One doorbell per rank, in memory the ranks of one host share, so that a service thread
/// waiting on MPI (whose receives can only be polled) sleeps without polling: with nothing
/// to serve it sleeps on its bell, and a rank sending it a request rings it. Without them
/// an idle service thread tested MPI every 250 us at least, about 4% of a core taken from
/// the rank's computation.
final class Doorbells: @unchecked Sendable {
    /// Each rank's bell (two 32-bit words), mapped here.
    private let bells: [UnsafeMutablePointer<UInt32>]
    /// This rank's bell, for its service thread.
    let own: UnsafeMutablePointer<UInt32>
    private let mine: MemoryFile
    private let peers: [UnsafeMutableRawPointer?]

    /// How long a sleeping service thread waits for a ring before testing MPI once more (it
    /// is also the one thread that drives MPI's progress while the application computes).
    static let progressIntervalNanoseconds: Int64 = 4_000_000

    /// Collective. nil on every rank unless every rank is on this host and can map the others'
    /// bells.
    static func open(cluster: Cluster) -> Doorbells? {
        guard cluster.allOnOneHost, cluster.size > 1 else { return nil }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let file = MemoryFile(name: "swiftdsm-doorbell", length: page, what: "the service thread's doorbell")
        guard let peers = PeerMappings.map(cluster: cluster, fd: file.fd, length: page, "doorbells") else { return nil }
        return Doorbells(mine: file, peers: peers, rank: cluster.rank)
    }

    private init(mine: consuming MemoryFile, peers: [UnsafeMutableRawPointer?], rank: Int) {
        let own = mine.alias.assumingMemoryBound(to: UInt32.self)
        bells = peers.indices.map { $0 == rank ? own : peers[$0]!.assumingMemoryBound(to: UInt32.self) }
        self.own = own
        self.mine = mine
        self.peers = peers
    }

    deinit {
        for case let peer? in peers { munmap(peer, mine.length) }
    }

    func ring(_ rank: Int) { cplatform_doorbell_ring(bells[rank]) }
}
