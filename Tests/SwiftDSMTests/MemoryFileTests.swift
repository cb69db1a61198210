import Foundation
import XCTest
@testable import SwiftDSM

/// The file a `home-store: file:DIR` rank maps: locked against a second mapper, its contents
/// kept for a restart and dropped for a fresh start.
final class MemoryFileTests: XCTestCase {
    private var path = ""

    override func setUp() {
        path = NSTemporaryDirectory() + "swiftdsm-memoryfile-\(UUID().uuidString)"
    }

    override func tearDown() { unlink(path) }

    func testASecondOpenOfTheSameFileIsRefusedWhileTheFirstHoldsIt() throws {
        let first = try MemoryFile(path: path, length: 8192, fresh: true)
        XCTAssertTrue(openingFails(path, 8192).contains("locking \(path) (another process holds it"))
        _ = consume first
        // Released with its owner: the file can be opened again.
        XCTAssertEqual(openingFails(path, 8192), "")
    }

    func testContentsSurviveForARestartAndAreDroppedForAFreshStart() throws {
        do {
            let file = try MemoryFile(path: path, length: 8192, fresh: true)
            file.alias.storeBytes(of: 0x5eed, toByteOffset: 4096, as: UInt64.self)
        }
        do {
            let kept = try MemoryFile(path: path, length: 8192, fresh: false)
            XCTAssertEqual(kept.alias.load(fromByteOffset: 4096, as: UInt64.self), 0x5eed)
        }
        let emptied = try MemoryFile(path: path, length: 8192, fresh: true)
        XCTAssertEqual(emptied.alias.load(fromByteOffset: 4096, as: UInt64.self), 0)
    }

    func testAnUnwritableDirectoryIsNamed() {
        XCTAssertTrue(openingFails("/proc/swiftdsm-no/rank-0.pages", 4096)
            .hasPrefix("opening /proc/swiftdsm-no/rank-0.pages failed: No such file or directory"))
    }

    /// The error opening `path` gives, or "" if it opens (and is closed again).
    private func openingFails(_ path: String, _ length: Int) -> String {
        do {
            _ = try MemoryFile(path: path, length: length, fresh: false)
            return ""
        } catch {
            return error.description
        }
    }
}
