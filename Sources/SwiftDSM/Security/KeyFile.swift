import Crypto
import Glibc

/// The job's secret for the `security` setting: a file of 32 random bytes that only its
/// owner may read, the same on every host (as with munge's or SSH's keys). The key itself
/// never leaves the process: connections and page pushes use keys derived from it
/// (`JobKeys`), and peers prove they hold it without sending it.
public enum KeyFile {
    public static let length = 32

    public struct Problem: Error, CustomStringConvertible, Sendable {
        public let description: String
    }

    /// Reads and checks the key file at `path`.
    public static func read(_ path: String) throws(Problem) -> SymmetricKey {
        let fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else {
            throw Problem(description: "cannot open the key file \(path): \(errnoText(errno)); "
                + "create one with `dsm-keygen \(path)` and copy it to every host")
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0, info.st_mode & S_IFMT == S_IFREG else {
            throw Problem(description: "the key file \(path) is not a regular file")
        }
        guard info.st_uid == geteuid() else {
            throw Problem(description: "the key file \(path) belongs to user \(info.st_uid), not to the user running "
                + "this rank (\(geteuid())); each user keeps their own key")
        }
        let open = info.st_mode & 0o077
        guard open == 0 else {
            throw Problem(description: "the key file \(path) can be read or written by others (mode "
                + "\(String(info.st_mode & 0o777, radix: 8))); make it the owner's only: chmod 600 \(path)")
        }
        var bytes = [UInt8](repeating: 0, count: length + 1)
        let count = bytes.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress!, $0.count) }
        guard count == length else {
            throw Problem(description: "the key file \(path) holds \(count < 0 ? "unreadable" : "\(count)") bytes; "
                + "a SwiftDSM key is \(length) random bytes: create one with `dsm-keygen \(path)`")
        }
        defer { bytes.withUnsafeMutableBytes { _ = memset($0.baseAddress!, 0, $0.count) } }
        return SymmetricKey(data: bytes[0..<length])
    }

    /// Writes a new key to `path` (which must not exist), readable by its owner only.
    public static func create(_ path: String) throws(Problem) {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw Problem(description: "cannot create the key file \(path): \(errnoText(errno))"
                + (errno == EEXIST ? " (a key is never overwritten: remove the old file first)" : ""))
        }
        var bytes = [UInt8](repeating: 0, count: length)
        defer { bytes.withUnsafeMutableBytes { _ = memset($0.baseAddress!, 0, $0.count) } }
        var generator = SystemRandomNumberGenerator()  // getrandom(2)
        for index in bytes.indices { bytes[index] = generator.next() }
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress!, $0.count) }
        let synced = fsync(fd)
        close(fd)
        guard written == length, synced == 0 else {
            unlink(path)
            throw Problem(description: "cannot write the key file \(path): \(errnoText(errno))")
        }
    }
}
