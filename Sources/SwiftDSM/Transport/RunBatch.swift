import Glibc

/// Scattered byte runs headed for one home: where each run goes (a byte offset in the
/// shared range, which is also its offset in the home's arena) and the bytes, packed.
/// A diff of many pages becomes one batch per home, moved in one operation.
struct RunBatch {
    var offsets: [Int] = []
    var lengths: [Int32] = []
    var data: [UInt8] = []

    var isEmpty: Bool { offsets.isEmpty }
    var runCount: Int { offsets.count }

    mutating func append(offset: Int, bytes: UnsafeRawPointer, count: Int) {
        offsets.append(offset)
        lengths.append(Int32(count))
        data.append(contentsOf: UnsafeRawBufferPointer(start: bytes, count: count))
    }

    mutating func removeAll() {
        offsets.removeAll(keepingCapacity: true)
        lengths.removeAll(keepingCapacity: true)
        data.removeAll(keepingCapacity: true)
    }

    /// Writes every run into `base` (the start of the arena the offsets are relative to).
    func apply(to base: UnsafeMutableRawPointer) {
        data.withUnsafeBytes { packed in
            var position = 0
            for index in offsets.indices {
                let count = Int(lengths[index])
                memcpy(base + offsets[index], packed.baseAddress! + position, count)
                position += count
            }
        }
    }

    /// Wire form for the message path: run count, (offset, length) pairs, packed bytes.
    func encode(into writer: inout MessageWriter) {
        writer.append(runCount)
        for index in offsets.indices {
            writer.append(offsets[index])
            writer.append(Int(lengths[index]))
        }
        data.withUnsafeBytes { writer.append(contentsOf: $0) }
    }

    /// Applies a batch in wire form to `base` without building a `RunBatch`.
    static func applyEncoded(_ reader: inout MessageReader, to base: UnsafeMutableRawPointer) {
        let count = reader.int()
        var runs: [(offset: Int, length: Int)] = []
        runs.reserveCapacity(count)
        for _ in 0..<count { runs.append((reader.int(), reader.int())) }
        for run in runs {
            let source = reader.bytes(run.length)
            memcpy(base + run.offset, source.baseAddress!, run.length)
        }
    }
}
