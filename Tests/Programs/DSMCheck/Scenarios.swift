import Collectives
import Glibc
import SwiftDSM

/// Lock-protected counters: no increment may be lost.
func counterScenario(_ dsm: DSM) {
    let rounds = 300
    let counters = dsm.allocate(Int.self, count: 4, homes: .onRank(dsm.rankCount - 1))
    for round in 0..<rounds {
        let which = round % 4
        dsm.lock(which).withLock { counters[which] += 1 }
    }
    dsm.barrier()
    Check.equal(counters.reduce(0, +), rounds * dsm.rankCount, "sum of counters")
    for which in 0..<4 {
        Check.equal(counters[which], rounds / 4 * dsm.rankCount, "counter \(which)")
    }
}

/// Values written before a barrier are seen by every rank after it, over many rounds,
/// for pages homed everywhere.
func barrierScenario(_ dsm: DSM) {
    let perRank = 3000
    let values = dsm.allocate(Int.self, count: perRank * dsm.rankCount, homes: .blockCyclic(bytes: 4096))
    for round in 1...5 {
        // Each rank writes a strided subset so every page has writers from every rank.
        for index in stride(from: dsm.rank, to: values.count, by: dsm.rankCount) {
            values[index] = index * 10 + round
        }
        dsm.barrier()
        for index in 0..<values.count where values[index] != index * 10 + round {
            Check.equal(values[index], index * 10 + round, "round \(round) value \(index)")
        }
        dsm.barrier()
    }
}

/// Scope consistency, the manual's example: a write under lock 0 is seen by the next
/// acquirer of lock 0, even when the reader held a stale cached copy.
func scopeScenario(_ dsm: DSM) {
    let x = dsm.allocate(Int.self, count: 1, homes: .onRank(0))
    let y = dsm.allocate(Int.self, count: 1, homes: .onRank(0))
    // Everyone caches both pages first, so stale copies exist.
    Check.equal(x[0] + y[0], 0, "initial values")
    dsm.barrier()
    let ranks = dsm.rankCount
    for turn in 0..<ranks {
        if dsm.rank == turn {
            dsm.lock(0).withLock {
                Check.equal(x[0], turn, "x under lock 0 before turn \(turn)")
                x[0] = turn + 1
            }
            dsm.lock(1).withLock {
                Check.equal(y[0], turn * 100, "y under lock 1 before turn \(turn)")
                y[0] = (turn + 1) * 100
            }
        }
        jia_wait()  // a rendezvous without coherence: only the locks carry the values
    }
    dsm.lock(0).withLock { Check.equal(x[0], ranks, "x after all turns") }
    dsm.lock(1).withLock { Check.equal(y[0], ranks * 100, "y after all turns") }
}

/// Nested locks: writes in an inner section are published by the outer release too.
func nestedLockScenario(_ dsm: DSM) {
    let data = dsm.allocate(Int.self, count: 2048, homes: .blockCyclic(bytes: 4096))
    Check.equal(data[0] + data[1024], 0, "fresh memory")  // cache both pages: stale copies must be dropped
    dsm.barrier()
    for turn in 0..<dsm.rankCount {
        if dsm.rank == turn {
            jia_lock(5)
            data[turn] = turn + 1
            jia_lock(6)
            data[1024 + turn] = (turn + 1) * 7
            jia_unlock(6)
            jia_unlock(5)
        }
        jia_wait()
    }
    dsm.lock(5).withLock {  // lock 5 alone must show both writes (inner one merged on release)
        for turn in 0..<dsm.rankCount {
            Check.equal(data[turn], turn + 1, "outer write of rank \(turn)")
            Check.equal(data[1024 + turn], (turn + 1) * 7, "inner write of rank \(turn) seen through lock 5")
        }
    }
}

/// Condition variables: a producer publishes under a lock and sets the cv; consumers wait,
/// then read under the lock. A reset cv blocks again.
func conditionScenario(_ dsm: DSM) {
    let box = dsm.allocate(Int.self, count: 1, homes: .onRank(dsm.rankCount - 1))
    if dsm.rank == 0 {
        dsm.lock(2).withLock { box[0] = 42 }
        dsm.condition(7).set()
    } else {
        dsm.condition(7).wait()
        dsm.lock(2).withLock { Check.equal(box[0], 42, "value published before jia_setcv") }
    }
    dsm.condition(7).wait()  // still set: returns at once
    dsm.barrier()
    if dsm.rank == 0 { dsm.condition(7).reset() }
    dsm.barrier()
    // After the reset, the last rank sets it again only once everyone is waiting.
    let waiting = dsm.allocate(Int.self, count: 1, homes: .onRank(0))
    if dsm.rank != dsm.rankCount - 1 || dsm.rankCount == 1 {
        dsm.lock(3).withLock { waiting[0] += 1 }
    }
    if dsm.rank == dsm.rankCount - 1 && dsm.rankCount > 1 {
        var seen = 0
        while seen < dsm.rankCount - 1 { dsm.lock(3).withLock { seen = waiting[0] } }
        dsm.condition(7).set()
    }
    if dsm.rankCount > 1 { dsm.condition(7).wait() }
    dsm.barrier()
}

/// Several ranks write interleaved bytes of the same pages between barriers; the diffs
/// must merge byte-exactly at the homes.
func multipleWriterScenario(_ dsm: DSM) {
    let bytes = 8 * 4096
    let shared = dsm.allocate(UInt8.self, count: bytes, homes: .blockCyclic(bytes: 4096))
    for round in 1...3 {
        for index in stride(from: dsm.rank, to: bytes, by: dsm.rankCount) {
            shared[index] = UInt8(truncatingIfNeeded: index &* 31 &+ round)
        }
        dsm.barrier()
        for index in 0..<bytes where shared[index] != UInt8(truncatingIfNeeded: index &* 31 &+ round) {
            Check.equal(shared[index], UInt8(truncatingIfNeeded: index &* 31 &+ round), "round \(round) byte \(index)")
        }
        dsm.barrier()
    }
    // Writers that change only some bytes of a word, with unchanged bytes between.
    let words = dsm.allocate(UInt64.self, count: 512, homes: .onRank(0))
    for index in 0..<512 where index % dsm.rankCount == dsm.rank {
        words[index] = 0x0100_0000_0000_0001 &* UInt64(index + 1)
    }
    dsm.barrier()
    for index in 0..<512 {
        Check.equal(words[index], 0x0100_0000_0000_0001 &* UInt64(index + 1), "sparse word \(index)")
    }
}

/// A 16-page cache sweeping a thousand remote pages (64 times its size), writing then
/// reading, with results checked (run with --jia-cache-pages=16).
func sweepScenario(_ dsm: DSM) {
    let pages = 1024
    let intsPerPage = dsm.pageSize / 8
    let data = dsm.allocate(Int.self, count: pages * intsPerPage, homes: .blockCyclic(bytes: 4096))
    // Each rank writes word `rank` of every page, so every page is dirty on every rank.
    for page in 0..<pages { data[page * intsPerPage + dsm.rank] = page * 1000 + dsm.rank }
    dsm.barrier()
    var sum = 0
    for page in 0..<pages {
        for rank in 0..<dsm.rankCount {
            let value = data[page * intsPerPage + rank]
            if value != page * 1000 + rank { Check.equal(value, page * 1000 + rank, "page \(page) word \(rank)") }
            sum &+= value
        }
    }
    let expected = (0..<pages).reduce(0) { total, page in
        total + (0..<dsm.rankCount).reduce(0) { $0 + page * 1000 + $1 }
    }
    Check.equal(sum, expected, "sum over the sweep")
    dsm.barrier()
    // Read-modify-write under a lock over all pages, by every rank in turn.
    for turn in 0..<dsm.rankCount {
        if turn == dsm.rank {
            dsm.lock(0).withLock {
                for page in 0..<pages { data[page * intsPerPage + intsPerPage - 1] += 1 }
            }
        }
        jia_wait()
    }
    dsm.lock(0).withLock {
        for page in 0..<pages where data[page * intsPerPage + intsPerPage - 1] != dsm.rankCount {
            Check.equal(data[page * intsPerPage + intsPerPage - 1], dsm.rankCount, "locked sweep page \(page)")
        }
    }
    let statistics = dsm.runtime.statistics
    Check.expect(dsm.rankCount == 1 || statistics.evictions > 0, "a 16-page cache must evict (evictions \(statistics.evictions))")
}

/// Allocation distributions follow JIAJIA's rules (homes of each page).
func allocationScenario(_ dsm: DSM) {
    let ranks = dsm.rankCount
    let page = dsm.pageSize
    func homes(_ pointer: UnsafeMutableRawPointer, pages: Int) -> [Int] {
        (0..<pages).map { dsm.runtime.home(of: pointer + $0 * page)! }
    }
    // jia_alloc3: blocks of 3 pages cycling from rank 1.
    let a = jia_alloc3(10 * page, 3 * page, 1 % ranks)
    Check.equal(homes(a, pages: 10), (0..<10).map { (1 + $0 / 3) % ranks }, "jia_alloc3 homes")
    Check.equal(Int(bitPattern: a) % page, 0, "page alignment")
    // Block sizes round up to pages; sizes too.
    let b = jia_alloc3(5 * page + 1, page + 1, 0)
    Check.equal(homes(b, pages: 6), (0..<6).map { ($0 / 2) % ranks }, "rounded blocks")
    Check.equal(b - a, 10 * page, "allocations are consecutive")
    let c = jia_alloc2p(4 * page, ranks - 1)
    Check.equal(homes(c, pages: 4), [Int](repeating: ranks - 1, count: 4), "jia_alloc2p")
    let d = jia_alloc1(2 * page)
    Check.equal(homes(d, pages: 2), [0, 0], "jia_alloc1")
    let e = jia_alloc2(4 * page, page)
    Check.equal(homes(e, pages: 4), (0..<4).map { $0 % ranks }, "jia_alloc2")
    // jia_alloc (JIAJIA 2.1 code): whole regions round-robin over ranks.
    let f = (0..<3).map { _ in jia_alloc(page) }
    Check.equal(f.map { homes($0, pages: 1)[0] }, (0..<3).map { $0 % ranks }, "jia_alloc round-robin")
    // The manual's example scaled: 24 blocks over 4 hosts from host 2 with 8-page blocks.
    let g = jia_alloc3(24 * page, 8 * page, 2 % ranks)
    Check.equal(homes(g, pages: 24), (0..<24).map { (2 + $0 / 8) % ranks }, "manual example")
    // Swift API: blocked split.
    let h = dsm.allocate(UInt8.self, count: 8 * page * ranks, homes: .blocked)
    Check.equal(homes(UnsafeMutableRawPointer(h.base), pages: 8 * ranks), (0..<(8 * ranks)).map { $0 / 8 },
                "blocked homes")
    // Fresh memory is zero, and data written everywhere reads back everywhere.
    for index in dsm.share(of: h.count) { h[index] = UInt8(truncatingIfNeeded: index) }
    dsm.barrier()
    for index in 0..<h.count where h[index] != UInt8(truncatingIfNeeded: index) {
        Check.equal(h[index], UInt8(truncatingIfNeeded: index), "blocked data \(index)")
    }
}

/// Random writes under random locks and barriers, checked against a sequential model:
/// cell c is guarded by lock c % locks; every rank adds known amounts; after each barrier
/// every cell must equal the model's total, and owned cells written without locks too.
func stressScenario(_ dsm: DSM) {
    let cells = 6000
    let locks = 17
    let owned = dsm.allocate(Int.self, count: cells, homes: .blockCyclic(bytes: 4096, startRank: 0))
    let guarded = dsm.allocate(Int.self, count: cells, homes: .blockCyclic(bytes: 8192, startRank: 1 % dsm.rankCount))
    var model = [Int](repeating: 0, count: cells)
    var ownedModel = [Int](repeating: 0, count: cells)
    for phase in 0..<4 {
        // Locked read-modify-writes: each rank's operations come from its own seed; the
        // model replays every rank's operations.
        for rank in 0..<dsm.rankCount {
            var random = SplitMix(state: UInt64(phase * 1000 + rank))
            for _ in 0..<150 {
                let lock = random.below(locks)
                let touches = 1 + random.below(6)
                var operations: [(Int, Int)] = []
                for _ in 0..<touches {
                    let cell = random.below(cells / locks) * locks + lock
                    operations.append((cell, 1 + random.below(9)))
                }
                for (cell, amount) in operations { model[cell] += amount }
                if rank == dsm.rank {
                    dsm.lock(lock).withLock { for (cell, amount) in operations { guarded[cell] += amount } }
                }
            }
        }
        // Unlocked writes to cells owned by this rank (cell % ranks), published by the barrier.
        var random = SplitMix(state: UInt64(phase * 77 + 5))
        for _ in 0..<2000 {
            let cell = random.below(cells)
            let value = random.below(1_000_000)
            ownedModel[cell] = value
            if cell % dsm.rankCount == dsm.rank { owned[cell] = value }
        }
        dsm.barrier()
        for cell in 0..<cells {
            if guarded[cell] != model[cell] { Check.equal(guarded[cell], model[cell], "phase \(phase) guarded \(cell)") }
            if owned[cell] != ownedModel[cell] { Check.equal(owned[cell], ownedModel[cell], "phase \(phase) owned \(cell)") }
        }
        dsm.barrier()
    }
}

/// Collectives on private and shared buffers.
func collectivesScenario(_ dsm: DSM) {
    let ranks = dsm.rankCount
    Check.equal(Collectives.allreduce(dsm.rank + 1, .sum), ranks * (ranks + 1) / 2, "allreduce sum")
    Check.equal(Collectives.allreduce(Double(dsm.rank), .max), Double(ranks - 1), "allreduce max")
    Check.equal(Collectives.allgather([dsm.rank]), Array(0..<ranks), "allgather")
    // Broadcast into shared memory homed elsewhere, then everyone reads it.
    let shared = dsm.allocate(Double.self, count: 1024, homes: .onRank(ranks - 1))
    if dsm.rank == 0 { for index in 0..<1024 { shared[index] = Double(index) } }
    Collectives.broadcast(shared.base, count: 1024, root: 0)
    for index in 0..<1024 where shared[index] != Double(index) {
        Check.equal(shared[index], Double(index), "broadcast element \(index)")
    }
    let sums = dsm.allocate(Int.self, count: 8, homes: .onRank(0))
    var mine = [Int](repeating: dsm.rank, count: 8)
    Collectives.reduce(&mine, into: sums.base, count: 8, .sum, root: 0)
    if dsm.rank == 0 { Check.equal(Array(sums), [Int](repeating: ranks * (ranks - 1) / 2, count: 8), "reduce into shared") }
    dsm.barrier()
}

/// The application called MPI_Init_thread itself before the DSM started: DSM and MPI
/// traffic work as usual, and MPI stays usable after jia_exit (checked in main).
func preinitializedScenario(_ dsm: DSM) {
    let values = dsm.allocate(Int.self, count: 2048, homes: .blocked)
    for index in dsm.share(of: values.count) { values[index] = index * 3 }
    dsm.barrier()
    for index in 0..<values.count where values[index] != index * 3 {
        Check.equal(values[index], index * 3, "value \(index)")
    }
    dsm.barrier()  // everyone has checked value 0 before anyone increments it
    dsm.lock(0).withLock { values[0] += 1 }
    dsm.barrier()
    Check.equal(values[0], dsm.rankCount, "locked increments")
}

/// Statistics count a known access pattern exactly, between startStatistics and
/// stopStatistics (jia_startstat/jia_stopstat): every rank but 0 reads `touched` pages homed
/// on rank 0, each `prefetch-pages + 1` apart (one read fault and one fetch of
/// `prefetch-pages` pages each); rank 1 writes one word of the first page (one write
/// fault, one diff of 8 bytes at the next barrier); every rank takes `locks` locks and
/// `barriers` barriers. What happens after stopStatistics is not counted. Run it with
/// --jia-statistics=on to see the table.
func statisticsScenario(_ dsm: DSM) {
    let touched = 10, locks = 12, barriers = 3
    let prefetch = dsm.runtime.settings.prefetchPages
    let pageSize = dsm.runtime.pageSize
    let stride = prefetch + 1
    let bytes = dsm.allocate(UInt8.self, count: touched * stride * pageSize, homes: .onRank(0))
    let words = dsm.allocate(Int.self, count: 4, homes: .onRank(0))
    dsm.barrier()
    dsm.runtime.startStatistics()
    var sum = 0
    if dsm.rank != 0 {
        for index in 0..<touched { sum += Int(bytes[index * stride * pageSize]) }
    }
    if dsm.rank == 1 { bytes[8] = 1 }
    for index in 0..<locks { dsm.lock(index % 3).withLock { sum += words[0] } }
    for _ in 0..<barriers { dsm.barrier() }
    dsm.runtime.stopStatistics()
    // Not counted:
    dsm.lock(0).withLock { words[1] += 1 }
    dsm.barrier()
    if dsm.rank != 0 { _ = bytes[(touched * stride - 1) * pageSize] }

    let statistics = dsm.runtime.statistics
    let reader = dsm.rank != 0
    // Readers also fault once on `words` (its one page), read inside the first critical section.
    Check.equal(statistics.readFaults, reader ? UInt64(touched + 1) : 0, "read faults")
    Check.equal(statistics.fetchOperations, reader ? UInt64(touched + 1) : 0, "fetch operations")
    Check.equal(statistics.pagesFetched, reader ? UInt64(touched * prefetch + 1) : 0, "pages fetched")
    Check.equal(statistics.fetchLatency.count, reader ? UInt64(touched + 1) : 0, "fetch latency samples")
    // Rank 1's write makes the other readers' copies of the first page stale at the barrier.
    Check.equal(statistics.invalidations, dsm.rank >= 2 ? 1 : 0, "invalidations")
    Check.equal(statistics.writeFaults, dsm.rank == 1 ? 1 : 0, "write faults (cached pages)")
    Check.equal(statistics.homeWriteFaults, 0, "write faults (home pages)")
    Check.equal(statistics.diffsSent, dsm.rank == 1 ? 1 : 0, "diffs sent")
    Check.equal(statistics.diffBytesSent, dsm.rank == 1 ? 8 : 0, "diff bytes sent")
    Check.equal(statistics.faultLatency.count, statistics.readFaults + statistics.writeFaults, "fault latency samples")
    Check.equal(statistics.lockAcquires, UInt64(locks), "lock acquires")
    Check.equal(statistics.lockReleases, UInt64(locks), "lock releases")
    Check.equal(statistics.lockLatency.count, UInt64(locks), "lock latency samples")
    Check.equal(statistics.barriers, UInt64(barriers), "barriers")
    Check.equal(statistics.barrierLatency.count, UInt64(barriers), "barrier latency samples")
    Check.equal(statistics.conditionWaits, 0, "condition waits")
    Check.equal(statistics.evictions, 0, "evictions")
    Check.expect(dsm.rankCount == 1 || statistics.messagesSent > 0, "lock requests are messages")
    Check.expect(statistics.lockWaitNanoseconds >= statistics.lockLatency.percentile(0.5), "lock wait time")
    Check.expect(sum >= 0, "sum")
}

/// The adaptive protocols acting, seen through their counters; run it with
/// --jia-hmig=on and/or --jia-adwd=on, or with neither (then nothing adapts).
/// Home migration: pages homed on rank 0 that one other rank alone writes (holding a copy)
/// move to it at the barrier; a page with several writers stays. Adaptive write detection:
/// a cached page written in every critical section stops faulting after the second, and a
/// home page written each barrier interval while others read it faults in every other one.
func adaptiveScenario(_ dsm: DSM) {
    let ranks = dsm.rankCount, rank = dsm.rank, runtime = dsm.runtime
    let words = runtime.pageSize / MemoryLayout<Int>.stride
    let migration = runtime.homeMigration && ranks > 1
    let adaptive = runtime.adaptiveWriteDetection && ranks > 1
    let shared = 8 * ranks                       // pages 0..<shared: page p written by rank p % ranks
    let data = dsm.allocate(Int.self, count: (shared + 1) * words, homes: .onRank(0))
    func word(_ page: Int, _ index: Int) -> UnsafeMutablePointer<Int> { data.base + page * words + index }
    var sum = 0
    for page in 0...shared { sum += word(page, 0).pointee }  // copies everywhere
    Check.equal(sum, 0, "initial contents")
    dsm.barrier()

    let before = runtime.statistics
    for page in 0..<shared where page % ranks == rank {
        word(page, 0).pointee = page + 1
        word(page, 1).pointee = rank
    }
    word(shared, rank).pointee = rank + 1          // page `shared`: every rank writes a word
    dsm.barrier()
    let moved = runtime.statistics
    let mine = (0..<shared).filter { $0 % ranks == rank }.count
    Check.equal(moved.pagesMigratedIn - before.pagesMigratedIn, UInt64(migration && rank != 0 ? mine : 0),
                "pages migrated in")
    Check.equal(moved.pagesMigratedOut - before.pagesMigratedOut,
                UInt64(migration && rank == 0 ? shared - mine : 0), "pages migrated out")
    for page in 0...shared {
        let expected = migration && page < shared ? page % ranks : 0
        Check.equal(runtime.home(of: word(page, 0)), expected, "home of page \(page)")
    }
    // Every page read from its home, new or old.
    for page in 0..<shared {
        Check.equal(word(page, 0).pointee, page + 1, "page \(page) word 0")
        Check.equal(word(page, 1).pointee, page % ranks, "page \(page) word 1")
    }
    for other in 0..<ranks { Check.equal(word(shared, other).pointee, other + 1, "shared page word \(other)") }
    dsm.barrier()

    // The writers write their pages in every critical section.
    let rounds = 6
    for round in 0..<rounds {
        let faults = runtime.statistics.writeFaults
        for page in 0..<shared where page % ranks == rank { word(page, 0).pointee = (round + 2) * (page + 1) }
        let taken = runtime.statistics.writeFaults - faults
        if migration || rank == 0 || ranks == 1 {
            Check.equal(taken, 0, "round \(round): write faults on pages homed here")
        } else if adaptive {  // the first rounds may fault, depending on the writes before
            if round >= 2 { Check.equal(taken, 0, "round \(round): write faults on pages kept writable") }
        } else {
            Check.expect(taken > 0, "round \(round): the writes to cached pages fault")
        }
        dsm.lock(0).withLock { sum += 1 }
    }
    dsm.barrier()
    for page in 0..<shared { Check.equal(word(page, 0).pointee, (rounds + 1) * (page + 1), "page \(page) at the end") }
    if adaptive && !migration && rank != 0 { Check.expect(runtime.statistics.pagesKeptWritable > 0, "pages kept writable") }
    dsm.barrier()

    // A home page rank 0 writes in each barrier interval while the others read it: they read
    // one half (written in the interval before), jia_wait, then rank 0 writes the other half.
    let board = dsm.allocate(Int.self, count: words, homes: .onRank(0))
    let half = words / 2
    let homeFaults = runtime.statistics.homeWriteFaults
    let intervals = 8
    for interval in 0..<intervals {
        if rank != 0 {
            Check.equal(board[((interval + 1) % 2) * half], interval, "board in interval \(interval)")
        }
        jia_wait()
        if rank == 0 { board[(interval % 2) * half] = interval + 1 }
        dsm.barrier()
    }
    if rank == 0 && ranks > 1 {
        // Others hold copies, so each write is detected: a fault in every interval; with
        // ADWD, once written in two intervals in a row, the page is left open every other one.
        let faults = Int(runtime.statistics.homeWriteFaults - homeFaults)
        Check.equal(faults, adaptive ? intervals / 2 + 1 : intervals, "home write faults on the board")
    }
}

/// Write vectors: pages homed on rank 0 that rank 0 writes one block of, and the last rank
/// another block of (a diff), in every barrier interval, while every rank reads them all.
/// On the message path, with wvec on, the refetches move those blocks (and the whole page
/// after intervals the home left a page open), never the rest; elsewhere nothing changes.
/// Every value is checked, the untouched blocks too. (With broadcast on, broadcasts replace
/// the refetches.)
func writeVectorScenario(_ dsm: DSM) {
    let ranks = dsm.rankCount, rank = dsm.rank, runtime = dsm.runtime
    let words = runtime.pageSize / MemoryLayout<Int>.stride
    let blockWords = words / 64
    let pages = 16
    let data = dsm.allocate(Int.self, count: pages * words, homes: .onRank(0))
    for page in 0..<pages where rank == 0 { data[page * words + 9 * blockWords] = page }
    dsm.barrier()
    var sum = 0
    for page in 0..<pages { sum += data[page * words] }  // a copy on every rank
    Check.equal(sum, 0, "initial contents")
    dsm.barrier()
    let before = runtime.statistics
    let rounds = 8
    for round in 1...rounds {
        if rank == 0 { for page in 0..<pages { data[page * words] = round * 1000 + page } }
        if rank == ranks - 1 && ranks > 1 { for page in 0..<pages { data[page * words + 5 * blockWords + 1] = -round - page } }
        dsm.barrier()
        for page in 0..<pages {
            Check.equal(data[page * words], round * 1000 + page, "round \(round) page \(page) block 0")
            Check.equal(data[page * words + 5 * blockWords + 1], ranks > 1 ? -round - page : 0,
                        "round \(round) page \(page) block 5")
            Check.equal(data[page * words + 9 * blockWords], page, "round \(round) page \(page) block 9")
            Check.equal(data[page * words + words - 1], 0, "round \(round) page \(page) last word")
        }
        dsm.barrier()
    }
    let saved = runtime.statistics.refetchBytesSaved - before.refetchBytesSaved
    let acting = runtime.writeVectors && runtime.transportName == "message" && ranks > 1 && rank != 0
    if acting && runtime.broadcast {
        Check.expect(runtime.statistics.pagesBroadcastIn > 0, "broadcasts instead of refetches")
    } else if acting {
        // At least every other round after the first refetch moves at most 3 blocks a page.
        let least = UInt64((rounds - 2) / 2 * pages * (runtime.pageSize - 3 * runtime.pageSize / 64))
        Check.expect(saved >= least, "refetches saved \(saved) bytes, at least \(least) expected")
    } else {
        Check.equal(saved, 0, "bytes saved by write vectors")
    }
}

/// Broadcast of read-shared pages: rank 0 writes one of two buffers homed on it in each
/// barrier interval, while every other rank reads the other one (written in the interval
/// before). With broadcast on, once every reader has fetched a buffer, its next version
/// reaches them inside the barrier: their later reads fetch nothing, and every value is
/// still the newest (the home notes the copies it broadcast, so its next writes invalidate
/// them). With it off, each round fetches. Then the same in a ring, where each block has
/// one reader: it is pushed to that reader only.
func broadcastScenario(_ dsm: DSM) {
    let ranks = dsm.rankCount, rank = dsm.rank, runtime = dsm.runtime
    let words = runtime.pageSize / MemoryLayout<Int>.stride
    let pages = 12
    let buffers = [dsm.allocate(Int.self, count: pages * words, homes: .onRank(0)),
                   dsm.allocate(Int.self, count: pages * words, homes: .onRank(0))]
    let rounds = 12, warmup = 4
    var fetchedAfterWarmup: UInt64 = 0
    for round in 0..<rounds {
        if rank == 0 {
            for page in 0..<pages { buffers[round % 2][page * words + round % words] = round * 100 + page }
        } else if round > 0 {
            let fetched = runtime.statistics.pagesFetched
            let previous = round - 1
            for page in 0..<pages {
                Check.equal(buffers[previous % 2][page * words + previous % words], previous * 100 + page,
                            "round \(round) page \(page)")
                if previous >= 2 {
                    Check.equal(buffers[previous % 2][page * words + (previous - 2) % words], (previous - 2) * 100 + page,
                                "round \(round) page \(page), the value two rounds before")
                }
            }
            if round >= warmup { fetchedAfterWarmup += runtime.statistics.pagesFetched - fetched }
        }
        dsm.barrier()
    }
    let statistics = runtime.statistics
    if runtime.broadcast && ranks > 1 {
        if rank == 0 {
            Check.expect(statistics.pagesBroadcastOut >= UInt64((rounds - warmup) * pages), "pages broadcast by their home")
        } else {
            Check.equal(fetchedAfterWarmup, 0, "pages fetched after the broadcasts began")
            Check.expect(statistics.pagesBroadcastIn >= UInt64((rounds - warmup) * pages), "pages installed by broadcasts")
        }
    } else {
        Check.equal(statistics.pagesBroadcastIn + statistics.pagesBroadcastOut, 0, "pages broadcast")
        if rank != 0 { Check.expect(fetchedAfterWarmup >= UInt64((rounds - warmup) * pages), "pages fetched each round") }
    }
    dsm.barrier()

    // A ring: each rank writes a block homed on itself, read by the next rank only (a
    // neighbour's boundary), double-buffered as above: pushed to that reader alone.
    let ring = (0..<2).map { _ in dsm.allocate(Int.self, count: ranks * pages * words, homes: .blockCyclic(bytes: pages * runtime.pageSize, startRank: 0)) }
    let left = (rank + ranks - 1) % ranks
    var ringFetched: UInt64 = 0
    let pushedBefore = runtime.statistics.pagesBroadcastIn
    for round in 0..<rounds {
        for page in 0..<pages { ring[round % 2][(rank * pages + page) * words + round % words] = round * 100 + rank }
        if round > 0 && ranks > 1 {
            let fetched = runtime.statistics.pagesFetched
            let previous = round - 1
            for page in 0..<pages {
                Check.equal(ring[previous % 2][(left * pages + page) * words + previous % words], previous * 100 + left,
                            "ring round \(round) page \(page) of rank \(left)")
            }
            if round >= warmup { ringFetched += runtime.statistics.pagesFetched - fetched }
        }
        dsm.barrier()
    }
    let ringPushed = runtime.statistics.pagesBroadcastIn - pushedBefore
    if runtime.broadcast && ranks > 1 {
        Check.equal(ringFetched, 0, "ring pages fetched after the pushes began")
        Check.expect(ringPushed >= UInt64((rounds - warmup) * pages), "ring pages pushed here")
    } else if ranks > 1 {
        Check.equal(ringPushed, 0, "ring pages pushed")
        Check.expect(ringFetched >= UInt64((rounds - warmup) * pages), "ring pages fetched each round")
    }
}

/// The balance setting: run with --jia-balance=memory --jia-balance-interval=4 (and hmig
/// off, which would move written pages back to their writer), barriers balance by
/// themselves. Pages homed on rank 0, written by it in the first two rounds and read by one
/// other rank in every round, move to their reader at the fourth barrier without the
/// program calling balance, and keep their values; with the setting off they stay.
func autoBalanceScenario(_ dsm: DSM) {
    let ranks = dsm.rankCount, rank = dsm.rank, runtime = dsm.runtime
    let words = runtime.pageSize / MemoryLayout<Int>.stride
    let data = dsm.allocate(Int.self, count: 6 * ranks * words, homes: .blockCyclic(bytes: runtime.pageSize, startRank: 0))
    let watched = Array(stride(from: 0, to: 6 * ranks, by: ranks))  // the pages homed on rank 0
    func reader(_ page: Int) -> Int { ranks == 1 ? 0 : 1 + (page / ranks) % (ranks - 1) }
    for round in 1...6 {
        if rank == 0 && round <= 2 { for page in watched { data[page * words] = round * 100 + page } }
        dsm.barrier()
        for page in watched where reader(page) == rank {
            Check.equal(data[page * words], min(round, 2) * 100 + page, "round \(round) page \(page)")
        }
        dsm.barrier()
    }
    let automatic = runtime.settings.balance == .memory || runtime.settings.balance == .hybrid
    for page in watched {
        Check.equal(runtime.home(of: data.base + page * words), automatic && ranks > 1 ? reader(page) : 0,
                    "home of page \(page)")
    }
    if automatic && ranks > 1 && rank != 0 {
        Check.expect(runtime.statistics.pagesMigratedIn > 0, "pages moved here by the automatic balance")
    }
}

/// jia_balance: pages homed on rank 0 that one other rank alone fetches again and again
/// (rank 0 writes them between) move to that rank at a memory balance; values survive, the
/// new homes serve everyone, and their owners then write them without a cached write
/// fault. Pages are homed page by page round-robin, so no fetch of one prefetches another
/// homed on rank 0. A computing balance keeps `share(of:)` a partition of the range.
func balanceScenario(_ dsm: DSM) {
    let ranks = dsm.rankCount, rank = dsm.rank, runtime = dsm.runtime
    let words = runtime.pageSize / MemoryLayout<Int>.stride
    let data = dsm.allocate(Int.self, count: 6 * ranks * words, homes: .blockCyclic(bytes: runtime.pageSize, startRank: 0))
    let watched = stride(from: 0, to: 6 * ranks, by: ranks).map { $0 }  // the pages homed on rank 0
    func reader(_ page: Int) -> Int { ranks == 1 ? 0 : 1 + (page / ranks) % (ranks - 1) }
    for round in 1...3 {
        if rank == 0 { for page in watched { data[page * words] = round * 100 + page } }
        dsm.barrier()
        for page in watched where reader(page) == rank {
            Check.equal(data[page * words], round * 100 + page, "round \(round) page \(page)")
        }
        dsm.barrier()
    }
    let before = runtime.statistics
    let moved = dsm.balance(.memory)
    let after = runtime.statistics
    let expected = ranks == 1 ? 0 : watched.count
    Check.equal(moved, expected, "pages moved by the balance")
    let mine = ranks == 1 || rank == 0 ? 0 : watched.filter { reader($0) == rank }.count
    Check.equal(after.pagesMigratedIn - before.pagesMigratedIn, UInt64(mine), "pages migrated in")
    Check.equal(after.pagesMigratedOut - before.pagesMigratedOut, UInt64(rank == 0 ? expected : 0), "pages migrated out")
    for page in watched {
        Check.equal(runtime.home(of: data.base + page * words), reader(page), "home of page \(page)")
        Check.equal(data[page * words], 300 + page, "page \(page) after the balance")
    }
    dsm.barrier()
    let faults = runtime.statistics.writeFaults
    for page in watched where reader(page) == rank { data[page * words + 1] = rank + 1 }
    Check.equal(runtime.statistics.writeFaults - faults, 0, "cached write faults on pages homed here now")
    dsm.barrier()
    for page in watched { Check.equal(data[page * words + 1], reader(page) + 1, "page \(page) written by its new home") }

    dsm.balance(.hybrid)
    let shares = (0..<ranks).map { dsm.share(of: 1000, for: $0) }
    Check.equal(shares.map(\.count).reduce(0, +), 1000, "a computing balance still shares out every item")
    Check.expect(zip(shares, shares.dropFirst()).allSatisfy { $0.upperBound == $1.lowerBound }, "shares adjoin")
    dsm.barrier()
}

/// Direct lock hand-off: rank 1 holds lock 0 (managed by rank 0) and writes a page homed on
/// rank 0 while rank 2 asks for the lock; rank 1's release grants it to rank 2 itself, with
/// the page's notice, so rank 2 drops its stale copy and reads the new value. Then every
/// rank takes the lock in turn many times, and nothing is lost. Needs 3 ranks to act.
func lockHandOffScenario(_ dsm: DSM) {
    let ranks = dsm.rankCount, rank = dsm.rank, runtime = dsm.runtime
    let words = runtime.pageSize / MemoryLayout<Int>.stride
    let data = dsm.allocate(Int.self, count: words, homes: .onRank(0))
    let counter = dsm.allocate(Int.self, count: 1, homes: .onRank(0))
    Check.equal(data[0], 0, "initial value")  // a copy everywhere
    dsm.barrier()
    let before = runtime.statistics.locksHandedOff
    if rank == 1 {
        dsm.lock(0).withLock {
            data[0] = 42
            usleep(300_000)  // rank 2 asks meanwhile
        }
    } else if rank == 2 {
        usleep(100_000)
        dsm.lock(0).withLock { Check.equal(data[0], 42, "the value written before the hand-off") }
    }
    let handed = runtime.statistics.locksHandedOff - before
    if ranks >= 3 && rank == 1 && runtime.settings.lockHandoff {
        Check.equal(handed, 1, "locks handed off by rank 1")
    } else if !runtime.settings.lockHandoff {
        Check.equal(handed, 0, "locks handed off")
    }
    dsm.barrier()
    let rounds = 200
    for _ in 0..<rounds { dsm.lock(0).withLock { counter[0] += 1 } }
    dsm.barrier()
    Check.equal(counter[0], rounds * ranks, "increments under the lock")
}

/// Dynamic lock managers (lock-migration): lock 0, managed by rank 0, taken mostly by the
/// last rank, moves its manager there at the barrier; the last rank then takes it without a
/// message, and counting under it stays exact while every rank takes it in turn.
func lockMoveScenario(_ dsm: DSM) {
    let ranks = dsm.rankCount, rank = dsm.rank, runtime = dsm.runtime
    let last = ranks - 1
    let moving = runtime.settings.lockMigration && ranks > 1
    let counter = dsm.allocate(Int.self, count: 1, homes: .onRank(0))
    let lock = dsm.lock(0)
    if rank == last { for _ in 0..<10 { lock.withLock { counter[0] += 1 } } }
    dsm.barrier()
    Check.equal(runtime.manager(ofLock: 0), moving ? last : 0, "manager of lock 0 after the barrier")
    Check.equal(counter[0], 10, "counts before the move")
    dsm.barrier()  // everyone has read the count before the last rank changes it again
    if rank == last {
        let sent = runtime.statistics.messagesSent
        for _ in 0..<5 { lock.withLock { counter[0] += 1 } }
        if moving { Check.equal(runtime.statistics.messagesSent - sent, 0, "messages for a lock managed here") }
    }
    dsm.barrier()
    for _ in 0..<20 { lock.withLock { counter[0] += 1 } }
    dsm.barrier()
    Check.equal(counter[0], 15 + 20 * ranks, "counts with every rank taking the lock")
    // Every rank took it 20 times: no rank has more than half, so the manager stays.
    Check.equal(runtime.manager(ofLock: 0), moving ? last : 0, "manager of lock 0 when all share it")
    dsm.barrier()
}
