/// Which non-home pages hold data on this rank, in first-in first-out order: a ring of at
/// most `capacity` page numbers. When it is full, the oldest resident page is the victim.
/// Pure bookkeeping; the coherence engine flushes and discards what it evicts.
struct ResidentPages {
    let capacity: Int
    private var ring: [Int]
    private var head = 0
    private(set) var count = 0

    init(capacity: Int) {
        self.capacity = capacity
        ring = [Int](repeating: -1, count: capacity)
    }

    var isFull: Bool { count == capacity }
    var freeCount: Int { capacity - count }

    mutating func append(_ page: Int) {
        precondition(count < capacity, "SwiftDSM: resident page ring overflow")
        ring[(head + count) % capacity] = page
        count += 1
    }

    /// Removes and returns the oldest page.
    mutating func removeOldest() -> Int {
        precondition(count > 0, "SwiftDSM: no resident page to evict")
        let page = ring[head]
        head = (head + 1) % capacity
        count -= 1
        return page
    }
}

/// Twins of the pages being written in this interval, in a fixed area of slots (one per
/// page the cache may hold, so a slot is always free when a resident page is written).
final class TwinStore {
    let pageSize: Int
    private let storage: PageArray<UInt8>
    private let area: UnsafeMutableRawPointer
    private var free: [Int32]
    let slotCount: Int

    init(slotCount: Int, pageSize: Int) {
        self.pageSize = pageSize
        self.slotCount = slotCount
        storage = PageArray<UInt8>(count: slotCount * pageSize)  // backed lazily, as slots are used
        area = UnsafeMutableRawPointer(storage.pointer)
        free = (0..<Int32(slotCount)).reversed()
    }

    func take() -> Int {
        guard let slot = free.popLast() else { Fatal.stop("SwiftDSM: no twin slot free (internal error)") }
        return Int(slot)
    }

    func give(_ slot: Int) { free.append(Int32(slot)) }

    @inline(__always) func address(_ slot: Int) -> UnsafeMutableRawPointer { area + slot * pageSize }

    func release() { storage.release() }
}
