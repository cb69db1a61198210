import Crypto
import Foundation

/// What makes a checkpoint complete: written by rank 0 last, after every rank's part is on
/// disk, and renamed into place. It names every file of the checkpoint with its size and
/// SHA-256, so a truncated, altered or missing file is found before anything is restored.
/// The file is JSON followed by a line `sha256 <hex>` of the JSON's bytes.
struct CheckpointManifest: Codable, Equatable {
    struct Allocation: Codable, Equatable {
        var size: Int
        var block: Int
        var startRank: Int
        /// Not freed when the checkpoint was taken (a freed one is restored empty).
        var live: Bool
    }

    /// One file of the checkpoint.
    struct FileRecord: Codable, Equatable {
        var name: String
        var bytes: Int
        var sha256: String
    }

    /// One rank's part: its home pages changed since `base` (all of them, zero pages left
    /// out, when `base` is nil) and the condition variables it manages that were set.
    struct Part: Codable, Equatable {
        var rank: Int
        var file: FileRecord
        var pages: Int
    }

    static let format = "swiftdsm-checkpoint"
    static let currentVersion = 1

    var format = CheckpointManifest.format
    var version = CheckpointManifest.currentVersion
    /// Orders checkpoints in one directory; also the subdirectory's name.
    var sequence: Int
    /// The program's tag (jia_checkpoint's argument).
    var tag: Int
    /// The checkpoint this one holds the changes since; nil for a full checkpoint.
    var base: Int?
    var ranks: Int
    var pageSize: Int
    var allocations: [Allocation]
    /// Every allocated page's home rank (Int32 each), written by rank 0.
    var homes: FileRecord
    var parts: [Part]
    /// Bytes of every part together (what this checkpoint wrote), and for a file home
    /// store the changed pages its files synced.
    var writtenBytes: Int
    /// `file:DIR` where the pages are kept in the home store files themselves (the parts
    /// hold their digests, the undo logs what changed since); nil: the parts hold them.
    var homeStore: String?

    var allocatedPages: Int { homes.bytes / 4 }

    /// The manifest's bytes, checksum line included.
    func encoded() -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let json = Array((try? encoder.encode(self)) ?? Data())
        return json + Array("\nsha256 \(Self.hex(SHA256.hash(data: json)))\n".utf8)
    }

    /// Reads a manifest; the error says what is wrong with it.
    static func decode(_ bytes: [UInt8]) throws(CheckpointProblem) -> CheckpointManifest {
        let line = Array("\nsha256 ".utf8)
        guard let marker = (0...max(bytes.count - line.count, 0)).reversed().first(where: {
            bytes.count >= line.count && bytes[$0..<($0 + line.count)].elementsEqual(line)
        }) else { throw CheckpointProblem("it has no checksum line") }
        let json = Array(bytes[..<marker])
        let written = String(decoding: bytes[(marker + line.count)...], as: UTF8.self)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        guard written == hex(SHA256.hash(data: json)) else {
            throw CheckpointProblem("its checksum does not match its contents (the file was altered or damaged)")
        }
        let manifest: CheckpointManifest
        do {
            manifest = try JSONDecoder().decode(CheckpointManifest.self, from: Data(json))
        } catch {
            throw CheckpointProblem("it cannot be read: \(error)")
        }
        guard manifest.format == format, manifest.version == currentVersion else {
            throw CheckpointProblem("it is format \(manifest.format) version \(manifest.version); this SwiftDSM "
                + "reads \(format) version \(currentVersion)")
        }
        guard manifest.parts.count == manifest.ranks,
              manifest.parts.enumerated().allSatisfy({ $0.offset == $0.element.rank }) else {
            throw CheckpointProblem("it lists \(manifest.parts.count) parts for \(manifest.ranks) ranks")
        }
        return manifest
    }

    static func hex<Digest: Sequence>(_ digest: Digest) -> String where Digest.Element == UInt8 {
        digest.map { byte in
            let text = String(byte, radix: 16)
            return byte < 16 ? "0" + text : text
        }.joined()
    }
}

/// Why a checkpoint, or one of its files, cannot be restored.
struct CheckpointProblem: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
