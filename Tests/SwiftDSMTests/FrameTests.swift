import Crypto
import XCTest
@testable import SwiftDSM

/// The tcp transport's frame header: what it carries survives the round trip, and every
/// kind of damage a stream can suffer is refused before a payload is trusted.
extension FrameHeader {
    var encodedBytes: [UInt8] {
        var bytes = [UInt8](repeating: 0, count: FrameHeader.length)
        bytes.withUnsafeMutableBytes { encode(into: $0.baseAddress!) }
        return bytes
    }
}

final class FrameHeaderTests: XCTestCase {
    private func encoded(_ header: FrameHeader) -> [UInt8] { header.encodedBytes }

    private func decode(_ bytes: [UInt8], sequence: UInt32 = 7, maxPayload: Int = 1 << 20) throws -> FrameHeader {
        try bytes.withUnsafeBytes { raw throws(MalformedMessage) in
            try FrameHeader.decode(raw.baseAddress!, expectedSequence: sequence, maxPayload: maxPayload)
        }
    }

    private func reason(_ bytes: [UInt8], sequence: UInt32 = 7, maxPayload: Int = 1 << 20) -> String {
        do {
            _ = try decode(bytes, sequence: sequence, maxPayload: maxPayload)
            return "accepted"
        } catch let error as MalformedMessage {
            return error.reason
        } catch {
            return "\(error)"
        }
    }

    func testRoundTrip() throws {
        let header = FrameHeader(tag: Tag.pageData, payloadLength: 65_536, sequence: 7)
        XCTAssertEqual(try decode(encoded(header)), header)
        let request = FrameHeader(tag: Tag.request, payloadLength: 0, sequence: 7)
        XCTAssertEqual(try decode(encoded(request)), request)
    }

    func testEveryFlippedBitOfTheHeaderIsRefused() {
        let good = encoded(FrameHeader(tag: Tag.lockGrant, payloadLength: 40, sequence: 7))
        for byte in 0..<FrameHeader.length {
            for bit in 0..<8 {
                var damaged = good
                damaged[byte] ^= UInt8(1 << bit)
                XCTAssertNotEqual(reason(damaged), "accepted", "bit \(bit) of byte \(byte)")
            }
        }
    }

    func testWhatIsWrongIsNamed() {
        var foreign = encoded(FrameHeader(tag: Tag.request, payloadLength: 8, sequence: 7))
        foreign[0] = 0x47  // "GET / HTTP..." or any other protocol
        XCTAssertTrue(reason(foreign).contains("without the SwiftDSM magic number"))
        var corrupted = encoded(FrameHeader(tag: Tag.request, payloadLength: 8, sequence: 7))
        corrupted[5] ^= 1
        XCTAssertEqual(reason(corrupted), "a frame header fails its checksum")
        let replayed = encoded(FrameHeader(tag: Tag.request, payloadLength: 8, sequence: 6))
        XCTAssertEqual(reason(replayed), "frame 6 arrived where frame 7 was due")
        let huge = encoded(FrameHeader(tag: Tag.request, payloadLength: 1 << 21, sequence: 7))
        XCTAssertTrue(reason(huge).contains("announces 2097152 bytes, more than the 1048576"))
    }

    func testOtherProtocolVersionsAreRefused() {
        var newer = encoded(FrameHeader(tag: Tag.request, payloadLength: 8, sequence: 7))
        newer[2] = FrameHeader.version + 1
        newer.withUnsafeMutableBytes { raw in
            let sum = FrameHeader.checksum(raw.baseAddress!)
            raw.storeBytes(of: sum.littleEndian, toByteOffset: 20, as: UInt32.self)
        }
        XCTAssertEqual(reason(newer), "a frame of protocol version 4, this build speaks 3")
    }

    func testTheBodyMustFitThePayload() {
        let plain = FrameHeader(tag: Tag.pageData, payloadLength: 4096, sequence: 7, wireLength: 4000, flags: [])
        XCTAssertTrue(reason(encoded(plain)).contains("4000 bytes on the wire cannot hold a payload of 4096"))
        let zero = FrameHeader(tag: Tag.pageData, payloadLength: 4096, sequence: 7, wireLength: 1, flags: .zero)
        XCTAssertNotEqual(reason(encoded(zero)), "accepted")
        let compressed = FrameHeader(tag: Tag.pageData, payloadLength: 4096, sequence: 7, wireLength: 90, flags: .lz4)
        XCTAssertEqual(try decode(encoded(compressed)), compressed)
        let unknown = FrameHeader(tag: Tag.pageData, payloadLength: 8, sequence: 7, wireLength: 8,
                                  flags: FrameHeader.Flags(rawValue: 8))
        XCTAssertEqual(reason(encoded(unknown)), "a frame with unknown flags 0x8")
        let sealed = FrameHeader(tag: Tag.pageData, payloadLength: 8, sequence: 7, wireLength: 24, flags: [])
        let seal = FrameSeal(security: .authenticate, key: SymmetricKey(size: .bits256), sending: 0, receiving: 0)
        XCTAssertEqual(try sealed.encodedBytes.withUnsafeBytes { raw throws(MalformedMessage) in
            try FrameHeader.decode(raw.baseAddress!, expectedSequence: 7, maxPayload: 64, seal: seal)
        }, sealed, "a sealed frame's body ends in the 16-byte tag")
    }
}
