import Collectives
import SwiftDSM

/// Moves records between ranks through shared memory alone: every receiver r has a bucket
/// homed on it, in which each sender owns a page-aligned region (no two writers share a
/// page, so their diffs never meet). The record counts are exchanged first with an
/// allgather, so every rank computes the same region offsets and the buckets are sized
/// exactly: nothing can overflow or be dropped. Only the counts go through MPI.
public struct Shuffle<Record: BitwiseCopyable> {
    public let dsm: DSM
    private var buckets: RankBlocks
    /// Records and bytes (page-rounded regions) this rank received in the last exchange.
    public private(set) var receivedRecords = 0
    public private(set) var receivedBytes = 0
    /// Bytes of each rank's bucket, and how many times the buckets were allocated (each
    /// growth frees the previous ones).
    public var bucketBytes: Int { buckets.blockBytes }
    public var bucketAllocations: Int { buckets.allocations }

    public init(_ dsm: DSM) {
        self.dsm = dsm
        buckets = RankBlocks(dsm)
    }

    /// Collective. `counts[r]` is how many records this rank sends to rank r; `write(r, region)`
    /// fills the region for r (exactly `counts[r]` records). After a barrier, `read(s, region)`
    /// is called for every source s in rank order with what s sent here; the regions stay
    /// valid until this rank's next exchange.
    public mutating func exchange(counts: [Int], write: (Int, UnsafeMutableBufferPointer<Record>) -> Void,
                                  read: (Int, UnsafeBufferPointer<Record>) -> Void) {
        let ranks = dsm.rankCount
        let me = dsm.rank
        let stride = MemoryLayout<Record>.stride
        if counts.count != ranks {
            Fatal.stop("Shuffle.exchange: \(counts.count) counts given, one per rank (\(ranks)) expected")
        }
        if let bad = counts.firstIndex(where: { $0 < 0 }) {
            Fatal.stop("Shuffle.exchange: negative count \(counts[bad]) for rank \(bad)")
        }
        // Row s: the record size s uses, then what s sends to each rank.
        let table = Collectives.allgather([stride] + counts)
        let row = ranks + 1
        for source in 0..<ranks where table[source * row] != stride {
            Fatal.everyRank("Shuffle.exchange: rank \(source) exchanges records of \(table[source * row]) bytes, "
                + "rank \(me) of \(stride) bytes: every rank must use the same record type")
        }
        @inline(__always) func sent(_ source: Int, _ destination: Int) -> Int { table[source * row + 1 + destination] }

        // offsets[s * ranks + r]: where s's region starts in r's bucket.
        let page = dsm.pageSize
        var offsets = [Int](repeating: 0, count: ranks * ranks)
        var largest = 0
        for destination in 0..<ranks {
            var offset = 0
            for source in 0..<ranks {
                offsets[source * ranks + destination] = offset
                let (bytes, overflow) = sent(source, destination).multipliedReportingOverflow(by: stride)
                let (next, overflowSum) = offset.addingReportingOverflow(pageRounded(bytes, pageSize: page))
                if overflow || overflowSum {
                    Fatal.everyRank("Shuffle.exchange: the bucket of rank \(destination) would exceed Int.max bytes")
                }
                offset = next
            }
            largest = max(largest, offset)
        }
        buckets.reserve(bytes: largest)

        for destination in 0..<ranks where counts[destination] > 0 {
            let region = buckets.block(destination) + offsets[me * ranks + destination]
            // One protection change per page up front instead of a fault per page.
            if ranks > 1 { dsm.prepare(UnsafeRawPointer(region), length: counts[destination] * stride, for: .writing) }
            let records = region.bindMemory(to: Record.self, capacity: counts[destination])
            write(destination, UnsafeMutableBufferPointer(start: records, count: counts[destination]))
        }
        dsm.barrier()

        receivedRecords = 0
        receivedBytes = 0
        for source in 0..<ranks {
            let count = sent(source, me)
            receivedRecords += count
            receivedBytes += pageRounded(count * stride, pageSize: page)
            let region = buckets.block(me) + offsets[source * ranks + me]
            let records = region.bindMemory(to: Record.self, capacity: max(count, 1))
            read(source, UnsafeBufferPointer(start: records, count: count))
        }
    }
}
