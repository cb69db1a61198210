import CLZ4
import Glibc

/// LZ4 for the payloads of one lane's outgoing frames (`compression` setting). Payloads
/// below `minimumBytes` (requests, grants) go as they are; an all-zero payload becomes an
/// empty body under `lz4` and `auto` alike. Under `auto` the lane compresses while the
/// payloads it sampled lately shrank at least 2x, and otherwise samples one in 32.
/// Used under the lane's sending lock.
final class Compressor {
    static let minimumBytes = 512
    /// Payloads larger than LZ4's block limit go as they are.
    private static let maximumBytes = Int(LZ4_MAX_INPUT_SIZE)
    private static let sampleEvery = 32

    let choice: CompressionChoice
    /// Recent bytes in and out of sampled compressions, decaying by 1/8 per sample.
    private var recentIn = 0.0
    private var recentOut = 0.0
    private var compressing = true
    private var sinceSample = 0

    init(choice: CompressionChoice) {
        self.choice = choice
    }

    /// The bytes a compressed body of `count` payload bytes may take.
    static func bound(_ count: Int) -> Int {
        count > maximumBytes ? count : Int(LZ4_compressBound(Int32(count)))
    }

    /// Encodes `payload` into `target` (room for `bound(payload.count)` bytes) if that pays:
    /// the flags and the body's length, or nil to send the payload as it is.
    func encode(_ payload: UnsafeRawBufferPointer, into target: UnsafeMutableRawPointer) -> (FrameHeader.Flags, Int)? {
        let count = payload.count
        guard count >= Self.minimumBytes, count <= Self.maximumBytes else { return nil }
        let start = monotonicNanoseconds()
        if Self.isZero(payload) {
            record(in: count, out: 0, since: start)
            return (.zero, 0)
        }
        if choice == .auto && !compressing {
            sinceSample += 1
            if sinceSample < Self.sampleEvery { return nil }
            sinceSample = 0
        }
        let written = Int(LZ4_compress_default(payload.baseAddress!.assumingMemoryBound(to: CChar.self),
                                               target.assumingMemoryBound(to: CChar.self),
                                               Int32(count), Int32(Self.bound(count))))
        let shrank = written > 0 && written < count
        record(in: count, out: shrank ? written : count, since: start)
        if choice == .auto {
            recentIn = recentIn * 0.875 + Double(count)
            recentOut = recentOut * 0.875 + Double(shrank ? written : count)
            compressing = recentIn >= 2 * recentOut
        }
        return shrank ? (.lz4, written) : nil
    }

    private func record(in bytesIn: Int, out bytesOut: Int, since start: UInt64) {
        let slot = ThreadStatistics.current
        slot.pointee.compressionBytesIn &+= UInt64(bytesIn)
        slot.pointee.compressionBytesOut &+= UInt64(bytesOut)
        slot.pointee.compressionNanoseconds &+= monotonicNanoseconds() - start
    }

    /// Restores a payload of `count` bytes from a body `encode` made. False if the body
    /// does not decode to exactly `count` bytes.
    static func decode(_ body: UnsafeRawBufferPointer, flags: FrameHeader.Flags, count: Int,
                       into target: UnsafeMutableRawPointer) -> Bool {
        if flags.contains(.zero) {
            memset(target, 0, count)
            return true
        }
        guard let source = body.baseAddress else { return count == 0 }
        let restored = LZ4_decompress_safe(source.assumingMemoryBound(to: CChar.self),
                                           target.assumingMemoryBound(to: CChar.self),
                                           Int32(body.count), Int32(count))
        return Int(restored) == count
    }

    /// Whether every byte is zero; stops at the first that is not (at once, for most data).
    static func isZero(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard let base = bytes.baseAddress else { return true }
        let words = bytes.count / 8
        var index = 0
        while index < words {
            if base.loadUnaligned(fromByteOffset: index * 8, as: UInt64.self) != 0 { return false }
            index += 1
        }
        for offset in (words * 8)..<bytes.count where base.load(fromByteOffset: offset, as: UInt8.self) != 0 {
            return false
        }
        return true
    }
}
