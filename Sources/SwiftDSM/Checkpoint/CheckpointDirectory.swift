import Crypto
import Foundation
import Glibc

/// The layout of checkpoints on disk: `DIR/checkpoint-000042/` per checkpoint, holding
/// `rank-R.part` for each rank, and on rank 0's file system `homes.bin` and, last,
/// `manifest.json`. On a node-local file system each host's directory holds the parts of
/// its own ranks; on a shared one, all of them.
struct CheckpointDirectory {
    let root: String

    static let prefix = "checkpoint-"
    static let manifestName = "manifest.json"
    static let homesName = "homes.bin"
    static func partName(rank: Int) -> String { "rank-\(rank).part" }

    func path(sequence: Int) -> String {
        let digits = String(sequence)
        return root + "/" + Self.prefix + String(repeating: "0", count: max(0, 6 - digits.count)) + digits
    }

    func path(sequence: Int, file: String) -> String { path(sequence: sequence) + "/" + file }

    /// The sequences of the checkpoint directories here, complete or not, newest first.
    func sequences() -> [Int] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []
        return names.compactMap { name -> Int? in
            guard name.hasPrefix(Self.prefix) else { return nil }
            return Int(name.dropFirst(Self.prefix.count))
        }.sorted(by: >)
    }

    /// Creates the root (and its parents) and the checkpoint's directory if missing.
    func create(sequence: Int) throws(CheckpointProblem) {
        do {
            try FileManager.default.createDirectory(atPath: path(sequence: sequence), withIntermediateDirectories: true)
        } catch {
            throw CheckpointProblem("cannot create the directory \(path(sequence: sequence)): "
                + "\((error as NSError).localizedDescription); check the checkpoint-dir setting")
        }
    }

    /// Removes what this rank wrote to a checkpoint, and the directory once it is empty.
    func remove(sequence: Int, rank: Int) {
        var names = [Self.partName(rank: rank), Self.partName(rank: rank) + ".tmp"]
        if rank == 0 { names += [Self.manifestName, Self.manifestName + ".tmp", Self.homesName, Self.homesName + ".tmp"] }
        for name in names { unlink(path(sequence: sequence, file: name)) }
        rmdir(path(sequence: sequence))
    }

    /// Writes `file` through a temporary name, `fsync`s it, renames it into place and
    /// `fsync`s the directory: after a crash it is either whole or absent.
    func write(sequence: Int, file: String, _ body: (inout CheckpointFileWriter) throws(CheckpointProblem) -> Void)
        throws(CheckpointProblem) -> CheckpointManifest.FileRecord {
        let final = path(sequence: sequence, file: file)
        var writer = try CheckpointFileWriter(path: final + ".tmp")
        try body(&writer)
        let record = try writer.finish(name: file)
        guard rename(final + ".tmp", final) == 0 else {
            throw CheckpointProblem("cannot rename \(final).tmp to \(final): \(errnoText(errno))")
        }
        Self.syncDirectory(path(sequence: sequence))
        return record
    }

    /// `fsync`s a directory, so that the names created in it survive a crash (best effort).
    static func syncDirectory(_ path: String) {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if fd >= 0 {
            fsync(fd)
            close(fd)
        }
    }
}

/// A file being written: every byte also goes into its SHA-256, so nothing is read twice.
struct CheckpointFileWriter {
    let path: String
    private let fd: Int32
    private var hasher = SHA256()
    private(set) var bytes = 0

    init(path: String) throws(CheckpointProblem) {
        self.path = path
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw CheckpointProblem("cannot create \(path): \(errnoText(errno))") }
    }

    mutating func append(_ buffer: UnsafeRawBufferPointer) throws(CheckpointProblem) {
        hasher.update(bufferPointer: buffer)
        let fd = self.fd
        if let reason = moveAll(buffer.count, { Glibc.write(fd, buffer.baseAddress! + $0, buffer.count - $0) }) {
            close(fd)
            throw CheckpointProblem("cannot write \(path): \(reason)")
        }
        bytes += buffer.count
    }

    mutating func append(_ values: [UInt8]) throws(CheckpointProblem) {
        let copy = values
        let pointer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(copy.count, 1), alignment: 8)
        defer { pointer.deallocate() }
        pointer.copyBytes(from: copy)
        try append(UnsafeRawBufferPointer(rebasing: pointer[0..<copy.count]))
    }

    /// `fsync`s and closes the file.
    func finish(name: String) throws(CheckpointProblem) -> CheckpointManifest.FileRecord {
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw CheckpointProblem("cannot fsync \(path): \(errnoText(errno))") }
        return CheckpointManifest.FileRecord(name: name, bytes: bytes, sha256: CheckpointManifest.hex(hasher.finalize()))
    }
}

/// Reads files of a checkpoint back, checking them against their records.
enum CheckpointFileReader {
    /// The whole file, if it is as `record` says.
    static func read(_ path: String, expecting record: CheckpointManifest.FileRecord? = nil) throws(CheckpointProblem) -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw CheckpointProblem("\(path) is missing or unreadable")
        }
        let bytes = [UInt8](data)
        if let record { try check(path, size: bytes.count, digest: SHA256.hash(data: bytes), record) }
        return bytes
    }

    /// Streams the file through SHA-256 (a part can be large) and compares size and digest.
    static func verify(_ path: String, _ record: CheckpointManifest.FileRecord) throws(CheckpointProblem) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw CheckpointProblem("\(path) is missing or unreadable: \(errnoText(errno))") }
        defer { close(fd) }
        var hasher = SHA256()
        let chunk = 1 << 20
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: chunk, alignment: 4096)
        defer { buffer.deallocate() }
        var size = 0
        while true {
            let count = Glibc.read(fd, buffer, chunk)
            if count < 0 && errno == EINTR { continue }
            guard count >= 0 else { throw CheckpointProblem("cannot read \(path): \(errnoText(errno))") }
            if count == 0 { break }
            hasher.update(bufferPointer: UnsafeRawBufferPointer(start: buffer, count: count))
            size += count
        }
        try check(path, size: size, digest: hasher.finalize(), record)
    }

    private static func check(_ path: String, size: Int, digest: SHA256.Digest,
                              _ record: CheckpointManifest.FileRecord) throws(CheckpointProblem) {
        guard size == record.bytes else {
            throw CheckpointProblem("\(path) has \(size) bytes; the manifest says \(record.bytes) (the file is "
                + (size < record.bytes ? "truncated)" : "longer than written)"))
        }
        guard CheckpointManifest.hex(digest) == record.sha256 else {
            throw CheckpointProblem("\(path) does not match its checksum in the manifest (the file was altered or damaged)")
        }
    }
}
