import Crypto
import Foundation

/// AES-256-GCM over one stream of frames (a lane's direction, or a rank's page pushes).
/// The nonce is the stream's direction and the frame's 64-bit counter, which both ends
/// keep: a frame replayed, dropped or reordered fails to open, as does one changed on the
/// way. `authenticate` tags header and payload; `encrypt` also encrypts the payload. The
/// frame is sealed and opened in place, so nothing unauthenticated reaches its reader.
struct FrameSeal {
    static let tagLength = 16

    let security: SecurityChoice
    let key: SymmetricKey
    let sending: UInt32
    let receiving: UInt32

    private func nonce(_ direction: UInt32, _ counter: UInt64) -> AES.GCM.Nonce {
        var bytes = [UInt8](repeating: 0, count: 12)
        withUnsafeBytes(of: direction.littleEndian) { bytes.replaceSubrange(0..<4, with: $0) }
        withUnsafeBytes(of: counter.littleEndian) { bytes.replaceSubrange(4..<12, with: $0) }
        return try! AES.GCM.Nonce(data: bytes)  // 12 bytes is GCM's own nonce size
    }

    /// Seals `frame` (`headerLength` bytes of authenticated header, then the body, which is
    /// encrypted in place under `encrypt`) and writes the tag to `tag`.
    func seal(_ frame: UnsafeMutableRawBufferPointer, headerLength: Int, tag: UnsafeMutableRawPointer,
              counter: UInt64, direction: UInt32? = nil) {
        let nonce = nonce(direction ?? sending, counter)
        let header = UnsafeRawBufferPointer(rebasing: frame[0..<headerLength])
        let body = UnsafeMutableRawBufferPointer(rebasing: frame[headerLength...])
        do {
            let box: AES.GCM.SealedBox
            if security == .encrypt {
                box = try AES.GCM.seal(UnsafeRawBufferPointer(body), using: key, nonce: nonce, authenticating: header)
                box.ciphertext.copyBytes(to: body)
            } else {
                box = try AES.GCM.seal(Data(), using: key, nonce: nonce, authenticating: UnsafeRawBufferPointer(frame))
            }
            box.tag.copyBytes(to: UnsafeMutableRawBufferPointer(start: tag, count: Self.tagLength))
        } catch {
            Fatal.stop("sealing a frame failed: \(error)")
        }
    }

    /// Opens a frame `seal` made, in place; false if it fails authentication.
    func open(_ frame: UnsafeMutableRawBufferPointer, headerLength: Int, tag: UnsafeRawPointer,
              counter: UInt64, direction: UInt32? = nil) -> Bool {
        let nonce = nonce(direction ?? receiving, counter)
        let header = UnsafeRawBufferPointer(rebasing: frame[0..<headerLength])
        let body = UnsafeMutableRawBufferPointer(rebasing: frame[headerLength...])
        let tagBytes = UnsafeRawBufferPointer(start: tag, count: Self.tagLength)
        do {
            if security == .encrypt {
                let box = try AES.GCM.SealedBox(nonce: nonce, ciphertext: UnsafeRawBufferPointer(body), tag: tagBytes)
                let plain = try AES.GCM.open(box, using: key, authenticating: header)
                guard plain.count == body.count else { return false }
                plain.copyBytes(to: body)
            } else {
                let box = try AES.GCM.SealedBox(nonce: nonce, ciphertext: Data(), tag: tagBytes)
                _ = try AES.GCM.open(box, using: key, authenticating: UnsafeRawBufferPointer(frame))
            }
            return true
        } catch {
            return false
        }
    }
}
