import TriageCore

/// scikit-learn's `CountVectorizer`: documents → a matrix of n-gram counts over a learned,
/// sorted vocabulary. Settings only; `fit` returns a `FittedCountVectorizer`.
///
/// Parameters (scikit-learn's names in JSON, same meanings):
/// - `analyzer`, `ngram_range`, `lowercase`, `strip_accents`, `token_pattern`, `stop_words`, and
///   `stemmer` (a Snowball algorithm; Triage's addition) — see `AnalysisSettings` for the order.
/// - `min_df`, `max_df`: keep a term when `min_count ≤ df ≤ max_count`, where an integer is a
///   document count and a float `p` means `p × n_documents` (not rounded).
/// - `max_features`: then keep the `max_features` terms of highest total count. **Tie-break**:
///   equal counts keep the term that comes first in code point order. (scikit-learn leaves ties
///   to numpy's unstable argsort, so which tied terms it keeps is unspecified.) With `binary`,
///   the "total count" is the document frequency, as in scikit-learn.
/// - `binary`: every non-zero count becomes 1.
/// - `vocabulary`: a fixed list of terms (column order = list order); fitting then learns
///   nothing and ignores `min_df`, `max_df` and `max_features`.
///
/// The vocabulary is sorted by code point (Python's `sorted`), so column `j` is the j-th term.
public struct CountVectorizer: Hashable, Sendable, Codable {
    public var analyzer: AnalyzerKind = .word
    public var ngramRange = NgramRange(1, 1)
    public var lowercase = true
    public var stripAccents: StripAccents? = nil
    public var tokenPattern = TokenPattern.sklearnDefault
    public var stopWords: StopWords? = nil
    public var stemmer: String? = nil
    public var minDF: DocumentFrequency = .count(1)
    public var maxDF: DocumentFrequency = .proportion(1.0)
    public var maxFeatures: Int? = nil
    public var binary = false
    public var vocabulary: [String]? = nil

    public init() {}

    enum CodingKeys: String, CodingKey, CaseIterable {
        case analyzer, lowercase, stemmer, binary, vocabulary
        case ngramRange = "ngram_range"
        case stripAccents = "strip_accents"
        case tokenPattern = "token_pattern"
        case stopWords = "stop_words"
        case minDF = "min_df"
        case maxDF = "max_df"
        case maxFeatures = "max_features"
    }

    /// Every key is optional and defaults as in scikit-learn.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        analyzer = try c.decodeIfPresent(AnalyzerKind.self, forKey: .analyzer) ?? .word
        ngramRange = try c.decodeIfPresent(NgramRange.self, forKey: .ngramRange) ?? NgramRange(1, 1)
        lowercase = try c.decodeIfPresent(Bool.self, forKey: .lowercase) ?? true
        stripAccents = try c.decodeIfPresent(StripAccents.self, forKey: .stripAccents)
        tokenPattern = try c.decodeIfPresent(String.self, forKey: .tokenPattern) ?? TokenPattern.sklearnDefault
        stopWords = try c.decodeIfPresent(StopWords.self, forKey: .stopWords)
        stemmer = try c.decodeIfPresent(String.self, forKey: .stemmer)
        minDF = try c.decodeIfPresent(DocumentFrequency.self, forKey: .minDF) ?? .count(1)
        maxDF = try c.decodeIfPresent(DocumentFrequency.self, forKey: .maxDF) ?? .proportion(1.0)
        maxFeatures = try c.decodeIfPresent(Int.self, forKey: .maxFeatures)
        binary = try c.decodeIfPresent(Bool.self, forKey: .binary) ?? false
        vocabulary = try c.decodeIfPresent([String].self, forKey: .vocabulary)
    }

    /// Writes every key, nulls included, so a stored configuration is explicit.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(analyzer, forKey: .analyzer)
        try c.encode(ngramRange, forKey: .ngramRange)
        try c.encode(lowercase, forKey: .lowercase)
        try c.encode(stripAccents, forKey: .stripAccents)
        try c.encode(tokenPattern, forKey: .tokenPattern)
        try c.encode(stopWords, forKey: .stopWords)
        try c.encode(stemmer, forKey: .stemmer)
        try c.encode(minDF, forKey: .minDF)
        try c.encode(maxDF, forKey: .maxDF)
        try c.encode(maxFeatures, forKey: .maxFeatures)
        try c.encode(binary, forKey: .binary)
        try c.encode(vocabulary, forKey: .vocabulary)
    }

    /// The part of the settings that decides tokens (the cache key of a grid search's first stage).
    public var analysis: AnalysisSettings {
        get {
            AnalysisSettings(analyzer: analyzer, lowercase: lowercase, stripAccents: stripAccents,
                             tokenPattern: tokenPattern, stopWords: stopWords, stemmer: stemmer)
        }
        set {
            analyzer = newValue.analyzer
            lowercase = newValue.lowercase
            stripAccents = newValue.stripAccents
            tokenPattern = newValue.tokenPattern
            stopWords = newValue.stopWords
            stemmer = newValue.stemmer
        }
    }

    /// Checks every setting that can be checked without documents or files.
    public func validate() throws(TextFeatureError) {
        try analysis.validate()
        guard ngramRange.min >= 1, ngramRange.min <= ngramRange.max else {
            throw .invalidNgramRange(min: ngramRange.min, max: ngramRange.max)
        }
        guard minDF.isValid else { throw .invalidDocumentFrequency(parameter: "min_df", value: minDF) }
        guard maxDF.isValid else { throw .invalidDocumentFrequency(parameter: "max_df", value: maxDF) }
        if let maxFeatures, maxFeatures <= 0 { throw .invalidMaxFeatures(maxFeatures) }
        if let vocabulary { _ = try FittedCountVectorizer.index(vocabulary) }
    }

    /// Resolves the analysis settings (reads stop-word files).
    public func prepareAnalyzer(stopWordDirectories: [String]? = nil) throws(TextFeatureError) -> PreparedAnalyzer {
        try validate()
        return try PreparedAnalyzer(analysis, stopWordDirectories: stopWordDirectories)
    }

    /// Learns the vocabulary of `documents`.
    public func fit(_ documents: [String], threads: Int? = nil, stopWordDirectories: [String]? = nil) throws(TextFeatureError) -> FittedCountVectorizer {
        try fitTransform(documents, threads: threads, stopWordDirectories: stopWordDirectories).0
    }

    /// Learns the vocabulary and returns the count matrix of `documents` (one row each).
    public func fitTransform(_ documents: [String], threads: Int? = nil, stopWordDirectories: [String]? = nil)
        throws(TextFeatureError) -> (FittedCountVectorizer, SparseMatrix)
    {
        let analyzer = try prepareAnalyzer(stopWordDirectories: stopWordDirectories)
        if documents.isEmpty { throw .emptyCorpus }
        if let vocabulary {
            let fitted = try FittedCountVectorizer(settings: self, analyzer: analyzer, vocabulary: vocabulary)
            return (fitted, fitted.transform(documents, threads: threads))
        }
        let corpus = TokenizedCorpus(documents, analyzer: analyzer, threads: threads)
        return try fitTransform(corpus, threads: threads)
    }

    /// Fitting from the documents `rows` (nil: all) of an already tokenised corpus (whose
    /// analyzer must have been prepared from this vectorizer's `analysis`): the staged fit's
    /// counts step. A fixed `vocabulary` learns nothing and counts the rows over it.
    public func fitTransform(_ corpus: TokenizedCorpus, rows: [Int]?, threads: Int? = nil) throws(TextFeatureError) -> (FittedCountVectorizer, SparseMatrix) {
        guard let vocabulary else { return try fitTransform(rows.map { corpus.subset($0) } ?? corpus, threads: threads) }
        try validate()
        let rows = rows ?? Array(0 ..< corpus.documentCount)
        if rows.isEmpty { throw .emptyCorpus }
        let fitted = try FittedCountVectorizer(settings: self, analyzer: corpus.analyzer, vocabulary: vocabulary)
        return (fitted, fitted.transform(corpus, rows: rows, threads: threads))
    }

    /// The second stage of fitting, from an already tokenised corpus (whose analyzer must have
    /// been prepared from this vectorizer's `analysis`).
    public func fitTransform(_ corpus: TokenizedCorpus, threads: Int? = nil) throws(TextFeatureError) -> (FittedCountVectorizer, SparseMatrix) {
        try validate()
        precondition(corpus.analyzer.settings == analysis, "the corpus was tokenised with other analysis settings")
        if corpus.documentCount == 0 { throw .emptyCorpus }
        if let vocabulary {
            throw .invalidVocabulary("a fixed vocabulary of \(vocabulary.count) terms needs raw documents; call fitTransform(documents)")
        }
        let threads = Parallel.threadCount(threads)
        let counted: FeatureCounts
        switch corpus.storage {
        case let .words(sequences):
            counted = ngramRange.max == 1
                ? countUnigrams(sequences, threads: threads)
                : countWordNgrams(sequences, threads: threads)
        case let .texts(texts):
            counted = countCharNgrams(texts, threads: threads)
        }
        if counted.vocabulary.count == 0 { throw .emptyVocabulary(documents: corpus.documentCount) }
        let (vocabulary, matrix) = try prune(counted, documents: corpus.documentCount, threads: threads)
        let fitted = try FittedCountVectorizer(settings: self, analyzer: corpus.analyzer, vocabulary: vocabulary)
        return (fitted, matrix)
    }
}

// MARK: - Counting (second stage of fit)

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

/// Sorts `occurrences` and appends (feature, count) runs.
@inline(__always)
func appendCountedRow(_ occurrences: inout [Int32], features: inout [Int32], counts: inout [Int32]) {
    sortIDs(&occurrences)
    var k = 0
    while k < occurrences.count {
        let f = occurrences[k]
        var j = k + 1
        while j < occurrences.count && occurrences[j] == f { j += 1 }
        features.append(f)
        counts.append(Int32(j - k))
        k = j
    }
}

/// Sorts non-negative ids ascending (the same result as `sort()`): insertion sort for a few,
/// else a least-significant-digit radix sort on bytes, with only as many passes as the largest
/// id needs (two for a vocabulary under 65,536). A document's feature occurrences are sorted
/// once per transform; the comparison sort was a tenth of a served prediction.
/// - Complexity: O(n + 256) per pass, at most 4 passes.
func sortIDs(_ ids: inout [Int32]) {
    let n = ids.count
    guard n > 1 else { return }
    if n <= 32 {
        for i in 1 ..< n {
            let x = ids[i]
            var j = i
            while j > 0 && ids[j - 1] > x {
                ids[j] = ids[j - 1]
                j -= 1
            }
            ids[j] = x
        }
        return
    }
    var largest: Int32 = 0
    for x in ids {
        guard x >= 0 else { return ids.sort() }   // not ids: fall back to the general sort
        largest = max(largest, x)
    }
    var passes = 1
    while passes < 4 && (UInt32(largest) >> UInt32(8 * passes)) != 0 { passes += 1 }
    withUnsafeTemporaryAllocation(of: Int32.self, capacity: n) { other in
      withUnsafeTemporaryAllocation(of: Int.self, capacity: 256) { count in
        ids.withUnsafeMutableBufferPointer { mine in
            var from = mine, to = other
            for pass in 0 ..< passes {
                let shift = UInt32(8 * pass)
                for k in 0 ..< 256 { count[k] = 0 }
                for x in from { count[Int((UInt32(x) >> shift) & 0xFF)] += 1 }
                var at = 0
                for k in 0 ..< 256 {
                    let c = count[k]
                    count[k] = at
                    at += c
                }
                for x in from {
                    let d = Int((UInt32(x) >> shift) & 0xFF)
                    to[count[d]] = x
                    count[d] += 1
                }
                swap(&from, &to)
            }
            if passes % 2 == 1 {
                // The sorted ids are in the scratch buffer.
                for i in 0 ..< n { mine[i] = other[i] }
            }
        }
      }
    }
}

/// Chunk results concatenated in chunk order.
private func concatenate(_ chunks: [([Int32], [Int32], [Int])], vocabulary: LazyVocabulary, remap: ((Int32) -> Int32)? = nil) -> FeatureCounts {
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

extension CountVectorizer {
    /// Unigrams: the features are the terms themselves, already in canonical order.
    func countUnigrams(_ seq: WordSequences, threads: Int) -> FeatureCounts {
        let chunks = Parallel.chunks(count: seq.offsets.count - 1, chunkSize: TokenizedCorpus.chunkSize)
        let results = Parallel.map(count: chunks.count, threads: threads) { c -> ([Int32], [Int32], [Int]) in
            var features: [Int32] = [], counts: [Int32] = [], lengths: [Int] = []
            var scratch: [Int32] = []
            for d in chunks[c] {
                scratch.removeAll(keepingCapacity: true)
                scratch.append(contentsOf: seq.document(d))
                let before = features.count
                appendCountedRow(&scratch, features: &features, counts: &counts)
                lengths.append(features.count - before)
            }
            return (features, counts, lengths)
        }
        return concatenate(results, vocabulary: .terms(seq.terms))
    }

    /// Word n-grams. When the term ranks of the longest n-gram fit in 64 bits (and no term holds
    /// a byte ≤ 0x20), an n-gram is one integer: each position `rank + 1`, left-aligned, so
    /// integer order is the code point order of the space-joined strings. Otherwise each n-gram
    /// is interned as bytes. Either way per worker, then merged and put in canonical order.
    func countWordNgrams(_ seq: WordSequences, threads: Int) -> FeatureCounts {
        let bits = max(1, 64 - UInt64(seq.terms.count).leadingZeroBitCount)
        if seq.separatorSafe && bits * ngramRange.max <= 64 {
            return countPackedNgrams(seq, bits: bits, threads: threads)
        }
        let range = ngramRange
        let chunks = Parallel.chunks(count: seq.offsets.count - 1, chunkSize: TokenizedCorpus.chunkSize)
        let (workers, results) = Parallel.forEachChunk(
            chunkCount: chunks.count, threads: threads, makeState: { KeyTable(worker: $0) }
        ) { table, c -> (Int, [Int32], [Int]) in
            var occurrences: [Int32] = [], lengths: [Int] = []
            var key: [UInt8] = []
            for d in chunks[c] {
                let doc = seq.document(d)
                let before = occurrences.count
                let n0 = doc.startIndex
                for n in range.min ... range.max where n <= doc.count {
                    for i in 0 ... (doc.count - n) {
                        key.removeAll(keepingCapacity: true)
                        for k in 0 ..< n { appendKey(doc[n0 + i + k], to: &key) }
                        occurrences.append(table.keys.intern(key))
                    }
                }
                lengths.append(occurrences.count - before)
            }
            return (table.worker, occurrences, lengths)
        }
        let (keys, localToGlobal) = mergeKeyTables(workers)
        let order: [Int32]
        if seq.separatorSafe {
            order = (0 ..< Int32(keys.count)).sorted { a, b in
                keys.withBytes(of: a) { ka in keys.withBytes(of: b) { kb in lexicographicLess(ka, kb) } }
            }
        } else {
            let joined = LazyVocabulary.wordNgrams(terms: seq.terms, keys: keys, order: Array(0 ..< Int32(keys.count)))
            var strings = ByteInterner(capacity: keys.count)
            var stringID = [Int32](repeating: 0, count: keys.count)
            for i in 0 ..< keys.count { stringID[i] = strings.intern(joined.string(i)) }
            order = (0 ..< Int32(keys.count)).sorted { a, b in
                let c = strings.compare(stringID[Int(a)], stringID[Int(b)])
                return c != 0 ? c < 0 : a < b
            }
        }
        let counted = canonicalCounts(results, localToGlobal: localToGlobal, order: order, threads: threads)
        return concatenate(counted, vocabulary: .wordNgrams(terms: seq.terms, keys: keys, order: order))
    }

    private func countPackedNgrams(_ seq: WordSequences, bits: Int, threads: Int) -> FeatureCounts {
        let range = ngramRange
        let chunks = Parallel.chunks(count: seq.offsets.count - 1, chunkSize: TokenizedCorpus.chunkSize)
        let (tables, results) = Parallel.forEachChunk(
            chunkCount: chunks.count, threads: threads, makeState: { PackedKeyTable(worker: $0) }
        ) { table, c -> (Int, [Int32], [Int]) in
            var occurrences: [Int32] = [], lengths: [Int] = []
            seq.ids.withUnsafeBufferPointer { ids in
                for d in chunks[c] {
                    let lo = seq.offsets[d], count = seq.offsets[d + 1] - lo
                    let before = occurrences.count
                    for n in range.min ... range.max where n <= count {
                        for i in lo ... (lo + count - n) {
                            var key: UInt64 = 0
                            for j in 0 ..< n { key |= UInt64(ids[i + j] + 1) << UInt64(64 - bits * (j + 1)) }
                            occurrences.append(table.keys.intern(key))
                        }
                    }
                    lengths.append(occurrences.count - before)
                }
            }
            return (table.worker, occurrences, lengths)
        }
        var merged = UInt64Interner(capacity: tables.map(\.keys.count).max() ?? 16)
        var maps: [[Int32]] = []
        for table in tables { maps.append(table.keys.keys.map { merged.intern($0) }) }
        let keys = merged.keys
        var pairs = keys.enumerated().map { KeyAndID(key: $0.element, id: Int32($0.offset)) }
        pairs.sort { $0.key < $1.key }
        let order = pairs.map(\.id)
        let counted = canonicalCounts(results, localToGlobal: maps, order: order, threads: threads)
        return concatenate(counted, vocabulary: .packedNgrams(terms: seq.terms, keys: keys, order: order, bits: bits))
    }

    /// Character n-grams (`char`) or padded in-word n-grams (`char_wb`), interned as bytes.
    func countCharNgrams(_ texts: NormalisedTexts, threads: Int) -> FeatureCounts {
        let range = ngramRange
        let wordBoundaries = analyzer == .charWB
        let chunks = Parallel.chunks(count: texts.offsets.count - 1, chunkSize: TokenizedCorpus.chunkSize)
        let (workers, results) = Parallel.forEachChunk(
            chunkCount: chunks.count, threads: threads, makeState: { KeyTable(worker: $0) }
        ) { table, c -> (Int, [Int32], [Int]) in
            var occurrences: [Int32] = [], lengths: [Int] = []
            var starts: [Int] = []
            texts.bytes.withUnsafeBufferPointer { all in
                for d in chunks[c] {
                    let text = UnsafeBufferPointer(rebasing: all[texts.offsets[d] ..< texts.offsets[d + 1]])
                    let before = occurrences.count
                    if wordBoundaries {
                        forEachWord(text) { word in
                            occurrences.append(contentsOf: table.wordNgrams(word, range))
                        }
                    } else {
                        scalarStarts(text, into: &starts)
                        forEachCharNgram(text, starts: starts, range) { occurrences.append(table.keys.intern($0)) }
                    }
                    lengths.append(occurrences.count - before)
                }
            }
            return (table.worker, occurrences, lengths)
        }
        let (keys, localToGlobal) = mergeKeyTables(workers)
        let order = (0 ..< Int32(keys.count)).sorted { keys.compare($0, $1) < 0 }
        let counted = canonicalCounts(results, localToGlobal: localToGlobal, order: order, threads: threads)
        return concatenate(counted, vocabulary: .bytes(keys, order: order))
    }

    /// Maps each chunk's local feature ids to canonical ids (`order[canonical] = global`) and
    /// counts them per document.
    private func canonicalCounts(_ results: [(Int, [Int32], [Int])], localToGlobal: [[Int32]],
                                 order: [Int32], threads: Int) -> [([Int32], [Int32], [Int])] {
        var canonical = [Int32](repeating: 0, count: order.count)
        for (rank, global) in order.enumerated() { canonical[Int(global)] = Int32(rank) }
        let rankOf = canonical
        return Parallel.map(count: results.count, threads: threads) { c -> ([Int32], [Int32], [Int]) in
            let (worker, occurrences, lengths) = results[c]
            let map = localToGlobal[worker]
            var features: [Int32] = [], counts: [Int32] = [], outLengths: [Int] = []
            var scratch: [Int32] = []
            var k = 0
            for length in lengths {
                scratch.removeAll(keepingCapacity: true)
                for _ in 0 ..< length {
                    scratch.append(rankOf[Int(map[Int(occurrences[k])])])
                    k += 1
                }
                let before = features.count
                appendCountedRow(&scratch, features: &features, counts: &counts)
                outLengths.append(features.count - before)
            }
            return (features, counts, outLengths)
        }
    }

    // MARK: Pruning

    /// scikit-learn's `_limit_features`: document-frequency bounds, then `max_features` (with the
    /// documented tie-break), then the count matrix over the kept terms.
    func prune(_ counted: FeatureCounts, documents: Int, threads: Int) throws(TextFeatureError) -> ([String], SparseMatrix) {
        let featureCount = counted.vocabulary.count
        var df = [Int](repeating: 0, count: featureCount)
        var tf = [Int](repeating: 0, count: featureCount)
        for (k, f) in counted.features.enumerated() {
            df[Int(f)] += 1
            tf[Int(f)] += binary ? 1 : Int(counted.counts[k])
        }
        let maxCount = maxDF.threshold(documents: documents)
        let minCount = minDF.threshold(documents: documents)
        if maxCount < minCount {
            throw .maxDFBelowMinDF(minDF: minDF, maxDF: maxDF, minCount: minCount, maxCount: maxCount, documents: documents)
        }
        // A term must occur in some fitted document (min_df 0 cannot admit terms of other rows
        // of a shared corpus).
        var kept = (0 ..< featureCount).filter { df[$0] > 0 && Double(df[$0]) <= maxCount && Double(df[$0]) >= minCount }
        if let limit = maxFeatures, kept.count > limit {
            kept.sort { tf[$0] != tf[$1] ? tf[$0] > tf[$1] : $0 < $1 }
            kept = Array(kept.prefix(limit)).sorted()
        }
        if kept.isEmpty { throw .noTermsRemain(minDF: minDF, maxDF: maxDF, maxFeatures: maxFeatures) }

        var column = [Int32](repeating: -1, count: featureCount)
        for (j, f) in kept.enumerated() { column[f] = Int32(j) }
        var offsets = [0]
        offsets.reserveCapacity(documents + 1)
        var indices: [Int32] = []
        var values: [Double] = []
        for d in 0 ..< documents {
            for k in counted.offsets[d] ..< counted.offsets[d + 1] {
                let j = column[Int(counted.features[k])]
                if j >= 0 {
                    indices.append(j)
                    values.append(binary ? 1 : Double(counted.counts[k]))
                }
            }
            offsets.append(indices.count)
        }
        let strings = counted.vocabulary
        let keptFeatures = kept
        let parts = Parallel.chunks(count: kept.count, chunkSize: 16384)
        let vocabulary = Parallel.map(count: parts.count, threads: threads) { p in parts[p].map { strings.string(keptFeatures[$0]) } }
            .flatMap { $0 }
        let matrix = SparseMatrix(unchecked: documents, columnCount: kept.count, rowOffsets: offsets,
                                  columnIndices: indices, values: values)
        return (vocabulary, matrix)
    }
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
private func mergeKeyTables(_ tables: [KeyTable]) -> (ByteInterner, [[Int32]]) {
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
private func lexicographicLess(_ a: UnsafeBufferPointer<UInt8>, _ b: UnsafeBufferPointer<UInt8>) -> Bool {
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
