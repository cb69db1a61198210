import CPlatform

/// JIAJIA's read notices: at each home, one byte per page that every rank fetching a copy
/// of the page sets before it reads the data, so the home knows which of its pages have
/// copies elsewhere. A home page without copies needs no write detection: nobody holds a
/// copy its writes could make stale, so it stays writable and its writes need no notice.
///
/// The bytes live in the page store's file after the pages (so the shm, rma and message
/// paths reach them as they reach the pages), followed by one byte per chunk of 64 pages
/// set with them, so the home finds new copies without reading a byte per home page.
///
/// Order (Dekker): a fetcher sets the bytes, fences, then reads the page; the home fences
/// after its own writes, then reads the bytes. Either the fetcher sees the home's writes or
/// the home sees the notice.
struct ReadNotices {
    static let chunkShift = 6
    /// Start of the notices, relative to the start of the store's file.
    let offset: Int
    let pageCount: Int
    private let pages: UnsafeMutablePointer<UInt8>
    private let chunks: UnsafeMutablePointer<UInt8>

    /// Bytes the notices of `pageCount` pages take after the pages.
    static func byteCount(pageCount: Int) -> Int { pageCount + (pageCount >> chunkShift) + 1 }

    /// The notices of a store whose file is mapped at `storeBase`, with `offset` bytes of pages.
    init(storeBase: UnsafeMutableRawPointer, offset: Int, pageCount: Int) {
        self.offset = offset
        self.pageCount = pageCount
        pages = (storeBase + offset).assumingMemoryBound(to: UInt8.self)
        chunks = pages + pageCount
    }

    /// Offsets in the store file of page `page`'s byte and of its chunk's byte (for RMA puts).
    func pageByteOffset(_ page: Int) -> Int { offset + page }
    func chunkByteOffset(_ page: Int) -> Int { offset + pageCount + (page >> Self.chunkShift) }

    /// The fetcher's side: notes copies of `count` pages from `first`, then fences.
    func mark(first: Int, count: Int) {
        cplatform_set_flags(pages + first, count)
        let firstChunk = first >> Self.chunkShift
        cplatform_set_flags(chunks + firstChunk, ((first + count - 1) >> Self.chunkShift) - firstChunk + 1)
        cplatform_memory_fence()
    }

    func hasCopies(_ page: Int) -> Bool { cplatform_flag_is_set(pages + page) != 0 }

    /// Forgets the copies of `page` (every one was invalidated: its notice went out at a barrier).
    func clear(_ page: Int) { _ = cplatform_take_flag(pages + page) }

    /// Calls `body` with the first page of every chunk of `0..<pageLimit` that gained a copy
    /// since the last call, clearing the chunk's byte first (a copy made meanwhile sets it again).
    func forEachChunkWithNewCopies(below pageLimit: Int, _ body: (Int) -> Void) {
        let chunkCount = (pageLimit + (1 << Self.chunkShift) - 1) >> Self.chunkShift
        var chunk = 0
        while chunk < chunkCount {
            let span = min(64, chunkCount - chunk)
            if cplatform_any_flag(chunks + chunk, span) == 0 {
                chunk += span
                continue
            }
            for index in chunk..<(chunk + span) where cplatform_take_flag(chunks + index) != 0 {
                body(index << Self.chunkShift)
            }
            chunk += span
        }
    }
}
