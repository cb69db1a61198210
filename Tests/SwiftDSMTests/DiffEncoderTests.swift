import XCTest
@testable import SwiftDSM

final class DiffEncoderTests: XCTestCase {
    private func encode(_ page: [UInt8], _ twin: [UInt8], offset: Int = 0, into batch: inout RunBatch) {
        _ = page.withUnsafeBytes { current in
            twin.withUnsafeBytes { original in
                DiffEncoder.encode(page: current.baseAddress!, twin: original.baseAddress!, length: page.count,
                                   offset: offset, into: &batch)
            }
        }
    }

    private func encode(_ page: [UInt8], _ twin: [UInt8], offset: Int = 0) -> RunBatch {
        var batch = RunBatch()
        encode(page, twin, offset: offset, into: &batch)
        return batch
    }

    private func applied(_ batches: [RunBatch], to start: [UInt8]) -> [UInt8] {
        var target = start
        target.withUnsafeMutableBytes { raw in for batch in batches { batch.apply(to: raw.baseAddress!) } }
        return target
    }

    private func randomPage(_ generator: inout SystemRandomNumberGenerator) -> [UInt8] {
        (0..<4096).map { _ in UInt8.random(in: 0...255, using: &generator) }
    }

    func testUnchangedPageHasNoRuns() {
        let page = [UInt8](repeating: 7, count: 4096)
        XCTAssertTrue(encode(page, page).isEmpty)
    }

    func testApplyingTheDiffToTheTwinRebuildsThePage() {
        var generator = SystemRandomNumberGenerator()
        for trial in 0..<200 {
            let twin = randomPage(&generator)
            var page = twin
            let changes = trial % 7 == 0 ? 4096 : Int.random(in: 1...300, using: &generator)
            for _ in 0..<changes {
                let index = Int.random(in: 0..<4096, using: &generator)
                page[index] = page[index] &+ UInt8.random(in: 1...255, using: &generator)
            }
            let batch = encode(page, twin, offset: 4096)
            XCTAssertEqual(Array(applied([batch], to: [UInt8](repeating: 0, count: 4096) + twin)[4096...]), page)
        }
    }

    /// Two ranks change different bytes of the same words of one page; their diffs, applied
    /// at the home in either order, must keep both ranks' bytes.
    func testConcurrentWritersOfDifferentBytesOfOneWordBothSurvive() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<50 {
            let twin = randomPage(&generator)
            var first = twin
            var second = twin
            var expected = twin
            for index in 0..<4096 where Bool.random(using: &generator) {
                let value = UInt8.random(in: 0...255, using: &generator)
                if index % 2 == 0 { first[index] = value } else { second[index] = value }
                expected[index] = value
            }
            // Some whole words too, owned by one writer each.
            for word in stride(from: 0, to: 512, by: 37) {
                for byte in (word * 8)..<(word * 8 + 8) {
                    let value = ~twin[byte]
                    if word % 2 == 0 { first[byte] = value; second[byte] = twin[byte] } else {
                        second[byte] = value; first[byte] = twin[byte]
                    }
                    expected[byte] = value
                }
            }
            let a = encode(first, twin)
            let b = encode(second, twin)
            XCTAssertEqual(applied([a, b], to: twin), expected)
            XCTAssertEqual(applied([b, a], to: twin), expected)
        }
    }

    func testWholeAndPartialWordsAreSeparatedAndRunsMergeAcrossPages() {
        var twin = [UInt8](repeating: 0, count: 4096)
        var page = twin
        for byte in 8..<24 { page[byte] = 0xAB }  // words 1 and 2 entirely
        page[40] = 1                               // word 5, one byte: partial
        for byte in 4088..<4096 { page[byte] = 7 } // last word entirely
        var batch = RunBatch()
        encode(page, twin, offset: 0, into: &batch)
        XCTAssertEqual(batch.whole.offsets, [8, 4088])
        XCTAssertEqual(batch.whole.lengths, [2, 1])
        XCTAssertEqual(batch.whole.words[0], 0xABAB_ABAB_ABAB_ABAB)  // new values, not deltas
        XCTAssertEqual(batch.partial.offsets, [40])
        XCTAssertEqual(batch.partial.words, [1])                     // a delta
        // The next page changes its first word entirely: the whole run continues across the boundary.
        twin = [UInt8](repeating: 0, count: 4096)
        page = twin
        for byte in 0..<8 { page[byte] = 9 }
        encode(page, twin, offset: 4096, into: &batch)
        XCTAssertEqual(batch.whole.offsets, [8, 4088])
        XCTAssertEqual(batch.whole.lengths, [2, 2])
    }

    func testWireFormRoundTrip() throws {
        var generator = SystemRandomNumberGenerator()
        let twin = randomPage(&generator)
        var page = twin
        for index in stride(from: 3, to: 4096, by: 97) { page[index] ^= 0x5a }
        let batch = encode(page, twin)
        // The bytes as sent: the parts concatenated, after the request kind.
        let wire = batch.withWireParts(kind: .diff) { parts in parts.flatMap { [UInt8]($0) } }
        var target = twin
        try wire.withUnsafeBytes { raw in
            var reader = MessageReader(raw)
            XCTAssertEqual(try reader.int64(), RequestKind.diff.rawValue)
            try target.withUnsafeMutableBytes { try RunBatch.applyEncoded(&reader, to: $0.baseAddress!, limit: 4096) }
            XCTAssertEqual(reader.remaining, 0)
        }
        XCTAssertEqual(target, page)
    }

    /// A batch from the network whose second run leaves the page store, or that is cut short,
    /// changes nothing: every run is checked before the first is applied.
    func testMalformedBatchesApplyNothing() {
        func wire(_ runs: [(offset: Int, words: [UInt64])], truncateBy cut: Int = 0) -> [UInt8] {
            var writer = MessageWriter()
            writer.append(runs.count)
            for run in runs {
                writer.append(run.offset)
                writer.append(run.words.count)
            }
            for run in runs { run.words.withUnsafeBytes { writer.append(contentsOf: $0) } }
            writer.append(0)  // no partial runs
            return Array(writer.bytes.dropLast(cut))
        }
        let cases: [(bytes: [UInt8], reason: String)] = [
            (wire([(0, [1, 2]), (4096, [3])]), "run offset 4096 is outside 0..<4096"),
            (wire([(0, [1]), (4088, [3, 4])]), "leaves the 4096-byte page store"),
            (wire([(0, [1]), (12, [3])]), "not word-aligned"),
            (wire([(0, [1, 2]), (8, [3])], truncateBy: 12), "truncated"),
            ([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f], "run count"),
            // Whole runs that parse, then partial runs that do not.
            (wire([(0, [1, 2])]).dropLast(8) + [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f], "run count"),
        ]
        for (bytes, reason) in cases {
            var target = [UInt8](repeating: 0, count: 4096)
            var announced = 0
            let failure: MalformedMessage? = bytes.withUnsafeBytes { raw in
                var reader = MessageReader(raw)
                return target.withUnsafeMutableBytes { arena -> MalformedMessage? in
                    do throws(MalformedMessage) {
                        try RunBatch.applyEncoded(&reader, to: arena.baseAddress!, limit: 4096,
                                                  willChange: { _, _ in announced += 1 })
                        return nil
                    } catch {
                        return error
                    }
                }
            }
            XCTAssertTrue(failure?.reason.contains(reason) ?? false, "\(String(describing: failure)) for \(reason)")
            XCTAssertEqual(target, [UInt8](repeating: 0, count: 4096), "applied part of a malformed batch (\(reason))")
            XCTAssertEqual(announced, 0, "announced a change of a malformed batch to the page store (\(reason))")
        }
    }
}
