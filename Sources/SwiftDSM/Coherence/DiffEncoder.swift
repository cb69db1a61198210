/// Twin/diff encoding for the multiple-writer protocol. A page is compared with its twin a
/// 64-bit word at a time; a word whose every byte changed goes to the batch's `whole` runs
/// as its new value, a word with only some bytes changed goes to the `partial` runs as an
/// XOR delta (see `RunBatch`). Either way the diff never overwrites a byte this rank did not
/// change, because another rank may legitimately have written it.
enum DiffEncoder {
    private static let lowBits: UInt64 = 0x0101_0101_0101_0101
    private static let highBits: UInt64 = 0x8080_8080_8080_8080

    /// Appends the changes of `page` against `twin` to `batch`; offsets are `offset` +
    /// position in the page. Returns the number of changed words.
    @discardableResult
    static func encode(page: UnsafeRawPointer, twin: UnsafeRawPointer, length: Int, offset: Int,
                       into batch: inout RunBatch) -> Int {
        let wordCount = length / 8
        let current = page.assumingMemoryBound(to: UInt64.self)
        let original = twin.assumingMemoryBound(to: UInt64.self)
        var changed = 0
        for word in 0..<wordCount {
            let value = current[word]
            let delta = value ^ original[word]
            if delta == 0 { continue }
            changed += 1
            let everyByteChanged = (delta &- lowBits) & ~delta & highBits == 0
            if everyByteChanged {
                batch.whole.append(value, at: offset + word &* 8)
            } else {
                batch.partial.append(delta, at: offset + word &* 8)
            }
        }
        return changed
    }
}
