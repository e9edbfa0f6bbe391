/// `exp(x)` in plain arithmetic, inlined and vectorisable in the softmax loop: Cody–Waite
/// reduction x = k·ln 2 + r with |r| ≤ ½ ln 2, then a degree-13 Taylor polynomial for e^r
/// (truncation error below 2·10⁻¹⁶ relative), scaled by 2^k built from exponent bits. About
/// 1 ulp from the correctly rounded value, and — being our own operations in a fixed order —
/// the same bits on every platform, which a libm call does not promise.
///
/// Branch-free: x is clamped to [−708, 709], so the result is never 0 or ∞ (softmax only needs
/// x ≤ 0; e^−708 ≈ 3·10⁻³⁰⁸ is as good as 0 there). k is rounded to nearest by adding 1.5·2⁵²
/// and read back from the low bits of the sum, which avoids a conversion with overflow checks.
@inlinable @inline(__always)
public func triageExp(_ value: Double) -> Double {
    let x = value < -708 ? -708 : (value > 709 ? 709 : value)
    let shifter = 6755399441055744.0                       // 1.5 · 2^52
    let t = x * 1.4426950408889634 + shifter               // x / ln 2, rounded, in the low bits
    let k = t - shifter
    let r = (x - k * 0.6931471803691238) - k * 1.9082149292705877e-10   // ln 2 = hi + lo
    var p = 1.0 / 6227020800.0                             // 1/13!
    p = p * r + 1.0 / 479001600.0
    p = p * r + 1.0 / 39916800.0
    p = p * r + 1.0 / 3628800.0
    p = p * r + 1.0 / 362880.0
    p = p * r + 1.0 / 40320.0
    p = p * r + 1.0 / 5040.0
    p = p * r + 1.0 / 720.0
    p = p * r + 1.0 / 120.0
    p = p * r + 1.0 / 24.0
    p = p * r + 1.0 / 6.0
    p = p * r + 0.5
    p = p * r + 1.0
    p = p * r + 1.0
    // k ∈ [−1022, 1023] after the clamp: 2^k is a normal double with biased exponent k + 1023.
    let kBits = t.bitPattern &- shifter.bitPattern          // k as a two's-complement integer
    return p * Double(bitPattern: (kBits &+ 1023) << 52)
}

@inlinable @inline(__always)
public func larger(_ a: Double, _ b: Double) -> Double { a > b ? a : b }
