import CMPI

/// The application side of locks, barriers and condition variables: ends intervals,
/// publishes write notices, and invalidates what others wrote (JIAJIA's scope consistency).
/// Stored properties unchecked for exclusivity at run time, as `CoherenceEngine` says why.
final class Synchronizer {
    private let cluster: Cluster
    private let engine: CoherenceEngine
    private let service: ServiceThread
    private let maxLocks: Int
    private let maxConditions: Int
    @exclusivity(unchecked) private var notices = NoticeStack()
    @exclusivity(unchecked) private var barrierNotices = BarrierNotices()
    /// For each lock, the scope of the last grant this rank received.
    @exclusivity(unchecked) private var lastScope: [Int]
    /// For each lock, whether this rank was also its holder before the current holding (no
    /// other rank took it in between): then its release is deferred (`LockHolder`).
    @exclusivity(unchecked) private var tookItLast: [Bool]
    /// JIAJIA's HMIG: homes move to single writers at barriers. Must agree on every rank.
    @exclusivity(unchecked) var homeMigration = false
    /// Lock managers move at barriers to the rank that took the lock most. Must agree too.
    @exclusivity(unchecked) var lockMigration = false
    /// Read-shared pages are broadcast by their homes at barriers (`ReadBroadcast`). Must agree too.
    var broadcast: Bool {
        get { engine.broadcastReads }
        set { engine.broadcastReads = newValue }
    }
    private let pusher: PagePusher
    /// The rank managing each lock: `lock % ranks` until its manager moves.
    @exclusivity(unchecked) private var lockManager: [Int32]
    /// How often this rank took each lock since the last barrier.
    @exclusivity(unchecked) private var acquiresSinceBarrier: [Int: Int] = [:]
    /// Barriers this rank has passed (statistics count only the reported interval).
    @exclusivity(unchecked) private var barriersPassed = 0
    @exclusivity(unchecked) private var migration: HomeMigration

    /// This rank's lock managers, for the locks it manages itself.
    private let managers: SyncService

    init(cluster: Cluster, engine: CoherenceEngine, service: ServiceThread, managers: SyncService, maxLocks: Int,
         maxConditions: Int) {
        self.cluster = cluster
        self.managers = managers
        self.engine = engine
        self.service = service
        self.maxLocks = maxLocks
        self.maxConditions = maxConditions
        self.lastScope = [Int](repeating: 0, count: maxLocks)
        self.tookItLast = [Bool](repeating: false, count: maxLocks)
        self.lockManager = (0..<maxLocks).map { Int32($0 % cluster.size) }
        self.migration = HomeMigration(pageCount: engine.space.pageCount)
        self.pusher = PagePusher(cluster: cluster, engine: engine)
        self.blocks = [Int64](repeating: 0, count: CollectiveCall.blockWords * cluster.size)
        self.noticeOffsets = [Int](repeating: 0, count: cluster.size + 1)
    }

    /// Under `security`, the seals of every rank's page pushes (`JobKeys.pushSeal`).
    var pushSeals: [FrameSeal]? {
        get { pusher.seals }
        set { pusher.seals = newValue }
    }

    /// Under `security`, the seals of every rank's contributions to collective calls.
    @exclusivity(unchecked) var noticeSeals: NoticeSeals?

    var heldLocks: [Int] { notices.heldLocks }

    private func endInterval(atBarrier: Bool = false) {
        let written = engine.endInterval(atBarrier: atBarrier)
        guard !written.isEmpty else { return }
        notices.record(written)
        barrierNotices.record(written, marks: engine.table.barrierMark)
    }

    // MARK: locks

    func lock(_ lock: Int) { engine.lock.whileCalling("jia_lock") { acquire(lock) } }

    func unlock(_ lock: Int) { engine.lock.whileCalling("jia_unlock") { releaseLock(lock) } }

    private func acquire(_ lock: Int) {
        checkLockId(lock, "jia_lock")
        if notices.holds(lock) {
            Fatal.stop("jia_lock(\(lock)): this rank already holds lock \(lock); a lock cannot be nested in itself")
        }
        endInterval()
        let start = monotonicNanoseconds()
        if lockMigration { acquiresSinceBarrier[lock, default: 0] += 1 }
        let grant: LockManager.Grant
        if manager(of: lock) == cluster.rank {
            managers.sendDeferredReleases()
            grant = managers.acquireHere(lock, lastScope: lastScope[lock], barriers: barriersPassed) ?? receiveGrant(lock)
        } else {
            grant = requestGrant(lock)
        }
        let waited = monotonicNanoseconds() - start
        engine.statistics.lockWaitNanoseconds += waited
        engine.statistics.lockLatency.record(waited)
        engine.statistics.lockAcquires += 1
        // Each release raises the scope by one: one more than at this rank's last grant
        // means its own release was the only one since.
        tookItLast[lock] = grant.scope == lastScope[lock] + 1
        lastScope[lock] = grant.scope
        DSMLog.trace("grant lock \(lock) after \(waited) ns, \(grant.pages.count) pages to invalidate")
        engine.invalidate(grant.pages)
        notices.push(lock: lock)
    }

    private func releaseLock(_ lock: Int) {
        checkLockId(lock, "jia_unlock")
        guard let innermost = notices.innermost else {
            Fatal.stop("jia_unlock(\(lock)): this rank holds no lock; every jia_unlock must follow a jia_lock of the same id")
        }
        guard innermost == lock else {
            let held = notices.holds(lock) ? "it holds lock \(lock) but the innermost lock is \(innermost)"
                : "it does not hold lock \(lock) (it holds \(notices.heldLocks))"
            Fatal.stop("jia_unlock(\(lock)): \(held); unlock nested locks innermost first")
        }
        endInterval()
        let pages = notices.pop()
        if manager(of: lock) == cluster.rank {
            managers.releaseHere(lock, pages: pages, barriers: barriersPassed)
        } else {
            // To a successor the manager named, with these pages added; or kept for this
            // rank's next request if it is the lock's only recent taker; or to the manager.
            managers.release(LockHolder.Release(lock: lock, manager: manager(of: lock), scope: lastScope[lock],
                                                barriers: barriersPassed, pages: pages),
                             deferrable: tookItLast[lock])
        }
        engine.statistics.lockReleases += 1
        DSMLog.trace("release lock \(lock) with \(pages.count) notices")
    }

    /// Asks the lock's manager (another rank) for it and waits for the grant.
    private func requestGrant(_ lock: Int) -> LockManager.Grant {
        managers.request(lock, from: manager(of: lock), lastScope: lastScope[lock], barriers: barriersPassed)
        return receiveGrant(lock)
    }

    /// Waits for the grant message of `lock`: from its manager, or handed off by its last
    /// holder (a rank waits for one lock at a time, so any sender's grant is this one).
    private func receiveGrant(_ lock: Int) -> LockManager.Grant {
        let reply = service.channel.receive(tag: Tag.lockGrant, from: nil).bytes
        let grant = reply.withUnsafeBytes { raw -> LockManager.Grant? in
            var reader = MessageReader(raw)
            guard let scope = try? reader.int(), let pages = try? reader.ints(), pages.allSatisfy({ $0 >= 0 }) else {
                return nil
            }
            return LockManager.Grant(rank: cluster.rank, scope: scope, pages: pages)
        }
        guard let grant else {
            Fatal.stop("jia_lock(\(lock)): a grant of it is malformed (\(reply.count) bytes)")
        }
        return grant
    }

    private func checkLockId(_ lock: Int, _ call: String) {
        guard lock >= 0 && lock < maxLocks else {
            Fatal.stop("\(call)(\(lock)): lock id out of range; lock ids are 0 to \(maxLocks - 1) "
                + "(the max-locks setting, JIA_MAX_LOCKS, raises the limit)")
        }
    }

    /// The rank managing `lock` now.
    func manager(of lock: Int) -> Int { Int(lockManager[lock]) }

    /// Condition variable `cv` is managed by rank `cv % ranks`.
    private func manager(ofCondition cv: Int) -> Int { cv % cluster.size }

    // MARK: barrier and the other collective calls

    /// Global barrier with coherence: every rank's writes since the last barrier are at
    /// their homes, and every cached copy another rank wrote is dropped.
    func barrier() { engine.lock.whileCalling("jia_barrier") { barrierWithCoherence() } }

    private func barrierWithCoherence() {
        if notices.depth > 0 {
            Fatal.stop("jia_barrier() called inside a critical section (holding locks \(notices.heldLocks)); "
                + "release them with jia_unlock before the barrier")
        }
        endInterval(atBarrier: true)
        let start = monotonicNanoseconds()
        let mine = barrierNotices.pages
        // Every copy of these pages is invalidated by this barrier, so their read notices go.
        engine.forgetCopies(of: mine)
        var tagged = mine.map { HomeMigration.notice($0, heldValid: homeMigration && engine.holdsValidCopy($0)) }
        if lockMigration { tagged += LockMigration.statistics(acquiresSinceBarrier) }
        acquiresSinceBarrier.removeAll(keepingCapacity: true)
        let subscriptions = engine.takeSubscriptionChanges()
        if broadcast { tagged += subscriptions }
        let gathered = collectiveCall(.barrier(homeMigration: homeMigration, lockMigration: lockMigration,
                                               broadcast: broadcast), notices: tagged)
        let waited = monotonicNanoseconds() - start
        engine.statistics.barrierWaitNanoseconds += waited
        engine.statistics.barrierLatency.record(waited)
        engine.statistics.barriers += 1
        barriersPassed += 1
        let others = gathered.pages(excluding: cluster.rank)
        engine.checkpointChanges?.mark(mine)
        engine.checkpointChanges?.mark(others)
        DSMLog.trace("barrier \(engine.statistics.barriers): \(others.count) pages written elsewhere")
        engine.invalidate(others)
        barrierNotices.startNextInterval(marks: engine.table.barrierMark)
        if homeMigration && !gathered.values.isEmpty { migrateHomes(gathered) }
        if broadcast && !gathered.values.isEmpty { pusher.push(gathered) }
        if lockMigration && !gathered.values.isEmpty { moveLockManagers(gathered) }
    }

    /// Moves the managers of the locks one rank took most since the last barrier to that
    /// rank (every rank decides alike from the gathered counts). Every lock is free at a
    /// barrier and its notices are of no use after it, so nothing travels: the old manager
    /// drops the lock's state, the new one starts without any, every rank forgets its scope.
    private func moveLockManagers(_ gathered: GatheredNotices) {
        let moves = LockMigration.moves(ranks: cluster.size, lists: { gathered.list(of: $0) },
                                        manager: { self.manager(of: $0) })
        for move in moves {
            if move.from == cluster.rank { managers.managerMoved(move.lock, atBarrier: barriersPassed, away: true) }
            if move.to == cluster.rank {
                managers.managerMoved(move.lock, atBarrier: barriersPassed, away: false)
                engine.statistics.lockManagersMovedIn += 1
            }
            lockManager[move.lock] = Int32(move.to)
            lastScope[move.lock] = 0
        }
        if !moves.isEmpty { DSMLog.trace("barrier: \(moves.count) lock managers move") }
    }

    /// Applies the barrier's home migrations; then a rendezvous, so that no rank fetches a
    /// page from its new home before the new home holds it.
    private func migrateHomes(_ gathered: GatheredNotices) {
        let homes = engine.table.home.pointer  // the page table cannot be copied; its storage can be read
        let moves = migration.moves(ranks: cluster.size, lists: { gathered.list(of: $0) },
                                    home: { Int(homes[$0]) })
        guard !moves.isEmpty else { return }
        DSMLog.trace("barrier: \(moves.count) pages change home")
        engine.receiveHomes(moves)  // from the new homes' own copies: no other rank involved
        engine.migrate(moves, copiesRemain: false)
        for move in moves { pusher.forget(move.page) }
        cluster.quietBarrier()
    }

    /// A region was freed: the barrier pushes forget its pages (on every rank alike).
    func forgetPushes(firstPage: Int, pages: Int) {
        for page in firstPage..<(firstPage + pages) { pusher.forget(page) }
    }

    /// Computing balance (collective): gathers each rank's computing nanoseconds and returns
    /// the new powers, or nil when the ranks are within `ComputeShares.delta` of each other.
    func balanceComputing(computingNanoseconds: UInt64, powers: [Double]) -> [Double]? {
        engine.lock.whileCalling("jia_balance") { () -> [Double]? in
            rebalance(computingNanoseconds: computingNanoseconds, powers: powers)
        }
    }

    private func rebalance(computingNanoseconds: UInt64, powers: [Double]) -> [Double]? {
        let gathered = collectiveCall(.balance(.computing), notices: [Int64(max(computingNanoseconds, 1))])
        let times = (0..<cluster.size).map { Double(gathered.list(of: $0).first ?? 1) / 1e9 }
        return ComputeShares.rebalanced(powers, times: times)
    }

    /// Memory balance (collective, with a barrier's coherence): each page homed elsewhere
    /// that one rank fetched more often than any other since the last balance, at least
    /// twice, moves its home to that rank (`HomeMigration.balanceMoves`). Other ranks'
    /// copies stay valid. Returns the number of pages that moved.
    @discardableResult
    func balanceHomes() -> Int { engine.lock.whileCalling("jia_balance") { moveHomesToReaders() } }

    private func moveHomesToReaders() -> Int {
        barrier()
        let mine = engine.fetchCounts(minimum: 2).map { HomeMigration.fetchNotice($0.page, count: $0.count) }
        let gathered = collectiveCall(.balance(.memory), notices: mine)
        let homes = engine.table.home.pointer  // the page table cannot be copied; its storage can be read
        let moves = HomeMigration.balanceMoves(ranks: cluster.size, lists: { gathered.list(of: $0) },
                                               home: { Int(homes[$0]) })
        engine.resetFetchCounts()
        guard !moves.isEmpty else { return 0 }
        DSMLog.trace("balance: \(moves.count) pages change home")
        engine.receiveHomes(moves)
        cluster.quietBarrier()  // every new home holds its pages before any old home drops them
        engine.migrate(moves, copiesRemain: true)
        for move in moves { pusher.forget(move.page) }
        return moves.count
    }

    /// Rendezvous of all ranks without coherence (JIAJIA's jia_wait).
    func wait() { _ = collectiveCall(.wait) }

    @exclusivity(unchecked) private var collectiveSequence = 0
    /// This rank's block and every rank's, reused by each collective call.
    @exclusivity(unchecked) private var block = [Int64](repeating: 0, count: CollectiveCall.blockWords)
    @exclusivity(unchecked) private var blocks: [Int64]
    /// Where each rank's notices start in the gathered list (and where the last ends), reused.
    @exclusivity(unchecked) private var noticeOffsets: [Int]

    /// Every collective DSM call (barrier, jia_wait, allocation, exit) starts with the same
    /// fixed-size allgather of what each rank is calling, so calls that differ between
    /// ranks are reported on every rank instead of pairing unlike MPI collectives (a hang).
    /// The block also carries short write-notice lists; longer ones take a second round.
    /// Returns every rank's notices.
    @discardableResult
    func collectiveCall(_ call: CollectiveCall, notices mine: [Int64] = []) -> GatheredNotices {
        engine.lock.whileCalling("a collective call (jia_alloc*, jia_wait or jia_exit)") {
            gather(call, notices: mine)
        }
    }

    private func gather(_ call: CollectiveCall, notices mine: [Int64]) -> GatheredNotices {
        managers.sendDeferredReleases()  // every lock is free at a collective call
        collectiveSequence += 1
        let sequence = collectiveSequence
        block.withUnsafeMutableBufferPointer { $0.update(repeating: 0) }
        call.write(sequence: sequence, noticeCount: mine.count, into: &block)
        let inline = min(mine.count, CollectiveCall.inlineNotices)
        for index in 0..<inline { block[CollectiveCall.headerWords + index] = mine[index] }
        noticeSeals?.seal(&block, count: CollectiveCall.sealedWords, rank: cluster.rank, sequence: sequence, part: .block)
        block.withUnsafeBufferPointer { block in
            blocks.withUnsafeMutableBufferPointer { cluster.allgather(block: block, into: $0) }
        }
        // Every other rank's block crossed the wire (this rank's own was copied in place).
        for rank in 0..<cluster.size where rank != cluster.rank {
            noticeSeals?.check(&blocks, offset: rank * CollectiveCall.blockWords, count: CollectiveCall.sealedWords,
                               rank: rank, sequence: sequence, part: .block)
        }

        let own = CollectiveCall(reading: blocks, rank: cluster.rank)
        var inlineOnly = true
        for rank in 0..<cluster.size {
            let other = CollectiveCall(reading: blocks, rank: rank)
            guard other.matches(own) else { reportDifferentCalls() }
            guard other.noticeCount >= 0 else {
                Fatal.stop("rank \(rank) sent a collective call with \(other.noticeCount) notices; its block is corrupt")
            }
            noticeOffsets[rank + 1] = noticeOffsets[rank] + other.noticeCount
            inlineOnly = inlineOnly && other.noticeCount <= CollectiveCall.inlineNotices
        }
        guard inlineOnly else {
            let counts = (0..<cluster.size).map { noticeOffsets[$0 + 1] - noticeOffsets[$0] }
            return GatheredNotices(offsets: noticeOffsets, values: gatherLists(mine, counts: counts, sequence: sequence))
        }
        var values: [Int64] = []
        if noticeOffsets[cluster.size] > 0 {
            values.reserveCapacity(noticeOffsets[cluster.size])
            for rank in 0..<cluster.size {
                let base = rank * CollectiveCall.blockWords + CollectiveCall.headerWords
                values.append(contentsOf: blocks[base..<(base + noticeOffsets[rank + 1] - noticeOffsets[rank])])
            }
        }
        // Shares `noticeOffsets`' storage: the next call writes it in place once this result is gone.
        return GatheredNotices(offsets: noticeOffsets, values: values)
    }

    private func reportDifferentCalls() -> Never {
        let described = (0..<cluster.size).map { "rank \($0) called \(CollectiveCall(reading: blocks, rank: $0).description)" }
        Fatal.everyRank("collective calls differ between ranks: " + described.joined(separator: ", ")
            + "; every rank must make the same jia_alloc*, jia_barrier, jia_wait and jia_exit calls, "
            + "with the same arguments, in the same order", comm: cluster.syncComm)
    }

    /// Every rank's whole notice list, when one is too long for the block; each sealed on
    /// its own under `security`.
    private func gatherLists(_ mine: [Int64], counts: [Int], sequence: Int) -> [Int64] {
        guard noticeSeals != nil else { return allgatherv(mine, counts: counts) }
        var list = mine + [Int64](repeating: 0, count: NoticeSeals.tagWords)
        noticeSeals!.seal(&list, count: mine.count, rank: cluster.rank, sequence: sequence, part: .list)
        let seals = noticeSeals!
        var everything = allgatherv(list, counts: counts.map { $0 + NoticeSeals.tagWords })
        var values: [Int64] = []
        values.reserveCapacity(counts.reduce(0, +))
        var offset = 0
        for rank in 0..<cluster.size {
            if rank != cluster.rank {
                seals.check(&everything, offset: offset, count: counts[rank], rank: rank, sequence: sequence, part: .list)
            }
            values.append(contentsOf: everything[offset..<(offset + counts[rank])])
            offset += counts[rank] + NoticeSeals.tagWords
        }
        return values
    }

    private func allgatherv(_ mine: [Int64], counts: [Int]) -> [Int64] {
        var displacements = [Int](repeating: 0, count: counts.count)
        for rank in 1..<counts.count { displacements[rank] = displacements[rank - 1] + counts[rank - 1] }
        var everything = [Int64](repeating: 0, count: counts.reduce(0, +))
        guard !everything.isEmpty else { return everything }
        everything.replaceSubrange(displacements[cluster.rank]..<(displacements[cluster.rank] + mine.count), with: mine)
        everything.withUnsafeMutableBytes {
            cluster.allgatherv($0.baseAddress!, counts: counts.map { $0 * 8 }, displacements: displacements.map { $0 * 8 },
                               "barrier notices")
        }
        return everything
    }

    // MARK: condition variables (no coherence, as in JIAJIA 2.1)

    func setCondition(_ cv: Int) {
        engine.lock.whileCalling("jia_setcv") { sendCondition(.setCondition, cv, "jia_setcv") }
    }

    func resetCondition(_ cv: Int) {
        engine.lock.whileCalling("jia_resetcv") { sendCondition(.resetCondition, cv, "jia_resetcv") }
    }

    func waitCondition(_ cv: Int) { engine.lock.whileCalling("jia_waitcv") { waitForCondition(cv) } }

    private func waitForCondition(_ cv: Int) {
        let start = monotonicNanoseconds()
        sendCondition(.waitCondition, cv, "jia_waitcv")
        _ = service.channel.receive(tag: Tag.conditionGrant, from: manager(ofCondition: cv))
        engine.statistics.conditionWaitNanoseconds += monotonicNanoseconds() - start
        engine.statistics.conditionWaits += 1
    }

    private func sendCondition(_ kind: RequestKind, _ cv: Int, _ call: String) {
        guard cv >= 0 && cv < maxConditions else {
            Fatal.stop("\(call)(\(cv)): condition variable id out of range; ids are 0 to \(maxConditions - 1) "
                + "(the max-cvs setting, JIA_MAX_CVS, raises the limit)")
        }
        var request = MessageWriter(kind: kind)
        request.append(cv)
        service.send(&request, to: manager(ofCondition: cv))
    }
}
