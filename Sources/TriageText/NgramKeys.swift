import TriageCore

/// Per-document counts over a canonical (code-point-sorted) feature list, before pruning.
struct FeatureCounts {
    /// Feature strings, lazily: `string(i)` gives feature i's text.
    var vocabulary: LazyVocabulary
    var offsets: [Int]
    var features: [Int32]
    var counts: [Int32]
}

/// Strings of the features in canonical order, built only for the features that survive pruning.
enum LazyVocabulary {
    case terms(ByteInterner)
    case wordNgrams(terms: ByteInterner, keys: ByteInterner, order: [Int32])
    case packedNgrams(terms: ByteInterner, keys: [UInt64], order: [Int32], bits: Int)
    case bytes(ByteInterner, order: [Int32])

    var count: Int {
        switch self {
        case let .terms(t): return t.count
        case let .wordNgrams(_, keys, _): return keys.count
        case let .packedNgrams(_, keys, _, _): return keys.count
        case let .bytes(b, _): return b.count
        }
    }

    func string(_ i: Int) -> String {
        switch self {
        case let .terms(t):
            return t.string(of: Int32(i))
        case let .wordNgrams(terms, keys, order):
            return keys.withBytes(of: order[i]) { key in
                ngramTermIDs(key).map { terms.string(of: $0) }.joined(separator: " ")
            }
        case let .packedNgrams(terms, keys, order, bits):
            let key = keys[Int(order[i])]
            let mask = (UInt64(1) << UInt64(bits)) - 1
            var bytes: [UInt8] = []
            var j = 1
            while bits * j <= 64 {
                let v = (key >> UInt64(64 - bits * j)) & mask
                if v == 0 { break }
                if j > 1 { bytes.append(0x20) }
                terms.withBytes(of: Int32(v - 1)) { bytes.append(contentsOf: $0) }
                j += 1
            }
            return String(decoding: bytes, as: UTF8.self)
        case let .bytes(b, order):
            return b.string(of: order[i])
        }
    }
}

struct KeyAndID {
    var key: UInt64
    var id: Int32
}

/// A per-worker table of packed word n-gram keys.
struct PackedKeyTable {
    let worker: Int
    var keys = UInt64Interner()

    init(worker: Int) { self.worker = worker }
}

/// The term ids packed in an n-gram key (little-endian Int32s).
func ngramTermIDs(_ key: UnsafeBufferPointer<UInt8>) -> [Int32] {
    stride(from: 0, to: key.count, by: 4).map { k in
        Int32(bitPattern: UInt32(key[k]) | UInt32(key[k + 1]) << 8 | UInt32(key[k + 2]) << 16 | UInt32(key[k + 3]) << 24)
    }
}

@inline(__always)
func appendKey(_ id: Int32, to key: inout [UInt8]) {
    let u = UInt32(bitPattern: id)
    key.append(UInt8(truncatingIfNeeded: u))
    key.append(UInt8(truncatingIfNeeded: u >> 8))
    key.append(UInt8(truncatingIfNeeded: u >> 16))
    key.append(UInt8(truncatingIfNeeded: u >> 24))
}

/// Chunk results concatenated in chunk order.
func concatenate(_ chunks: [([Int32], [Int32], [Int])], vocabulary: LazyVocabulary, remap: ((Int32) -> Int32)? = nil) -> FeatureCounts {
    var offsets = [0]
    var features: [Int32] = []
    var counts: [Int32] = []
    let total = chunks.reduce(0) { $0 + $1.0.count }
    features.reserveCapacity(total)
    counts.reserveCapacity(total)
    for (f, c, lengths) in chunks {
        features.append(contentsOf: f)
        counts.append(contentsOf: c)
        for length in lengths { offsets.append(offsets[offsets.count - 1] + length) }
    }
    return FeatureCounts(vocabulary: vocabulary, offsets: offsets, features: features, counts: counts)
}

/// A per-worker table of feature keys, with a per-word cache for `char_wb`.
struct KeyTable {
    let worker: Int
    var keys = ByteInterner()

    init(worker: Int) { self.worker = worker }

    private var words = ByteInterner()
    private var wordFeatures: [[Int32]] = []

    /// The feature ids of a word's padded n-grams (computed once per distinct word).
    mutating func wordNgrams(_ word: UnsafeBufferPointer<UInt8>, _ range: NgramRange) -> [Int32] {
        let known = words.count
        let id = Int(words.intern(word))
        if id == known {
            var ids: [Int32] = []
            forEachPaddedWordNgram(word, range) { ids.append(keys.intern($0)) }
            wordFeatures.append(ids)
        }
        return wordFeatures[id]
    }
}

/// Union of the workers' key tables: the merged table and, per worker, local id → merged id.
func mergeKeyTables(_ tables: [KeyTable]) -> (ByteInterner, [[Int32]]) {
    var merged = ByteInterner(capacity: tables.map(\.keys.count).max() ?? 16)
    var maps: [[Int32]] = []
    for table in tables {
        var map = [Int32](repeating: 0, count: table.keys.count)
        for i in 0 ..< table.keys.count {
            map[i] = table.keys.withBytes(of: Int32(i)) { merged.intern($0) }
        }
        maps.append(map)
    }
    return (merged, maps)
}

/// Lexicographic order of two packed term-id sequences (a prefix sorts first).
func lexicographicLess(_ a: UnsafeBufferPointer<UInt8>, _ b: UnsafeBufferPointer<UInt8>) -> Bool {
    let n = min(a.count, b.count)
    var k = 0
    while k < n {
        let x = UInt32(a[k]) | UInt32(a[k + 1]) << 8 | UInt32(a[k + 2]) << 16 | UInt32(a[k + 3]) << 24
        let y = UInt32(b[k]) | UInt32(b[k + 1]) << 8 | UInt32(b[k + 2]) << 16 | UInt32(b[k + 3]) << 24
        if x != y { return x < y }
        k += 4
    }
    return a.count < b.count
}
