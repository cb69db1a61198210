import Foundation
import Glibc
import XCTest
@testable import SwiftDSM

/// The tcp transport's framing over a real socket pair: frames of many parts and sizes
/// (larger than the lane's buffer and than the socket's), read back whole or straight
/// into a caller's buffer, in order; damage and a closed peer are failures, not hangs.
final class TCPLaneTests: XCTestCase {
    private var sender: TCPLane!
    private var receiver: TCPLane!

    override func setUp() {
        var fds: [Int32] = [0, 0]
        XCTAssertEqual(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &fds), 0)
        for fd in fds { _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) }
        sender = TCPLane(fd: fds[0], peer: 1, maxPayload: 1 << 24)
        receiver = TCPLane(fd: fds[1], peer: 0, maxPayload: 1 << 24)
    }

    override func tearDown() {
        close(sender.fd)
        close(receiver.fd)
    }

    private func pattern(_ count: Int, seed: Int) -> [UInt8] {
        (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ seed) }
    }

    /// Sends `frames` (each a tag and its parts) from another thread, as a peer would.
    private func sendInBackground(_ frames: [(Int32, [[UInt8]])]) -> DispatchSemaphore {
        let done = DispatchSemaphore(value: 0)
        let lane = UncheckedBox(sender!)
        Thread {
            for (tag, parts) in frames {
                let buffers = parts.map { part -> UnsafeMutableRawBufferPointer in
                    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(part.count, 1), alignment: 8)
                    buffer.copyBytes(from: part)
                    return buffer
                }
                try? lane.value.send(tag: tag, zip(buffers, parts).map {
                    UnsafeRawBufferPointer(rebasing: $0.0[0..<$0.1.count])
                })
                buffers.forEach { $0.deallocate() }
            }
            done.signal()
        }.start()
        return done
    }

    /// The next whole frame on the receiving lane, waiting for it.
    private func nextFrame() throws -> (tag: Int32, bytes: [UInt8]) {
        while true {
            if let frame = try receiver.nextFrame() {
                let bytes = [UInt8](frame.payload)
                receiver.compactIfEmpty()
                return (frame.header.tag, bytes)
            }
            if try !receiver.fill() { _ = poll_readable(receiver.fd) }
        }
    }

    func testFramesOfManyPartsAndSizesArriveWholeAndInOrder() throws {
        let sizes = [0, 1, 7, 4096, 65_536, 300_000, 1_500_000]
        let frames: [(Int32, [[UInt8]])] = sizes.enumerated().map { index, size in
            (index % 2 == 0 ? Tag.request : Tag.pageData,
             [pattern(8, seed: index), pattern(size, seed: index + 1), [], pattern(size / 3, seed: index + 2)])
        }
        let done = sendInBackground(frames)
        for (index, frame) in frames.enumerated() {
            let received = try nextFrame()
            XCTAssertEqual(received.tag, frame.0, "frame \(index)")
            XCTAssertEqual(received.bytes, frame.1.flatMap { $0 }, "frame \(index)'s payload")
        }
        done.wait()
    }

    func testAReplyMovesStraightIntoTheCallersBuffer() throws {
        let payload = pattern(1 << 20, seed: 5)
        let done = sendInBackground([(Tag.pageData, [payload]), (Tag.diffAcknowledgement, [[1, 0, 0, 0, 0, 0, 0, 0]])])
        var header: FrameHeader?
        while header == nil {
            header = try receiver.peekHeader()
            if header == nil, try !receiver.fill() { _ = poll_readable(receiver.fd) }
        }
        XCTAssertEqual(header?.payloadLength, payload.count)
        let destination = UnsafeMutableRawBufferPointer.allocate(byteCount: payload.count, alignment: 8)
        defer { destination.deallocate() }
        let fd = receiver.fd
        try receiver.receivePayload(of: header!, into: destination.baseAddress!) { () throws(TCPLane.Failure) in
            _ = poll_readable(fd)
        }
        XCTAssertEqual([UInt8](destination), payload)
        let next = try nextFrame()
        XCTAssertEqual(next.tag, Tag.diffAcknowledgement, "the frame after it is intact")
        done.wait()
    }

    /// `receiveReply`: a frame that is not the awaited reply is left whole for the usual
    /// reads; the awaited reply is read with its payload straight into the caller's buffer
    /// (a large one, arriving in parts); a shorter reply whose read took the start of the
    /// next frame leaves that frame whole.
    func testAnAwaitedReplyIsReadStraightIntoTheCallersBufferAndOthersAreLeftWhole() throws {
        let page = pattern(200_000, seed: 3)
        let short = pattern(100, seed: 4)
        let other = pattern(5_000, seed: 6)
        let destination = UnsafeMutableRawBufferPointer.allocate(byteCount: page.count, alignment: 8)
        defer { destination.deallocate() }
        let fd = receiver.fd
        let wait = { () throws(TCPLane.Failure) in _ = poll_readable(fd) }
        func awaitReply(_ tag: Int32) throws -> Int? {
            while true {
                XCTAssertTrue(receiver.readsRepliesDirectly)
                _ = poll_readable(fd)
                if let length = try receiver.receiveReply(tag: tag, into: destination, waiting: wait) { return length }
                if !receiver.readsRepliesDirectly { return nil }  // something else came
            }
        }
        sendInBackground([(Tag.diffAcknowledgement, [other])]).wait()
        XCTAssertNil(try awaitReply(Tag.pageData), "an acknowledgement is not the page awaited")
        let first = try nextFrame()
        XCTAssertEqual(first.tag, Tag.diffAcknowledgement)
        XCTAssertEqual(first.bytes, other, "a frame that was not the awaited reply is read whole the usual way")

        let done = sendInBackground([(Tag.pageData, [page]), (Tag.pageData, [short]), (Tag.diffAcknowledgement, [other])])
        XCTAssertEqual(try awaitReply(Tag.pageData), page.count)
        XCTAssertEqual([UInt8](destination), page)
        done.wait()  // the rest is in the socket now: the next read takes more than the short reply
        XCTAssertEqual(try awaitReply(Tag.pageData), short.count)
        XCTAssertEqual([UInt8](destination[0..<short.count]), short)
        XCTAssertFalse(receiver.readsRepliesDirectly, "the next frame's start was kept in the lane's buffer")
        let last = try nextFrame()
        XCTAssertEqual(last.tag, Tag.diffAcknowledgement)
        XCTAssertEqual(last.bytes, other, "the frame after the short reply is intact")
    }

    func testACorruptHeaderIsMalformed() throws {
        sender.sendCorruptFrameForTesting()
        _ = poll_readable(receiver.fd)
        _ = try receiver.fill()
        XCTAssertThrowsError(try receiver.peekHeader()) { error in
            guard case TCPLane.Failure.malformed(let problem) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(problem.reason, "a frame header fails its checksum")
        }
    }

    func testAClosedPeerIsAFailure() {
        shutdown(sender.fd, Int32(SHUT_RDWR))
        _ = poll_readable(receiver.fd)
        XCTAssertThrowsError(try receiver.fill()) { error in
            guard case TCPLane.Failure.closed = error else { return XCTFail("\(error)") }
        }
    }
}

private struct UncheckedBox<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}

private func poll_readable(_ fd: Int32) -> Int32 {
    var descriptor = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
    return poll(&descriptor, 1, 5_000)
}
