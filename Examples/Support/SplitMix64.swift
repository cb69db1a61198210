/// SplitMix64: the examples' deterministic generator. Streams are seeded by index (a
/// chunk, a point), so any rank can regenerate any part of the input on its own.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    public var state: UInt64

    public init(seed: UInt64) { state = seed }

    /// The stream of item `index` of the input seeded with `seed`.
    public init(seed: UInt64, stream index: Int) { state = SplitMix64.mix(seed ^ SplitMix64.mix(UInt64(index))) }

    @inline(__always)
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [0, 1), 53 random bits.
    @inline(__always)
    public mutating func nextUnit() -> Double { Double(next() >> 11) * 0x1p-53 }

    /// The finalizer alone: a good 64-bit mixing function.
    @inline(__always)
    public static func mix(_ value: UInt64) -> UInt64 {
        var generator = SplitMix64(seed: value)
        return generator.next()
    }
}
