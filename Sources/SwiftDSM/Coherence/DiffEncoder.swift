/// Twin/diff encoding for the multiple-writer protocol. Pages are compared a 64-bit word
/// at a time for speed, but runs are cut at byte precision: a diff never carries a byte
/// this rank did not change, because another rank may legitimately have written it.
enum DiffEncoder {
    private static let lowBits: UInt64 = 0x0101_0101_0101_0101
    private static let highBits: UInt64 = 0x8080_8080_8080_8080

    /// Appends to `batch` one run per maximal stretch of bytes where `page` differs from
    /// `twin`; run offsets are `offset` + position in the page. Returns the changed bytes.
    @discardableResult
    static func encode(page: UnsafeRawPointer, twin: UnsafeRawPointer, length: Int, offset: Int,
                       into batch: inout RunBatch) -> Int {
        let words = length / 8
        let current = page.assumingMemoryBound(to: UInt64.self)
        let original = twin.assumingMemoryBound(to: UInt64.self)
        var runStart = -1
        var changed = 0

        @inline(__always) func close(at end: Int) {
            batch.append(offset: offset + runStart, bytes: page + runStart, count: end - runStart)
            changed += end - runStart
            runStart = -1
        }

        var word = 0
        while word < words {
            let difference = current[word] ^ original[word]
            if difference == 0 {
                if runStart >= 0 { close(at: word &* 8) }
                word += 1
                // Skip unchanged stretches without per-word bookkeeping.
                while word < words && current[word] == original[word] { word += 1 }
                continue
            }
            let hasZeroByte = (difference &- lowBits) & ~difference & highBits != 0
            if !hasZeroByte {
                if runStart < 0 { runStart = word &* 8 }
            } else {
                for byte in 0..<8 {
                    let position = word &* 8 &+ byte
                    if (difference >> UInt64(byte &* 8)) & 0xff != 0 {
                        if runStart < 0 { runStart = position }
                    } else if runStart >= 0 {
                        close(at: position)
                    }
                }
            }
            word += 1
        }
        if runStart >= 0 { close(at: words &* 8) }
        return changed
    }
}
