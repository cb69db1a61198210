/// Twin/diff encoding for the multiple-writer protocol: a page is compared with its twin a
/// 64-bit word at a time, and each stretch of changed words becomes a run of XOR deltas
/// (see `RunBatch`). Bytes this rank did not change carry a zero delta, so the diff never
/// overwrites what another rank wrote to other bytes of the same word or page.
enum DiffEncoder {
    /// Appends the runs where `page` differs from `twin` to `batch`; run offsets are
    /// `offset` + position in the page. Returns the number of changed words.
    @discardableResult
    static func encode(page: UnsafeRawPointer, twin: UnsafeRawPointer, length: Int, offset: Int,
                       into batch: inout RunBatch) -> Int {
        let wordCount = length / 8
        let current = page.assumingMemoryBound(to: UInt64.self)
        let original = twin.assumingMemoryBound(to: UInt64.self)
        var changed = 0
        var word = 0
        while word < wordCount {
            if current[word] == original[word] {
                word += 1
                continue
            }
            batch.startRun(at: offset + word * 8)
            while word < wordCount, current[word] != original[word] {
                batch.appendWord(current[word] ^ original[word])
                changed += 1
                word += 1
            }
        }
        return changed
    }
}
