import Glibc

/// A memory mapping this value owns: unmapped when the value ends (its owner's deinit, or
/// an optional owner set to nil), so it is unmapped exactly once.
struct Mapping: ~Copyable {
    let base: UnsafeMutableRawPointer
    let length: Int

    deinit { munmap(base, length) }
}

/// A file descriptor this value owns: closed when the value ends.
struct OwnedDescriptor: ~Copyable {
    let fd: Int32

    deinit { close(fd) }
}
