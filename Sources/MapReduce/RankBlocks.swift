import SwiftDSM

/// One page-aligned block of shared memory per rank, block r homed on rank r, that grows
/// (collectively) when a round needs more: the blocks are freed and allocated anew, by at
/// least half again, so that reallocations (each with the barrier of a free) stay rare.
public struct RankBlocks {
    public let dsm: DSM
    private var array: SharedArray<UInt8>?
    public var base: UnsafeMutableRawPointer? { array.map { UnsafeMutableRawPointer($0.base) } }
    /// Bytes of each rank's block, a multiple of the page size.
    public private(set) var blockBytes = 0
    /// Allocations made so far (for tests and reports).
    public private(set) var allocations = 0

    public init(_ dsm: DSM) { self.dsm = dsm }

    /// Collective, with the same `bytes` on every rank: makes every block hold at least
    /// `bytes`. Contents are not kept across a growth.
    public mutating func reserve(bytes: Int) {
        guard bytes > blockBytes || base == nil else { return }
        let page = dsm.pageSize
        let wanted = max(bytes, blockBytes + blockBytes / 2, page)
        let (rounded, overflow) = (wanted / page + (wanted % page == 0 ? 0 : 1)).multipliedReportingOverflow(by: page)
        let (total, overflowTotal) = rounded.multipliedReportingOverflow(by: dsm.rankCount)
        if overflow || overflowTotal {
            Fatal.everyRank("MapReduce: a block of \(bytes) bytes per rank does not fit in the address space")
        }
        if let old = array { dsm.free(old) }
        array = dsm.allocate(UInt8.self, count: total, homes: .blockCyclic(bytes: rounded, startRank: 0))
        blockBytes = rounded
        allocations += 1
    }

    /// The block homed on `rank`.
    @inline(__always)
    public func block(_ rank: Int) -> UnsafeMutableRawPointer { base! + rank * blockBytes }
}

/// `bytes` rounded up to whole pages.
@inline(__always)
func pageRounded(_ bytes: Int, pageSize: Int) -> Int { (bytes + pageSize - 1) / pageSize * pageSize }
