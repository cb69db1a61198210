import CPlatform
import Glibc

/// A memory mapping this value owns: unmapped when the value ends (its owner's deinit, or
/// an optional owner set to nil), so it is unmapped exactly once.
struct Mapping: ~Copyable {
    let base: UnsafeMutableRawPointer
    let length: Int

    deinit { munmap(base, length) }
}

/// A memfd (or a regular file) of `length` bytes with a read-write mapping of all of it (its
/// alias), owned: unmapped and closed when the value ends. The page store and the page
/// cache are such files.
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

    /// The regular file at `path`, created if missing and sized to `length` (its old contents
    /// dropped if `fresh`), locked so that no second process maps it at the same time.
    init(path: String, length: Int, fresh: Bool) throws(SystemCallError) {
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw SystemCallError(call: "opening \(path)", code: errno) }
        func fail(_ call: String) -> SystemCallError {
            let code = errno
            Glibc.close(fd)
            return SystemCallError(call: call, code: code)
        }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            throw fail("locking \(path) (another process holds it: each rank of a running job needs its own file)")
        }
        if fresh && ftruncate(fd, 0) != 0 { throw fail("emptying \(path)") }
        guard ftruncate(fd, off_t(length)) == 0 else { throw fail("sizing \(path) to \(length) bytes") }
        var mapped: UnsafeMutableRawPointer? = nil
        let code = cplatform_map_shared(length, fd, 0, &mapped)
        if code != 0 {
            Glibc.close(fd)
            throw SystemCallError(call: "mapping \(path) (mmap)", code: code)
        }
        self.fd = fd
        self.alias = mapped!
        self.length = length
    }

    deinit {
        munmap(alias, length)
        close(fd)
    }
}
