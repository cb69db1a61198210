import CPlatform
import Glibc

/// This rank's home pages: a memfd as large as the shared range (sparse: only home pages
/// ever get memory), mapped twice. The alias is always read-write and is what remote
/// gets, puts and the service thread touch; the same file pages are also mapped at their
/// global addresses, where the coherence protocol protects them.
final class HomeArena {
    let fd: Int32
    let alias: UnsafeMutableRawPointer
    let length: Int

    init(length: Int) {
        fd = cplatform_memfd("swiftdsm-homes")
        if fd < 0 { Fatal.stop("memfd_create failed: \(String(cString: strerror(cplatform_errno())))") }
        if ftruncate(fd, off_t(length)) != 0 {
            Fatal.stop("sizing the home arena to \(length) bytes failed: \(String(cString: strerror(errno)))")
        }
        guard let mapped = cplatform_map_shared(length, fd, 0) else {
            Fatal.stop("mapping the home arena alias failed: \(String(cString: strerror(cplatform_errno())))")
        }
        alias = mapped
        self.length = length
    }

    /// Maps home pages at their global addresses (arena offset = offset in the shared range).
    func mapHome(_ space: AddressSpace, firstPage: Int, count: Int, writable: Bool) {
        space.mapShared(firstPage: firstPage, count: count, writable ? .readWrite : .read, fd: fd,
                        fileOffset: firstPage << space.pageShift, populate: false)
    }

    func release() {
        munmap(alias, length)
        close(fd)
    }
}
