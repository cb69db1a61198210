import CPlatform
import Glibc

/// Changes headed for one home, as runs of 64-bit words to XOR into the home's arena:
/// where each run goes (a byte offset in the shared range, which is also its offset in
/// the home's arena), its length in words, and the XOR deltas, packed.
///
/// XOR deltas are what make word-granular diffs safe with several writers: a byte this
/// rank did not change has a zero delta, so applying the run leaves whatever another
/// rank wrote there untouched, and deltas from different writers commute.
struct RunBatch {
    var offsets: [Int] = []
    var lengths: [Int32] = []
    var words: [UInt64] = []

    var isEmpty: Bool { offsets.isEmpty }
    var runCount: Int { offsets.count }
    var byteCount: Int { words.count * 8 }

    /// Starts a run at `offset`, or extends the last run if it ends exactly there.
    @inline(__always)
    mutating func startRun(at offset: Int) {
        if let last = offsets.last, last + Int(lengths[lengths.count - 1]) * 8 == offset { return }
        offsets.append(offset)
        lengths.append(0)
    }

    @inline(__always)
    mutating func appendWord(_ delta: UInt64) {
        words.append(delta)
        lengths[lengths.count - 1] += 1
    }

    mutating func removeAll() {
        offsets.removeAll(keepingCapacity: true)
        lengths.removeAll(keepingCapacity: true)
        words.removeAll(keepingCapacity: true)
    }

    /// XORs every run into `base` (the start of the arena the offsets are relative to),
    /// atomically where a word is shared with writes to its other bytes.
    func apply(to base: UnsafeMutableRawPointer) {
        words.withUnsafeBufferPointer { deltas in
            var position = 0
            for index in offsets.indices {
                let target = (base + offsets[index]).assumingMemoryBound(to: UInt64.self)
                cplatform_xor_words(target, deltas.baseAddress! + position, Int(lengths[index]))
                position += Int(lengths[index])
            }
        }
    }

    /// Wire form for the message path: run count, (offset, length) pairs, packed deltas.
    func encode(into writer: inout MessageWriter) {
        writer.append(runCount)
        for index in offsets.indices {
            writer.append(offsets[index])
            writer.append(Int(lengths[index]))
        }
        words.withUnsafeBytes { writer.append(contentsOf: $0) }
    }

    /// Applies a batch in wire form to `base` without building a `RunBatch`.
    static func applyEncoded(_ reader: inout MessageReader, to base: UnsafeMutableRawPointer) {
        let count = reader.int()
        var runs: [(offset: Int, length: Int)] = []
        runs.reserveCapacity(count)
        for _ in 0..<count { runs.append((reader.int(), reader.int())) }
        for run in runs {
            let deltas = reader.bytes(run.length * 8)
            cplatform_xor_words((base + run.offset).assumingMemoryBound(to: UInt64.self), deltas.baseAddress!,
                                run.length)
        }
    }
}
