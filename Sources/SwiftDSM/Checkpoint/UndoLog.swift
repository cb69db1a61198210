import Glibc
import Synchronization

/// Where the home store is a file (`home-store: file:DIR`), that file is the checkpoint:
/// a checkpoint `fsync`s it, and from then on every home page keeps its checkpointed
/// contents here before its first change, so that a restart can roll the file back. One
/// log per checkpoint and rank, `DIR/rank-R.undo-NNNNNN`, holding the pages changed since
/// checkpoint NNNNNN; a restart to checkpoint K applies the logs of K and every later one,
/// newest first.
///
/// A page is logged once per checkpoint interval, before its first change: the home's own
/// write fault, a diff the service thread applies, a home arriving or leaving, a free. The
/// record is written with `pwrite` before the change is made, so a killed process loses
/// nothing (the kernel's page cache holds it); a record cut short by the crash is the
/// log's last and is skipped, since the change it came before never happened. A host that
/// loses power may lose records: the checkpoint's page digests then find the damage, and
/// the checkpoint is refused rather than restored wrong. Runs inside the fault handler:
/// no allocation, only `pwrite` under a mutex the handler cannot already hold.
final class UndoLog {
    static let magic: [UInt8] = Array("SDSMUNDO".utf8)
    static let version: UInt64 = 1
    static let headerBytes = 64
    /// A record's head: the page number and the checksum of number and contents.
    static let recordHeadBytes = 16

    let directory: String
    let rank: Int
    private let pageShift: Int
    private let pageCount: Int
    /// The home store's alias, where the contents to keep are read.
    private let alias: UnsafeMutableRawPointer
    /// One mark per page: logged in the current interval.
    private let logged: PageArray<UInt8>
    private let interval = Mutex(Interval())

    private struct Interval {
        var fd: Int32 = -1
        var end = 0
        var sequence = 0
    }

    init(directory: String, rank: Int, store: PageStore, pageCount: Int) {
        self.directory = directory
        self.rank = rank
        pageShift = store.pageShift
        self.pageCount = pageCount
        alias = store.alias
        logged = PageArray(count: pageCount)
    }

    deinit { close() }

    static func name(rank: Int, sequence: Int) -> String {
        let digits = String(sequence)
        return "rank-\(rank).undo-" + String(repeating: "0", count: max(0, 6 - digits.count)) + digits
    }

    func path(sequence: Int) -> String { directory + "/" + Self.name(rank: rank, sequence: sequence) }

    /// Whether changes are being logged (from the first checkpoint, or a restart from one, on).
    var isLogging: Bool { interval.withLock { $0.fd >= 0 } }

    /// Bytes logged in this interval so far (records only).
    var loggedBytes: Int { interval.withLock { $0.fd >= 0 ? $0.end - Self.headerBytes : 0 } }

    /// Whether `page` changed (was logged) since the interval began.
    @inline(__always) func changed(_ page: Int) -> Bool { logged[page] != 0 }

    /// Starts the interval after checkpoint `sequence`: a new, empty log, on disk before any
    /// page changes. The store must hold exactly the checkpoint (written and synced).
    func begin(sequence: Int) throws(CheckpointProblem) {
        let path = path(sequence: sequence)
        let fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw CheckpointProblem("cannot create the undo log \(path): \(errnoText(errno))") }
        var head = Self.magic
        for word in [Self.version | UInt64(rank) << 32, UInt64(pageShift), UInt64(sequence)] {
            head += LittleEndian.bytes(of: word)
        }
        head += [UInt8](repeating: 0, count: Self.headerBytes - head.count)
        let written = head.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
        guard written == Self.headerBytes, fsync(fd) == 0 else {
            let reason = errnoText(errno)
            Glibc.close(fd)
            throw CheckpointProblem("cannot write the undo log \(path): \(reason)")
        }
        CheckpointDirectory.syncDirectory(directory)
        logged.pointer.update(repeating: 0, count: pageCount)
        interval.withLock { current in
            if current.fd >= 0 { Glibc.close(current.fd) }
            current = Interval(fd: fd, end: Self.headerBytes, sequence: sequence)
        }
    }

    /// Keeps the contents of pages `first..<first + count` before they change, unless kept
    /// in this interval already. Stops the job if the log cannot be written: a change it
    /// does not hold could never be undone.
    func willChange(first: Int, count: Int) {
        interval.withLock { current in
            guard current.fd >= 0 else { return }
            var page = first
            while page < first + count {
                defer { page += 1 }
                if logged[page] != 0 { continue }
                let contents = UnsafeRawPointer(alias + (page << pageShift))
                var head: (UInt64, UInt64) = (UInt64(page).littleEndian,
                                              Self.checksum(page: page, contents, 1 << pageShift).littleEndian)
                let headOK = withUnsafeBytes(of: &head) { Self.writeAll(current.fd, $0.baseAddress!, $0.count, at: current.end) }
                let bodyOK = headOK && Self.writeAll(current.fd, contents, 1 << pageShift, at: current.end + Self.recordHeadBytes)
                guard bodyOK else {
                    Fatal.stop("cannot write the undo log \(path(sequence: current.sequence)): \(errnoText(errno)); "
                        + "the home store's changes since checkpoint \(current.sequence) could not be undone; "
                        + "give the home-store directory room")
                }
                current.end += Self.recordHeadBytes + (1 << pageShift)
                logged[page] = 1
            }
        }
    }

    /// Puts back the kept contents of the pages in `pages` that changed in this interval
    /// (a restart: the program's writes to allocations that were freed at the checkpoint
    /// may have landed on pages a later allocation restores).
    func putBack(_ pages: Range<Int>) {
        interval.withLock { current in
            guard current.fd >= 0 else { return }
            let record = Self.recordHeadBytes + (1 << pageShift)
            let buffer = UnsafeMutableRawPointer.allocate(byteCount: record, alignment: 8)
            defer { buffer.deallocate() }
            var offset = Self.headerBytes
            while offset < current.end, Self.readAll(current.fd, buffer, record, at: offset) {
                let page = Int(UInt64(littleEndian: buffer.load(as: UInt64.self)))
                if pages.contains(page) { memcpy(alias + (page << pageShift), buffer + Self.recordHeadBytes, 1 << pageShift) }
                offset += record
            }
        }
    }

    /// Stops logging (at jia_exit).
    func close() { interval.withLock { if $0.fd >= 0 { Glibc.close($0.fd); $0.fd = -1 } } }

    // MARK: restart

    /// The sequences of this rank's logs in the directory, newest first.
    func sequences() -> [Int] {
        let prefix = "rank-\(rank).undo-"
        guard let entries = opendir(directory) else { return [] }
        defer { closedir(entries) }
        var found: [Int] = []
        while let entry = readdir(entries) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name.hasPrefix(prefix), let sequence = Int(name.dropFirst(prefix.count)) { found.append(sequence) }
        }
        return found.sorted(by: >)
    }

    /// Rolls the home store back to checkpoint `sequence`: applies its log and every later
    /// one, newest first. Logging must be off.
    func rollBack(to sequence: Int) throws(CheckpointProblem) {
        let logs = sequences().filter { $0 >= sequence }
        guard logs.last == sequence else {
            throw CheckpointProblem("\(path(sequence: sequence)) is missing: the home store's changes since "
                + "checkpoint \(sequence) cannot be undone")
        }
        for log in logs { try apply(path(sequence: log), sequence: log) }
    }

    /// Removes the logs of `sequence`s (checkpoints removed, or abandoned by a restart).
    func remove(_ sequences: [Int]) {
        for sequence in sequences { unlink(path(sequence: sequence)) }
    }

    private func apply(_ path: String, sequence: Int) throws(CheckpointProblem) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw CheckpointProblem("cannot open the undo log \(path): \(errnoText(errno))") }
        defer { Glibc.close(fd) }
        var status = stat()
        guard fstat(fd, &status) == 0 else { throw CheckpointProblem("cannot read \(path): \(errnoText(errno))") }
        let size = Int(status.st_size)
        var head = [UInt8](repeating: 0, count: Self.headerBytes)
        let got = head.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
        guard got == Self.headerBytes, Array(head[0..<8]) == Self.magic,
              LittleEndian.word(head, at: 8) == Self.version | UInt64(rank) << 32,
              LittleEndian.word(head, at: 16) == UInt64(pageShift), LittleEndian.word(head, at: 24) == UInt64(sequence) else {
            throw CheckpointProblem("\(path) is not rank \(rank)'s undo log of checkpoint \(sequence) with pages of "
                + "\(1 << pageShift) bytes")
        }
        let record = Self.recordHeadBytes + (1 << pageShift)
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: record, alignment: 8)
        defer { buffer.deallocate() }
        var offset = Self.headerBytes
        while offset < size {
            let last = offset + record >= size
            guard Self.readAll(fd, buffer, record, at: offset) else {
                if last { break }  // cut short by the crash: its change never happened
                throw CheckpointProblem("cannot read \(path) at offset \(offset): \(errnoText(errno))")
            }
            let page = Int(UInt64(littleEndian: buffer.load(as: UInt64.self)))
            let sum = UInt64(littleEndian: buffer.load(fromByteOffset: 8, as: UInt64.self))
            let contents = buffer + Self.recordHeadBytes
            guard page >= 0, page < pageCount, sum == Self.checksum(page: page, contents, 1 << pageShift) else {
                if last { break }
                throw CheckpointProblem("\(path) is damaged: its record at offset \(offset) fails its checksum")
            }
            memcpy(alias + (page << pageShift), contents, 1 << pageShift)
            offset += record
        }
    }

    // MARK: bytes

    /// A checksum of a record (not a defence against tampering: the checkpoint's digests are).
    static func checksum(page: Int, _ contents: UnsafeRawPointer, _ bytes: Int) -> UInt64 {
        var hash: UInt64 = 0x9E37_79B9_7F4A_7C15 ^ UInt64(page)
        var offset = 0
        while offset < bytes {
            hash = (hash ^ contents.loadUnaligned(fromByteOffset: offset, as: UInt64.self)) &* 0x0000_0100_0000_01B3
            hash ^= hash >> 31
            offset += 8
        }
        return hash
    }

    private static func writeAll(_ fd: Int32, _ source: UnsafeRawPointer, _ count: Int, at offset: Int) -> Bool {
        moveAll(count) { pwrite(fd, source + $0, count - $0, off_t(offset + $0)) } == nil
    }

    private static func readAll(_ fd: Int32, _ destination: UnsafeMutableRawPointer, _ count: Int, at offset: Int) -> Bool {
        moveAll(count) { pread(fd, destination + $0, count - $0, off_t(offset + $0)) } == nil
    }
}
