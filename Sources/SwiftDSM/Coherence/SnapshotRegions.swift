/// The allocations that take snapshot reads, and the copies in them that grew too old to
/// use (expired: invalid, their cache slot kept). The first read of an expired copy
/// refreshes every expired copy of its region at once (see `CoherenceEngine`), so the
/// expired copies are kept here, in page order, until refetched, evicted or freed.
struct SnapshotRegions {
    private var regions: [Range<Int>] = []
    private var expired: [Int] = []

    var isEmpty: Bool { regions.isEmpty }

    /// The expired copies held (an upper bound until the next `tidy`).
    var expiredCount: Int { expired.count }

    mutating func add(firstPage: Int, pages: Int) {
        regions.append(firstPage..<(firstPage + pages))
    }

    /// Forgets a freed region and its expired copies.
    mutating func remove(firstPage: Int, pages: Int) {
        let range = firstPage..<(firstPage + pages)
        regions.removeAll { $0.overlaps(range) }
        expired.removeAll { range.contains($0) }
    }

    /// A copy that just expired.
    mutating func noteExpired(_ page: Int) { expired.append(page) }

    /// Sorts the expired copies and keeps those `stillExpired` (at an invalidation, outside
    /// the fault handler, so that the fault path only reads the list).
    mutating func tidy(stillExpired: (Int) -> Bool) {
        expired.removeAll { !stillExpired($0) }
        expired.sort()
        expired.removeDuplicatesFromSorted()
    }

    /// The positions in the expired list of the region holding `page` (empty if none), for
    /// `expired(at:)`: the fault path reads the list by index.
    func expiredIndices(inRegionOf page: Int) -> Range<Int> {
        var index = 0
        while index < regions.count, !regions[index].contains(page) { index += 1 }
        guard index < regions.count else { return 0..<0 }
        return lowerBound(regions[index].lowerBound)..<lowerBound(regions[index].upperBound)
    }

    func expired(at index: Int) -> Int { expired[index] }

    /// The index of the first expired copy at or after `page`.
    private func lowerBound(_ page: Int) -> Int {
        var low = 0, high = expired.count
        while low < high {
            let middle = (low + high) / 2
            if expired[middle] < page { low = middle + 1 } else { high = middle }
        }
        return low
    }
}
