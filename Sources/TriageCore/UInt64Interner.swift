/// Interns 64-bit keys: each distinct key gets a dense id `0, 1, 2, …` in order of first
/// insertion (ids never depend on hashing). The word n-gram counter packs an n-gram's term ranks
/// into one key, so this table replaces byte strings in the hottest loop of bigram fitting.
///
/// Open addressing with linear probing; `slots` holds `id + 1` (0 = empty) and its size is a
/// power of two at least twice `count`.
public struct UInt64Interner: Sendable {
    public private(set) var keys: [UInt64] = []
    private var slots: [Int32]
    private var shift: UInt64
    private let seed: UInt64

    public init(capacity: Int = 16, seed: UInt64 = ByteInterner.processSeed) {
        var size = 16
        while size < capacity * 2 { size <<= 1 }
        slots = [Int32](repeating: 0, count: size)
        shift = UInt64(64 - size.trailingZeroBitCount)
        self.seed = seed | 1
        keys.reserveCapacity(capacity)
    }

    public var count: Int { keys.count }

    @inline(__always)
    private func home(_ key: UInt64) -> Int {
        Int(truncatingIfNeeded: ((key ^ seed) &* 0x9E37_79B9_7F4A_7C15) >> shift)
    }

    /// The id of `key`, inserting it when new.
    @inline(__always)
    public mutating func intern(_ key: UInt64) -> Int32 {
        let mask = slots.count - 1
        var i = home(key)
        let found: Int32? = slots.withUnsafeBufferPointer { table in
            keys.withUnsafeBufferPointer { keys in
                while true {
                    let s = table[i]
                    if s == 0 { return nil }
                    if keys[Int(s) - 1] == key { return s - 1 }
                    i = (i + 1) & mask
                }
            }
        }
        if let found { return found }
        let id = Int32(keys.count)
        keys.append(key)
        slots[i] = id + 1
        if keys.count * 2 > slots.count { grow() }
        return id
    }

    /// The id of `key`, or nil.
    public func find(_ key: UInt64) -> Int32? {
        let mask = slots.count - 1
        var i = home(key)
        while true {
            let s = slots[i]
            if s == 0 { return nil }
            if keys[Int(s) - 1] == key { return s - 1 }
            i = (i + 1) & mask
        }
    }

    private mutating func grow() {
        let size = slots.count * 2
        shift = UInt64(64 - size.trailingZeroBitCount)
        var fresh = [Int32](repeating: 0, count: size)
        let mask = size - 1
        for (id, key) in keys.enumerated() {
            var i = home(key)
            while fresh[i] != 0 { i = (i + 1) & mask }
            fresh[i] = Int32(id + 1)
        }
        slots = fresh
    }
}
