import CPlatform
import Glibc

/// The memory behind the shared range on this rank: one memfd as large as the range,
/// sparse, at identity offsets (page p lives at file offset p * pageSize), mapped twice.
/// The global mapping covers the whole shared range once and is only ever re-protected;
/// the alias is always read-write and is what MPI touches: the RMA window, fetches landing
/// here, remote diffs applied to home pages. Home pages and cached copies of other ranks'
/// pages share the file; only the coherence state tells them apart.
final class PageStore {
    let fd: Int32
    let alias: UnsafeMutableRawPointer
    let length: Int
    private let pageShift: Int

    init(space: AddressSpace) {
        length = space.capacity
        pageShift = space.pageShift
        fd = cplatform_memfd("swiftdsm-pages")
        if fd < 0 { Fatal.stop("memfd_create failed: \(String(cString: strerror(cplatform_errno())))") }
        if ftruncate(fd, off_t(length)) != 0 {
            Fatal.stop("sizing the page store to \(length) bytes failed: \(String(cString: strerror(errno)))")
        }
        guard let mapped = cplatform_map_shared(length, fd, 0) else {
            Fatal.stop("mapping the page store alias failed: \(String(cString: strerror(cplatform_errno())))")
        }
        alias = mapped
        space.mapShared(firstPage: 0, count: space.pageCount, .none, fd: fd, fileOffset: 0, populate: false)
    }

    @inline(__always) func aliasAddress(ofPage page: Int) -> UnsafeMutableRawPointer { alias + (page << pageShift) }

    /// Gives the memory of cached pages back to the system (their data is no longer needed).
    func discard(firstPage: Int, count: Int) {
        let code = cplatform_punch_hole(fd, Int64(firstPage << pageShift), Int64(count << pageShift))
        if code != 0 { Fatal.stop("releasing cached pages failed: \(String(cString: strerror(code)))") }
    }

    func release() {
        munmap(alias, length)
        close(fd)
    }
}
