import Synchronization

/// JIAJIA's write vectors (WVEC), kept by a home whose pages are served by its own service
/// thread (the message paths): which of the 64 blocks of each home page changed after a
/// version this home handed out, so a refetch of a stale copy moves only the blocks that
/// changed since the copy was made, and nothing after a notice for a page left unchanged.
///
/// A version is this home's clock, stepped by every recorded change. Each page keeps its
/// last few changes as (version, block mask); older ones merge, which only widens masks, so
/// a reply never skips a changed block. What the home writes itself is not detected word
/// by word: while a home page is writable it counts as changed everywhere, and when it is
/// protected again the whole page is recorded as changed. A page arriving by migration
/// starts with a change covering it all, so versions handed out before it came (by any
/// home) never skip a block; the other ranks forget their versions of moved pages anyway.
///
/// Used by the home's application thread (its own writes) and its service thread (diffs,
/// refetches), hence the mutex; the application thread takes it once per home write fault
/// and once per interval end.
final class WriteVectors: Sendable {
    static let blockShift = 6
    static let everyBlock = UInt64.max

    private struct History {
        static let depth = 4
        var versions = SIMD4<UInt64>()
        var masks = SIMD4<UInt64>()
        var count = 0

        /// The blocks changed after `version`.
        func changes(since version: UInt64) -> UInt64 {
            var mask: UInt64 = 0
            for index in 0..<count where versions[index] > version { mask |= masks[index] }
            return mask
        }

        mutating func record(_ mask: UInt64, at version: UInt64) {
            if mask == WriteVectors.everyBlock {
                self = History()
            } else if count > 0 && versions[count - 1] == version {
                masks[count - 1] |= mask
                return
            } else if count == Self.depth {  // merge the two oldest into one: masks only widen
                masks[1] |= masks[0]
                for index in 0..<(Self.depth - 1) {
                    versions[index] = versions[index + 1]
                    masks[index] = masks[index + 1]
                }
                count -= 1
            }
            versions[count] = version
            masks[count] = mask
            count += 1
        }
    }

    private struct State {
        /// Starts at 1: version 0 means "a copy of unknown age", which always gets every block.
        var clock: UInt64 = 1
        var histories: [Int: History] = [:]
        /// One bit per home page the home may be writing now without detection.
        var writable: [UInt64]

        func isWritable(_ page: Int) -> Bool { writable[page >> 6] & (1 << UInt64(page & 63)) != 0 }
        mutating func setWritable(_ page: Int, _ on: Bool) {
            if on { writable[page >> 6] |= 1 << UInt64(page & 63) } else { writable[page >> 6] &= ~(1 << UInt64(page & 63)) }
        }
    }

    private let state: Mutex<State>
    let pageShift: Int

    init(pageCount: Int, pageShift: Int) {
        precondition(pageShift >= Self.blockShift + 3, "write vectors need pages of at least 512 bytes")
        self.pageShift = pageShift
        state = Mutex(State(writable: [UInt64](repeating: 0, count: (pageCount + 63) / 64)))
    }

    // MARK: the home's own writes (application thread)

    /// Home pages about to become writable: until they are protected again, every refetch
    /// gets them whole. Call before the protection change.
    func homeMayWrite(first: Int, count: Int) {
        state.withLock { state in
            for page in first..<(first + count) { state.setWritable(page, true) }
        }
    }

    /// Home pages whose writes were noticed at an interval end, with the blocks changed (all
    /// of them where no twin tells). `protected`: the pages among them write-protected again
    /// (call after the protection change); until then a refetch got them whole.
    func homeWritesNoticed(_ changes: [(page: Int, mask: UInt64)], protected: [Int]) {
        guard !changes.isEmpty else { return }
        state.withLock { state in
            state.clock += 1
            let version = state.clock
            for change in changes { state.histories[change.page, default: History()].record(change.mask, at: version) }
            for page in protected { state.setWritable(page, false) }
        }
    }

    // MARK: migration

    /// A page that became homed here, `writable` if it starts open.
    func arrived(_ page: Int, writable: Bool) {
        state.withLock { state in
            state.clock += 1
            state.histories[page, default: History()].record(Self.everyBlock, at: state.clock)
            state.setWritable(page, writable)
        }
    }

    func departed(_ page: Int) {
        state.withLock { state in
            state.histories[page] = nil
            state.setWritable(page, false)
        }
    }

    // MARK: the service thread: diffs and refetches

    /// Records the runs of one diff batch, (byte offset, byte length) each, as one change.
    func recordDiff(_ runs: [(offset: Int, length: Int)]) {
        guard !runs.isEmpty else { return }
        let blockShift = pageShift - Self.blockShift
        let pageMask = (1 << pageShift) - 1
        state.withLock { state in
            state.clock += 1
            let version = state.clock
            for run in runs where run.length > 0 {
                var offset = run.offset
                let end = run.offset + run.length
                while offset < end {
                    let page = offset >> pageShift
                    let pageEnd = min(end, (page + 1) << pageShift)
                    let firstBlock = (offset & pageMask) >> blockShift
                    let lastBlock = ((pageEnd - 1) & pageMask) >> blockShift
                    let width = lastBlock - firstBlock + 1
                    let mask = width == 64 ? Self.everyBlock : ((1 << UInt64(width)) - 1) << UInt64(firstBlock)
                    state.histories[page, default: History()].record(mask, at: version)
                    offset = pageEnd
                }
            }
        }
    }

    /// For a refetch of `versions.count` pages from `first`: the block mask each must move,
    /// and the version the copies will then have.
    func changes(first: Int, versions: UnsafeBufferPointer<UInt64>, into masks: UnsafeMutableBufferPointer<UInt64>)
        -> UInt64 {
        state.withLock { state in
            for index in 0..<versions.count {
                let page = first + index
                let version = versions[index]
                if version == 0 || state.isWritable(page) {
                    masks[index] = Self.everyBlock
                } else {
                    masks[index] = state.histories[page]?.changes(since: version) ?? 0
                }
            }
            return state.clock
        }
    }

    /// Calls `body` with (first block, block count) for each run of set bits of `mask`,
    /// lowest first: each run is one copy on both sides of a refetch.
    static func forEachRun(of mask: UInt64, _ body: (Int, Int) -> Void) {
        var mask = mask
        while mask != 0 {
            let first = mask.trailingZeroBitCount
            let width = (~(mask >> UInt64(first))).trailingZeroBitCount
            body(first, width)
            mask = first + width == 64 ? 0 : mask & ~(((1 << UInt64(width)) - 1) << UInt64(first))
        }
    }
}
