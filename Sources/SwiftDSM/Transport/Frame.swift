/// The header of every message on a tcp lane: 16 bytes, little-endian.
///
///     0  magic "SD" (0x5344)     2  version     3  tag (Tag.request or a reply tag)
///     4  payload length          8  sequence number of the frame on its lane
///     12 checksum of bytes 0..<12 (FNV-1a)
///
/// The checksum and the sequence number catch a stream that lost its framing (a peer of
/// another build, a corrupted or foreign connection) before any payload is trusted.
struct FrameHeader: Equatable {
    static let length = 16
    static let magic: UInt16 = 0x5344
    static let version: UInt8 = 1

    var tag: Int32
    var payloadLength: Int
    var sequence: UInt32

    func encode(into target: UnsafeMutableRawPointer) {
        target.storeBytes(of: Self.magic.littleEndian, toByteOffset: 0, as: UInt16.self)
        target.storeBytes(of: Self.version, toByteOffset: 2, as: UInt8.self)
        target.storeBytes(of: UInt8(truncatingIfNeeded: tag), toByteOffset: 3, as: UInt8.self)
        target.storeBytes(of: UInt32(truncatingIfNeeded: payloadLength).littleEndian, toByteOffset: 4, as: UInt32.self)
        target.storeBytes(of: sequence.littleEndian, toByteOffset: 8, as: UInt32.self)
        let sum = Self.checksum(UnsafeRawPointer(target))
        target.storeBytes(of: sum.littleEndian, toByteOffset: 12, as: UInt32.self)
    }

    /// Parses and checks a header; `maxPayload` bounds the length a peer may announce.
    static func decode(_ source: UnsafeRawPointer, expectedSequence: UInt32,
                       maxPayload: Int) throws(MalformedMessage) -> FrameHeader {
        let magic = UInt16(littleEndian: source.loadUnaligned(fromByteOffset: 0, as: UInt16.self))
        let version = source.load(fromByteOffset: 2, as: UInt8.self)
        let sum = UInt32(littleEndian: source.loadUnaligned(fromByteOffset: 12, as: UInt32.self))
        guard magic == Self.magic else {
            throw MalformedMessage(reason: "a frame without the SwiftDSM magic number (0x\(String(magic, radix: 16)))")
        }
        guard sum == checksum(source) else { throw MalformedMessage(reason: "a frame header fails its checksum") }
        guard version == Self.version else {
            throw MalformedMessage(reason: "a frame of protocol version \(version), this build speaks \(Self.version)")
        }
        let header = FrameHeader(
            tag: Int32(source.load(fromByteOffset: 3, as: UInt8.self)),
            payloadLength: Int(UInt32(littleEndian: source.loadUnaligned(fromByteOffset: 4, as: UInt32.self))),
            sequence: UInt32(littleEndian: source.loadUnaligned(fromByteOffset: 8, as: UInt32.self)))
        guard header.sequence == expectedSequence else {
            throw MalformedMessage(reason: "frame \(header.sequence) arrived where frame \(expectedSequence) was due")
        }
        guard header.payloadLength <= maxPayload else {
            throw MalformedMessage(reason: "a frame announces \(header.payloadLength) bytes, more than the "
                + "\(maxPayload) any message of this run can have")
        }
        return header
    }

    /// FNV-1a over the first 12 bytes.
    static func checksum(_ source: UnsafeRawPointer) -> UInt32 {
        var hash: UInt32 = 0x811c_9dc5
        for index in 0..<12 {
            hash = (hash ^ UInt32(source.load(fromByteOffset: index, as: UInt8.self))) &* 0x0100_0193
        }
        return hash
    }
}
