import CPlatform
import Glibc

/// This rank's home pages: one memfd as large as the shared range, sparse, at identity
/// offsets (page p lives at file offset p * pageSize), mapped twice. The global mapping
/// covers the whole shared range; home pages are only ever re-protected in it, and other
/// ranks' pages are mapped over it from the page cache while cached. The alias is always
/// read-write and is what other ranks touch: the RMA window, the shm transport's mapping,
/// the message path's reads and diffs. After the pages, the file holds the pages' read
/// notices (`ReadNotices`), which only the alias maps.
final class PageStore {
    let fd: Int32
    let alias: UnsafeMutableRawPointer
    /// Bytes of the file: the pages, then the read notices.
    let length: Int
    let readNotices: ReadNotices
    let pageShift: Int
    private var file: MemoryFile?

    init(space: AddressSpace) {
        let noticeBytes = ReadNotices.byteCount(pageCount: space.pageCount)
        length = space.capacity + (noticeBytes + space.pageSize - 1) / space.pageSize * space.pageSize
        pageShift = space.pageShift
        let file = MemoryFile(name: "swiftdsm-pages", length: length, what: "the page store")
        fd = file.fd
        alias = file.alias
        self.file = consume file
        readNotices = ReadNotices(storeBase: alias, offset: space.capacity, pageCount: space.pageCount)
        space.mapShared(firstPage: 0, count: space.pageCount, .none, fd: fd, fileOffset: 0, populate: false)
    }

    @inline(__always) func aliasAddress(ofPage page: Int) -> UnsafeMutableRawPointer { alias + (page << pageShift) }

    /// Puts the page store back at the global addresses of pages no longer cached, inaccessible.
    func restore(_ space: AddressSpace, firstPage: Int, count: Int) {
        space.mapShared(firstPage: firstPage, count: count, .none, fd: fd, fileOffset: firstPage << pageShift,
                        populate: false)
    }

    /// Maps the store at the global addresses of pages that became homed here.
    func mapHome(_ space: AddressSpace, firstPage: Int, count: Int, _ protection: Protection) {
        space.mapShared(firstPage: firstPage, count: count, protection, fd: fd, fileOffset: firstPage << pageShift,
                        populate: false)
    }

    /// Pages homed elsewhere from now on: inaccessible here, and their memory freed (best
    /// effort: a file system without hole punching keeps the bytes).
    func dropHome(_ space: AddressSpace, firstPage: Int, count: Int) {
        space.protect(firstPage: firstPage, count: count, .none)
        _ = cplatform_punch_hole(fd, Int64(firstPage << pageShift), Int64(count << pageShift))
    }

    /// Unmaps the alias and closes the file (at jia_exit; the global mapping goes with the space).
    func close() { file = nil }
}
