import CPlatform
import Glibc

/// Which cache slots a new run of pages takes: first-in first-out over a ring, handing
/// out runs of consecutive slots so a fetched run maps with one call. The caller evicts
/// whatever the returned slots held.
struct SlotRing {
    let slotCount: Int
    private(set) var hand = 0

    init(slotCount: Int) { self.slotCount = slotCount }

    /// Up to `wanted` consecutive slots starting at the hand (never wrapping).
    mutating func take(_ wanted: Int) -> Range<Int> {
        if hand == slotCount { hand = 0 }
        let count = min(wanted, slotCount - hand)
        let slots = hand..<(hand + count)
        hand += count
        return slots
    }
}

/// The fixed-size cache of other ranks' pages: a memfd of `slotCount` pages whose slots
/// are mapped at the cached pages' global addresses, an always-writable alias of it that
/// fetches land in, twins of the slots being written, and which page each slot holds. Slots are reused,
/// so a fetch copies into memory that already exists: allocating fresh pages costs about
/// 4.5 us each on this kind of machine, six times the copy (BENCHMARKS.md). Stored
/// properties unchecked for exclusivity at run time, as `CoherenceEngine` says why.
final class PageCache {
    let fd: Int32
    let alias: UnsafeMutableRawPointer
    @exclusivity(unchecked) private var file: MemoryFile?
    private let twinStorage: PageArray<UInt8>
    /// Twin buffer of each slot while its page is being written (-1 otherwise). Buffers are
    /// reused last-in first-out, so the next interval's twins land in memory that exists.
    @exclusivity(unchecked) private var twinOfSlot: [Int32]
    @exclusivity(unchecked) private var freeTwins: [Int32]
    let pageSize: Int
    @exclusivity(unchecked) var ring: SlotRing
    /// Page held by each slot, or -1.
    @exclusivity(unchecked) private(set) var owner: [Int]
    /// The home's write-vector version of each slot's copy (0: unknown, refetched whole).
    let versions: PageArray<UInt64>

    init(slotCount: Int, pageSize: Int, prefault: Bool) {
        self.pageSize = pageSize
        let length = slotCount * pageSize
        let file = MemoryFile(name: "swiftdsm-cache", length: length, what: "the page cache of \(slotCount) pages")
        fd = file.fd
        alias = file.alias
        self.file = consume file
        // Allocating a fresh page costs several times the copy into it; doing it for every slot
        // now keeps that cost out of page faults (best effort: older kernels lack the call).
        if prefault { _ = cplatform_populate_write(alias, length) }
        twinStorage = PageArray<UInt8>(count: length)  // backed lazily, as twin buffers are first used
        twinOfSlot = [Int32](repeating: -1, count: slotCount)
        freeTwins = (0..<Int32(slotCount)).reversed()
        ring = SlotRing(slotCount: slotCount)
        owner = [Int](repeating: -1, count: slotCount)
        versions = PageArray<UInt64>(count: slotCount)
    }

    var slotCount: Int { ring.slotCount }

    @inline(__always) func slotAddress(_ slot: Int) -> UnsafeMutableRawPointer { alias + slot * pageSize }
    /// Gives `slot` a twin buffer holding a copy of its page.
    func makeTwin(of slot: Int) {
        let buffer = freeTwins.removeLast()
        twinOfSlot[slot] = buffer
        memcpy(UnsafeMutableRawPointer(twinStorage.pointer) + Int(buffer) * pageSize, slotAddress(slot), pageSize)
    }

    @inline(__always) func twinAddress(_ slot: Int) -> UnsafeMutableRawPointer {
        UnsafeMutableRawPointer(twinStorage.pointer) + Int(twinOfSlot[slot]) * pageSize
    }

    /// Copies the slot's page into its twin again: the next diff starts from now.
    func refreshTwin(of slot: Int) {
        memcpy(twinAddress(slot), slotAddress(slot), pageSize)
    }

    func dropTwin(of slot: Int) {
        precondition(twinOfSlot[slot] >= 0, "SwiftDSM: cache slot \(slot) has no twin to drop")
        freeTwins.append(twinOfSlot[slot])
        twinOfSlot[slot] = -1
    }

    func assign(_ slot: Int, to page: Int) {
        owner[slot] = page
        versions[slot] = 0
    }
    func free(_ slot: Int) { owner[slot] = -1 }

    /// Unmaps the slots' alias and closes the file (at jia_exit).
    func close() { file = nil }
}
