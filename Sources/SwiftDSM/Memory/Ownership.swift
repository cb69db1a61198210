import CPlatform
import Glibc

/// A memory mapping this value owns: unmapped when the value ends (its owner's deinit, or
/// an optional owner set to nil), so it is unmapped exactly once.
struct Mapping: ~Copyable {
    let base: UnsafeMutableRawPointer
    let length: Int

    deinit { munmap(base, length) }
}

/// A memfd of `length` bytes with a read-write mapping of all of it (its alias), owned:
/// unmapped and closed when the value ends. The page store and the page cache are such files.
struct MemoryFile: ~Copyable {
    let fd: Int32
    let alias: UnsafeMutableRawPointer
    let length: Int

    /// Stops the job, naming `what`, if the file cannot be made or mapped.
    init(name: String, length: Int, what: String) {
        var fd: Int32 = -1
        systemCheck(cplatform_memfd(name, Int64(length), &fd), "creating \(what) (memfd of \(length) bytes)")
        var mapped: UnsafeMutableRawPointer? = nil
        systemCheck(cplatform_map_shared(length, fd, 0, &mapped), "mapping \(what) (mmap)")
        self.fd = fd
        self.alias = mapped!
        self.length = length
    }

    deinit {
        munmap(alias, length)
        close(fd)
    }
}
