import TriageCore
import CStemmer

/// A Snowball stemmer from the C library libstemmer (Debian `libstemmer-dev`).
///
/// libstemmer's stemmers are "re-entrant, but not threadsafe" and reuse one output buffer, so
/// this class is deliberately not `Sendable`: make one per thread or task (creating one is
/// cheap next to stemming a corpus). Each result is copied out of libstemmer's buffer before the
/// next call. Stems are cached per instance, keyed by the word's bytes.
///
/// Input should already be lower-cased: the algorithms are defined on lower-case text (German
/// "Verbindungen" stems to "Verbind", "verbindungen" to "verbind").
public final class SnowballStemmer {
    public let algorithm: String
    private let handle: OpaquePointer
    private var cache = ByteCache()
    /// Bound on cached stems; past it the cache starts again (a corpus rarely gets near it).
    public static let cacheLimit = 1 << 20

    /// The algorithm names libstemmer provides (`sb_stemmer_list()`), sorted.
    public static let algorithms: [String] = {
        var names: [String] = []
        guard let list = sb_stemmer_list() else { return names }
        var i = 0
        while let entry = list[i] {
            names.append(String(cString: entry))
            i += 1
        }
        return names.sorted()
    }()

    /// Creates a stemmer for `algorithm`, any name `sb_stemmer_list()` returns ("english",
    /// "german", "porter", …). Throws `unknownStemmer` listing the valid names otherwise.
    public init(algorithm: String) throws(TextFeatureError) {
        guard Self.algorithms.contains(algorithm), let h = sb_stemmer_new(algorithm, "UTF_8") else {
            throw .unknownStemmer(name: algorithm, available: Self.algorithms)
        }
        self.algorithm = algorithm
        handle = h
    }

    deinit { sb_stemmer_delete(handle) }

    /// The stem of `word` (cached).
    public func stem(_ word: String) -> String {
        var w = word
        return w.withUTF8 { bytes in
            var result = ""
            stem(bytes) { result = String(decoding: $0, as: UTF8.self) }
            return result
        }
    }

    /// Calls `body` with the stem of the UTF-8 `word` (cached). The buffer is valid only during
    /// the call.
    public func stem(_ word: UnsafeBufferPointer<UInt8>, _ body: (UnsafeBufferPointer<UInt8>) -> Void) {
        if let id = cache.keys.find(word) {
            cache.stems.withBytes(of: id, body)
            return
        }
        if cache.keys.count >= Self.cacheLimit { cache = ByteCache() }
        let copy = stemUncached(word)
        cache.keys.intern(word)
        cache.stems.appendAlways(copy)
        copy.withUnsafeBufferPointer(body)
    }

    /// Stems without the cache (callers with their own cache, such as the vectorizer's
    /// per-worker term tables, use this).
    public func stemUncached(_ word: UnsafeBufferPointer<UInt8>) -> [UInt8] {
        guard let base = word.baseAddress, word.count > 0, word.count <= Int(Int32.max) else { return Array(word) }
        guard let out = sb_stemmer_stem(handle, base, Int32(word.count)) else { return Array(word) }  // NULL: out of memory
        let length = Int(sb_stemmer_length(handle))
        return Array(UnsafeBufferPointer(start: out, count: length))  // copy now: the next call overwrites it
    }
}

/// Words and their stems, in the same id order.
private struct ByteCache {
    var keys = ByteInterner()
    var stems = ByteList()
}

/// An append-only list of byte strings (ids in insertion order, duplicates allowed).
struct ByteList {
    private var arena: [UInt8] = []
    private var starts: [Int] = [0]

    var count: Int { starts.count - 1 }

    mutating func appendAlways(_ bytes: [UInt8]) {
        arena.append(contentsOf: bytes)
        starts.append(arena.count)
    }

    func withBytes<R>(of id: Int32, _ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R {
        let lo = starts[Int(id)], hi = starts[Int(id) + 1]
        return try arena.withUnsafeBufferPointer { try body(UnsafeBufferPointer(rebasing: $0[lo ..< hi])) }
    }
}
