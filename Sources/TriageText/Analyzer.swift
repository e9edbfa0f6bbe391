import TriageCore

/// The settings that decide what the features of a document are, before n-grams and pruning:
/// two vectorizers with equal `AnalysisSettings` tokenise every document identically, so a
/// grid search tokenises once per distinct value (see `TokenizedCorpus`).
///
/// Order of operations for the word analyzer (documented, tested):
/// 1. `lowercase` (Python's `str.lower()`), then `strip_accents` — see `Preprocessor`;
/// 2. tokens = `token_pattern`'s `findall` — see `TokenPattern`;
/// 3. drop tokens in the stop list (stop words get step 1's preprocessing too, so "Über" in a
///    list matches the token "uber" under `strip_accents` — scikit-learn only warns here);
/// 4. Snowball-stem each remaining token (`stemmer`);
/// 5. word n-grams of the resulting terms, joined by one space.
///
/// The character analyzers run step 1, replace each run of two or more whitespace characters
/// with one space, and take character n-grams (`char`), or n-grams of each whitespace-separated
/// word padded with a space on each side (`char_wb`). `stop_words`, `stemmer` and a non-default
/// `token_pattern` apply to the word analyzer only and are refused with the others.
public struct AnalysisSettings: Hashable, Sendable, Encodable {
    public var analyzer: AnalyzerKind
    public var lowercase: Bool
    public var stripAccents: StripAccents?
    public var tokenPattern: String
    public var stopWords: StopWords?
    public var stemmer: String?

    public init(analyzer: AnalyzerKind = .word, lowercase: Bool = true, stripAccents: StripAccents? = nil,
                tokenPattern: String = TokenPattern.sklearnDefault, stopWords: StopWords? = nil, stemmer: String? = nil) {
        self.analyzer = analyzer
        self.lowercase = lowercase
        self.stripAccents = stripAccents
        self.tokenPattern = tokenPattern
        self.stopWords = stopWords
        self.stemmer = stemmer
    }

    enum CodingKeys: String, CodingKey {
        case analyzer, lowercase, stemmer
        case stripAccents = "strip_accents"
        case tokenPattern = "token_pattern"
        case stopWords = "stop_words"
    }

    /// The members of `CountVectorizer`'s JSON that decide tokens, nulls included (the cache key
    /// of the staged fit's tokens stage).
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(analyzer, forKey: .analyzer)
        try c.encode(lowercase, forKey: .lowercase)
        try c.encode(stripAccents, forKey: .stripAccents)
        try c.encode(tokenPattern, forKey: .tokenPattern)
        try c.encode(stopWords, forKey: .stopWords)
        try c.encode(stemmer, forKey: .stemmer)
    }

    /// Checks the combination without touching files.
    public func validate() throws(TextFeatureError) {
        if analyzer != .word {
            if stopWords != nil { throw .optionRequiresWordAnalyzer(option: "stop_words", analyzer: analyzer) }
            if stemmer != nil { throw .optionRequiresWordAnalyzer(option: "stemmer", analyzer: analyzer) }
            if tokenPattern != TokenPattern.sklearnDefault {
                throw .optionRequiresWordAnalyzer(option: "token_pattern", analyzer: analyzer)
            }
        }
        if let stemmer, !SnowballStemmer.algorithms.contains(stemmer) {
            throw .unknownStemmer(name: stemmer, available: SnowballStemmer.algorithms)
        }
    }
}

/// `AnalysisSettings` resolved: token pattern compiled, stop list loaded and preprocessed,
/// stemmer name checked. Immutable and shareable across threads; each thread that analyses
/// documents makes its own workers (stemmers are per thread).
public struct PreparedAnalyzer: Sendable {
    public let settings: AnalysisSettings
    /// The stop words in effect: preprocessed like the text, deduplicated, in code point order.
    public let stopWords: [String]
    let preprocessor: Preprocessor
    let tokenPattern: TokenPattern
    let stopSet: ByteInterner

    /// Resolves `settings`, reading a named or file stop list from disk.
    public init(_ settings: AnalysisSettings, stopWordDirectories: [String]? = nil) throws(TextFeatureError) {
        try settings.validate()
        var words: [String] = []
        if let spec = settings.stopWords {
            words = try StopWordLists.words(spec, directories: stopWordDirectories)
        }
        try self.init(settings, stopWordsAsGiven: words, preprocess: true)
    }

    /// Rebuilds an analyzer from a stored, already preprocessed stop list (model artifacts carry
    /// the list itself, so a server needs no stopwords directory).
    public init(_ settings: AnalysisSettings, preprocessedStopWords: [String]) throws(TextFeatureError) {
        try settings.validate()
        try self.init(settings, stopWordsAsGiven: preprocessedStopWords, preprocess: false)
    }

    private init(_ settings: AnalysisSettings, stopWordsAsGiven words: [String], preprocess: Bool) throws(TextFeatureError) {
        self.settings = settings
        let preprocessor = Preprocessor(lowercase: settings.lowercase, stripAccents: settings.stripAccents)
        self.preprocessor = preprocessor
        tokenPattern = settings.analyzer == .word ? try TokenPattern(settings.tokenPattern) : try TokenPattern(TokenPattern.sklearnDefault)
        let normalised = preprocess ? words.map { preprocessor($0) } : words
        let unique = Array(Set(normalised)).sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        var set = ByteInterner(capacity: unique.count)
        for w in unique { set.intern(w) }
        stopWords = unique
        stopSet = set
    }

    /// The features of `text` in scikit-learn's `build_analyzer()` order, n-grams of
    /// `ngramRange`. For explanations and tests; vectorizers use the batched paths.
    public func analyze(_ text: String, ngramRange: NgramRange) -> [String] {
        switch settings.analyzer {
        case .word:
            var worker = WordTermWorker(self)
            var ids: [Int32] = []
            worker.appendTerms(of: text, to: &ids)
            let terms = ids.map { worker.terms.string(of: $0) }
            var features: [String] = []
            for n in ngramRange.min ... ngramRange.max where n <= terms.count {
                for i in 0 ... (terms.count - n) { features.append(terms[i ..< i + n].joined(separator: " ")) }
            }
            return features
        case .char, .charWB:
            var raw: [UInt8] = []
            preprocessor.run(text, into: &raw)
            var normalised: [UInt8] = []
            raw.withUnsafeBufferPointer { normaliseWhitespace($0, into: &normalised) }
            var features: [String] = []
            normalised.withUnsafeBufferPointer { buf in
                if settings.analyzer == .char {
                    forEachCharNgram(buf, ngramRange) { features.append(String(decoding: $0, as: UTF8.self)) }
                } else {
                    forEachWord(buf) { word in
                        forEachPaddedWordNgram(word, ngramRange) { features.append(String(decoding: $0, as: UTF8.self)) }
                    }
                }
            }
            return features
        }
    }

    func makeStemmer() -> SnowballStemmer? {
        guard let name = settings.stemmer else { return nil }
        do {
            return try SnowballStemmer(algorithm: name)
        } catch {
            // The name was checked in `validate()`; libstemmer returns NULL then only when out of memory.
            preconditionFailure("libstemmer could not create the \(name) stemmer: \(error)")
        }
    }
}

/// Per-thread state of the word analyzer: each distinct token is looked up in the stop list and
/// stemmed once, then remembered (token → term id, -1 for a stop word). A value type mutated in
/// place, so the per-token work has no dynamic exclusivity checks.
struct WordTermWorker {
    let analyzer: PreparedAnalyzer
    let stemmer: SnowballStemmer?
    /// Index of the parallel worker that owns this state.
    let worker: Int
    private var tokens = ByteInterner()
    private var tokenTerm: [Int32] = []
    /// Terms (stems) seen by this worker, in first-seen order.
    private(set) var terms = ByteInterner()
    private var text: [UInt8] = []

    init(_ analyzer: PreparedAnalyzer, worker: Int = 0) {
        self.analyzer = analyzer
        self.worker = worker
        stemmer = analyzer.makeStemmer()
    }

    /// Distinct tokens or terms cached now.
    var cachedCount: Int { max(tokens.count, terms.count) }

    /// Forgets every cached token and term (term ids start again from 0).
    mutating func emptyCaches() {
        tokens = ByteInterner()
        tokenTerm.removeAll()
        terms = ByteInterner()
    }

    /// Appends the term ids of `document` (in this worker's `terms`) to `out`.
    mutating func appendTerms(of document: String, to out: inout [Int32]) {
        analyzer.preprocessor.run(document, into: &text)
        let bytes = text
        let pattern = analyzer.tokenPattern
        bytes.withUnsafeBufferPointer { buffer in
            pattern.forEachToken(in: buffer) { token in
                let known = tokens.count
                let id = Int(tokens.intern(token))
                if id == known { tokenTerm.append(term(for: token)) }
                let t = tokenTerm[id]
                if t >= 0 { out.append(t) }
            }
        }
    }

    private mutating func term(for token: UnsafeBufferPointer<UInt8>) -> Int32 {
        if analyzer.stopSet.count > 0, analyzer.stopSet.find(token) != nil { return -1 }
        if let stemmer {
            let stem = stemmer.stemUncached(token)
            return terms.intern(stem)
        }
        return terms.intern(token)
    }
}

// MARK: - Character analyzers

/// scikit-learn's `_white_spaces.sub(" ", text)` with `\s\s+`: every run of two or more
/// whitespace characters becomes one space; a single whitespace character stays as it is.
func normaliseWhitespace(_ text: UnsafeBufferPointer<UInt8>, into out: inout [UInt8]) {
    out.removeAll(keepingCapacity: true)
    out.reserveCapacity(text.count)
    var i = 0
    let n = text.count
    while i < n {
        let (scalar, width) = decodeUTF8(text, at: i)
        if PythonText.isSpace(scalar) {
            var j = i + width
            var run = 1
            while j < n {
                let (s, w) = decodeUTF8(text, at: j)
                guard PythonText.isSpace(s) else { break }
                run += 1
                j += w
            }
            if run >= 2 {
                out.append(0x20)
            } else {
                out.append(contentsOf: UnsafeBufferPointer(rebasing: text[i ..< j]))
            }
            i = j
        } else {
            out.append(contentsOf: UnsafeBufferPointer(rebasing: text[i ..< i + width]))
            i += width
        }
    }
}

/// Byte offsets of each code point of valid UTF-8 `text`, plus `text.count` at the end.
func scalarStarts(_ text: UnsafeBufferPointer<UInt8>, into starts: inout [Int]) {
    starts.removeAll(keepingCapacity: true)
    for (i, b) in text.enumerated() where b & 0xC0 != 0x80 { starts.append(i) }
    starts.append(text.count)
}

/// scikit-learn's `_char_ngrams`: for n from min_n to max_n, every n code points in a row.
func forEachCharNgram(_ text: UnsafeBufferPointer<UInt8>, _ range: NgramRange, _ body: (UnsafeBufferPointer<UInt8>) -> Void) {
    var starts: [Int] = []
    scalarStarts(text, into: &starts)
    forEachCharNgram(text, starts: starts, range, body)
}

func forEachCharNgram(_ text: UnsafeBufferPointer<UInt8>, starts: [Int], _ range: NgramRange, _ body: (UnsafeBufferPointer<UInt8>) -> Void) {
    let length = starts.count - 1
    for n in range.min ... range.max where n <= length {
        for i in 0 ... (length - n) {
            body(UnsafeBufferPointer(rebasing: text[starts[i] ..< starts[i + n]]))
        }
    }
}

/// Python's `str.split()`: maximal runs of non-whitespace code points.
func forEachWord(_ text: UnsafeBufferPointer<UInt8>, _ body: (UnsafeBufferPointer<UInt8>) -> Void) {
    var i = 0
    var start = -1
    while i < text.count {
        let (scalar, width) = decodeUTF8(text, at: i)
        if PythonText.isSpace(scalar) {
            if start >= 0 { body(UnsafeBufferPointer(rebasing: text[start ..< i])); start = -1 }
        } else if start < 0 {
            start = i
        }
        i += width
    }
    if start >= 0 { body(UnsafeBufferPointer(rebasing: text[start ..< text.count])) }
}

/// scikit-learn's `_char_wb_ngrams` for one word: n-grams of " " + word + " "; a word shorter
/// than n gives the whole padded word once and stops the larger n.
func forEachPaddedWordNgram(_ word: UnsafeBufferPointer<UInt8>, _ range: NgramRange, _ body: (UnsafeBufferPointer<UInt8>) -> Void) {
    var padded: [UInt8] = [0x20]
    padded.append(contentsOf: word)
    padded.append(0x20)
    padded.withUnsafeBufferPointer { w in
        var starts: [Int] = []
        scalarStarts(w, into: &starts)
        let length = starts.count - 1
        for n in range.min ... range.max {
            var offset = 0
            body(UnsafeBufferPointer(rebasing: w[starts[offset] ..< starts[Swift.min(offset + n, length)]]))
            while offset + n < length {
                offset += 1
                body(UnsafeBufferPointer(rebasing: w[starts[offset] ..< starts[Swift.min(offset + n, length)]]))
            }
            if offset == 0 { break }
        }
    }
}
