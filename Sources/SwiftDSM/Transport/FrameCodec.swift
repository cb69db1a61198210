import Glibc

/// What one lane does to its frames beyond the header: compresses their payloads
/// (`Compressor`) and seals them (`FrameSeal`). A lane with neither writes payloads
/// straight from the caller's buffers; a lane with a codec builds each outgoing frame in
/// the codec's buffer (under the lane's sending lock) and opens each incoming one in the
/// lane's receive buffer before any byte of it is handed on.
final class FrameCodec {
    let seal: FrameSeal?
    let compressor: Compressor?
    private var outgoing = Buffer()
    private var gathered = Buffer()
    private var restored = Buffer()
    /// Flip one byte of the next outgoing frame after sealing it (tests only).
    var tamperWithNextFrame = false

    private func tagsLength(body: Int) -> Int { seal?.tagsLength(body: body) ?? 0 }

    init(seal: FrameSeal?, compressor: Compressor?) {
        self.seal = seal
        self.compressor = compressor
    }

    /// Builds the frame of `tag` whose payload is `parts` (`length` bytes in all), the
    /// stream's `counter`-th: the bytes to write, valid until the next call. `direction`
    /// names the stream under the seal's key where one key seals several (else the seal's own).
    func encode(tag: Int32, _ parts: [UnsafeRawBufferPointer], length: Int, counter: UInt64,
                direction: UInt32? = nil) -> UnsafeRawBufferPointer {
        let headerLength = FrameHeader.length
        let most = max(length, Compressor.bound(length))
        let frame = outgoing.reserve(headerLength + most + tagsLength(body: most))
        let body = frame + headerLength
        var flags: FrameHeader.Flags = []
        var bodyLength = length
        if let compressor {
            let payload = parts.count == 1 ? parts[0] : gather(parts, length: length, into: gathered.reserve(length))
            if let (encoding, encodedLength) = compressor.encode(payload, into: body) {
                flags = encoding
                bodyLength = encodedLength
            } else if length > 0 {
                memcpy(body, payload.baseAddress!, length)
            }
        } else {
            _ = gather(parts, length: length, into: body)
        }
        let tagLength = tagsLength(body: bodyLength)
        FrameHeader(tag: tag, payloadLength: length, sequence: UInt32(truncatingIfNeeded: counter),
                    wireLength: bodyLength + tagLength, flags: flags).encode(into: frame)
        seal?.seal(UnsafeMutableRawBufferPointer(start: frame, count: headerLength + bodyLength),
                   headerLength: headerLength, tag: body + bodyLength, counter: counter, direction: direction)
        let total = headerLength + bodyLength + tagLength
        if tamperWithNextFrame {
            tamperWithNextFrame = false
            // A byte of the body (or of the tag, for an empty body): the header has its checksum.
            (frame + headerLength + (total - headerLength) / 2).storeBytes(
                of: (frame + headerLength + (total - headerLength) / 2).load(as: UInt8.self) ^ 0x01, as: UInt8.self)
        }
        return UnsafeRawBufferPointer(start: frame, count: total)
    }

    private func gather(_ parts: [UnsafeRawBufferPointer], length: Int,
                        into target: UnsafeMutableRawPointer) -> UnsafeRawBufferPointer {
        var offset = 0
        for part in parts where part.count > 0 {
            memcpy(target + offset, part.baseAddress!, part.count)
            offset += part.count
        }
        return UnsafeRawBufferPointer(start: target, count: length)
    }

    /// Opens the complete frame at `frame` (its header, then `header.wireLength` bytes) in
    /// place and restores its payload: into `target` when given (room for
    /// `header.payloadLength` bytes), else where it lies or into the codec's buffer. The
    /// payload stays valid until the next call, or until the lane's buffer changes.
    func decode(_ frame: UnsafeMutableRawPointer, header: FrameHeader, counter: UInt64, direction: UInt32? = nil,
                into target: UnsafeMutableRawPointer?) throws(TCPLane.Failure) -> UnsafeRawBufferPointer {
        let headerLength = FrameHeader.length
        let bodyLength = seal.map { $0.bodyLength(wire: header.wireLength) ?? 0 } ?? header.wireLength
        if let seal, !seal.open(UnsafeMutableRawBufferPointer(start: frame, count: headerLength + bodyLength),
                                headerLength: headerLength, tag: frame + headerLength + bodyLength, counter: counter,
                                direction: direction) {
            throw .forged
        }
        let body = UnsafeRawBufferPointer(start: frame + headerLength, count: bodyLength)
        let count = header.payloadLength
        guard !header.flags.isEmpty else {
            if let target, count > 0 { memcpy(target, body.baseAddress!, count) }
            return UnsafeRawBufferPointer(start: target.map { UnsafeRawPointer($0) } ?? body.baseAddress, count: count)
        }
        let destination = target ?? restored.reserve(count)
        guard Compressor.decode(body, flags: header.flags, count: count, into: destination) else {
            throw .malformed(MalformedMessage(reason: "a compressed frame does not decode to its \(count) bytes"))
        }
        return UnsafeRawBufferPointer(start: destination, count: count)
    }

    /// A growable scratch buffer, freed with the codec.
    private struct Buffer: ~Copyable {
        private var storage: UnsafeMutableRawPointer?
        private var capacity = 0

        mutating func reserve(_ count: Int) -> UnsafeMutableRawPointer {
            if count > capacity || storage == nil {
                storage?.deallocate()
                capacity = max(count, 1 << 16, capacity * 2)
                storage = .allocate(byteCount: capacity, alignment: 16)
            }
            return storage!
        }

        deinit { storage?.deallocate() }
    }
}
