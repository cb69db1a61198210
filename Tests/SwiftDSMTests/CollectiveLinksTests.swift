import Foundation
import Glibc
import XCTest
@testable import SwiftDSM

/// The collective calls' links over a real socket pair, as ranks 0 and 1: frames cross both
/// ways and are read one at a time even when the next one follows; a frame of another
/// length, bytes that are no frame, and a closed peer are failures, not hangs.
final class CollectiveLinksTests: XCTestCase {
    private var zero: CollectiveLinks!
    private var one: CollectiveLinks!
    /// Rank 0's end of the pair, for writing raw bytes and for closing it.
    private var zeroFD: Int32 = -1

    override func setUp() {
        var fds: [Int32] = [0, 0]
        XCTAssertEqual(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &fds), 0)
        for fd in fds { _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) }
        zeroFD = fds[0]
        zero = CollectiveLinks(fds: [-1, fds[0]], hosts: ["here", "there"], progressMPI: {})
        one = CollectiveLinks(fds: [fds[1], -1], hosts: ["here", "there"], progressMPI: {})
    }

    override func tearDown() {
        zero = nil  // each closes its end
        one = nil
    }

    private func pattern(_ count: Int, seed: Int) -> [UInt8] {
        (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ seed) }
    }

    private func send(_ bytes: [UInt8], from links: CollectiveLinks, to rank: Int) throws {
        try bytes.withUnsafeBytes { raw in try links.send(raw, to: rank) }
    }

    private func receive(_ count: Int, at links: CollectiveLinks, from rank: Int) throws -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        try bytes.withUnsafeMutableBytes { raw in try links.receive(raw, from: rank) }
        return bytes
    }

    func testFramesCrossBothWaysOneAtATime() throws {
        let first = pattern(288, seed: 1), second = pattern(576, seed: 2), back = pattern(288, seed: 3)
        try send(first, from: zero, to: 1)
        try send(second, from: zero, to: 1)  // queued behind the first, as a next call's block may be
        try send(back, from: one, to: 0)
        XCTAssertEqual(try receive(288, at: one, from: 0), first)
        XCTAssertEqual(try receive(288, at: zero, from: 1), back)
        XCTAssertEqual(try receive(576, at: one, from: 0), second)
    }

    func testAFrameLargerThanTheSocketsBuffers() throws {
        let large = pattern(4 << 20, seed: 4)
        let sender = UncheckedLinks(zero)
        let fd = zeroFD
        let done = DispatchSemaphore(value: 0)
        Thread {
            do {
                try large.withUnsafeBytes { raw in try sender.links.send(raw, to: 1) }
            } catch {
                shutdown(fd, Int32(SHUT_RDWR))  // the receive below then fails instead of waiting
            }
            done.signal()
        }.start()
        XCTAssertEqual(try receive(large.count, at: one, from: 0), large)
        done.wait()
    }

    func testAFrameOfAnotherLengthIsMalformed() throws {
        try send(pattern(100, seed: 5), from: zero, to: 1)
        XCTAssertThrowsError(try receive(96, at: one, from: 0)) { error in
            guard case CollectiveLinks.Failure.malformed(let problem) = error else { return XCTFail("\(error)") }
            XCTAssertTrue(problem.contains("100 bytes where 96 were due"), problem)
        }
    }

    /// A frame shorter than the round's is refused once its header is in, not waited out.
    func testAShorterFrameIsMalformedWithoutWaitingForMore() throws {
        try send(pattern(50, seed: 7), from: zero, to: 1)
        XCTAssertThrowsError(try receive(96, at: one, from: 0)) { error in
            guard case CollectiveLinks.Failure.malformed(let problem) = error else { return XCTFail("\(error)") }
            XCTAssertTrue(problem.contains("50 bytes where 96 were due"), problem)
        }
    }

    func testBytesThatAreNoFrameAreMalformed() {
        let garbage = pattern(8 + 64, seed: 6)
        XCTAssertEqual(garbage.withUnsafeBytes { write(zeroFD, $0.baseAddress, $0.count) }, garbage.count)
        XCTAssertThrowsError(try receive(64, at: one, from: 0)) { error in
            guard case CollectiveLinks.Failure.malformed = error else { return XCTFail("\(error)") }
        }
    }

    func testAClosedPeerIsLost() {
        shutdown(zeroFD, Int32(SHUT_RDWR))
        XCTAssertThrowsError(try receive(288, at: one, from: 0)) { error in
            guard case CollectiveLinks.Failure.lost = error else { return XCTFail("\(error)") }
        }
    }
}

private struct UncheckedLinks: @unchecked Sendable {
    let links: CollectiveLinks
    init(_ links: CollectiveLinks) { self.links = links }
}
