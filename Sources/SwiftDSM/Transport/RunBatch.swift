import CPlatform
import Glibc

/// Runs of 64-bit words headed for one home: where each run goes (a byte offset in the
/// shared range, which is also its offset in the home's page store), its length in words, and
/// the words, packed.
struct WordRuns {
    var offsets: [Int] = []
    var lengths: [Int32] = []
    var words: [UInt64] = []

    var isEmpty: Bool { offsets.isEmpty }
    var runCount: Int { offsets.count }

    /// Appends a word at `offset`, extending the last run if it ends exactly there.
    @inline(__always)
    mutating func append(_ word: UInt64, at offset: Int) {
        let last = offsets.count - 1  // indices, not `.last`: unspecialized (debug) code allocates there
        if last >= 0, offsets[last] + Int(lengths[last]) &* 8 == offset {
            lengths[last] += 1
        } else {
            offsets.append(offset)
            lengths.append(1)
        }
        words.append(word)
    }

    mutating func reserveCapacity(words wordCount: Int, runs: Int) {
        offsets.reserveCapacity(runs)
        lengths.reserveCapacity(runs)
        words.reserveCapacity(wordCount)
    }

    mutating func removeAll() {
        offsets.removeAll(keepingCapacity: true)
        lengths.removeAll(keepingCapacity: true)
        words.removeAll(keepingCapacity: true)
    }

    /// The wire form's head: the run count and each run's offset and length (the words follow).
    func encodeRuns(into writer: inout MessageWriter) {
        writer.append(runCount)
        for index in offsets.indices {
            writer.append(offsets[index])
            writer.append(Int(lengths[index]))
        }
    }

    /// Reads runs in wire form, each within `0..<limit` bytes and word-aligned, and hands
    /// each (offset, word count, words) to `body`. Every run is checked before the first is
    /// handed on, so a malformed batch applies nothing.
    static func decode(_ reader: inout MessageReader, limit: Int,
                       _ body: (Int, Int, UnsafeRawPointer) -> Void) throws(MalformedMessage) {
        let count = try reader.count(itemBytes: 16, "run count")
        var runs: [(offset: Int, length: Int)] = []
        runs.reserveCapacity(count)
        for _ in 0..<count {
            let offset = try reader.int(in: 0..<limit, "run offset")
            let length = try reader.int(in: 0..<(reader.remaining / 8 + 1), "run length")
            guard offset % 8 == 0 else { throw MalformedMessage(reason: "run at byte \(offset) is not word-aligned") }
            guard offset + length * 8 <= limit else {
                throw MalformedMessage(reason: "run of \(length) words at byte \(offset) leaves the \(limit)-byte page store")
            }
            runs.append((offset, length))
        }
        var values: [UnsafeRawPointer] = []
        values.reserveCapacity(count)
        for run in runs { values.append(try reader.bytes(run.length * 8).baseAddress ?? UnsafeRawPointer(bitPattern: 8)!) }
        for (run, value) in zip(runs, values) { body(run.offset, run.length, value) }
    }
}

/// One page diff batch for one home, split by what is safe to write how:
///
/// - `whole`: words every byte of which this rank changed, with their new values. No other
///   rank (nor the home) may write any byte of them in this interval, so they are stored as
///   they are: plain stores, or one-sided puts.
/// - `partial`: words only some bytes of which this rank changed, as XOR deltas (zero on the
///   bytes it did not change). Other bytes of such a word may be written concurrently by
///   another rank or by the home itself, so they are applied with atomic XORs by a thread
///   of the home's process, never by a remote read-modify-write.
struct RunBatch {
    var whole = WordRuns()
    var partial = WordRuns()

    var isEmpty: Bool { whole.isEmpty && partial.isEmpty }
    var runCount: Int { whole.runCount + partial.runCount }
    var byteCount: Int { (whole.words.count + partial.words.count) * 8 }

    mutating func removeAll() {
        whole.removeAll()
        partial.removeAll()
    }

    /// Room for `words` changed words in `runs` runs in each of the two lists.
    mutating func reserveCapacity(words: Int, runs: Int) {
        whole.reserveCapacity(words: words, runs: runs)
        partial.reserveCapacity(words: words, runs: runs)
    }

    /// The partially changed words alone: what the one-sided paths send to the home's
    /// service thread.
    var partialOnly: RunBatch {
        var batch = RunBatch()
        batch.partial = partial
        return batch
    }

    /// Writes the batch into `base` (the start of the page store alias the offsets are relative to).
    func apply(to base: UnsafeMutableRawPointer) {
        whole.words.withUnsafeBytes { values in
            var position = 0
            for index in whole.offsets.indices {
                let bytes = Int(whole.lengths[index]) * 8
                memcpy(base + whole.offsets[index], values.baseAddress! + position, bytes)
                position += bytes
            }
        }
        partial.words.withUnsafeBufferPointer { deltas in
            var position = 0
            for index in partial.offsets.indices {
                cplatform_xor_words((base + partial.offsets[index]).assumingMemoryBound(to: UInt64.self),
                                    deltas.baseAddress! + position, Int(partial.lengths[index]))
                position += Int(partial.lengths[index])
            }
        }
    }

    /// The wire form (the whole runs, then the partial runs, each a count, the runs' offsets
    /// and lengths, then their words) as a request of `kind` in four parts (the run heads built here, the
    /// words sent from where they are), for a channel that gathers parts without packing.
    func withWireParts<T>(kind: RequestKind, _ body: ([UnsafeRawBufferPointer]) -> T) -> T {
        var wire = WireParts()
        return wire.encode(self, kind: kind, body)
    }

    /// Applies a batch in wire form to the `limit`-byte page store alias at `base` without building a
    /// `RunBatch`, handing each run's (byte offset, byte length) to `applied`. Nothing is
    /// applied unless the whole batch is well formed; `willChange` hears of each run just
    /// before it is applied (an undo log saves the page as it was).
    static func applyEncoded(_ reader: inout MessageReader, to base: UnsafeMutableRawPointer, limit: Int,
                             willChange: ((Int, Int) -> Void)? = nil,
                             applied: (Int, Int) -> Void = { _, _ in }) throws(MalformedMessage) {
        // The whole batch is checked before any of it is announced or applied: a logging
        // store must not record pages of a batch that is refused.
        var check = reader
        try WordRuns.decode(&check, limit: limit) { _, _, _ in }
        try WordRuns.decode(&check, limit: limit) { _, _, _ in }
        try WordRuns.decode(&reader, limit: limit) { offset, count, values in
            willChange?(offset, count * 8)
            memcpy(base + offset, values, count * 8)
            applied(offset, count * 8)
        }
        try WordRuns.decode(&reader, limit: limit) { offset, count, deltas in
            willChange?(offset, count * 8)
            cplatform_xor_words((base + offset).assumingMemoryBound(to: UInt64.self), deltas, count)
            applied(offset, count * 8)
        }
    }
}

/// Room for batches' wire form (`RunBatch.withWireParts`) kept from one batch to the next,
/// so that sending one from the fault handler (a dirty eviction) allocates nothing once the
/// room fits the largest batch so far.
struct WireParts {
    private var head = MessageWriter(capacity: 1024)
    private var middle = MessageWriter(capacity: 1024)
    private var parts: [UnsafeRawBufferPointer] = []

    init() { parts.reserveCapacity(4) }

    /// Hands `body` the batch's wire form as a request of `kind`, in four parts: the whole
    /// runs' heads, their words, the partial runs' heads, their words.
    mutating func encode<T>(_ batch: RunBatch, kind: RequestKind, _ body: ([UnsafeRawBufferPointer]) -> T) -> T {
        head.reset(kind: kind)
        batch.whole.encodeRuns(into: &head)
        middle.reset()
        batch.partial.encodeRuns(into: &middle)
        var list = parts
        parts = []  // `list` holds the room alone while the parts are in it
        defer { parts = list }
        let headBytes = head.bytes, middleBytes = middle.bytes
        return headBytes.withUnsafeBytes { headRaw in
            middleBytes.withUnsafeBytes { middleRaw in
                batch.whole.words.withUnsafeBytes { wholeWords in
                    batch.partial.words.withUnsafeBytes { partialWords in
                        list.removeAll(keepingCapacity: true)
                        list.append(headRaw)
                        list.append(wholeWords)
                        list.append(middleRaw)
                        list.append(partialWords)
                        return body(list)
                    }
                }
            }
        }
    }
}
