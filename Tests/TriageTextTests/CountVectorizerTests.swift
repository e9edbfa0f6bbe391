import Foundation
import Testing
import TriageCore
@testable import TriageText

/// scikit-learn's documentation example for CountVectorizer.
let docExample = [
    "This is the first document.",
    "This document is the second document.",
    "And this is the third one.",
    "Is this the first document?",
]

@Suite("CountVectorizer")
struct CountVectorizerTests {
    @Test func matchesTheScikitLearnDocumentationExample() throws {
        let (fitted, x) = try CountVectorizer().fitTransform(docExample)
        #expect(fitted.vocabulary == ["and", "document", "first", "is", "one", "second", "the", "third", "this"])
        #expect(x.toDense() == [
            [0, 1, 1, 1, 0, 0, 1, 0, 1],
            [0, 2, 0, 1, 0, 1, 1, 0, 1],
            [1, 0, 0, 1, 1, 0, 1, 1, 1],
            [0, 1, 1, 1, 0, 0, 1, 0, 1],
        ])
        var bigrams = CountVectorizer()
        bigrams.ngramRange = NgramRange(2, 2)
        #expect(try bigrams.fit(docExample).vocabulary == [
            "and this", "document is", "first document", "is the", "is this", "second document", "the first",
            "the second", "the third", "third one", "this document", "this is", "this the",
        ])
    }

    @Test func analyzeFollowsScikitLearnOrder() throws {
        var v = CountVectorizer()
        v.ngramRange = NgramRange(1, 2)
        let fitted = try v.fit(docExample)
        #expect(fitted.analyze("Bi-grams are cool!") == ["bi", "grams", "are", "cool", "bi grams", "grams are", "are cool"])
        var c = CountVectorizer()
        c.analyzer = .charWB
        c.ngramRange = NgramRange(2, 3)
        #expect(try c.fit(["ab"]).analyze("ab  c") == [" a", "ab", "b ", " ab", "ab ", " c", "c ", " c "])
    }

    @Test func maxFeaturesBreaksTiesByCodePointOrder() throws {
        var v = CountVectorizer()
        v.maxFeatures = 2
        // totals: zz 3, cc 1, bb 1, dd 1 → keep zz and the first of the tied: bb.
        let (fitted, x) = try v.fitTransform(["zz cc", "zz bb", "zz dd"])
        #expect(fitted.vocabulary == ["bb", "zz"])
        #expect(x.toDense() == [[0, 1], [1, 1], [0, 1]])
    }

    @Test func documentFrequencyBounds() throws {
        let docs = ["aa bb cc", "aa bb", "aa", "dd"]
        var v = CountVectorizer()
        v.minDF = .count(2)
        #expect(try v.fit(docs).vocabulary == ["aa", "bb"])
        v.minDF = .proportion(0.5)           // 0.5 × 4 = 2 documents
        #expect(try v.fit(docs).vocabulary == ["aa", "bb"])
        v.minDF = .count(1)
        v.maxDF = .count(1)
        #expect(try v.fit(docs).vocabulary == ["cc", "dd"])
        v.maxDF = .proportion(0.5)
        #expect(try v.fit(docs).vocabulary == ["bb", "cc", "dd"])
    }

    @Test func binaryCounts() throws {
        var v = CountVectorizer()
        v.binary = true
        #expect(try v.fitTransform(["aa aa bb"]).1.toDense() == [[1, 1]])
    }

    @Test func stemsAfterDroppingStopWords() throws {
        var v = CountVectorizer()
        v.stemmer = "english"
        v.stopWords = .words(["running"])
        let (fitted, x) = try v.fitTransform(["Running runs runner connections", "connected"])
        // "running" is a stop word before stemming, so only "runs" gives "run".
        #expect(fitted.vocabulary == ["connect", "run", "runner"])
        #expect(x.toDense() == [[1, 1, 1], [1, 0, 0]])
    }

    @Test func fixedVocabularyKeepsItsOrder() throws {
        var v = CountVectorizer()
        v.vocabulary = ["this", "absent", "document"]
        v.minDF = .count(3)   // ignored with a fixed vocabulary, as in scikit-learn
        let (fitted, x) = try v.fitTransform(docExample)
        #expect(fitted.vocabulary == ["this", "absent", "document"])
        #expect(x.toDense()[1] == [1, 0, 2])
        v.vocabulary = ["a", "b", "a"]
        #expect(throws: TextFeatureError.invalidVocabulary("duplicate term \"a\" at position 2")) { try v.fit(docExample) }
        v.vocabulary = []
        #expect(throws: TextFeatureError.invalidVocabulary("the vocabulary is empty")) { try v.fit(docExample) }
    }

    @Test func namedErrors() throws {
        #expect(throws: TextFeatureError.emptyCorpus) { try CountVectorizer().fit([]) }
        #expect(throws: TextFeatureError.emptyVocabulary(documents: 3)) { try CountVectorizer().fit(["", "a", "!!"]) }
        var stop = CountVectorizer()
        stop.stopWords = .words(["the", "and"])
        #expect(throws: TextFeatureError.emptyVocabulary(documents: 1)) { try stop.fit(["The and THE"]) }
        var pruned = CountVectorizer()
        pruned.maxDF = .count(1)
        #expect(throws: TextFeatureError.noTermsRemain(minDF: .count(1), maxDF: .count(1), maxFeatures: nil)) {
            try pruned.fit(["aa bb", "aa bb"])
        }
        var tooMany = CountVectorizer()
        tooMany.minDF = .count(5)
        #expect(throws: TextFeatureError.maxDFBelowMinDF(minDF: .count(5), maxDF: .proportion(1.0), minCount: 5, maxCount: 4, documents: 4)) {
            try tooMany.fit(docExample)
        }
        var inverted = CountVectorizer()
        inverted.minDF = .count(3)
        inverted.maxDF = .proportion(0.5)
        #expect(throws: TextFeatureError.maxDFBelowMinDF(minDF: .count(3), maxDF: .proportion(0.5), minCount: 3, maxCount: 2, documents: 4)) {
            try inverted.fit(docExample)
        }
        var range = CountVectorizer()
        range.ngramRange = NgramRange(2, 1)
        #expect(throws: TextFeatureError.invalidNgramRange(min: 2, max: 1)) { try range.fit(docExample) }
        var df = CountVectorizer()
        df.maxDF = .proportion(1.5)
        #expect(throws: TextFeatureError.invalidDocumentFrequency(parameter: "max_df", value: .proportion(1.5))) { try df.fit(docExample) }
        var charStem = CountVectorizer()
        charStem.analyzer = .char
        charStem.stemmer = "english"
        #expect(throws: TextFeatureError.optionRequiresWordAnalyzer(option: "stemmer", analyzer: .char)) { try charStem.fit(docExample) }
        var badStemmer = CountVectorizer()
        badStemmer.stemmer = "klingon"
        #expect(throws: TextFeatureError.unknownStemmer(name: "klingon", available: SnowballStemmer.algorithms)) { try badStemmer.fit(docExample) }
        var features = CountVectorizer()
        features.maxFeatures = 0
        #expect(throws: TextFeatureError.invalidMaxFeatures(0)) { try features.fit(docExample) }
        // Every message says what to change.
        #expect(TextFeatureError.noTermsRemain(minDF: .count(5), maxDF: .proportion(1), maxFeatures: nil).description.contains("try a lower min_df"))
    }

    @Test func decodesScikitLearnNamesAndKeepsIntVersusFloat() throws {
        let json = #"{"analyzer": "char_wb", "ngram_range": [2, 4], "min_df": 1, "max_df": 1.0, "max_features": null, "strip_accents": "unicode"}"#
        let v = try StrictJSONDecoder().decode(CountVectorizer.self, from: Array(json.utf8))
        #expect(v.analyzer == .charWB && v.ngramRange == NgramRange(2, 4) && v.stripAccents == .unicode)
        #expect(v.minDF == .count(1))
        #expect(v.maxDF == .proportion(1.0))
        let again = try StrictJSONDecoder().decode(CountVectorizer.self, from: try JSONValueEncoder().encode(v))
        #expect(again == v)
        #expect(throws: JSONDecodingError.self) {
            try StrictJSONDecoder().decode(CountVectorizer.self, from: Array(#"{"ngram_rnge": [1, 2]}"#.utf8))
        }
        #expect(throws: JSONDecodingError.self) {
            try StrictJSONDecoder().decode(CountVectorizer.self, from: Array(#"{"ngram_range": [1, 2, 3]}"#.utf8))
        }
        let stop = try StrictJSONDecoder().decode(CountVectorizer.self, from: Array(#"{"stop_words": {"file": "x.txt"}}"#.utf8))
        #expect(stop.stopWords == .file("x.txt"))
    }

    /// Documents with a bit of everything, big enough for many parallel chunks.
    static func syntheticDocuments(_ n: Int) -> [String] {
        let words = ["card", "Cards", "payment", "declined", "ÉCOLE", "ΟΔΟΣ", "東京", "refund", "pending", "transfer", "x", "2024", "don't", "über"]
        var state: UInt64 = 12345
        func next() -> Int {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Int(state >> 33)
        }
        return (0 ..< n).map { i in
            (0 ..< (3 + next() % 12)).map { _ in words[next() % words.count] + (next() % 5 == 0 ? "\(next() % 40)" : "") }
                .joined(separator: i % 7 == 0 ? "  \n" : " ")
        }
    }

    static let configurations: [CountVectorizer] = {
        var configs: [CountVectorizer] = []
        var a = CountVectorizer(); a.ngramRange = NgramRange(1, 3); a.stemmer = "english"; a.stopWords = .words(["card"])
        var b = CountVectorizer(); b.analyzer = .charWB; b.ngramRange = NgramRange(2, 5)
        var c = CountVectorizer(); c.analyzer = .char; c.ngramRange = NgramRange(1, 3); c.stripAccents = .unicode
        var d = CountVectorizer(); d.minDF = .count(2); d.maxDF = .proportion(0.9); d.maxFeatures = 40
        var e = CountVectorizer(); e.tokenPattern = #"\S+"#; e.ngramRange = NgramRange(2, 2)
        configs = [CountVectorizer(), a, b, c, d, e]
        return configs
    }()

    @Test(arguments: configurations)
    func identicalOutputOnOneAndManyThreads(_ v: CountVectorizer) throws {
        let docs = Self.syntheticDocuments(3000)
        let (f1, x1) = try v.fitTransform(docs, threads: 1)
        let (f4, x4) = try v.fitTransform(docs, threads: 4)
        #expect(f1.vocabulary == f4.vocabulary)
        #expect(x1 == x4)
        #expect(f1.transform(docs, threads: 3) == x1)
    }

    @Test(arguments: configurations)
    func transformAgreesWithFitTransformAndWithTheWorker(_ v: CountVectorizer) throws {
        let docs = Self.syntheticDocuments(300)
        let (fitted, x) = try v.fitTransform(docs, threads: 2)
        #expect(fitted.transform(docs) == x)
        let worker = fitted.makeWorker()
        for d in stride(from: 0, to: docs.count, by: 17) {
            let row = x.row(d)
            let counts = worker.counts(of: docs[d])
            #expect(counts.map(\.column) == row.columns.map(Int.init))
            #expect(counts.map(\.count) == Array(row.values))
        }
        // Counting the analyzer's features gives the same row.
        for d in stride(from: 0, to: docs.count, by: 29) {
            var expected: [Int: Double] = [:]
            for f in fitted.analyze(docs[d]) { if let c = fitted.column(of: f) { expected[c, default: 0] += 1 } }
            let row = x.row(d)
            #expect(Dictionary(uniqueKeysWithValues: zip(row.columns.map(Int.init), row.values)) == expected)
        }
    }
}

@Suite("TF-IDF")
struct TfidfTests {
    @Test func matchesTheScikitLearnDocumentationExample() throws {
        let (_, counts) = try CountVectorizer().fitTransform(docExample)
        let (fitted, x) = try TfidfTransformer().fitTransform(counts)
        let row0 = x.toDense()[0]
        let expected = [0, 0.46979139, 0.58028582, 0.38408524, 0, 0, 0.38408524, 0, 0.38408524]
        for (a, b) in zip(row0, expected) { #expect(abs(a - b) < 1e-8) }
        // idf = ln((1 + n) / (1 + df)) + 1
        #expect(fitted.idf?[0] == log(5.0 / 2.0) + 1)
    }

    @Test func formulasForEveryOption() throws {
        let counts = try SparseMatrix(rows: [[(0, 3), (1, 1)], [(1, 2)], []], columnCount: 2)
        let plain = try TfidfTransformer(norm: nil, useIDF: false, smoothIDF: false, sublinearTF: false).fitTransform(counts).1
        #expect(plain == counts)
        let sub = try TfidfTransformer(norm: nil, useIDF: false, smoothIDF: false, sublinearTF: true).fitTransform(counts).1
        #expect(sub.toDense() == [[1 + log(3.0), 1], [0, 1 + log(2.0)], [0, 0]])
        let raw = try TfidfTransformer(norm: nil, useIDF: true, smoothIDF: false, sublinearTF: false).fit(counts)
        #expect(raw.idf == [log(3.0 / 1) + 1, log(3.0 / 2) + 1])
        let l1 = try TfidfTransformer(norm: .l1, useIDF: false).fitTransform(counts).1
        #expect(l1.toDense() == [[0.75, 0.25], [0, 1], [0, 0]])
        let l2 = try TfidfTransformer(norm: .l2, useIDF: false).fitTransform(counts).1
        #expect(abs(l2.toDense()[0][0] - 3 / 10.0.squareRoot()) < 1e-15)
        // A fixed-vocabulary term in no document has an infinite unsmoothed idf: refused.
        var fixed = CountVectorizer()
        fixed.vocabulary = ["aa", "absent"]
        let (_, withAbsent) = try fixed.fitTransform(["aa bb"])
        #expect(throws: TextFeatureError.infiniteIDF(column: 1)) { try TfidfTransformer(smoothIDF: false).fit(withAbsent) }
        #expect(try TfidfTransformer(smoothIDF: true).fit(withAbsent).idf?[1] == log(2.0) + 1)
        #expect(throws: TextFeatureError.featureCountMismatch(expected: 2, got: 3)) {
            try raw.transform(SparseMatrix(zeros: 1, columnCount: 3))
        }
    }

    @Test func jsonDefaultsFollowScikitLearn() throws {
        let d = try StrictJSONDecoder().decode(TfidfTransformer.self, from: Array("{}".utf8))
        #expect(d == TfidfTransformer())
        let none = try StrictJSONDecoder().decode(TfidfTransformer.self, from: Array(#"{"norm": null, "sublinear_tf": true}"#.utf8))
        #expect(none.norm == nil && none.sublinearTF)
    }
}

@Suite("Subject weighting")
struct MessageTextTests {
    @Test func repeatsTheSubject() {
        #expect(TextComposer(subjectWeight: 3).compose(subject: "Card lost", body: "help") == "Card lost\nCard lost\nCard lost\nhelp")
        #expect(TextComposer(subjectWeight: 0).compose(subject: "Card lost", body: "help") == "help")
        #expect(TextComposer(subjectWeight: 2).compose(subject: "", body: "help") == "help")
        #expect(TextComposer(subjectWeight: 1).compose(subject: "only", body: "") == "only")
        #expect(throws: TextFeatureError.invalidSubjectWeight(-1)) { try TextComposer(subjectWeight: -1).validate() }
    }
}

/// A server's transform worker lives for days: its caches must stay bounded and give the same
/// counts as a fresh worker whatever they held before.
@Suite("Transform worker caches")
struct WorkerCacheTests {
    /// Documents mixing a fixed vocabulary with words seen once (ids, typos): what a server gets.
    static func documents(_ n: Int) -> [String] {
        (0 ..< n).map { i in "card \(i)x lost card transfer q\(i * 7919 % 100_003)z pending transfers \(i % 5 == 0 ? "declined" : "fee")" }
    }

    static func vectorizers() throws -> [(String, FittedCountVectorizer)] {
        let train = Self.documents(40)
        var stemmed = CountVectorizer()
        stemmed.ngramRange = NgramRange(1, 2)
        stemmed.stemmer = "english"
        var chars = CountVectorizer()
        chars.analyzer = .charWB
        chars.ngramRange = NgramRange(2, 4)
        return [("word+stem", try stemmed.fit(train)), ("char_wb", try chars.fit(train))]
    }

    @Test func aBoundedCacheGivesTheCountsOfAFreshWorkerAndStaysBounded() throws {
        let documents = Self.documents(600)
        for (name, fitted) in try Self.vectorizers() {
            let bounded = fitted.makeWorker(cacheLimit: 50)
            let unbounded = fitted.makeWorker(cacheLimit: .max)
            var peak = 0
            for (i, d) in documents.enumerated() {
                let fresh = fitted.makeWorker().counts(of: d)
                let a = bounded.counts(of: d), b = unbounded.counts(of: d)
                #expect(a.map(\.column) == fresh.map(\.column) && a.map(\.count) == fresh.map(\.count), "\(name), document \(i)")
                #expect(b.map(\.column) == fresh.map(\.column) && b.map(\.count) == fresh.map(\.count), "\(name), document \(i)")
                peak = max(peak, bounded.cachedWords)
            }
            // The limit plus one document's words at most.
            #expect(peak <= 50 + 12, "\(name): \(peak) words cached")
            #expect(unbounded.cachedWords > 600, "\(name): the unbounded worker kept every new word")
        }
    }
}

@Suite("Sorting feature ids")
struct SortIDsTests {
    @Test func sortsLikeTheStandardSort() {
        var random = SeededGenerator(seed: 21)
        for n in [0, 1, 2, 5, 31, 32, 33, 64, 250, 1000, 5000] {
            for largest in [1, 7, 255, 256, 65_535, 65_536, 1 << 24, Int(Int32.max)] {
                let ids = (0 ..< n).map { _ in Int32(random.nextInt(below: largest + 1 > Int(Int32.max) ? Int(Int32.max) : largest + 1)) }
                var mine = ids
                sortIDs(&mine)
                #expect(mine == ids.sorted(), "n \(n), ids up to \(largest)")
            }
        }
        var negative: [Int32] = (0 ..< 40).map { Int32($0 % 7) - 3 }
        sortIDs(&negative)
        #expect(negative == negative.sorted())
    }
}
