import Crypto
import Foundation

/// AES-256-GCM over one stream of frames (a lane's direction, or a rank's page pushes).
/// The nonce is the stream's direction and the frame's 64-bit counter, which both ends
/// keep: a frame replayed, dropped or reordered fails to open, as does one changed on the
/// way. `authenticate` tags header and payload; `encrypt` also encrypts the payload, in
/// chunks (`chunkLength`) each with its own tag, the tags in order after the body. The
/// frame is sealed and opened in place, so nothing unauthenticated reaches its reader.
struct FrameSeal {
    static let tagLength = 16
    /// Under `encrypt`, the largest piece of a body sealed at once. swift-crypto returns
    /// every sealed or opened piece in a buffer of its own: pieces this small reuse
    /// malloc's memory, where one buffer per frame took fresh pages from the kernel
    /// (clearing them was a quarter of FT's time; here 32 KiB pieces seal at 3.4 GB/s,
    /// whole 1 MiB bodies at 0.9).
    static let chunkLength = 32 << 10
    /// A chunk's index goes into the nonce's top counter bits, above the frame's counter.
    private static let chunkShift: UInt64 = 44

    let security: SecurityChoice
    let key: SymmetricKey
    let sending: UInt32
    let receiving: UInt32

    /// The bytes of tags after a body of `body` bytes.
    func tagsLength(body: Int) -> Int {
        security == .encrypt ? Self.tagLength * Self.chunks(body) : Self.tagLength
    }

    private static func chunks(_ body: Int) -> Int { max(1, (body + chunkLength - 1) / chunkLength) }

    /// The body in `wire` bytes of body and tags; nil where no body has that length.
    func bodyLength(wire: Int) -> Int? {
        guard wire >= Self.tagLength else { return nil }
        guard security == .encrypt, wire > Self.tagLength else { return wire - Self.tagLength }
        let chunks = (wire - Self.tagLength - 1) / (Self.chunkLength + Self.tagLength) + 1
        let body = wire - chunks * Self.tagLength
        return body + tagsLength(body: body) == wire ? body : nil
    }

    private func nonce(_ direction: UInt32, _ counter: UInt64, chunk: Int = 0) -> AES.GCM.Nonce {
        guard counter < 1 << Self.chunkShift else {
            Fatal.stop("a sealed stream reached 2^\(Self.chunkShift) frames; its nonces would repeat")
        }
        var bytes = [UInt8](repeating: 0, count: 12)
        withUnsafeBytes(of: direction.littleEndian) { bytes.replaceSubrange(0..<4, with: $0) }
        let word = counter | UInt64(chunk) << Self.chunkShift
        withUnsafeBytes(of: word.littleEndian) { bytes.replaceSubrange(4..<12, with: $0) }
        return try! AES.GCM.Nonce(data: bytes)  // 12 bytes is GCM's own nonce size
    }

    private static func count(_ bytes: Int, since start: UInt64) {
        let slot = ThreadStatistics.current
        slot.pointee.sealedBytes &+= UInt64(bytes)
        slot.pointee.sealNanoseconds &+= monotonicNanoseconds() - start
    }

    /// The range of chunk `index` in a body of `count` bytes.
    private static func piece(_ index: Int, of count: Int) -> Range<Int> {
        (index * chunkLength)..<min(count, (index + 1) * chunkLength)
    }

    /// Seals `frame` (`headerLength` bytes of authenticated header, then the body, which is
    /// encrypted in place under `encrypt`) and writes the tags (`tagsLength`) to `tag`.
    func seal(_ frame: UnsafeMutableRawBufferPointer, headerLength: Int, tag: UnsafeMutableRawPointer,
              counter: UInt64, direction: UInt32? = nil) {
        let direction = direction ?? sending
        let header = UnsafeRawBufferPointer(rebasing: frame[0..<headerLength])
        let body = UnsafeMutableRawBufferPointer(rebasing: frame[headerLength...])
        let start = monotonicNanoseconds()
        defer { Self.count(frame.count, since: start) }
        do {
            guard security == .encrypt else {
                let box = try AES.GCM.seal(Data(), using: key, nonce: nonce(direction, counter),
                                           authenticating: UnsafeRawBufferPointer(frame))
                box.tag.copyBytes(to: UnsafeMutableRawBufferPointer(start: tag, count: Self.tagLength))
                return
            }
            for index in 0..<Self.chunks(body.count) {
                let piece = UnsafeMutableRawBufferPointer(rebasing: body[Self.piece(index, of: body.count)])
                let box = try AES.GCM.seal(UnsafeRawBufferPointer(piece), using: key,
                                           nonce: nonce(direction, counter, chunk: index), authenticating: header)
                box.ciphertext.copyBytes(to: piece)
                box.tag.copyBytes(to: UnsafeMutableRawBufferPointer(start: tag + index * Self.tagLength,
                                                                   count: Self.tagLength))
            }
        } catch {
            Fatal.stop("sealing a frame failed: \(error)")
        }
    }

    /// Opens a frame `seal` made, in place; false if it fails authentication (its body may
    /// then be partly decrypted: it must not be used).
    func open(_ frame: UnsafeMutableRawBufferPointer, headerLength: Int, tag: UnsafeRawPointer,
              counter: UInt64, direction: UInt32? = nil) -> Bool {
        let direction = direction ?? receiving
        let header = UnsafeRawBufferPointer(rebasing: frame[0..<headerLength])
        let body = UnsafeMutableRawBufferPointer(rebasing: frame[headerLength...])
        let start = monotonicNanoseconds()
        defer { Self.count(frame.count, since: start) }
        do {
            guard security == .encrypt else {
                let box = try AES.GCM.SealedBox(nonce: nonce(direction, counter), ciphertext: Data(),
                                                tag: UnsafeRawBufferPointer(start: tag, count: Self.tagLength))
                _ = try AES.GCM.open(box, using: key, authenticating: UnsafeRawBufferPointer(frame))
                return true
            }
            for index in 0..<Self.chunks(body.count) {
                let piece = UnsafeMutableRawBufferPointer(rebasing: body[Self.piece(index, of: body.count)])
                let box = try AES.GCM.SealedBox(nonce: nonce(direction, counter, chunk: index),
                                                ciphertext: UnsafeRawBufferPointer(piece),
                                                tag: UnsafeRawBufferPointer(start: tag + index * Self.tagLength,
                                                                            count: Self.tagLength))
                let plain = try AES.GCM.open(box, using: key, authenticating: header)
                guard plain.count == piece.count else { return false }
                plain.copyBytes(to: piece)
            }
            return true
        } catch {
            return false
        }
    }
}
