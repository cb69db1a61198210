import CAllocationCounter
import SwiftDSM

/// The fault path allocates nothing (it runs in a signal handler, where malloc is not
/// async-signal-safe), on the real transports, in a release build: every rank counts the heap
/// allocations of its faulting thread during each kind of access, in rounds after a first
/// (which sizes what grows once). dsm-check links a counter that interposes malloc; it
/// counts the allocations called from SwiftDSM's code (the executable and the Swift
/// runtime), not those of the C libraries it calls: Open MPI 4.1's MPI_Get (osc rdma)
/// allocates a request on every call, and its TCP transport a fragment now and then.
func faultAllocationScenario(_ dsm: DSM) {
    let pagesPerRank = 64
    let intsPerPage = dsm.pageSize / 8
    let ranks = dsm.rankCount
    let data = dsm.allocate(Int.self, count: pagesPerRank * ranks * intsPerPage, homes: .blocked)
    let next = (dsm.rank + 1) % ranks
    // Every round takes the same kinds of fault: no page may move to the rank that writes it.
    dsm.runtime.homeMigration = false
    var counts: [String: UInt64] = [:]
    var libraries: UInt64 = 0
    allocation_counter_watch_callers()
    func count(_ kind: String, round: Int, _ accesses: () -> Void) {
        let before = allocation_counter_own_thread(), allBefore = allocation_counter_thread()
        accesses()
        let own = allocation_counter_own_thread() - before, all = allocation_counter_thread() - allBefore
        guard round > 0 else { return }
        counts[kind, default: 0] += own
        libraries += all - own
    }
    let remote = next * pagesPerRank * intsPerPage
    let home = dsm.rank * pagesPerRank * intsPerPage
    for round in 0..<4 {
        var sum = 0
        count("read faults (fetched runs)", round: round) {
            for page in 0..<pagesPerRank { sum &+= data[remote + page * intsPerPage] }
        }
        Check.equal(sum, pagesPerRank * max(round - 1, 0), "round \(round): the next rank's words before")
        count("writes to read-only copies", round: round) {
            for page in 0..<8 { data[remote + page * intsPerPage + 1 + dsm.rank] = round }
        }
        // More pages written than a small cache holds: dirty pages are evicted, their diffs
        // sent home from the fault handler.
        let dirtyEvictions = dsm.runtime.statistics.dirtyEvictions
        count("writes evicting dirty pages", round: round) {
            for page in 8..<48 { data[remote + page * intsPerPage + intsPerPage - 1 - dsm.rank] = round }
        }
        if dsm.runtime.settings.cachePages <= 16 && ranks > 1 {
            Check.expect(dsm.runtime.statistics.dirtyEvictions > dirtyEvictions, "a 16-page cache must evict dirty pages")
        }
        dsm.barrier()
        count("home writes", round: round) {
            for page in 0..<pagesPerRank { data[home + page * intsPerPage] = round }
        }
        dsm.barrier()
        sum = 0
        count("refetches of invalidated copies", round: round) {
            for page in 0..<pagesPerRank { sum &+= data[remote + page * intsPerPage] }
        }
        Check.equal(sum, pagesPerRank * round, "round \(round): the next rank's words after")
        dsm.barrier()
    }
    for (kind, made) in counts.sorted(by: { $0.key < $1.key }) {
        Check.equal(made, 0, "heap allocations of SwiftDSM's code on the faulting thread in \(kind)")
    }
    if libraries > 0 { print("rank \(dsm.rank): \(libraries) allocations inside MPI or UCX during the faults") }
}
