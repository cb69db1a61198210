/// Write notices a rank collects: for each lock it holds (nested, innermost last) the
/// pages written inside that critical section, and for the barrier interval every page
/// written since the last barrier.
struct NoticeStack {
    struct Frame {
        let lock: Int
        var pages: [Int] = []
    }

    private(set) var frames: [Frame] = []

    var heldLocks: [Int] { frames.map(\.lock) }
    var depth: Int { frames.count }
    func holds(_ lock: Int) -> Bool { frames.contains { $0.lock == lock } }
    var innermost: Int? { frames.last?.lock }

    /// Pages written in the interval just ended belong to the innermost critical section.
    mutating func record(_ pages: [Int]) {
        guard !pages.isEmpty, !frames.isEmpty else { return }
        frames[frames.count - 1].pages.append(contentsOf: pages)
    }

    mutating func push(lock: Int) { frames.append(Frame(lock: lock)) }

    /// Ends the innermost section: returns its pages, without duplicates, and hands them
    /// to the enclosing section too, whose release must also publish them.
    mutating func pop() -> [Int] {
        var pages = frames.removeLast().pages
        pages.sort()
        pages.removeDuplicatesFromSorted()
        if !frames.isEmpty { frames[frames.count - 1].pages.append(contentsOf: pages) }
        return pages
    }
}

/// The pages this rank wrote since the last barrier, each once (kept unique by an epoch
/// mark per page instead of a hash set: recording is on every release's path).
struct BarrierNotices {
    private(set) var pages: [Int] = []
    private(set) var epoch: UInt32 = 1

    mutating func record(_ written: [Int], marks: borrowing PageArray<UInt32>) {
        for page in written where marks[page] != epoch {
            marks[page] = epoch
            pages.append(page)
        }
    }

    mutating func startNextInterval(marks: borrowing PageArray<UInt32>) {
        pages.removeAll(keepingCapacity: true)
        epoch &+= 1
        if epoch == 0 {  // after 2^32 barriers: forget every mark, since 0 means "never recorded"
            marks.pointer.update(repeating: 0, count: marks.count)
            epoch = 1
        }
    }
}

extension Array where Element: Equatable {
    mutating func removeDuplicatesFromSorted() {
        guard count > 1 else { return }
        var kept = 1
        for index in 1..<count where self[index] != self[kept - 1] {
            self[kept] = self[index]
            kept += 1
        }
        removeLast(count - kept)
    }
}

/// Every rank's notices of one barrier, rank after rank: `HomeMigration.notice` values for
/// pages, negative ones for lock statistics (`LockMigration`), and broadcast subscriptions
/// (`ReadBroadcast`).
struct GatheredNotices {
    let values: [Int64]
    /// Rank r's notices are `values[offsets[r]..<offsets[r + 1]]`.
    private let offsets: [Int]

    init(counts: [Int], values: [Int64]) {
        var offsets = [Int](repeating: 0, count: counts.count + 1)
        for (rank, count) in counts.enumerated() { offsets[rank + 1] = offsets[rank] + count }
        self.init(offsets: offsets, values: values)
    }

    init(offsets: [Int], values: [Int64]) {
        precondition(offsets.first == 0 && offsets.last == values.count,
                     "SwiftDSM: notice offsets do not cover the notices")
        self.offsets = offsets
        self.values = values
    }

    func list(of rank: Int) -> ArraySlice<Int64> { values[offsets[rank]..<offsets[rank + 1]] }

    /// The pages the other ranks wrote.
    func pages(excluding rank: Int) -> [Int] {
        var pages: [Int] = []
        pages.reserveCapacity(values.count - list(of: rank).count)
        for other in 0..<(offsets.count - 1) where other != rank {
            for notice in list(of: other) where HomeMigration.isWriteNotice(notice) {
                pages.append(HomeMigration.page(notice))
            }
        }
        return pages
    }
}
