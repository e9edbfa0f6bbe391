import Foundation
import Testing
@testable import TriageText

@Suite("Snowball stemmer")
struct StemmerTests {
    @Test func listsLibstemmerAlgorithms() {
        let names = SnowballStemmer.algorithms
        #expect(names.count >= 29)
        for n in ["english", "german", "french", "russian", "porter", "finnish"] { #expect(names.contains(n)) }
        #expect(names == names.sorted())
    }

    @Test func stemsKnownWords() throws {
        let en = try SnowballStemmer(algorithm: "english")
        #expect(en.stem("running") == "run")
        #expect(en.stem("connection") == "connect")
        #expect(en.stem("generously") == "generous")
        #expect(en.stem("running") == "run")   // cached path
        let de = try SnowballStemmer(algorithm: "german")
        #expect(de.stem("verbindungen") == "verbind")
        #expect(de.stem("häuser") == "haus")
        let fi = try SnowballStemmer(algorithm: "finnish")
        #expect(fi.stem("kaupungissa") == "kaupung")
    }

    @Test func unknownAlgorithmNamesTheValidOnes() {
        #expect(throws: TextFeatureError.unknownStemmer(name: "klingon", available: SnowballStemmer.algorithms)) {
            try SnowballStemmer(algorithm: "klingon")
        }
        // Aliases libstemmer accepts are not canonical names: refused, with the list.
        #expect(throws: TextFeatureError.self) { try SnowballStemmer(algorithm: "English") }
    }

    @Test func oneStemmerPerThreadIsSafe() throws {
        let words = (0 ..< 2000).map { "connections\($0 % 50)ing" }
        let expected = try words.map { try SnowballStemmer(algorithm: "english").stem($0) }
        DispatchQueue.concurrentPerform(iterations: 8) { _ in
            guard let s = try? SnowballStemmer(algorithm: "english") else { Issue.record("stemmer"); return }
            for (w, e) in zip(words, expected) where s.stem(w) != e { Issue.record("stem of \(w) differs") }
        }
    }
}

@Suite("Stop words")
struct StopWordTests {
    let dirs = [TestPaths.stopwords]

    @Test func loadsNamedLists() throws {
        let snowball = try StopWordLists.words(.named("english"), directories: dirs)
        let sklearn = try StopWordLists.words(.named("sklearn-english"), directories: dirs)
        #expect(snowball.count == 174 && snowball.contains("myself"))
        #expect(sklearn.count == 318 && sklearn.contains("bill"))
        for language in ["german", "french", "spanish", "italian", "dutch", "portuguese", "swedish", "norwegian", "danish", "finnish", "russian"] {
            #expect(try StopWordLists.words(.named(language), directories: dirs).count > 50, "\(language)")
        }
        #expect(try StopWordLists.words(.named("german"), directories: dirs).contains("für"))
    }

    @Test func everyListHasAStemmer() {
        let available = StopWordLists.available(in: dirs).filter { $0 != "sklearn-english" }
        for name in available { #expect(SnowballStemmer.algorithms.contains(name), "\(name) has no Snowball stemmer") }
    }

    @Test func unknownListSaysWhatExists() {
        do {
            _ = try StopWordLists.words(.named("klingon"), directories: dirs)
            Issue.record("no error")
        } catch {
            guard case let .unknownStopWordList(name, searched, available) = error else { Issue.record("\(error)"); return }
            #expect(name == "klingon" && searched == dirs && available.contains("english"))
            #expect(error.description.contains("available: "))
        }
        #expect(throws: TextFeatureError.self) { try StopWordLists.words(.named("../etc/passwd"), directories: dirs) }
    }

    @Test func fileErrorsNameTheFileAndLine() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("triage-sw-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let good = dir.appendingPathComponent("good.txt")
        try Data("# comment\nthe\n\n  a  \n".utf8).write(to: good)
        #expect(try StopWordLists.read(path: good.path) == ["the", "a"])
        let spaced = dir.appendingPathComponent("spaced.txt")
        try Data("the\nnew york\n".utf8).write(to: spaced)
        #expect(throws: TextFeatureError.invalidStopWordFile(path: spaced.path, line: 2, reason: "\"new york\" contains whitespace; put one word per line")) {
            try StopWordLists.read(path: spaced.path)
        }
        let binary = dir.appendingPathComponent("binary.txt")
        try Data([0x61, 0x0A, 0x62, 0xFF, 0x0A]).write(to: binary)
        #expect(throws: TextFeatureError.invalidStopWordFile(path: binary.path, line: 2, reason: "not valid UTF-8")) {
            try StopWordLists.read(path: binary.path)
        }
        let missing = dir.appendingPathComponent("missing.txt").path
        #expect(throws: TextFeatureError.self) { try StopWordLists.read(path: missing) }
    }

    @Test func stopWordsGetTheTextsPreprocessing() throws {
        var v = CountVectorizer()
        v.stripAccents = .ascii
        v.stopWords = .words(["Über", "CAFÉ"])
        let (fitted, _) = try v.fitTransform(["uber cafe tea", "Über Café coffee"])
        #expect(fitted.vocabulary == ["coffee", "tea"])
        #expect(fitted.stopWords == ["cafe", "uber"])
    }
}
