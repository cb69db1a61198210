import Foundation
import SwiftDSM

/// Freeing shared memory: an allocation written by every rank is freed and the next one
/// of its size takes its range again, reading zeros, then behaves like any allocation;
/// a loop of allocations and frees many times the capacity only works if ranges are
/// reused; neighbouring freed ranges merge into one a larger allocation fits; a freed range
/// at the end of the allocated space grows into the space after it.
func freeScenario(_ dsm: DSM) {
    let count = 64 * 512  // 64 pages of Int64
    let first = dsm.allocate(Int64.self, count: count, homes: .blockCyclic(bytes: 4096))
    for index in stride(from: dsm.rank, to: count, by: dsm.rankCount) { first[index] = Int64(index + 1) }
    dsm.barrier()
    Check.equal(first.reduce(0, +), Int64(count) * Int64(count + 1) / 2, "the sum before the free")
    let base = first.base
    dsm.free(first)
    let second = dsm.allocate(Int64.self, count: count, homes: .blocked)
    Check.expect(second.base == base, "the next allocation of the same size reuses the freed range")
    Check.equal(second.reduce(0, +), 0, "memory reused after a free reads as zeros")
    dsm.barrier()
    for index in dsm.share(of: count) { second[index] = 2 }
    dsm.barrier()
    Check.equal(second.reduce(0, +), Int64(2 * count), "the reused range is coherent")
    dsm.free(second)

    // 200 rounds of 1 MiB in a 32 MiB capacity (the test passes --jia-capacity=32M).
    for round in 0..<200 {
        let scratch = dsm.allocate(UInt8.self, count: 1 << 20, homes: .blocked)
        let mine = dsm.share(of: scratch.count)
        for index in stride(from: mine.lowerBound, to: mine.upperBound, by: 4096) { scratch[index] = UInt8(round & 0x7F) }
        dsm.barrier()
        let peer = dsm.share(of: scratch.count, for: (dsm.rank + 1) % dsm.rankCount)
        if !peer.isEmpty { Check.equal(scratch[peer.lowerBound], UInt8(round & 0x7F), "round \(round)'s peer page") }
        dsm.free(scratch)
    }
    // Two freed neighbours merge: a region of both their sizes fits where they were.
    let left = dsm.allocate(UInt8.self, count: 8 * 4096)
    let right = dsm.allocate(UInt8.self, count: 8 * 4096)
    let start = left.base
    dsm.free(left)
    dsm.free(right)
    let both = dsm.allocate(UInt8.self, count: 16 * 4096)
    Check.expect(both.base == start, "freed neighbours merge into one range")
    dsm.barrier()
    // A freed range at the end of what was allocated grows into the space after it.
    let last = dsm.allocate(UInt8.self, count: 4 * 4096)
    let end = last.base
    dsm.free(last)
    let larger = dsm.allocate(UInt8.self, count: 40 * 4096, homes: .blocked)
    Check.expect(larger.base == end, "a freed range at the end is extended, not left behind")
    for index in dsm.share(of: larger.count) { larger[index] = 3 }
    dsm.barrier()
    Check.equal(larger.reduce(0) { $0 + Int($1) }, 3 * larger.count, "the extended range is coherent")
}

/// A read of freed memory: every rank stops, naming the allocation.
func useAfterFree(_ dsm: DSM) {
    let array = dsm.allocate(Int64.self, count: 4096, homes: .onRank(0))
    dsm.free(array)
    if dsm.rank == dsm.rankCount - 1 { blackHole(array[7]) }
    dsm.barrier()
}

/// Keeps a read of shared memory that nothing else uses (the optimizer drops dead loads).
nonisolated(unsafe) var readSink: UInt64 = 0
@inline(never) func blackHole<T: FixedWidthInteger>(_ value: T) { readSink &+= UInt64(truncatingIfNeeded: value) }
