import Crypto
import Foundation
import Glibc
import XCTest
@testable import SwiftDSM

/// Compression and sealing of the tcp transport's frames: every combination carries every
/// kind of payload over a real socket pair; a frame changed, replayed, turned around or
/// sealed with another key is refused before any byte of it is handed on; `encrypt`
/// hides the payload and `authenticate` does not.
final class FrameCodecTests: XCTestCase {
    private let secret = SymmetricKey(size: .bits256)

    private func keys(_ security: SecurityChoice, secret: SymmetricKey? = nil, job: UInt64 = 42) -> JobKeys {
        JobKeys(security: security, secret: secret ?? self.secret, job: job)
    }

    /// Codecs of both ends of the lane rank 0 opened to rank 1.
    private func codecs(_ security: SecurityChoice, _ compression: CompressionChoice) -> (FrameCodec?, FrameCodec?) {
        func make(asks: Bool) -> FrameCodec? {
            let seal = security == .off ? nil : keys(security).laneSeal(asker: 0, server: 1, asks: asks)
            let compressor = compression == .off ? nil : Compressor(choice: compression)
            return seal == nil && compressor == nil ? nil : FrameCodec(seal: seal, compressor: compressor)
        }
        return (make(asks: true), make(asks: false))
    }

    private func lanes(_ security: SecurityChoice, _ compression: CompressionChoice) -> (TCPLane, TCPLane) {
        var fds: [Int32] = [0, 0]
        XCTAssertEqual(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &fds), 0)
        for fd in fds { _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) }
        let (asking, serving) = codecs(security, compression)
        return (TCPLane(fd: fds[0], peer: 1, maxPayload: 1 << 24, codec: asking),
                TCPLane(fd: fds[1], peer: 0, maxPayload: 1 << 24, codec: serving))
    }

    private func payloads() -> [[UInt8]] {
        var generator = SystemRandomNumberGenerator()
        let random = (0..<65_536).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let text = Array(String(repeating: "SwiftDSM pages hold the program's data. ", count: 40_000).utf8)
        return [[], [1, 2, 3, 4, 5, 6, 7], [UInt8](repeating: 0, count: 4096),
                (0..<4096).map { UInt8(truncatingIfNeeded: $0 / 64) }, random, text, [UInt8](repeating: 0, count: 1 << 20)]
    }

    /// Sends from another thread, as a peer would; signals when sent.
    @discardableResult
    private func send(_ lane: TCPLane, _ payload: [UInt8], split: Bool) -> DispatchSemaphore {
        let lane = UncheckedLane(lane)
        let done = DispatchSemaphore(value: 0)
        Thread {
            payload.withUnsafeBytes { raw in
                let parts = split && raw.count > 1
                    ? [UnsafeRawBufferPointer(rebasing: raw[0..<1]), UnsafeRawBufferPointer(rebasing: raw[1...])]
                    : [raw]
                try? lane.value.send(tag: Tag.request, parts)
            }
            done.signal()
        }.start()
        return done
    }

    private func receive(_ lane: TCPLane, intoBuffer: Bool, count: Int) throws -> [UInt8] {
        if intoBuffer {
            var header: FrameHeader?
            while header == nil {
                header = try lane.peekHeader()
                if header == nil, try !lane.fill() { _ = readable(lane.fd) }
            }
            XCTAssertEqual(header?.payloadLength, count)
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(count, 1), alignment: 16)
            defer { buffer.deallocate() }
            let fd = lane.fd
            try lane.receivePayload(of: header!, into: buffer.baseAddress!) { () throws(TCPLane.Failure) in
                _ = readable(fd)
            }
            return Array(buffer[0..<count])
        }
        while true {
            if let frame = try lane.nextFrame() {
                let bytes = [UInt8](frame.payload)
                lane.compactIfEmpty()
                return bytes
            }
            if try !lane.fill() { _ = readable(lane.fd) }
        }
    }

    func testEveryCombinationCarriesEveryKindOfPayload() throws {
        let combinations: [(SecurityChoice, CompressionChoice)] = [
            (.off, .lz4), (.off, .auto), (.authenticate, .off), (.encrypt, .off), (.encrypt, .lz4), (.authenticate, .auto),
        ]
        for (security, compression) in combinations {
            let (sender, receiver) = lanes(security, compression)
            defer { close(sender.fd); close(receiver.fd) }
            for (index, payload) in payloads().enumerated() {
                for intoBuffer in [false, true] {
                    let sent = send(sender, payload, split: index % 2 == 0)
                    let received = try receive(receiver, intoBuffer: intoBuffer, count: payload.count)
                    sent.wait()
                    XCTAssertEqual(received, payload, "payload \(index) with security \(security), compression "
                        + "\(compression), into a buffer: \(intoBuffer)")
                }
            }
        }
    }

    func testAFlippedByteIsRefusedWhateverItHits() throws {
        for security in [SecurityChoice.authenticate, .encrypt] {
            for intoBuffer in [false, true] {
                let (sender, receiver) = lanes(security, .lz4)
                defer { close(sender.fd); close(receiver.fd) }
                XCTAssertTrue(sender.tamperWithNextFrameForTesting())
                send(sender, Array("a marker written to shared memory".utf8) + [UInt8](repeating: 7, count: 4000),
                     split: false)
                XCTAssertThrowsError(try receive(receiver, intoBuffer: intoBuffer, count: 4033)) { error in
                    guard case TCPLane.Failure.forged = error else { return XCTFail("\(error)") }
                }
            }
        }
    }

    /// A rank with compression off is sent a compressed frame: refused, never misread.
    func testACompressedFrameToARankWithoutCompressionIsRefused() throws {
        var fds: [Int32] = [0, 0]
        XCTAssertEqual(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &fds), 0)
        for fd in fds { _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) }
        let sender = TCPLane(fd: fds[0], peer: 1, maxPayload: 1 << 24,
                             codec: FrameCodec(seal: nil, compressor: Compressor(choice: .lz4)))
        let receiver = TCPLane(fd: fds[1], peer: 0, maxPayload: 1 << 24)
        defer { close(fds[0]); close(fds[1]) }
        send(sender, [UInt8](repeating: 0, count: 4096), split: false).wait()
        XCTAssertThrowsError(try receive(receiver, intoBuffer: false, count: 4096)) { error in
            guard case TCPLane.Failure.malformed(let problem) = error else { return XCTFail("\(error)") }
            XCTAssertTrue(problem.reason.contains("this rank runs with compression off"), problem.reason)
        }
    }

    /// The frame's bytes as the codec writes them, sealed with the `counter`-th nonce.
    private func sealedFrame(_ codec: FrameCodec, _ payload: [UInt8], counter: UInt64) -> [UInt8] {
        payload.withUnsafeBytes { [UInt8](codec.encode(tag: Tag.request, [$0], length: $0.count, counter: counter)) }
    }

    private func opens(_ codec: FrameCodec, _ frame: [UInt8], counter: UInt64) -> Bool {
        var copy = frame
        return copy.withUnsafeMutableBytes { raw in
            guard let header = try? FrameHeader.decode(raw.baseAddress!, expectedSequence: UInt32(counter),
                                                      maxPayload: 1 << 20, seal: codec.seal) else { return false }
            return (try? codec.decode(raw.baseAddress!, header: header, counter: counter, into: nil)) != nil
        }
    }

    func testReplayedTurnedAroundOrForeignFramesAreRefused() {
        for security in [SecurityChoice.authenticate, .encrypt] {
            let (asking, serving) = codecs(security, .off)
            let frame = sealedFrame(asking!, [UInt8](repeating: 9, count: 100), counter: 5)
            XCTAssertTrue(opens(serving!, frame, counter: 5))
            // The same bytes again, where the next frame is due (header fixed up to pass its check).
            var replayed = frame
            replayed.withUnsafeMutableBytes { raw in
                raw.storeBytes(of: UInt32(6).littleEndian, toByteOffset: 8, as: UInt32.self)
                raw.storeBytes(of: FrameHeader.checksum(raw.baseAddress!).littleEndian, toByteOffset: 20, as: UInt32.self)
            }
            XCTAssertFalse(opens(serving!, replayed, counter: 6), "a replayed frame (\(security))")
            // A request reflected back to its sender as if it were a reply.
            XCTAssertFalse(opens(asking!, frame, counter: 5), "a reflected frame (\(security))")
            let stranger = FrameCodec(seal: keys(security, secret: SymmetricKey(size: .bits256))
                .laneSeal(asker: 0, server: 1, asks: false), compressor: nil)
            XCTAssertFalse(opens(stranger, frame, counter: 5), "another key (\(security))")
            let otherJob = FrameCodec(seal: keys(security, job: 43).laneSeal(asker: 0, server: 1, asks: false),
                                      compressor: nil)
            XCTAssertFalse(opens(otherJob, frame, counter: 5), "another job (\(security))")
        }
    }

    func testEncryptHidesThePayloadAndAuthenticateDoesNot() {
        let marker = Array("SWIFTDSM-MARKER-0451".utf8)
        let payload = [UInt8](repeating: 1, count: 600) + marker + [UInt8](repeating: 2, count: 600)
        func contains(_ bytes: [UInt8]) -> Bool {
            bytes.count >= marker.count && (0...(bytes.count - marker.count)).contains { Array(bytes[$0..<($0 + marker.count)]) == marker }
        }
        XCTAssertTrue(contains(sealedFrame(codecs(.authenticate, .off).0!, payload, counter: 0)))
        XCTAssertFalse(contains(sealedFrame(codecs(.encrypt, .off).0!, payload, counter: 0)))
        XCTAssertFalse(contains(sealedFrame(codecs(.encrypt, .lz4).0!, payload, counter: 0)))
    }

    func testCompressionShrinksWhatShrinksAndAutoStopsTryingOnWhatDoesNot() {
        var generator = SystemRandomNumberGenerator()
        let target = UnsafeMutableRawPointer.allocate(byteCount: Compressor.bound(1 << 16), alignment: 16)
        defer { target.deallocate() }
        func encode(_ compressor: Compressor, _ bytes: [UInt8]) -> (FrameHeader.Flags, Int)? {
            bytes.withUnsafeBytes { compressor.encode($0, into: target) }
        }
        let lz4 = Compressor(choice: .lz4)
        XCTAssertEqual(encode(lz4, [UInt8](repeating: 0, count: 4096))?.0, .zero)
        XCTAssertEqual(encode(lz4, [UInt8](repeating: 0, count: 4096))?.1, 0, "a zero page becomes an empty body")
        let text = Array(String(repeating: "abcdefgh", count: 512).utf8)
        XCTAssertLessThan(encode(lz4, text)?.1 ?? .max, 200)
        XCTAssertNil(encode(lz4, [1, 2, 3]), "small payloads go as they are")
        let random = (0..<4096).map { _ in UInt8.random(in: 0...255, using: &generator) }
        XCTAssertNil(encode(lz4, random), "what does not shrink goes as it is")

        let auto = Compressor(choice: .auto)
        for _ in 0..<4 { _ = encode(auto, random) }
        let before = ThreadStatistics.current.pointee.compressionBytesIn
        for _ in 0..<64 { XCTAssertNil(encode(auto, random)) }
        let tried = ThreadStatistics.current.pointee.compressionBytesIn - before
        XCTAssertEqual(tried, 2 * 4096, "auto samples one in 32 once payloads stopped shrinking")
        XCTAssertEqual(encode(auto, [UInt8](repeating: 0, count: 4096))?.0, .zero, "zero pages shrink under auto too")
        var compressedAgain = false
        for _ in 0..<200 where encode(auto, text) != nil { compressedAgain = true }
        XCTAssertTrue(compressedAgain, "auto compresses again once its samples shrink")
        var restored = [UInt8](repeating: 0, count: text.count)
        let body = encode(lz4, text)!
        XCTAssertTrue(restored.withUnsafeMutableBytes {
            Compressor.decode(UnsafeRawBufferPointer(start: target, count: body.1), flags: body.0, count: text.count,
                              into: $0.baseAddress!)
        })
        XCTAssertEqual(restored, text)
        XCTAssertFalse(restored.withUnsafeMutableBytes {
            Compressor.decode(UnsafeRawBufferPointer(start: target, count: body.1), flags: body.0, count: text.count - 1,
                              into: $0.baseAddress!)
        }, "a body that does not restore to the announced length is refused")
    }

    /// Under encrypt a body is sealed in 32 KiB chunks, each with its tag: every length
    /// maps to one wire length and back, a body of many chunks opens, and one with two
    /// chunks swapped, its tags swapped with them, does not.
    func testEncryptSealsBodiesInChunks() {
        let seal = keys(.encrypt).laneSeal(asker: 0, server: 1, asks: true)
        let chunk = FrameSeal.chunkLength
        for body in [0, 1, 4096, chunk - 1, chunk, chunk + 1, 3 * chunk, 3 * chunk + 17, 40 * 4096] {
            let wire = body + seal.tagsLength(body: body)
            XCTAssertEqual(seal.tagsLength(body: body), 16 * max(1, (body + chunk - 1) / chunk), "tags of \(body)")
            XCTAssertEqual(seal.bodyLength(wire: wire), body, "body of \(wire) wire bytes")
        }
        XCTAssertNil(seal.bodyLength(wire: chunk + 16 + 8), "no body has chunk + 24 wire bytes")
        XCTAssertNil(seal.bodyLength(wire: 15))
        let authenticated = keys(.authenticate).laneSeal(asker: 0, server: 1, asks: true)
        XCTAssertEqual(authenticated.tagsLength(body: 5 * chunk), 16, "authenticate tags the whole frame once")

        var generator = SystemRandomNumberGenerator()
        let payload = (0..<(3 * chunk + 100)).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let asking = FrameCodec(seal: seal, compressor: nil)
        let serving = FrameCodec(seal: keys(.encrypt).laneSeal(asker: 0, server: 1, asks: false), compressor: nil)
        let before = ThreadStatistics.current.pointee.sealedBytes
        let frame = sealedFrame(asking, payload, counter: 9)
        XCTAssertEqual(frame.count, FrameHeader.length + payload.count + 4 * 16)
        XCTAssertTrue(opens(serving, frame, counter: 9))
        XCTAssertEqual(ThreadStatistics.current.pointee.sealedBytes - before, UInt64(2 * (FrameHeader.length + payload.count)),
                       "sealedBytes counts what was sealed and what was opened")
        var swapped = frame
        let body = FrameHeader.length
        let tags = body + payload.count
        swapped.replaceSubrange(body..<(body + chunk), with: frame[(body + chunk)..<(body + 2 * chunk)])
        swapped.replaceSubrange((body + chunk)..<(body + 2 * chunk), with: frame[body..<(body + chunk)])
        swapped.replaceSubrange(tags..<(tags + 16), with: frame[(tags + 16)..<(tags + 32)])
        swapped.replaceSubrange((tags + 16)..<(tags + 32), with: frame[tags..<(tags + 16)])
        XCTAssertFalse(opens(serving, swapped, counter: 9), "chunks in another order")
        var flipped = frame
        flipped[body + 2 * chunk + 5] ^= 0x40
        XCTAssertFalse(opens(serving, flipped, counter: 9), "a flipped byte in a later chunk")
    }

    /// A collective call's contribution opens only unchanged, for its own call and part,
    /// under its own rank's key.
    func testNoticeSealsRefuseChangedReplayedAndForeignContributions() {
        let jobKeys = keys(.encrypt)
        var seals = NoticeSeals(seals: (0..<3).map { jobKeys.noticeSeal(of: $0) }, hosts: ["a", "b", "c"])
        let count = CollectiveCall.sealedWords
        var block = (0..<count).map { Int64($0 * 7) } + [Int64](repeating: 0, count: NoticeSeals.tagWords)
        seals.seal(&block, count: count, rank: 1, sequence: 9, part: .block)
        XCTAssertEqual(Array(block[0..<count]), (0..<count).map { Int64($0 * 7) }, "notices are authenticated, not encrypted")
        XCTAssertTrue(seals.intact(&block, offset: 0, count: count, rank: 1, sequence: 9, part: .block))
        XCTAssertFalse(seals.intact(&block, offset: 0, count: count, rank: 1, sequence: 10, part: .block),
                       "replayed at a later call")
        XCTAssertFalse(seals.intact(&block, offset: 0, count: count, rank: 2, sequence: 9, part: .block),
                       "claimed by another rank")
        XCTAssertFalse(seals.intact(&block, offset: 0, count: count, rank: 1, sequence: 9, part: .list),
                       "taken for the other allgather")
        var changed = block
        changed[count - 1] ^= 1
        XCTAssertFalse(seals.intact(&changed, offset: 0, count: count, rank: 1, sequence: 9, part: .block), "changed")
        // Within a gathered array, at its offset; and the test hook's flip fails it.
        var gathered = [Int64](repeating: 5, count: 3) + block
        XCTAssertTrue(seals.intact(&gathered, offset: 3, count: count, rank: 1, sequence: 9, part: .block))
        seals.tamperWithNext = true
        var list: [Int64] = [11, 12, 13, 0, 0]
        seals.seal(&list, count: 3, rank: 0, sequence: 4, part: .list)
        XCTAssertFalse(seals.intact(&list, offset: 0, count: 3, rank: 0, sequence: 4, part: .list))
        XCTAssertFalse(seals.tamperWithNext, "the hook flips one contribution only")
    }

    /// The message transport's seals: one key per ordered pair of ranks, one stream per tag.
    func testMessageSealsSeparatePairsAndTags() {
        let jobKeys = keys(.encrypt)
        let sender = FrameCodec(seal: jobKeys.messageSeal(from: 0, to: 1), compressor: nil)
        let payload = Array("a lock grant".utf8)
        let frame = payload.withUnsafeBytes { [UInt8](sender.encode(tag: 12, [$0], length: payload.count, counter: 3,
                                                                     direction: 12)) }
        func opens(_ seal: FrameSeal, direction: UInt32) -> Bool {
            var copy = frame
            return copy.withUnsafeMutableBytes { raw in
                let header = try! FrameHeader.decode(raw.baseAddress!, expectedSequence: 3, maxPayload: 1 << 20, seal: seal)
                let codec = FrameCodec(seal: seal, compressor: nil)
                guard let opened = try? codec.decode(raw.baseAddress!, header: header, counter: 3, direction: direction,
                                                     into: nil) else { return false }
                return Array(opened) == payload
            }
        }
        XCTAssertTrue(opens(jobKeys.messageSeal(from: 0, to: 1), direction: 12))
        XCTAssertFalse(opens(jobKeys.messageSeal(from: 0, to: 1), direction: 10), "another tag's stream")
        XCTAssertFalse(opens(jobKeys.messageSeal(from: 1, to: 0), direction: 12), "the opposite direction")
        XCTAssertFalse(opens(jobKeys.messageSeal(from: 0, to: 2), direction: 12), "another pair")
    }

    func testHelloProofsBindKeyJobAndRanks() {
        let mine = keys(.encrypt)
        let proof = mine.helloProof(asker: 2, server: 3)
        XCTAssertTrue(mine.checkHello(proof, asker: 2, server: 3))
        XCTAssertFalse(mine.checkHello(proof, asker: 3, server: 2))
        XCTAssertFalse(keys(.encrypt, job: 7).checkHello(proof, asker: 2, server: 3))
        XCTAssertFalse(keys(.authenticate).checkHello(proof, asker: 2, server: 3))
        XCTAssertFalse(keys(.encrypt, secret: SymmetricKey(size: .bits256)).checkHello(proof, asker: 2, server: 3))
    }
}

/// The key file: made by `create`, refused when others may read it, when it is not 32
/// bytes, or when it would overwrite a key.
final class KeyFileTests: XCTestCase {
    private var directory = ""

    override func setUp() {
        directory = NSTemporaryDirectory() + "keyfile-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        mkdir(directory, 0o700)
    }

    override func tearDown() { try? FileManager.default.removeItem(atPath: directory) }

    private func problem(_ body: () throws -> Void) -> String {
        do {
            try body()
            return "accepted"
        } catch {
            return "\(error)"
        }
    }

    func testAKeyMadeByCreateIsReadBack() throws {
        let path = directory + "/key"
        try KeyFile.create(path)
        var info = stat()
        XCTAssertEqual(stat(path, &info), 0)
        XCTAssertEqual(info.st_mode & 0o777, 0o600)
        XCTAssertEqual(info.st_size, 32)
        _ = try KeyFile.read(path)
        XCTAssertTrue(problem { try KeyFile.create(path) }.contains("a key is never overwritten"))
    }

    func testAKeyOthersCanReadIsRefused() throws {
        let path = directory + "/key"
        try KeyFile.create(path)
        chmod(path, 0o644)
        XCTAssertTrue(problem { _ = try KeyFile.read(path) }.contains("can be read or written by others (mode 644); "
            + "make it the owner's only: chmod 600 \(path)"), problem { _ = try KeyFile.read(path) })
    }

    func testAFileOfTheWrongLengthOrMissingIsRefused() throws {
        let path = directory + "/short"
        XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data([1, 2, 3]), attributes: [.posixPermissions: 0o600]))
        XCTAssertTrue(problem { _ = try KeyFile.read(path) }.contains("holds 3 bytes; a SwiftDSM key is 32 random bytes"))
        XCTAssertTrue(problem { _ = try KeyFile.read(directory + "/none") }.contains("create one with `dsm-keygen"))
    }
}

private final class UncheckedLane: @unchecked Sendable {
    let value: TCPLane
    init(_ value: TCPLane) { self.value = value }
}

private func readable(_ fd: Int32) -> Int32 {
    var descriptor = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
    return poll(&descriptor, 1, 5_000)
}
