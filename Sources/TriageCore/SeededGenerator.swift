/// SplitMix64 (Steele, Lea & Flood, "Fast splittable pseudorandom number generators", 2014):
/// the one generator behind every random choice in Triage (subsampling, feature sampling,
/// splits, shuffles), so a seed fixes a result on every platform and thread count.
public struct SeededGenerator: RandomNumberGenerator, Sendable, Hashable {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    /// A generator for a sub-task, derived from a seed and identifying numbers (round, class, fold…)
    /// so that independent tasks get independent streams whatever order they run in.
    public init(seed: UInt64, stream: UInt64...) {
        var s = seed
        for x in stream { s = Self.mix(s ^ Self.mix(x &+ 0x9E37_79B9_7F4A_7C15)) }
        state = s
    }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        return Self.mix(state)
    }

    @inline(__always)
    static func mix(_ x: UInt64) -> UInt64 {
        var z = x
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A uniform integer in `0 ..< bound` (Lemire's multiply-shift with rejection; no modulo bias).
    public mutating func nextInt(below bound: Int) -> Int {
        precondition(bound > 0)
        let b = UInt64(bound)
        while true {
            let r = next().multipliedFullWidth(by: b)
            if r.low >= (0 &- b) % b { return Int(r.high) }
        }
    }

    /// A uniform double in [0, 1) with 53 random bits.
    public mutating func nextUnit() -> Double { Double(next() >> 11) * 0x1.0p-53 }

    /// Fisher–Yates shuffle, deterministic for a given state.
    public mutating func shuffle<T>(_ array: inout [T]) {
        guard array.count > 1 else { return }
        for i in stride(from: array.count - 1, to: 0, by: -1) {
            array.swapAt(i, nextInt(below: i + 1))
        }
    }

    /// `k` distinct indices from `0 ..< n`, increasing (partial Fisher–Yates).
    public mutating func sample(_ k: Int, from n: Int) -> [Int] {
        precondition(k >= 0 && k <= n)
        var pool = Array(0 ..< n)
        for i in 0 ..< k { pool.swapAt(i, i + nextInt(below: n - i)) }
        return pool[0 ..< k].sorted()
    }
}
