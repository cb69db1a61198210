import CPlatform
import Glibc

/// Two doorbells per rank, in memory the ranks of one host share, so that threads waiting
/// on MPI (whose receives can only be polled) sleep without polling: a service thread with
/// nothing to serve sleeps on its rank's request bell, which a rank sending it a request
/// rings; a thread waiting long for a reply (a lock or condition grant) sleeps on its
/// rank's reply bell, which every reply to the rank rings. Without them an idle service
/// thread tested MPI every 250 us at least, about 4% of a core taken from the rank's
/// computation, and a thread waiting for a grant as much again.
final class Doorbells: @unchecked Sendable {
    /// Each rank's bells (two 32-bit words each), mapped here.
    private let requestBells: [UnsafeMutablePointer<UInt32>]
    private let replyBells: [UnsafeMutablePointer<UInt32>]
    /// This rank's bells: for its service thread, and for its threads waiting for replies.
    let ownRequests: UnsafeMutablePointer<UInt32>
    let ownReplies: UnsafeMutablePointer<UInt32>
    /// Where the reply bell lies in a rank's page, in words (its own cache line).
    private static let replyWord = 16
    private let mine: MemoryFile
    private let peers: [UnsafeMutableRawPointer?]

    /// How long a sleeping thread waits for a ring before testing MPI once more (the service
    /// thread is also the one that drives MPI's progress while the application computes).
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
        requestBells = peers.indices.map { $0 == rank ? own : peers[$0]!.assumingMemoryBound(to: UInt32.self) }
        replyBells = requestBells.map { $0 + Self.replyWord }
        ownRequests = own
        ownReplies = own + Self.replyWord
        self.mine = mine
        self.peers = peers
    }

    deinit {
        for case let peer? in peers { munmap(peer, mine.length) }
    }

    /// Returns once `look()` finds work: while `backoff` spins and yields, between its
    /// pauses; then asleep on `bell` (nil: no bells here, only the backoff), waking at a
    /// ring or every progress interval to look again.
    static func wait(on bell: UnsafeMutablePointer<UInt32>?, backoff: inout Backoff, until look: () -> Bool) {
        while !look() {
            guard let bell, backoff.wouldSleep else {
                backoff.pause()
                continue
            }
            // Armed before the last look, so a ring after it cannot be missed.
            let seen = cplatform_doorbell_arm(bell)
            if look() {
                cplatform_doorbell_disarm(bell)
                return
            }
            if cplatform_doorbell_wait(bell, seen, progressIntervalNanoseconds) != 0 { backoff.reset() }
        }
    }

    /// Rings `rank`'s request bell (`request` true) or its reply bell.
    func ring(_ rank: Int, request: Bool) { cplatform_doorbell_ring(request ? requestBells[rank] : replyBells[rank]) }
}
