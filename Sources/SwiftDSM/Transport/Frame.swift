/// The header of every message on a tcp lane: 24 bytes, little-endian.
///
///     0  magic "SD" (0x5344)     2  version     3  tag (Tag.request or a reply tag)
///     4  bytes that follow the header on the wire (body, and the seal's tag if sealed)
///     8  sequence number of the frame on its lane (its low 32 bits)
///     12 payload length once opened and decompressed
///     16 flags (`Flags`)          20 checksum of bytes 0..<20 (FNV-1a)
///
/// The checksum and the sequence number catch a stream that lost its framing (a peer of
/// another build, a corrupted or foreign connection) before any payload is trusted. On a
/// lane with `security` the header is also the sealed frame's authenticated data.
struct FrameHeader: Equatable {
    static let length = 24
    static let magic: UInt16 = 0x5344
    /// 3: under `encrypt`, bodies sealed in 32 KiB pieces (`FrameSeal`).
    static let version: UInt8 = 3

    /// How the body encodes the payload.
    struct Flags: OptionSet, Equatable {
        let rawValue: UInt32
        /// The body is the payload compressed with LZ4 (block format).
        static let lz4 = Flags(rawValue: 1)
        /// The payload is all zero bytes: the body is empty.
        static let zero = Flags(rawValue: 2)
        static let known: Flags = [.lz4, .zero]
    }

    var tag: Int32
    var payloadLength: Int
    var sequence: UInt32
    var wireLength: Int
    var flags: Flags

    /// A frame whose body is its payload as is.
    init(tag: Int32, payloadLength: Int, sequence: UInt32) {
        self.init(tag: tag, payloadLength: payloadLength, sequence: sequence, wireLength: payloadLength, flags: [])
    }

    init(tag: Int32, payloadLength: Int, sequence: UInt32, wireLength: Int, flags: Flags) {
        self.tag = tag
        self.payloadLength = payloadLength
        self.sequence = sequence
        self.wireLength = wireLength
        self.flags = flags
    }

    func encode(into target: UnsafeMutableRawPointer) {
        target.storeBytes(of: Self.magic.littleEndian, toByteOffset: 0, as: UInt16.self)
        target.storeBytes(of: Self.version, toByteOffset: 2, as: UInt8.self)
        target.storeBytes(of: UInt8(truncatingIfNeeded: tag), toByteOffset: 3, as: UInt8.self)
        target.storeBytes(of: UInt32(truncatingIfNeeded: wireLength).littleEndian, toByteOffset: 4, as: UInt32.self)
        target.storeBytes(of: sequence.littleEndian, toByteOffset: 8, as: UInt32.self)
        target.storeBytes(of: UInt32(truncatingIfNeeded: payloadLength).littleEndian, toByteOffset: 12, as: UInt32.self)
        target.storeBytes(of: flags.rawValue.littleEndian, toByteOffset: 16, as: UInt32.self)
        let sum = Self.checksum(UnsafeRawPointer(target))
        target.storeBytes(of: sum.littleEndian, toByteOffset: 20, as: UInt32.self)
    }

    /// Parses and checks a header; `maxPayload` bounds the length a peer may announce,
    /// `seal` is the lane's, whose tags end its frames.
    static func decode(_ source: UnsafeRawPointer, expectedSequence: UInt32,
                       maxPayload: Int, seal: FrameSeal? = nil) throws(MalformedMessage) -> FrameHeader {
        let magic = UInt16(littleEndian: source.loadUnaligned(fromByteOffset: 0, as: UInt16.self))
        let version = source.load(fromByteOffset: 2, as: UInt8.self)
        let sum = UInt32(littleEndian: source.loadUnaligned(fromByteOffset: 20, as: UInt32.self))
        guard magic == Self.magic else {
            throw MalformedMessage(reason: "a frame without the SwiftDSM magic number (0x\(String(magic, radix: 16)))")
        }
        guard sum == checksum(source) else { throw MalformedMessage(reason: "a frame header fails its checksum") }
        guard version == Self.version else {
            throw MalformedMessage(reason: "a frame of protocol version \(version), this build speaks \(Self.version)")
        }
        func word(_ offset: Int) -> UInt32 { UInt32(littleEndian: source.loadUnaligned(fromByteOffset: offset, as: UInt32.self)) }
        let header = FrameHeader(tag: Int32(source.load(fromByteOffset: 3, as: UInt8.self)),
                                 payloadLength: Int(word(12)), sequence: word(8), wireLength: Int(word(4)),
                                 flags: Flags(rawValue: word(16)))
        guard header.sequence == expectedSequence else {
            throw MalformedMessage(reason: "frame \(header.sequence) arrived where frame \(expectedSequence) was due")
        }
        guard header.payloadLength <= maxPayload else {
            throw MalformedMessage(reason: "a frame announces \(header.payloadLength) bytes, more than the "
                + "\(maxPayload) any message of this run can have")
        }
        guard Flags.known.isSuperset(of: header.flags), header.flags != Flags.known else {
            throw MalformedMessage(reason: "a frame with unknown flags 0x\(String(header.flags.rawValue, radix: 16))")
        }
        let body = seal.map { $0.bodyLength(wire: header.wireLength) ?? -1 } ?? header.wireLength
        let fits: Bool
        if body < 0 {
            fits = false
        } else if header.flags.contains(.zero) {
            fits = body == 0
        } else if header.flags.contains(.lz4) {
            fits = body >= 0 && body <= Compressor.bound(header.payloadLength)
        } else {
            fits = body == header.payloadLength
        }
        guard fits else {
            throw MalformedMessage(reason: "a frame of \(header.wireLength) bytes on the wire cannot hold a payload of "
                + "\(header.payloadLength) bytes")
        }
        return header
    }

    /// FNV-1a over the first 20 bytes.
    static func checksum(_ source: UnsafeRawPointer) -> UInt32 {
        var hash: UInt32 = 0x811c_9dc5
        for index in 0..<20 {
            hash = (hash ^ UInt32(source.load(fromByteOffset: index, as: UInt8.self))) &* 0x0100_0193
        }
        return hash
    }
}
