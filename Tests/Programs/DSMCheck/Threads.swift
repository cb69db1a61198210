import Dispatch
import Foundation
import SwiftDSM

/// Several threads per rank between barriers, against a model: in each round, 4 threads
/// of every rank write interleaved words (so every page has 4 writers here, and faults on
/// one page arrive from several threads at once) of the next rank's share and, on pages of
/// their own, disjoint runs; after a barrier every thread sums the whole array. With a
/// small cache (the tests give 16 pages) the threads also evict pages other threads use.
func threadsScenario(_ dsm: DSM) {
    let ranks = dsm.rankCount, rank = dsm.rank
    let threads = 4
    let wordsPerPage = dsm.pageSize / MemoryLayout<Int>.stride
    let share = 24 * wordsPerPage
    let array = dsm.allocate(Int.self, count: ranks * share, homes: .blocked)
    for round in 0..<5 {
        let target = (rank + 1) % ranks
        let first = target * share
        // Interleaved words over the first half of the share, disjoint runs over the second.
        DispatchQueue.concurrentPerform(iterations: threads) { thread in
            var index = first + thread
            while index < first + share / 2 {
                array[index] = value(round: round, index: index)
                index += threads
            }
            let run = (share / 2) / threads
            for index in (first + share / 2 + thread * run)..<(first + share / 2 + (thread + 1) * run) {
                array[index] = value(round: round, index: index)
            }
        }
        dsm.barrier()
        var expected = 0
        for index in 0..<(ranks * share) { expected = expected &+ value(round: round, index: index) }
        let sums = PerThread(count: threads)
        DispatchQueue.concurrentPerform(iterations: threads) { thread in
            var sum = 0
            // Each thread starts elsewhere, so their faults and evictions interleave.
            for step in 0..<(ranks * share) {
                sum = sum &+ array[(step + thread * share / 3) % (ranks * share)]
            }
            sums.values[thread] = sum
        }
        for thread in 0..<threads { Check.equal(sums.values[thread], expected, "round \(round) thread \(thread)'s sum") }
        sums.values.deallocate()
        dsm.barrier()
    }
}

/// What the scenario writes at `index` in `round`.
private func value(round: Int, index: Int) -> Int { round &* 1_000_003 &+ index &* 7 }

/// One slot per thread, each written by its thread only.
private struct PerThread: @unchecked Sendable {
    let values: UnsafeMutableBufferPointer<Int>
    init(count: Int) { values = .allocate(capacity: count) }
}

/// A synchronization call from a second thread while the rank's main thread is inside one
/// (rank 0's helper calls jia_lock while its main thread waits in the barrier, which the
/// other ranks enter a second later).
func secondThreadSynchronizes(_ dsm: DSM) {
    if dsm.rank == 0 {
        let helper = Thread { usleep(300_000); jia_lock(0) }
        helper.start()
    } else {
        usleep(1_000_000)
    }
    dsm.barrier()
    for _ in 0..<2000 { usleep(10_000) }
}
