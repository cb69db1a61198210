import Glibc

/// The state of one page on this rank.
enum PageState: UInt8 {
    /// Not homed here and not cached (the page store is mapped there, inaccessible): any
    /// access faults and fetches.
    case uncached = 0
    /// Not homed here; cached in a slot, but stale: any access faults and refetches into the slot.
    case invalid
    /// A valid cached copy, read-only: a write makes a twin.
    case readOnly
    /// A cached copy written in this interval, with a twin.
    case readWrite
    /// Homed here, write-protected so the next write is noticed (other ranks hold copies).
    case homeReadOnly
    /// Homed here, written in this interval after a write fault noticed it.
    case homeWritable
    /// Homed here and writable without write detection: no other rank holds a copy its
    /// writes could make stale (read notices), or adaptive write detection left it open.
    case homeOpen
    /// Not homed here; cached and current (a barrier's broadcast put it in its slot), but
    /// mapped without access, so that its first use is seen: it faults without a fetch.
    case pushed
    /// Released by `jia_free` and not allocated again: any access is a use after free.
    case freed
    /// Not homed here; a cached copy other ranks' writes made stale, kept because its
    /// allocation takes snapshot reads and it is young enough (`snapshotAge`). Mapped
    /// without access so that its first use is counted; a read then uses it as it is.
    case stale
}

/// Zero-initialised storage for one entry per page of the shared range, from an anonymous
/// mapping: only the parts covering allocated pages ever get physical memory. It owns the
/// mapping (unmapped when the array ends), so it cannot be copied.
struct PageArray<Element>: ~Copyable {
    let pointer: UnsafeMutablePointer<Element>
    let count: Int

    init(count: Int) {
        let bytes = max(count * MemoryLayout<Element>.stride, 1)
        let raw = mmap(nil, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0)
        guard let raw, raw != MAP_FAILED else { Fatal.stop("cannot allocate the page table (\(bytes) bytes)") }
        pointer = raw.bindMemory(to: Element.self, capacity: count)
        self.count = count
    }

    @inline(__always) subscript(_ index: Int) -> Element {
        get { pointer[index] }
        nonmutating set { pointer[index] = newValue }
    }

    deinit { munmap(pointer, max(count * MemoryLayout<Element>.stride, 1)) }
}

/// What this rank knows of every page: its home, its local state, its cache slot, and
/// marks that keep write-notice lists free of duplicates without hashing.
struct PageTable: ~Copyable {
    let home: PageArray<Int32>
    private let rawState: PageArray<UInt8>
    /// Cache slot + 1 while the page is cached (its twin, when written, has the same index); 0 otherwise.
    private let slotPlusOne: PageArray<Int32>
    /// The barrier epoch in which the page last entered this rank's barrier notice list.
    let barrierMark: PageArray<UInt32>
    /// The interval (this rank's count) in which this rank last wrote the page, for
    /// adaptive write detection.
    let writtenInterval: PageArray<UInt32>
    /// For a home page: the barrier interval (this rank's count) in which a write to it was
    /// last noticed, for adaptive write detection of home pages.
    let writtenBarrier: PageArray<UInt32>
    /// How often this rank fetched the page since the last memory balance.
    let fetchCount: PageArray<UInt16>
    /// This rank's subscription to broadcasts of the page (`ReadBroadcast`): `subscribed`,
    /// plus the broadcasts that reached it unused since its last use.
    let subscription: PageArray<UInt8>
    static let subscribed: UInt8 = 0x80
    /// Snapshot reads: how many synchronizations a stale copy of the page may be used for
    /// (0: strict, the default), per page from its allocation.
    let snapshotAge: PageArray<UInt8>
    /// The engine's synchronization count when this rank's copy of the page went stale
    /// (0: the copy is current, or there is none).
    let staleSince: PageArray<UInt32>
    /// Allocated pages are 0..<allocatedPages: allocation is a collective bump pointer.
    var allocatedPages = 0

    init(pageCount: Int) {
        home = PageArray(count: pageCount)
        rawState = PageArray(count: pageCount)
        slotPlusOne = PageArray(count: pageCount)
        barrierMark = PageArray(count: pageCount)
        writtenInterval = PageArray(count: pageCount)
        writtenBarrier = PageArray(count: pageCount)
        fetchCount = PageArray(count: pageCount)
        subscription = PageArray(count: pageCount)
        snapshotAge = PageArray(count: pageCount)
        staleSince = PageArray(count: pageCount)
    }

    @inline(__always) func state(_ page: Int) -> PageState { PageState(rawValue: rawState[page])! }
    @inline(__always) func setState(_ page: Int, _ state: PageState) { rawState[page] = state.rawValue }

    @inline(__always) func slot(_ page: Int) -> Int? {
        let stored = slotPlusOne[page]
        return stored == 0 ? nil : Int(stored) - 1
    }

    @inline(__always) func setSlot(_ page: Int, _ slot: Int?) {
        slotPlusOne[page] = slot.map { Int32($0 + 1) } ?? 0
    }
}
