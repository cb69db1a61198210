import XCTest
@testable import SwiftDSM

final class LockManagerTests: XCTestCase {
    func testFreeLockIsGrantedAtOnceAndWaitersInOrder() {
        var manager = LockManager()
        XCTAssertEqual(manager.acquire(0, by: 1, lastScope: 0), LockManager.Grant(rank: 1, scope: 0, pages: []))
        XCTAssertNil(manager.acquire(0, by: 2, lastScope: 0))
        XCTAssertNil(manager.acquire(0, by: 3, lastScope: 0))
        let second = manager.release(0, by: 1, pages: [10, 11])
        XCTAssertEqual(second, LockManager.Grant(rank: 2, scope: 1, pages: [10, 11]))
        let third = manager.release(0, by: 2, pages: [12])
        XCTAssertEqual(third?.rank, 3)
        XCTAssertEqual(third?.pages, [10, 11, 12])
        XCTAssertNil(manager.release(0, by: 3, pages: []))
        XCTAssertEqual(manager.holder(of: 0), -1)
    }

    func testGrantCarriesOnlyNoticesNewerThanTheAcquirersLastScope() {
        var manager = LockManager()
        _ = manager.acquire(4, by: 0, lastScope: 0)
        _ = manager.release(4, by: 0, pages: [1])          // scope 1
        _ = manager.acquire(4, by: 1, lastScope: 0)
        _ = manager.release(4, by: 1, pages: [2])          // scope 2
        let grant = manager.acquire(4, by: 2, lastScope: 1)
        XCTAssertEqual(grant?.pages, [2])
        XCTAssertEqual(grant?.scope, 2)
    }

    func testOwnWritesAreSkippedUnlessAnotherRankAlsoWroteThePage() {
        var manager = LockManager()
        _ = manager.acquire(0, by: 0, lastScope: 0)
        _ = manager.release(0, by: 0, pages: [5, 6])
        XCTAssertEqual(manager.acquire(0, by: 0, lastScope: 0)?.pages, [])
        _ = manager.release(0, by: 0, pages: [])
        _ = manager.acquire(0, by: 1, lastScope: 0)
        _ = manager.release(0, by: 1, pages: [6])
        XCTAssertEqual(manager.acquire(0, by: 0, lastScope: 0)?.pages, [6])
    }

    /// A barrier invalidated everywhere what was written before it: the notices go.
    func testNoticesArePrunedOnceARankHasPassedTheNextBarrier() {
        var manager = LockManager()
        _ = manager.acquire(0, by: 0, lastScope: 0, barriers: 3)
        _ = manager.release(0, by: 0, pages: [1, 2, 3], barriers: 3)
        XCTAssertEqual(manager.acquire(0, by: 1, lastScope: 0, barriers: 3)?.pages, [1, 2, 3])
        _ = manager.release(0, by: 1, pages: [4], barriers: 3)
        XCTAssertEqual(manager.noticeCount(of: 0), 4)
        // Rank 2 has passed barrier 4: pages 1-4 were written before it.
        XCTAssertEqual(manager.acquire(0, by: 2, lastScope: 0, barriers: 4)?.pages, [])
        XCTAssertEqual(manager.noticeCount(of: 0), 0)
        // A release still in flight from before that barrier publishes nothing.
        _ = manager.release(0, by: 2, pages: [5], barriers: 4)
        _ = manager.acquire(0, by: 0, lastScope: 0, barriers: 3)
        _ = manager.release(0, by: 0, pages: [6], barriers: 3)
        XCTAssertEqual(manager.acquire(0, by: 1, lastScope: 0, barriers: 4)?.pages, [5])
    }

    func testConditionVariablesAreLevelTriggered() {
        var conditions = ConditionManager()
        XCTAssertFalse(conditions.wait(3, by: 1))
        XCTAssertFalse(conditions.wait(3, by: 2))
        XCTAssertEqual(conditions.set(3), [1, 2])
        XCTAssertTrue(conditions.wait(3, by: 0))
        conditions.reset(3)
        XCTAssertFalse(conditions.wait(3, by: 0))
    }
}

final class NoticeTests: XCTestCase {
    func testInnerSectionNoticesAreMergedIntoTheEnclosingSection() {
        var stack = NoticeStack()
        stack.record([1])  // outside any lock: barrier only
        stack.push(lock: 1)
        stack.record([5, 3])
        stack.push(lock: 2)
        stack.record([7, 3, 7])
        XCTAssertEqual(stack.heldLocks, [1, 2])
        XCTAssertEqual(stack.pop(), [3, 7])
        stack.record([9])
        XCTAssertEqual(stack.pop(), [3, 5, 7, 9])
        XCTAssertEqual(stack.depth, 0)
    }

    func testBarrierNoticesAreUniquePerInterval() {
        let marks = PageArray<UInt32>(count: 64)
        var notices = BarrierNotices()
        notices.record([3, 4, 3], marks: marks)
        notices.record([4, 5], marks: marks)
        XCTAssertEqual(notices.pages, [3, 4, 5])
        notices.startNextInterval(marks: marks)
        notices.record([4], marks: marks)
        XCTAssertEqual(notices.pages, [4])
    }
}

final class PageStructureTests: XCTestCase {
    func testSlotRingHandsOutConsecutiveSlotsOldestFirstWithoutWrapping() {
        var ring = SlotRing(slotCount: 10)
        XCTAssertEqual(ring.take(4), 0..<4)
        XCTAssertEqual(ring.take(4), 4..<8)
        XCTAssertEqual(ring.take(4), 8..<10)
        XCTAssertEqual(ring.take(3), 0..<3)
    }

    func testPageTableStateAndSlots() {
        let table = PageTable(pageCount: 1 << 20)
        XCTAssertEqual(table.state(12345), .uncached)
        XCTAssertNil(table.slot(12345))
        table.setSlot(12345, 0)
        table.setState(12345, .invalid)
        XCTAssertEqual(table.slot(12345), 0)
        XCTAssertEqual(table.state(12345), .invalid)
        table.setSlot(12345, nil)
        XCTAssertNil(table.slot(12345))
    }

    func testHomeLayoutIsBlockCyclic() {
        let runs = HomeLayout.runs(firstPage: 100, pages: 10, blockPages: 4, startRank: 2, ranks: 3)
        XCTAssertEqual(runs, [
            .init(firstPage: 100, count: 4, home: 2),
            .init(firstPage: 104, count: 4, home: 0),
            .init(firstPage: 108, count: 2, home: 1),
        ])
    }

    func testCollectiveCallsMatchOnlyWhenIdentical() {
        let a = CollectiveCall.allocate(size: 4096, block: 4096, startRank: 0)
        let b = CollectiveCall.allocate(size: 8192, block: 4096, startRank: 0)
        XCTAssertTrue(a.matches(a))
        XCTAssertFalse(a.matches(b))
        XCTAssertFalse(CollectiveCall.barrier(homeMigration: false).matches(CollectiveCall.wait))
        XCTAssertFalse(CollectiveCall.barrier(homeMigration: true).matches(.barrier(homeMigration: false)))
        XCTAssertTrue(CollectiveCall.barrier(homeMigration: true).description.contains("home migration on"))
        XCTAssertTrue(b.description.contains("size: 8192"))
    }

    /// JIAJIA's rule: one writer, which held a valid copy, and is not the home already.
    func testHomesMoveOnlyToSingleWritersThatHeldACopy() {
        var migration = HomeMigration(pageCount: 64)
        let homes = [0: 0, 1: 0, 2: 1, 3: 1, 4: 0, 5: 2]
        let lists: [[Int64]] = [
            [HomeMigration.notice(2, heldValid: true), HomeMigration.notice(4, heldValid: false)],  // rank 0
            [HomeMigration.notice(0, heldValid: true), HomeMigration.notice(1, heldValid: true),
             HomeMigration.notice(5, heldValid: false)],                                              // rank 1
            [HomeMigration.notice(1, heldValid: true), HomeMigration.notice(3, heldValid: true)],   // rank 2
        ]
        let moves = migration.moves(ranks: 3, lists: { lists[$0][...] }, home: { homes[$0]! })
        // 0: rank 1 alone, with a copy -> moves; 1: two writers; 2: rank 0 alone -> moves;
        // 3: rank 2 alone -> moves; 4: its home wrote it; 5: writer without a copy.
        XCTAssertEqual(moves, [.init(page: 0, from: 0, to: 1), .init(page: 2, from: 1, to: 0),
                               .init(page: 3, from: 1, to: 2)])
        // The next barrier starts afresh: page 1 with one writer now moves.
        let next = migration.moves(ranks: 3, lists: { $0 == 2 ? [HomeMigration.notice(1, heldValid: true)] : [] },
                                   home: { homes[$0]! })
        XCTAssertEqual(next, [.init(page: 1, from: 0, to: 2)])
    }

    /// A page whose writers take turns moves again only after 2, 4, 8 ... barriers.
    func testAPageThatMovedWaitsTwiceAsLongEachTime() {
        var migration = HomeMigration(pageCount: 8)
        var home = 0
        var barriersWithMoves: [Int] = []
        for barrier in 1...40 {
            let writer = 1 - home  // the other rank writes, holding a copy
            let moves = migration.moves(ranks: 2, lists: { $0 == writer ? [HomeMigration.notice(3, heldValid: true)] : [] },
                                        home: { _ in home })
            if let move = moves.first {
                home = move.to
                barriersWithMoves.append(barrier)
            }
        }
        XCTAssertEqual(barriersWithMoves, [1, 3, 7, 15, 31])
    }

    func testGatheredNoticesSplitByRank() {
        let gathered = GatheredNotices(counts: [1, 0, 2], values: [HomeMigration.notice(7, heldValid: true),
                                                                 HomeMigration.notice(8, heldValid: false),
                                                                 HomeMigration.notice(9, heldValid: true)])
        XCTAssertEqual(gathered.pages(excluding: 0), [8, 9])
        XCTAssertEqual(gathered.pages(excluding: 2), [7])
        XCTAssertEqual(Array(gathered.list(of: 1)), [])
    }
}

final class SettingsTests: XCTestCase {
    func testFlagsOverrideEnvironmentAndAreRemovedFromArguments() throws {
        var settings = Settings()
        let remaining = try settings.merge(
            environment: ["JIA_CACHE_PAGES": "64", "JIA_TRANSPORT": "rma", "HOME": "/root"],
            arguments: ["prog", "--jia-cache-pages=16", "-n", "3", "--jia-capacity=2G"])
        XCTAssertEqual(remaining, ["prog", "-n", "3"])
        XCTAssertEqual(settings.cachePages, 16)
        XCTAssertEqual(settings.transport, .rma)
        XCTAssertEqual(settings.capacity, 2 << 30)
    }

    func testBadValuesNameTheSourceAndTheAllowedValues() {
        var settings = Settings()
        XCTAssertThrowsError(try settings.merge(environment: ["JIA_CACHE_PAGES": "lots"], arguments: [])) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("JIA_CACHE_PAGES=lots"), text)
            XCTAssertTrue(text.contains("an integer from 1"), text)
        }
        XCTAssertThrowsError(try settings.merge(environment: [:], arguments: ["--jia-transport=udp"])) { error in
            XCTAssertTrue("\(error)".contains("auto, shm, rma, message, tcp or ucx"))
        }
        XCTAssertThrowsError(try settings.merge(environment: [:], arguments: ["--jia-page-size=5000"]))
        XCTAssertThrowsError(try settings.merge(environment: [:], arguments: ["--jia-bogus=1"])) { error in
            XCTAssertTrue("\(error)".contains("unknown setting"))
        }
        XCTAssertThrowsError(try settings.merge(environment: ["JIA_NOPE": "1"], arguments: []))
    }

    func testByteCounts() {
        XCTAssertEqual(Settings.parseByteCount("64K"), 65536)
        XCTAssertEqual(Settings.parseByteCount("3m"), 3 << 20)
        XCTAssertEqual(Settings.parseByteCount("12"), 12)
        XCTAssertNil(Settings.parseByteCount("G"))
        XCTAssertNil(Settings.parseByteCount("-1K"))
    }
}

final class LockMigrationTests: XCTestCase {
    /// A lock moves to the rank that took it most, if it took it at least twice and more
    /// often than the others together; its statistics travel with the page notices.
    func testManagersMoveToTheirDominantUsers() {
        let lists: [[Int64]] = [
            [HomeMigration.notice(5, heldValid: true)] + LockMigration.statistics([0: 1, 1: 9, 2: 3]),  // rank 0
            LockMigration.statistics([0: 8, 1: 2, 2: 3, 7: 1]),                                          // rank 1
            LockMigration.statistics([0: 1, 4: 2]),                                                      // rank 2
        ]
        let moves = LockMigration.moves(ranks: 3, lists: { lists[$0][...] }, manager: { $0 % 3 })
        // 0: rank 1 took it 8 of 10 times; 1: rank 0, 9 of 11; 2: no rank more than half;
        // 4: rank 2 alone, twice (managed by rank 1); 7: once only.
        XCTAssertEqual(moves, [.init(lock: 0, from: 0, to: 1), .init(lock: 1, from: 1, to: 0),
                               .init(lock: 4, from: 1, to: 2)])
        // Page notices ignore the lock statistics.
        XCTAssertEqual(GatheredNotices(counts: lists.map(\.count), values: lists.flatMap { $0 }).pages(excluding: 1), [5])
    }

    /// The old manager drops releases sent before the barrier at which the lock moved.
    func testReleasesFromBeforeTheMoveAreStale() {
        var manager = LockManager()
        _ = manager.acquire(3, by: 1, lastScope: 0, barriers: 4)
        manager.managerMoved(3, atBarrier: 5, away: true)
        XCTAssertTrue(manager.isStale(3, barriers: 4))
        XCTAssertFalse(manager.isStale(3, barriers: 5))
        XCTAssertEqual(manager.holder(of: 3), -1)
        XCTAssertEqual(manager.noticeCount(of: 3), 0)
    }
}

final class WriteVectorTests: XCTestCase {
    private let pageShift = 12  // 4 KiB pages: 64-byte blocks

    private func masks(_ vectors: WriteVectors, first: Int, versions: [UInt64]) -> (UInt64, [UInt64]) {
        var masks = [UInt64](repeating: 0, count: versions.count)
        let clock = versions.withUnsafeBufferPointer { given in
            masks.withUnsafeMutableBufferPointer { vectors.changes(first: first, versions: given, into: $0) }
        }
        return (clock, masks)
    }

    func testARefetchMovesTheBlocksChangedSinceItsCopy() {
        let vectors = WriteVectors(pageCount: 8, pageShift: pageShift)
        let (start, unknown) = masks(vectors, first: 0, versions: [0, 0])
        XCTAssertEqual(unknown, [WriteVectors.everyBlock, WriteVectors.everyBlock], "a copy of unknown age")
        XCTAssertEqual(masks(vectors, first: 0, versions: [start, start]).1, [0, 0], "nothing changed")
        // A run from the end of page 0 into page 1, and a word in page 1's block 10.
        vectors.recordDiff([(offset: 4096 - 8, length: 16), (offset: 4096 + 640, length: 8)])
        let (afterDiff, changed) = masks(vectors, first: 0, versions: [start, start])
        XCTAssertEqual(changed, [1 << 63, 1 | 1 << 10])
        XCTAssertEqual(masks(vectors, first: 0, versions: [afterDiff, afterDiff]).1, [0, 0])
        // The home's own writes: whole while writable, its twin's blocks once noticed.
        vectors.homeMayWrite(first: 1, count: 1)
        XCTAssertEqual(masks(vectors, first: 1, versions: [afterDiff]).1, [WriteVectors.everyBlock])
        vectors.homeWritesNoticed([(page: 1, mask: 1 << 3)], protected: [1])
        XCTAssertEqual(masks(vectors, first: 1, versions: [afterDiff]).1, [1 << 3])
        XCTAssertEqual(masks(vectors, first: 1, versions: [start]).1, [1 | 1 << 3 | 1 << 10])
    }

    func testOldChangesMergeIntoWiderMasksAndArrivalsCountAsWhole() {
        let vectors = WriteVectors(pageCount: 1, pageShift: pageShift)
        var versions: [UInt64] = [masks(vectors, first: 0, versions: [0]).0]
        for block in 0..<8 {
            vectors.recordDiff([(offset: block * 64, length: 8)])
            versions.append(masks(vectors, first: 0, versions: [0]).0)
        }
        for (index, version) in versions.enumerated() {
            let changed = masks(vectors, first: 0, versions: [version]).1[0]
            let exact = UInt64(0xFF) & ~((1 << UInt64(index)) - 1)
            XCTAssertEqual(changed & exact, exact, "no change since version \(index) is skipped")
            if index >= 5 { XCTAssertEqual(changed, exact, "recent versions stay exact") }
        }
        vectors.arrived(0, writable: false)
        XCTAssertEqual(masks(vectors, first: 0, versions: [versions.last!]).1, [WriteVectors.everyBlock])
    }

    func testRunsOfSetBits() {
        var runs: [[Int]] = []
        WriteVectors.forEachRun(of: 0b1110_0110 | 1 << 63) { runs.append([$0, $1]) }
        XCTAssertEqual(runs, [[1, 2], [5, 3], [63, 1]])
        runs.removeAll()
        WriteVectors.forEachRun(of: WriteVectors.everyBlock) { runs.append([$0, $1]) }
        XCTAssertEqual(runs, [[0, 64]])
    }
}

final class LockHandOffTests: XCTestCase {
    func testTheHolderIsNamedItsSuccessorAndTheHandOffIsRecorded() {
        var manager = LockManager()
        XCTAssertNotNil(manager.acquire(0, by: 1, lastScope: 0, barriers: 3))
        XCTAssertNil(manager.nameSuccessor(0, except: 0), "nobody waits")
        XCTAssertNil(manager.acquire(0, by: 2, lastScope: 0, barriers: 3))
        XCTAssertNil(manager.nameSuccessor(0, except: 1), "the holder is the manager's own rank")
        let successor = manager.nameSuccessor(0, except: 0)
        XCTAssertEqual(successor, LockManager.Successor(lock: 0, holder: 1, holderScope: 0, holderBarriers: 3,
                                                       grant: LockManager.Grant(rank: 2, scope: 0, pages: [])))
        XCTAssertNil(manager.nameSuccessor(0, except: 0), "one successor at a time")
        XCTAssertTrue(manager.mayRelease(0, by: 2))
        XCTAssertFalse(manager.mayRelease(0, by: 3))
        XCTAssertNil(manager.release(0, by: 1, pages: [10], barriers: 3, handedOff: true), "granted by the holder")
        XCTAssertEqual(manager.holder(of: 0), 2)
        XCTAssertNil(manager.acquire(0, by: 3, lastScope: 0, barriers: 3))
        XCTAssertEqual(manager.nameSuccessor(0, except: 0)?.grant, LockManager.Grant(rank: 3, scope: 1, pages: [10]))
        // The holder did not see its successor before releasing: the manager grants it.
        XCTAssertEqual(manager.release(0, by: 2, pages: [11], barriers: 3),
                       LockManager.Grant(rank: 3, scope: 2, pages: [10, 11]))
        XCTAssertEqual(manager.holder(of: 0), 3)
    }

    func testASuccessorsReleaseThatArrivesBeforeTheHandOffWaitsForIt() {
        var manager = LockManager()
        _ = manager.acquire(5, by: 1, lastScope: 0)
        _ = manager.acquire(5, by: 2, lastScope: 0)
        _ = manager.acquire(5, by: 3, lastScope: 0)
        XCTAssertNotNil(manager.nameSuccessor(5, except: 0))
        XCTAssertNil(manager.release(5, by: 2, pages: [20]), "rank 2's release overtook rank 1's hand-off")
        XCTAssertEqual(manager.holder(of: 5), 1)
        let next = manager.release(5, by: 1, pages: [10], handedOff: true)
        XCTAssertEqual(next, LockManager.Grant(rank: 3, scope: 2, pages: [10, 20]), "both applied, in order")
        XCTAssertEqual(manager.holder(of: 5), 3)
    }
}

final class LockHolderTests: XCTestCase {
    private func release(_ lock: Int, scope: Int, barriers: Int = 2, pages: [Int] = [7]) -> LockHolder.Release {
        LockHolder.Release(lock: lock, manager: 0, scope: scope, barriers: barriers, pages: pages)
    }

    private func successor(_ lock: Int, scope: Int, barriers: Int = 2) -> LockManager.Successor {
        LockManager.Successor(lock: lock, holder: 1, holderScope: scope, holderBarriers: barriers,
                              grant: LockManager.Grant(rank: 2, scope: scope, pages: [9]))
    }

    func testADeferredReleaseTravelsWithTheNextRequestOrGoesToANamedSuccessor() {
        var holder = LockHolder()
        XCTAssertEqual(holder.release(release(4, scope: 3), deferrable: false), .send(release(4, scope: 3)))
        XCTAssertEqual(holder.release(release(4, scope: 4), deferrable: true), .deferred)
        XCTAssertEqual(holder.takeDeferred(4), release(4, scope: 4), "carried by the next request")
        XCTAssertNil(holder.takeDeferred(4))
        // Deferred, then another rank asks: the naming hands the lock off at once.
        XCTAssertEqual(holder.release(release(4, scope: 5), deferrable: true), .deferred)
        XCTAssertEqual(holder.named(successor(4, scope: 5)), .handOff(successor(4, scope: 5), release(4, scope: 5)))
        XCTAssertEqual(holder.deferredCount, 0)
    }

    func testANamingForAnotherHoldingNeitherHandsOffNorSticks() {
        var holder = LockHolder()
        XCTAssertEqual(holder.release(release(1, scope: 6), deferrable: true), .deferred)
        XCTAssertNil(holder.named(successor(1, scope: 5)), "named for the holding before: kept, not acted on")
        XCTAssertNil(holder.named(successor(1, scope: 6, barriers: 1)), "same scope, another barrier")
        XCTAssertEqual(holder.deferredCount, 1)
        XCTAssertEqual(holder.release(release(1, scope: 7), deferrable: false), .send(release(1, scope: 7)),
                       "the stale naming is dropped at the next release")
    }

    func testANamingBeforeTheReleaseIsUsedByIt() {
        var holder = LockHolder()
        XCTAssertNil(holder.named(successor(2, scope: 8)), "the lock is still held")
        XCTAssertEqual(holder.release(release(2, scope: 8), deferrable: true),
                       .handOff(successor(2, scope: 8), release(2, scope: 8)), "a waiter beats deferring")
    }

    func testEveryDeferredReleaseIsTakenInLockOrder() {
        var holder = LockHolder()
        for lock in [9, 3, 5] { _ = holder.release(release(lock, scope: 1), deferrable: true) }
        XCTAssertEqual(holder.takeAllDeferred().map(\.lock), [3, 5, 9])
        XCTAssertEqual(holder.deferredCount, 0)
    }
}
