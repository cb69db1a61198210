import XCTest
@testable import SwiftDSM

final class DiffEncoderTests: XCTestCase {
    private func encode(_ page: [UInt8], _ twin: [UInt8], offset: Int = 0) -> RunBatch {
        var batch = RunBatch()
        _ = page.withUnsafeBytes { current in
            twin.withUnsafeBytes { original in
                DiffEncoder.encode(page: current.baseAddress!, twin: original.baseAddress!, length: page.count,
                                   offset: offset, into: &batch)
            }
        }
        return batch
    }

    func testUnchangedPageHasNoRuns() {
        let page = [UInt8](repeating: 7, count: 4096)
        XCTAssertTrue(encode(page, page).isEmpty)
    }

    func testRoundTripOfRandomChangesIsExactAndCarriesOnlyChangedBytes() {
        var generator = SystemRandomNumberGenerator()
        for trial in 0..<200 {
            let twin = (0..<4096).map { _ in UInt8.random(in: 0...255, using: &generator) }
            var page = twin
            let changes = trial % 7 == 0 ? 4096 : Int.random(in: 1...300, using: &generator)
            for _ in 0..<changes {
                let index = Int.random(in: 0..<4096, using: &generator)
                page[index] = page[index] &+ UInt8.random(in: 1...255, using: &generator)
            }
            let batch = encode(page, twin, offset: 8192)
            // Every byte the diff carries differs from the twin: none may be written back unchanged.
            var position = 0
            for index in batch.offsets.indices {
                for byte in 0..<Int(batch.lengths[index]) {
                    let at = batch.offsets[index] - 8192 + byte
                    XCTAssertNotEqual(page[at], twin[at], "run carries unchanged byte \(at)")
                    XCTAssertEqual(batch.data[position], page[at])
                    position += 1
                }
            }
            // Applying the diff to the twin reproduces the page.
            var rebuilt = [UInt8](repeating: 0, count: 8192) + twin
            rebuilt.withUnsafeMutableBytes { batch.apply(to: $0.baseAddress!) }
            XCTAssertEqual(Array(rebuilt[8192...]), page)
        }
    }

    func testPartialWordChangesAreSplitAtBytes() {
        let twin = [UInt8](repeating: 0, count: 64)
        var page = twin
        page[0] = 1
        page[2] = 1  // byte 1 unchanged between them: two runs
        page[8...15] = [1, 1, 1, 1, 1, 1, 1, 1][...]
        page[16] = 9  // continues the run across the word boundary
        let batch = encode(page, twin)
        XCTAssertEqual(batch.offsets, [0, 2, 8])
        XCTAssertEqual(batch.lengths, [1, 1, 9])
    }

    func testWireFormRoundTrip() {
        var batch = RunBatch()
        let bytes: [UInt8] = [1, 2, 3, 4, 5]
        bytes.withUnsafeBytes { raw in
            batch.append(offset: 10, bytes: raw.baseAddress!, count: 2)
            batch.append(offset: 100, bytes: raw.baseAddress! + 2, count: 3)
        }
        var writer = MessageWriter()
        batch.encode(into: &writer)
        var target = [UInt8](repeating: 0, count: 128)
        writer.bytes.withUnsafeBytes { raw in
            var reader = MessageReader(raw)
            target.withUnsafeMutableBytes { RunBatch.applyEncoded(&reader, to: $0.baseAddress!) }
        }
        XCTAssertEqual(Array(target[10...11]), [1, 2])
        XCTAssertEqual(Array(target[100...102]), [3, 4, 5])
        XCTAssertEqual(target.reduce(0) { $0 + Int($1) }, 15)
    }
}
