import Glibc

/// One rank's file of a checkpoint, `rank-R.part`: a 64-byte header (magic, version,
/// rank, ranks, page size, sequence, tag, page count, condition count), the page numbers
/// (UInt64 each, ascending), the ids of the condition variables it manages that were set,
/// then the pages' contents in the same order. Pages are written straight from the home
/// store; nothing is packed. Where the home store is a file, which then holds the pages
/// itself, a part lists every home page with its digest (16 bytes) instead of contents.
enum CheckpointPart {
    static let magic: [UInt8] = Array("SDSMPART".utf8)
    static let version: UInt64 = 1
    static let headerBytes = 64

    struct Header: Equatable {
        var rank: Int
        var ranks: Int
        var pageSize: Int
        var sequence: Int
        var tag: Int
        var pageCount: Int
        var conditionCount: Int
        /// Digests of pages kept in a file home store, rather than the pages.
        var digests = false

        var words: [UInt64] {
            [UInt64(version) | UInt64(rank) << 32, UInt64(ranks) | UInt64(pageSize) << 32, UInt64(sequence),
             UInt64(bitPattern: Int64(tag)), UInt64(pageCount), UInt64(conditionCount), digests ? 1 : 0]
        }
    }

    /// Writes a file home store's part: every home page's number, then its digest.
    static func write(_ directory: CheckpointDirectory, header: Header, pages: [Int], conditions: [Int],
                      digests: (Int) -> PageDigests.Digest) throws(CheckpointProblem) -> CheckpointManifest.FileRecord {
        try directory.write(sequence: header.sequence, file: partName(header.rank)) { file throws(CheckpointProblem) in
            var bytes = head(header, pages: pages, conditions: conditions)
            bytes.reserveCapacity(bytes.count + pages.count * 16)
            for page in pages {
                let digest = digests(page)
                bytes += LittleEndian.bytes(of: digest.0) + LittleEndian.bytes(of: digest.1)
            }
            try file.append(bytes)
        }
    }

    /// Writes the part; `contents(page)` is where a page's bytes are (its home store address).
    static func write(_ directory: CheckpointDirectory, header: Header, pages: [Int], conditions: [Int],
                      contents: (Int) -> UnsafeRawPointer) throws(CheckpointProblem) -> CheckpointManifest.FileRecord {
        try directory.write(sequence: header.sequence, file: partName(header.rank)) { file throws(CheckpointProblem) in
            try file.append(head(header, pages: pages, conditions: conditions))
            var index = 0
            while index < pages.count {
                // A run of consecutive pages is contiguous in the store: one write.
                var count = 1
                while index + count < pages.count, count < 256, pages[index + count] == pages[index] + count { count += 1 }
                try file.append(UnsafeRawBufferPointer(start: contents(pages[index]), count: count * header.pageSize))
                index += count
            }
        }
    }

    private static func partName(_ rank: Int) -> String { CheckpointDirectory.partName(rank: rank) }

    /// Everything before the pages (or digests): magic, header, page numbers, condition ids.
    private static func head(_ header: Header, pages: [Int], conditions: [Int]) -> [UInt8] {
        var bytes = magic
        for word in header.words { bytes += LittleEndian.bytes(of: word) }
        for page in pages { bytes += LittleEndian.bytes(of: UInt64(page)) }
        for condition in conditions { bytes += LittleEndian.bytes(of: UInt64(condition)) }
        return bytes
    }

    private static func word(_ bytes: [UInt8], at offset: Int) -> UInt64 { LittleEndian.word(bytes, at: offset) }

    /// A part opened for restoring (after its checksum was verified): its page list, and
    /// reads of page contents at their offsets.
    final class Reader {
        let path: String
        let header: Header
        let pages: [Int]
        let conditions: [Int]
        private let fd: Int32
        private let dataOffset: Int

        /// Opens `path` if its header says what `expected` says; the condition count is taken
        /// from the file (the manifest does not record it; the file's checksum covers it).
        init(path: String, expecting expected: Header) throws(CheckpointProblem) {
            self.path = path
            let fd = open(path, O_RDONLY | O_CLOEXEC)
            self.fd = fd
            guard fd >= 0 else { throw CheckpointProblem("\(path) is missing or unreadable: \(errnoText(errno))") }
            var fixed = [UInt8](repeating: 0, count: CheckpointPart.headerBytes)
            let got = fixed.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
            guard got == CheckpointPart.headerBytes, Array(fixed[0..<8]) == CheckpointPart.magic else {
                close(fd)
                throw CheckpointProblem("\(path) is not a SwiftDSM checkpoint part")
            }
            let first = CheckpointPart.word(fixed, at: 8)
            let second = CheckpointPart.word(fixed, at: 16)
            let found = Header(rank: Int(first >> 32), ranks: Int(second & 0xFFFF_FFFF), pageSize: Int(second >> 32),
                               sequence: Int(CheckpointPart.word(fixed, at: 24)),
                               tag: Int(Int64(bitPattern: CheckpointPart.word(fixed, at: 32))),
                               pageCount: Int(CheckpointPart.word(fixed, at: 40)),
                               conditionCount: Int(CheckpointPart.word(fixed, at: 48)),
                               digests: CheckpointPart.word(fixed, at: 56) == 1)
            guard first & 0xFFFF_FFFF == CheckpointPart.version,
                  found.rank == expected.rank, found.ranks == expected.ranks, found.pageSize == expected.pageSize,
                  found.sequence == expected.sequence, found.tag == expected.tag,
                  found.pageCount == expected.pageCount, found.digests == expected.digests else {
                close(fd)
                throw CheckpointProblem("\(path) describes another checkpoint than its manifest (rank \(found.rank) "
                    + "of \(found.ranks), sequence \(found.sequence), tag \(found.tag), \(found.pageCount) pages)")
            }
            header = found
            let listBytes = (found.pageCount + found.conditionCount) * 8
            var lists = [UInt8](repeating: 0, count: listBytes)
            let listed = lists.withUnsafeMutableBytes { pread(fd, $0.baseAddress, listBytes, off_t(CheckpointPart.headerBytes)) }
            guard listed == listBytes else {
                close(fd)
                throw CheckpointProblem("\(path) is truncated in its page list")
            }
            pages = (0..<found.pageCount).map { Int(CheckpointPart.word(lists, at: $0 * 8)) }
            conditions = (0..<found.conditionCount).map { Int(CheckpointPart.word(lists, at: (found.pageCount + $0) * 8)) }
            dataOffset = CheckpointPart.headerBytes + listBytes
        }

        /// Reads `count` pages starting at entry `index` of `pages` into `destination`.
        func read(entry index: Int, count: Int, into destination: UnsafeMutableRawPointer) throws(CheckpointProblem) {
            let length = count * header.pageSize, start = dataOffset + index * header.pageSize
            if let reason = moveAll(length, { pread(fd, destination + $0, length - $0, off_t(start + $0)) }) {
                throw CheckpointProblem("cannot read pages from \(path): \(reason)")
            }
        }

        /// A file home store's part: each listed page's digest, in list order.
        func digests() throws(CheckpointProblem) -> [PageDigests.Digest] {
            let length = pages.count * 16
            var bytes = [UInt8](repeating: 0, count: length)
            let got = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress, length, off_t(dataOffset)) }
            guard got == length else { throw CheckpointProblem("\(path) is truncated in its page digests") }
            return (0..<pages.count).map {
                (CheckpointPart.word(bytes, at: $0 * 16), CheckpointPart.word(bytes, at: $0 * 16 + 8))
            }
        }

        deinit { close(fd) }
    }
}
