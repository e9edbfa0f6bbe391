import TriageCore

/// A `CountVectorizer` with its vocabulary: maps documents to count rows.
///
/// Plain values plus a lookup index rebuilt on creation, so a model artifact stores only the
/// settings, the resolved stop words and the vocabulary.
public struct FittedCountVectorizer: Sendable {
    public let settings: CountVectorizer
    public let analyzer: PreparedAnalyzer
    /// Term of each column.
    public let vocabulary: [String]
    let index: ByteInterner

    /// The stop words in effect (preprocessed, sorted), empty when none.
    public var stopWords: [String] { analyzer.stopWords }

    public var featureCount: Int { vocabulary.count }

    /// Builds a fitted vectorizer from its parts (used by `fit` and when loading a model).
    /// Throws `invalidVocabulary` for an empty vocabulary or a duplicate term.
    public init(settings: CountVectorizer, analyzer: PreparedAnalyzer, vocabulary: [String]) throws(TextFeatureError) {
        guard analyzer.settings == settings.analysis else {
            throw .invalidVocabulary("the analyzer was prepared from other settings than the vectorizer's")
        }
        self.index = try Self.index(vocabulary)
        self.settings = settings
        self.analyzer = analyzer
        self.vocabulary = vocabulary
    }

    /// The term → column table of a vocabulary; throws for an empty one or a duplicate term.
    static func index(_ vocabulary: [String]) throws(TextFeatureError) -> ByteInterner {
        if vocabulary.isEmpty { throw .invalidVocabulary("the vocabulary is empty") }
        var index = ByteInterner(capacity: vocabulary.count)
        for (i, term) in vocabulary.enumerated() where Int(index.intern(term)) != i {
            throw .invalidVocabulary("duplicate term \"\(term)\" at position \(i)")
        }
        return index
    }

    /// Column of `term`, if it is in the vocabulary.
    public func column(of term: String) -> Int? { index.find(term).map(Int.init) }

    /// The features of `text` in scikit-learn's `build_analyzer()` order (before vocabulary lookup).
    public func analyze(_ text: String) -> [String] {
        analyzer.analyze(text, ngramRange: settings.ngramRange)
    }

    /// Count rows of `documents` over the vocabulary; features outside it are ignored.
    /// Deterministic: the same matrix on any number of threads.
    public func transform(_ documents: [String], threads: Int? = nil) -> SparseMatrix {
        let chunks = Parallel.chunks(count: documents.count, chunkSize: TokenizedCorpus.chunkSize)
        let this = self
        let (_, results) = Parallel.forEachChunk(
            chunkCount: chunks.count, threads: Parallel.threadCount(threads),
            makeState: { _ in TransformWorker(this) }
        ) { worker, c -> ([Int32], [Int32], [Int]) in
            var features: [Int32] = [], counts: [Int32] = [], lengths: [Int] = []
            var columns: [Int32] = []
            for d in chunks[c] {
                columns.removeAll(keepingCapacity: true)
                worker.appendColumns(of: documents[d], to: &columns)
                let before = features.count
                appendCountedRow(&columns, features: &features, counts: &counts)
                lengths.append(features.count - before)
            }
            return (features, counts, lengths)
        }
        var offsets = [0]
        offsets.reserveCapacity(documents.count + 1)
        var indices: [Int32] = []
        var values: [Double] = []
        for (features, counts, lengths) in results {
            indices.append(contentsOf: features)
            values.append(contentsOf: counts.map { settings.binary ? 1 : Double($0) })
            for length in lengths { offsets.append(offsets[offsets.count - 1] + length) }
        }
        return SparseMatrix(unchecked: documents.count, columnCount: vocabulary.count, rowOffsets: offsets,
                            columnIndices: indices, values: values)
    }

    /// Count rows of documents `rows` of a corpus tokenised with this vectorizer's analysis
    /// settings — without tokenising them again (a grid search's validation folds).
    public func transform(_ corpus: TokenizedCorpus, rows: [Int], threads: Int? = nil) -> SparseMatrix {
        precondition(corpus.analyzer.settings == settings.analysis, "the corpus was tokenised with other analysis settings")
        let range = settings.ngramRange
        let index = self.index
        let chunks = Parallel.chunks(count: rows.count, chunkSize: TokenizedCorpus.chunkSize)
        let results: [([Int32], [Int32], [Int])]
        switch corpus.storage {
        case let .words(seq):
            // Column of every term of the corpus's table (unigrams), looked up once.
            let termColumn = (0 ..< Int32(seq.terms.count)).map { t in seq.terms.withBytes(of: t) { index.find($0) } ?? -1 }
            results = Parallel.map(count: chunks.count, threads: Parallel.threadCount(threads)) { c -> ([Int32], [Int32], [Int]) in
                var features: [Int32] = [], counts: [Int32] = [], lengths: [Int] = []
                var columns: [Int32] = []
                var key: [UInt8] = []
                for r in chunks[c] {
                    columns.removeAll(keepingCapacity: true)
                    let doc = seq.document(rows[r])
                    let n0 = doc.startIndex
                    for n in range.min ... range.max where n <= doc.count {
                        for i in 0 ... (doc.count - n) {
                            if n == 1 {
                                let col = termColumn[Int(doc[n0 + i])]
                                if col >= 0 { columns.append(col) }
                                continue
                            }
                            key.removeAll(keepingCapacity: true)
                            for k in 0 ..< n {
                                if k > 0 { key.append(0x20) }
                                seq.terms.withBytes(of: doc[n0 + i + k]) { key.append(contentsOf: $0) }
                            }
                            if let col = index.find(key) { columns.append(col) }
                        }
                    }
                    let before = features.count
                    appendCountedRow(&columns, features: &features, counts: &counts)
                    lengths.append(features.count - before)
                }
                return (features, counts, lengths)
            }
        case let .texts(texts):
            let wordBoundaries = settings.analyzer == .charWB
            results = Parallel.map(count: chunks.count, threads: Parallel.threadCount(threads)) { c -> ([Int32], [Int32], [Int]) in
                var features: [Int32] = [], counts: [Int32] = [], lengths: [Int] = []
                var columns: [Int32] = []
                var starts: [Int] = []
                texts.bytes.withUnsafeBufferPointer { all in
                    for r in chunks[c] {
                        columns.removeAll(keepingCapacity: true)
                        let d = rows[r]
                        let text = UnsafeBufferPointer(rebasing: all[texts.offsets[d] ..< texts.offsets[d + 1]])
                        if wordBoundaries {
                            forEachWord(text) { word in
                                forEachPaddedWordNgram(word, range) { gram in if let col = index.find(gram) { columns.append(col) } }
                            }
                        } else {
                            scalarStarts(text, into: &starts)
                            forEachCharNgram(text, starts: starts, range) { gram in if let col = index.find(gram) { columns.append(col) } }
                        }
                        let before = features.count
                        appendCountedRow(&columns, features: &features, counts: &counts)
                        lengths.append(features.count - before)
                    }
                }
                return (features, counts, lengths)
            }
        }
        var offsets = [0]
        offsets.reserveCapacity(rows.count + 1)
        var indices: [Int32] = []
        var values: [Double] = []
        for (features, counts, lengths) in results {
            indices.append(contentsOf: features)
            values.append(contentsOf: counts.map { settings.binary ? 1 : Double($0) })
            for length in lengths { offsets.append(offsets[offsets.count - 1] + length) }
        }
        return SparseMatrix(unchecked: rows.count, columnCount: vocabulary.count, rowOffsets: offsets,
                            columnIndices: indices, values: values)
    }

    /// Distinct words (tokens, stems, or char_wb words) a worker caches before it empties its
    /// caches: ~10 MB at most per worker.
    public static let defaultWorkerCacheLimit = 1 << 17

    /// A reusable single-thread transformer, for callers that transform one message at a time
    /// (a server thread keeps one: it caches stems and lookups across calls).
    ///
    /// Its caches are bounded: past `cacheLimit` distinct words they are emptied and refilled
    /// (results are the same either way), so a long-running server's memory does not grow with
    /// every new word its clients send.
    public func makeWorker(cacheLimit: Int = FittedCountVectorizer.defaultWorkerCacheLimit) -> Worker {
        Worker(TransformWorker(self, cacheLimit: cacheLimit))
    }

    /// See `makeWorker()`. Not thread-safe: one per thread.
    public final class Worker {
        var inner: TransformWorker
        private var columns: [Int32] = []
        private var features: [Int32] = []
        private var counts: [Int32] = []

        init(_ inner: TransformWorker) { self.inner = inner }

        /// Distinct words in the caches now (bounded by the cache limit, plus one document's).
        var cachedWords: Int { inner.cachedWords }

        /// Appends the columns of `document` (increasing) to `columns` and their counts (1 when
        /// `binary`) to `values`: `counts(of:)` without its arrays, for a server's hot path.
        public func appendCounts(of document: String, columns outColumns: inout [Int32], values outValues: inout [Double]) {
            count(document)
            let binary = inner.fitted.settings.binary
            outColumns.append(contentsOf: features)
            if binary {
                outValues.append(contentsOf: repeatElement(1, count: counts.count))
            } else {
                for c in counts { outValues.append(Double(c)) }
            }
        }

        /// The (column, count) pairs of `document`, columns increasing.
        public func counts(of document: String) -> [(column: Int, count: Double)] {
            count(document)
            let binary = inner.fitted.settings.binary
            return zip(features, counts).map { (Int($0.0), binary ? 1 : Double($0.1)) }
        }

        /// Fills `features` (increasing columns) and `counts` for `document`.
        private func count(_ document: String) {
            columns.removeAll(keepingCapacity: true)
            features.removeAll(keepingCapacity: true)
            counts.removeAll(keepingCapacity: true)
            inner.appendColumns(of: document, to: &columns)
            appendCountedRow(&columns, features: &features, counts: &counts)
        }
    }
}

/// Per-thread transform state: analyzer caches plus term → column lookups.
struct TransformWorker {
    let fitted: FittedCountVectorizer
    let cacheLimit: Int
    private var words: WordTermWorker?
    private var termColumn: [Int32] = []
    private var ids: [Int32] = []
    private var key: [UInt8] = []
    private var raw: [UInt8] = []
    private var text: [UInt8] = []
    private var starts: [Int] = []
    private var wordCache = ByteInterner()
    private var wordColumns: [[Int32]] = []

    init(_ fitted: FittedCountVectorizer, cacheLimit: Int = FittedCountVectorizer.defaultWorkerCacheLimit) {
        self.fitted = fitted
        self.cacheLimit = max(1, cacheLimit)
        words = fitted.settings.analyzer == .word ? WordTermWorker(fitted.analyzer) : nil
    }

    /// Distinct words held in the caches now.
    var cachedWords: Int { max(words?.cachedCount ?? 0, wordCache.count) }

    /// Appends the vocabulary column of every feature occurrence in `document`.
    mutating func appendColumns(of document: String, to out: inout [Int32]) {
        let range = fitted.settings.ngramRange
        let index = fitted.index
        if let cached = words?.cachedCount {
            // Mutated in place through optional chaining (`words?.…`): binding it with `if var`
            // copied the worker and its analyzer (a retain per reference, on every document).
            if cached > cacheLimit {
                // Term ids restart: the term → column table goes with them.
                words?.emptyCaches()
                termColumn.removeAll()
            }
            ids.removeAll(keepingCapacity: true)
            words?.appendTerms(of: document, to: &ids)
            guard let terms = words?.terms else { return }
            while termColumn.count < terms.count {
                let t = Int32(termColumn.count)
                termColumn.append(terms.withBytes(of: t) { index.find($0) } ?? -1)
            }
            for n in range.min ... range.max where n <= ids.count {
                for i in 0 ... (ids.count - n) {
                    if n == 1 {
                        let c = termColumn[Int(ids[i])]
                        if c >= 0 { out.append(c) }
                        continue
                    }
                    key.removeAll(keepingCapacity: true)
                    for k in 0 ..< n {
                        if k > 0 { key.append(0x20) }
                        terms.withBytes(of: ids[i + k]) { key.append(contentsOf: $0) }
                    }
                    if let c = index.find(key) { out.append(c) }
                }
            }
            return
        }
        if wordCache.count > cacheLimit {
            wordCache = ByteInterner()
            wordColumns.removeAll()
        }
        fitted.analyzer.preprocessor.run(document, into: &raw)
        raw.withUnsafeBufferPointer { normaliseWhitespace($0, into: &text) }
        text.withUnsafeBufferPointer { buffer in
            if fitted.settings.analyzer == .char {
                scalarStarts(buffer, into: &starts)
                forEachCharNgram(buffer, starts: starts, range) { gram in
                    if let c = index.find(gram) { out.append(c) }
                }
            } else {
                forEachWord(buffer) { word in
                    let known = wordCache.count
                    let id = Int(wordCache.intern(word))
                    if id == known {
                        var cols: [Int32] = []
                        forEachPaddedWordNgram(word, range) { gram in
                            if let c = index.find(gram) { cols.append(c) }
                        }
                        wordColumns.append(cols)
                    }
                    out.append(contentsOf: wordColumns[id])
                }
            }
        }
    }
}
