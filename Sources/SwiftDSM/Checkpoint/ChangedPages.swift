/// One mark per page of the shared range: written (by any rank) or moved here since the
/// last checkpoint. Set from the write notices every barrier gathers, which name every
/// page any rank wrote in the barrier interval, and from home migrations; the home pages
/// written without detection (open ones) are added by the engine at the checkpoint.
struct ChangedPages: ~Copyable {
    private let marks: PageArray<UInt8>

    init(pageCount: Int) { marks = PageArray(count: pageCount) }

    func mark(_ pages: [Int]) { for page in pages { marks[page] = 1 } }

    @inline(__always) func contains(_ page: Int) -> Bool { marks[page] != 0 }

    func clear(below limit: Int) { marks.pointer.update(repeating: 0, count: limit) }

}
