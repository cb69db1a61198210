// The NPB linear congruential generator x_{k+1} = a * x_k mod 2^46, returning x * 2^-46.
// Exact 64-bit integer arithmetic: (a * x mod 2^64) mod 2^46 == a * x mod 2^46, since 2^46 divides 2^64,
// so a wrapping multiply and a mask give the same stream as NPB's randdp / randi8.

/// 2^-46.
let npbR46: Double = 1.0 / 70_368_744_177_664.0
/// 2^46 - 1.
let npbMask46: UInt64 = (1 << 46) - 1
/// The NPB multiplier 5^13.
let npbMultiplier: Double = 1_220_703_125.0

/// Advances `x` to `a * x mod 2^46` and returns the new value times 2^-46 (NPB `randlc`).
@inline(__always)
func randlc(_ x: inout Double, _ a: Double) -> Double {
    let next = (UInt64(x) &* UInt64(a)) & npbMask46
    let value = Double(Int64(bitPattern: next))
    x = value
    return value * npbR46
}

/// Fills `y[0..<n]` with the next `n` numbers of the stream starting after `x`, and leaves
/// `x` at the last one (NPB `vranlc`).
@inline(__always)
func vranlc(_ n: Int, _ x: inout Double, _ a: Double, _ y: UnsafeMutablePointer<Double>) {
    var state = UInt64(x)
    let multiplier = UInt64(a)
    var index = 0
    while index < n {
        state = (state &* multiplier) & npbMask46
        y[index] = Double(Int64(bitPattern: state)) * npbR46
        index += 1
    }
    x = Double(state)
}

/// a^n mod 2^46 (as the double-valued seed arithmetic uses it): NPB `power` / `ipow46`.
func npbPower(_ a: Double, _ n: Int) -> Double {
    var result: UInt64 = 1
    var base = UInt64(a) & npbMask46
    var exponent = n
    while exponent > 0 {
        if exponent & 1 == 1 { result = (result &* base) & npbMask46 }
        base = (base &* base) & npbMask46
        exponent >>= 1
    }
    return Double(result)
}

/// The seed `k` strides of `stride` numbers after `seed`, where `strideMultiplier` is
/// a^stride (NPB's binary skip-ahead used by EP's batches and IS's find_my_seed).
func npbSkipAhead(_ seed: Double, strides k: Int, strideMultiplier: Double) -> Double {
    var result = seed
    var factor = strideMultiplier
    var remaining = k
    for _ in 1...100 {
        let half = remaining / 2
        if 2 * half != remaining { _ = randlc(&result, factor) }
        if half == 0 { break }
        _ = randlc(&factor, factor)
        remaining = half
    }
    return result
}
