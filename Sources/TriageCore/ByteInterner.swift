#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Interns byte strings: each distinct string gets a dense id `0, 1, 2, …` in order of first
/// insertion, so ids never depend on hashing.
///
/// This is the hot table of the vectorizers (tokens, terms and n-grams all pass through one),
/// so it is an open-addressing table over one byte arena rather than a `Dictionary<String, Int>`.
///
/// Unsafe code: the buffer accesses in this file rely on these invariants —
/// `starts.count == count + 1`, `starts` non-decreasing with `starts[count] == arena.count`,
/// `slots.count` a power of two greater than `2 * count`, and every non-empty slot holding
/// `(hash32 << 32) | (id + 1)` for an id below `count`.
///
/// - Complexity: `intern` and `find` are O(length) expected.
public struct ByteInterner: Sendable {
    private var arena: [UInt8] = []
    private var starts: [Int] = [0]
    private var slots: [UInt64]
    private let seed: UInt64

    /// Number of distinct strings interned.
    public private(set) var count: Int = 0

    /// A process-wide random hash seed, so that crafted inputs cannot force collisions.
    /// It never affects ids or any output, only probe sequences.
    public static let processSeed: UInt64 = UInt64.random(in: 1 ... .max)

    public init(capacity: Int = 16, seed: UInt64 = ByteInterner.processSeed) {
        var size = 16
        while size < capacity * 2 { size <<= 1 }
        slots = [UInt64](repeating: 0, count: size)
        self.seed = seed
    }

    /// Total bytes stored.
    public var byteCount: Int { arena.count }

    /// Returns the id of `bytes`, inserting it when new.
    @discardableResult
    public mutating func intern(_ bytes: UnsafeBufferPointer<UInt8>) -> Int32 {
        let h = Self.hash(bytes, seed: seed)
        let tag = UInt64(truncatingIfNeeded: h >> 32) << 32
        let (found, slot) = probe(bytes, hash: h, tag: tag)
        if found >= 0 { return Int32(found) }
        let id = count
        arena.append(contentsOf: bytes)
        starts.append(arena.count)
        count += 1
        slots[slot] = tag | UInt64(id + 1)
        if count * 2 > slots.count { grow() }
        return Int32(id)
    }

    /// The id of `bytes`, or nil when it was never interned.
    public func find(_ bytes: UnsafeBufferPointer<UInt8>) -> Int32? {
        let h = Self.hash(bytes, seed: seed)
        let (found, _) = probe(bytes, hash: h, tag: UInt64(truncatingIfNeeded: h >> 32) << 32)
        return found >= 0 ? Int32(found) : nil
    }

    /// Linear probing: (id, slot) when found, (-1, first empty slot) otherwise.
    @inline(__always)
    private func probe(_ bytes: UnsafeBufferPointer<UInt8>, hash h: UInt64, tag: UInt64) -> (Int, Int) {
        slots.withUnsafeBufferPointer { table in
            starts.withUnsafeBufferPointer { starts in
                arena.withUnsafeBufferPointer { arena in
                    let mask = table.count - 1
                    var i = Int(truncatingIfNeeded: h) & mask
                    while true {
                        let slot = table[i]
                        if slot == 0 { return (-1, i) }
                        if slot & 0xFFFF_FFFF_0000_0000 == tag {
                            let id = Int(slot & 0xFFFF_FFFF) - 1
                            let lo = starts[id], n = starts[id + 1] - lo
                            if n == bytes.count {
                                if n == 0 { return (id, i) }
                                if let a = arena.baseAddress, let b = bytes.baseAddress, Self.equalBytes(a + lo, b, n) {
                                    return (id, i)
                                }
                            }
                        }
                        i = (i + 1) & mask
                    }
                }
            }
        }
    }

    /// Byte equality; short keys (most tokens) are compared inline, longer ones with memcmp.
    @inline(__always)
    private static func equalBytes(_ a: UnsafePointer<UInt8>, _ b: UnsafePointer<UInt8>, _ n: Int) -> Bool {
        if n <= 16 {
            for k in 0 ..< n where a[k] != b[k] { return false }
            return true
        }
        return memcmp(a, b, n) == 0
    }

    @discardableResult
    public mutating func intern(_ string: String) -> Int32 {
        var s = string
        return s.withUTF8 { intern($0) }
    }

    public func find(_ string: String) -> Int32? {
        var s = string
        return s.withUTF8 { find($0) }
    }

    @discardableResult
    public mutating func intern(_ bytes: [UInt8]) -> Int32 {
        bytes.withUnsafeBufferPointer { intern($0) }
    }

    public func find(_ bytes: [UInt8]) -> Int32? {
        bytes.withUnsafeBufferPointer { find($0) }
    }

    /// The bytes of `id`.
    public func bytes(of id: Int32) -> ArraySlice<UInt8> {
        arena[starts[Int(id)] ..< starts[Int(id) + 1]]
    }

    /// Length in bytes of `id`.
    public func length(of id: Int32) -> Int {
        starts[Int(id) + 1] - starts[Int(id)]
    }

    /// Calls `body` with the bytes of `id`, without copying.
    public func withBytes<R>(of id: Int32, _ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R {
        let lo = starts[Int(id)], hi = starts[Int(id) + 1]
        return try arena.withUnsafeBufferPointer { all in
            try body(UnsafeBufferPointer(rebasing: all[lo ..< hi]))
        }
    }

    /// The string of `id` (its bytes decoded as UTF-8, invalid sequences repaired).
    public func string(of id: Int32) -> String {
        withBytes(of: id) { String(decoding: $0, as: UTF8.self) }
    }

    /// All strings in id order.
    public func allStrings() -> [String] {
        (0 ..< count).map { string(of: Int32($0)) }
    }

    /// Compares the bytes of two ids lexicographically (memcmp order, which is code point
    /// order for UTF-8): negative, zero or positive.
    public func compare(_ a: Int32, _ b: Int32) -> Int {
        arena.withUnsafeBufferPointer { all in
            let la = starts[Int(a)], lb = starts[Int(b)]
            let na = starts[Int(a) + 1] - la, nb = starts[Int(b) + 1] - lb
            guard let base = all.baseAddress else { return na - nb }
            let c = memcmp(base + la, base + lb, Swift.min(na, nb))
            return c != 0 ? Int(c) : na - nb
        }
    }

    private mutating func grow() {
        let newSize = slots.count * 2
        var fresh = [UInt64](repeating: 0, count: newSize)
        let mask = newSize - 1
        arena.withUnsafeBufferPointer { all in
            for id in 0 ..< count {
                let lo = starts[id], hi = starts[id + 1]
                let h = Self.hash(UnsafeBufferPointer(rebasing: all[lo ..< hi]), seed: seed)
                var i = Int(truncatingIfNeeded: h) & mask
                while fresh[i] != 0 { i = (i + 1) & mask }
                fresh[i] = (UInt64(truncatingIfNeeded: h >> 32) << 32) | UInt64(id + 1)
            }
        }
        slots = fresh
    }

    /// A fast 64-bit hash (multiply–rotate over 8-byte words, then a murmur-style finaliser).
    /// Not cryptographic; the random seed keeps probe sequences unpredictable.
    @inline(__always)
    public static func hash(_ bytes: UnsafeBufferPointer<UInt8>, seed: UInt64) -> UInt64 {
        let p: UInt64 = 0x9E37_79B9_7F4A_7C15
        var h = seed ^ (UInt64(bytes.count) &* p)
        guard let base = bytes.baseAddress else { return finalize(h) }
        let raw = UnsafeRawPointer(base)
        var offset = 0
        let n = bytes.count
        while offset + 8 <= n {
            let k = raw.loadUnaligned(fromByteOffset: offset, as: UInt64.self)
            h = (h ^ k) &* p
            h = (h << 29) | (h >> 35)
            offset += 8
        }
        if offset < n {
            var k: UInt64 = 0
            var shift: UInt64 = 0
            while offset < n {
                k |= UInt64(base[offset]) << shift
                shift += 8
                offset += 1
            }
            h = (h ^ k) &* p
        }
        return finalize(h)
    }

    @inline(__always)
    private static func finalize(_ x: UInt64) -> UInt64 {
        var h = x
        h ^= h >> 33
        h &*= 0xFF51_AFD7_ED55_8CCD
        h ^= h >> 33
        h &*= 0xC4CE_B9FE_1A85_EC53
        h ^= h >> 33
        return h
    }
}
