import Glibc

/// The MPI side of `ReadBroadcast`: inside a barrier (after its invalidations and home
/// migrations), moves the pushed pages from their homes to their readers, with one
/// allgather for the pages every rank reads and one all-to-all for the others. Every rank
/// computes the same pushes, so the counts of both collectives need no exchange. A home
/// marks the read notices of what it pushes first, so its next writes are noticed.
/// Stored properties unchecked for exclusivity at run time, as `CoherenceEngine` says why.
final class PagePusher {
    private let cluster: Cluster
    private let engine: CoherenceEngine
    private let decisions: ReadBroadcast
    @exclusivity(unchecked) private var sending: [UInt8] = []
    @exclusivity(unchecked) private var receiving: [UInt8] = []

    init(cluster: Cluster, engine: CoherenceEngine) {
        self.cluster = cluster
        self.engine = engine
        self.decisions = ReadBroadcast(pageCount: engine.space.pageCount)
    }

    /// A page whose home moved at this barrier.
    func forget(_ page: Int) {
        decisions.forget(page)
        engine.forgetSubscription(page)
    }

    func push(_ gathered: GatheredNotices) {
        let homes = engine.table.home.pointer  // the page table cannot be copied; its storage can be read
        let pushes = decisions.pushes(ranks: cluster.size, lists: { gathered.list(of: $0) },
                                      home: { Int(homes[$0]) },
                                      limit: ReadBroadcast.limitBytes / engine.space.pageSize)
        if !pushes.everyone.isEmpty { pushToEveryone(pushes.everyone) }
        if !pushes.some.isEmpty { pushToSome(pushes.some) }
        if !pushes.isEmpty {
            DSMLog.trace("barrier: \(pushes.everyone.count) pages pushed to every rank, \(pushes.some.count) to some")
        }
    }

    private var pageSize: Int { engine.space.pageSize }

    /// Copies a page homed here into `destination`.
    private func copyOut(_ page: Int, to destination: UnsafeMutableRawPointer) {
        memcpy(destination, engine.store.aliasAddress(ofPage: page), pageSize)
    }


    /// One allgather of the pages' contents, grouped by home (each home's part sealed).
    private func pushToEveryone(_ pages: [Int]) {
        let homes = engine.table.home.pointer  // the page table cannot be copied; its storage can be read
        let ordered = pages.sorted { (homes[$0], $0) < (homes[$1], $1) }
        var pageCounts = [Int](repeating: 0, count: cluster.size)
        for page in ordered { pageCounts[Int(homes[page])] += 1 }
        let counts = pageCounts.map { $0 * pageSize + tagsLength($0) }
        let displacements = Self.displacements(counts)
        Self.reserve(&receiving, displacements.last! + counts.last!)
        engine.pushingHomePages(pages.filter { Int(homes[$0]) == cluster.rank })
        let round = nextRound()
        receiving.withUnsafeMutableBytes { raw in
            let base = raw.baseAddress!
            var offsets = displacements
            var positions = [Int](repeating: 0, count: ordered.count)
            for (index, page) in ordered.enumerated() {
                let home = Int(homes[page])
                positions[index] = offsets[home]
                offsets[home] += pageSize
                if home == cluster.rank { copyOut(page, to: base + positions[index]) }
            }
            let everyone = UInt32.max
            seal(base + displacements[cluster.rank], pages: pageCounts[cluster.rank], round: round, direction: everyone)
            cluster.allgatherv(base, counts: counts, displacements: displacements, backoff: .transfer,
                               "pages pushed to every rank")
            for home in 0..<cluster.size where home != cluster.rank {
                open(base + displacements[home], pages: pageCounts[home], from: home, round: round, direction: everyone)
            }
            for (index, page) in ordered.enumerated() where Int(homes[page]) != cluster.rank {
                engine.installBroadcast(page, from: base + positions[index])
            }
        }
    }

    /// One all-to-all: each home sends each reader the pages it reads, in page order.
    private func pushToSome(_ pushes: [(page: Int, ranks: UInt64)]) {
        let homes = engine.table.home.pointer  // the page table cannot be copied; its storage can be read
        let rank = cluster.rank
        let me = UInt64(1) << UInt64(rank)
        var sendPages = [Int](repeating: 0, count: cluster.size)
        var receivePages = [Int](repeating: 0, count: cluster.size)
        var incoming: [[Int]] = Array(repeating: [], count: cluster.size)
        var mine: [Int] = []
        for push in pushes {
            let home = Int(homes[push.page])
            if home == rank {
                mine.append(push.page)
                for reader in 0..<cluster.size where push.ranks & (1 << UInt64(reader)) != 0 {
                    sendPages[reader] += 1
                }
            } else if push.ranks & me != 0 {
                receivePages[home] += 1
                incoming[home].append(push.page)
            }
        }
        let sendCounts = sendPages.map { $0 * pageSize + tagsLength($0) }
        let receiveCounts = receivePages.map { $0 * pageSize + tagsLength($0) }
        let round = nextRound()
        engine.pushingHomePages(mine)
        let sendDisplacements = Self.displacements(sendCounts)
        let receiveDisplacements = Self.displacements(receiveCounts)
        Self.reserve(&sending, sendDisplacements.last! + sendCounts.last!)
        Self.reserve(&receiving, receiveDisplacements.last! + receiveCounts.last!)
        sending.withUnsafeMutableBytes { out in
            var filled = sendDisplacements
            for push in pushes where Int(homes[push.page]) == rank {
                for reader in 0..<cluster.size where push.ranks & (1 << UInt64(reader)) != 0 {
                    copyOut(push.page, to: out.baseAddress! + filled[reader])
                    filled[reader] += pageSize
                }
            }
            for reader in 0..<cluster.size {
                seal(out.baseAddress! + sendDisplacements[reader], pages: sendPages[reader], round: round,
                     direction: UInt32(reader))
            }
            receiving.withUnsafeMutableBytes { into in
                cluster.alltoallv(send: out.baseAddress!, counts: sendCounts, displacements: sendDisplacements,
                                  receive: into.baseAddress!, counts: receiveCounts, displacements: receiveDisplacements,
                                  backoff: .transfer, "pages pushed to their readers")
                for home in 0..<cluster.size {
                    open(into.baseAddress! + receiveDisplacements[home], pages: receivePages[home], from: home,
                         round: round, direction: UInt32(rank))
                    for (index, page) in incoming[home].enumerated() {
                        engine.installBroadcast(page, from: into.baseAddress! + receiveDisplacements[home] + index * pageSize)
                    }
                }
            }
        }
    }

    // MARK: sealing

    /// Under `security`, each rank's seal of what it pushes (`JobKeys.pushSeal`); the
    /// collectives then carry each part sealed, its tag after its pages.
    @exclusivity(unchecked) var seals: [FrameSeal]?
    @exclusivity(unchecked) private var rounds: UInt64 = 0
    /// The tags after a part of `pages` pages (none after an empty part).
    private func tagsLength(_ pages: Int) -> Int {
        guard let seals, pages > 0 else { return 0 }
        return seals[cluster.rank].tagsLength(body: pages * pageSize)
    }

    /// Every rank pushes at the same barriers, so the rounds agree: with the direction (the
    /// reader, or every rank), each part's nonce under its pusher's key.
    private func nextRound() -> UInt64 {
        rounds &+= 1
        return rounds
    }

    private func seal(_ part: UnsafeMutableRawPointer, pages: Int, round: UInt64, direction: UInt32) {
        guard let seals, pages > 0 else { return }
        seals[cluster.rank].seal(UnsafeMutableRawBufferPointer(start: part, count: pages * pageSize), headerLength: 0,
                                 tag: part + pages * pageSize, counter: round, direction: direction)
    }

    private func open(_ part: UnsafeMutableRawPointer, pages: Int, from home: Int, round: UInt64, direction: UInt32) {
        guard let seals, pages > 0 else { return }
        guard seals[home].open(UnsafeMutableRawBufferPointer(start: part, count: pages * pageSize), headerLength: 0,
                               tag: part + pages * pageSize, counter: round, direction: direction) else {
            Fatal.stop("the pages rank \(home) pushed at a barrier fail authentication (changed on the way, or sealed "
                + "with another key); none of them was installed")
        }
    }

    private static func displacements(_ counts: [Int]) -> [Int] {
        var displacements = [Int](repeating: 0, count: counts.count)
        for index in 1..<max(counts.count, 1) { displacements[index] = displacements[index - 1] + counts[index - 1] }
        return displacements
    }

    private static func reserve(_ buffer: inout [UInt8], _ bytes: Int) {
        if buffer.count < max(bytes, 1) { buffer = [UInt8](repeating: 0, count: max(bytes, 1)) }
    }
}
