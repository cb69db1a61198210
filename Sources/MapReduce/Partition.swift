/// The reducer of a key: a hash of the key's bytes that is the same in every process
/// (Swift's `Hasher` is seeded per process, so ranks would disagree), modulo the ranks.
/// Bytes past `MemoryLayout<Key>.size` (trailing padding) are not hashed; a key type with
/// padding inside must come with its own partition function.
public enum Partition {
    @inline(__always)
    public static func mix(_ value: UInt64) -> UInt64 {
        var z = value &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    @inline(__always)
    public static func hash<Key: BitwiseCopyable>(_ key: Key) -> UInt64 {
        var key = key
        return withUnsafeBytes(of: &key) { bytes in
            if bytes.count == 8 { return mix(bytes.loadUnaligned(as: UInt64.self)) }
            var h: UInt64 = 0xCBF2_9CE4_8422_2325
            for byte in bytes { h = (h ^ UInt64(byte)) &* 0x100_0000_01B3 }
            return mix(h)
        }
    }

    @inline(__always)
    public static func reducer<Key: BitwiseCopyable>(of key: Key, reducers: Int) -> Int {
        Int(hash(key) % UInt64(reducers))
    }
}
