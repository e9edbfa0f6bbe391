import TriageCore

/// Documents analysed once, ready to be counted under any n-gram range and pruning: the first
/// stage of `CountVectorizer.fit`, kept apart so a grid search tokenises (and stems) each fold
/// once per `AnalysisSettings` rather than once per candidate.
///
/// Word analyzer: each document is a sequence of term ids, where the id of a term is its rank in
/// code point order among all terms — canonical, whatever the thread count. Character
/// analyzers: each document is its preprocessed, whitespace-normalised text.
public struct TokenizedCorpus: Sendable {
    public let analyzer: PreparedAnalyzer
    public let documentCount: Int
    let storage: Storage

    enum Storage: Sendable {
        case words(WordSequences)
        case texts(NormalisedTexts)
    }

    /// Documents per parallel chunk. Fixed, so chunk boundaries never depend on the thread count.
    static let chunkSize = 128

    /// Analyses `documents` on up to `threads` threads.
    public init(_ documents: [String], analyzer: PreparedAnalyzer, threads: Int? = nil) {
        self.analyzer = analyzer
        documentCount = documents.count
        let threads = Parallel.threadCount(threads)
        switch analyzer.settings.analyzer {
        case .word: storage = .words(WordSequences(documents, analyzer: analyzer, threads: threads))
        case .char, .charWB: storage = .texts(NormalisedTexts(documents, analyzer: analyzer, threads: threads))
        }
    }

    private init(analyzer: PreparedAnalyzer, documentCount: Int, storage: Storage) {
        self.analyzer = analyzer
        self.documentCount = documentCount
        self.storage = storage
    }

    /// The documents `rows`, in that order, sharing this corpus's term table (a cross-validation
    /// fold: fit on one subset, transform another, tokenising nothing again).
    public func subset(_ rows: [Int]) -> TokenizedCorpus {
        switch storage {
        case let .words(w):
            var offsets = [0]
            offsets.reserveCapacity(rows.count + 1)
            var ids: [Int32] = []
            for r in rows {
                ids.append(contentsOf: w.document(r))
                offsets.append(ids.count)
            }
            return TokenizedCorpus(analyzer: analyzer, documentCount: rows.count,
                                   storage: .words(WordSequences(terms: w.terms, offsets: offsets, ids: ids, separatorSafe: w.separatorSafe)))
        case let .texts(t):
            var offsets = [0]
            var bytes: [UInt8] = []
            for r in rows {
                bytes.append(contentsOf: t.bytes[t.offsets[r] ..< t.offsets[r + 1]])
                offsets.append(bytes.count)
            }
            return TokenizedCorpus(analyzer: analyzer, documentCount: rows.count, storage: .texts(NormalisedTexts(bytes: bytes, offsets: offsets)))
        }
    }

    /// Number of distinct terms (word analyzer) or total bytes of text (character analyzers).
    public var size: Int {
        switch storage {
        case let .words(w): return w.terms.count
        case let .texts(t): return t.bytes.count
        }
    }
}

/// Term-id sequences of the documents, ids = ranks of the terms in code point order.
struct WordSequences: Sendable {
    var terms: ByteInterner
    var offsets: [Int]
    var ids: [Int32]
    /// True when no term contains a byte ≤ 0x20 (space or control): then comparing n-grams as
    /// sequences of term ranks gives exactly the code point order of their space-joined strings.
    var separatorSafe: Bool

    init(terms: ByteInterner, offsets: [Int], ids: [Int32], separatorSafe: Bool) {
        self.terms = terms
        self.offsets = offsets
        self.ids = ids
        self.separatorSafe = separatorSafe
    }

    init(_ documents: [String], analyzer: PreparedAnalyzer, threads: Int) {
        let chunks = Parallel.chunks(count: documents.count, chunkSize: TokenizedCorpus.chunkSize)
        let (workers, results) = Parallel.forEachChunk(
            chunkCount: chunks.count, threads: threads,
            makeState: { WordTermWorker(analyzer, worker: $0) }
        ) { worker, c -> (Int, [Int32], [Int]) in
            var ids: [Int32] = []
            var lengths: [Int] = []
            lengths.reserveCapacity(chunks[c].count)
            for d in chunks[c] {
                let before = ids.count
                worker.appendTerms(of: documents[d], to: &ids)
                lengths.append(ids.count - before)
            }
            return (worker.worker, ids, lengths)
        }

        // Union of the workers' terms, then renumbered by code point order.
        var union = ByteInterner()
        var localToUnion: [[Int32]] = []
        for worker in workers {
            var map = [Int32](repeating: 0, count: worker.terms.count)
            for t in 0 ..< worker.terms.count {
                map[t] = worker.terms.withBytes(of: Int32(t)) { union.intern($0) }
            }
            localToUnion.append(map)
        }
        let order = (0 ..< Int32(union.count)).sorted { union.compare($0, $1) < 0 }
        var rank = [Int32](repeating: 0, count: union.count)
        var sorted = ByteInterner(capacity: union.count)
        var safe = true
        for (r, u) in order.enumerated() {
            rank[Int(u)] = Int32(r)
            union.withBytes(of: u) { bytes in
                if safe, bytes.contains(where: { $0 <= 0x20 }) { safe = false }
                sorted.intern(bytes)
            }
        }

        var offsets = [0]
        offsets.reserveCapacity(documents.count + 1)
        var all: [Int32] = []
        all.reserveCapacity(results.reduce(0) { $0 + $1.1.count })
        for (worker, ids, lengths) in results {
            let map = localToUnion[worker]
            var k = 0
            for length in lengths {
                for _ in 0 ..< length {
                    all.append(rank[Int(map[Int(ids[k])])])
                    k += 1
                }
                offsets.append(all.count)
            }
        }
        terms = sorted
        self.offsets = offsets
        ids = all
        separatorSafe = safe
    }

    func document(_ d: Int) -> ArraySlice<Int32> { ids[offsets[d] ..< offsets[d + 1]] }
}

/// Preprocessed, whitespace-normalised text of each document (character analyzers).
struct NormalisedTexts: Sendable {
    var bytes: [UInt8]
    var offsets: [Int]

    init(bytes: [UInt8], offsets: [Int]) {
        self.bytes = bytes
        self.offsets = offsets
    }

    init(_ documents: [String], analyzer: PreparedAnalyzer, threads: Int) {
        let chunks = Parallel.chunks(count: documents.count, chunkSize: TokenizedCorpus.chunkSize)
        let results = Parallel.map(count: chunks.count, threads: threads) { c -> ([UInt8], [Int]) in
            var raw: [UInt8] = []
            var normalised: [UInt8] = []
            var bytes: [UInt8] = []
            var lengths: [Int] = []
            for d in chunks[c] {
                analyzer.preprocessor.run(documents[d], into: &raw)
                raw.withUnsafeBufferPointer { normaliseWhitespace($0, into: &normalised) }
                bytes.append(contentsOf: normalised)
                lengths.append(normalised.count)
            }
            return (bytes, lengths)
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(results.reduce(0) { $0 + $1.0.count })
        var offsets = [0]
        for (chunkBytes, lengths) in results {
            bytes.append(contentsOf: chunkBytes)
            for length in lengths { offsets.append(offsets[offsets.count - 1] + length) }
        }
        self.bytes = bytes
        self.offsets = offsets
    }
}
