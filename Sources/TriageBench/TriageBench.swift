import Foundation
import TriageCore
import TriageData
import TriageText

/// The Triage side of `scripts/bench`: runs one benchmark and prints one JSON object on stdout.
/// Loading data is not timed; each repetition is timed with a monotonic clock.
///
///     triage-bench vectorize --data PATH --ngram-max N [--stop-words NAME] [--stemmer NAME]
///                            [--sublinear] [--min-df K] --repeat R [--threads T]
@main
enum TriageBench {
    static func main() {
        var args = Array(CommandLine.arguments.dropFirst())
        guard let command = args.first else { fail("usage: triage-bench vectorize --data PATH ...") }
        args.removeFirst()
        let options = Options(args)
        switch command {
        case "vectorize": vectorize(options)
        default: fail("unknown benchmark \(command); known: vectorize")
        }
    }

    static func vectorize(_ o: Options) {
        guard let path = o.string("data") else { fail("--data is required") }
        let texts = loadTexts(path)
        var vectorizer = CountVectorizer()
        vectorizer.ngramRange = NgramRange(1, o.int("ngram-max") ?? 1)
        vectorizer.stopWords = o.string("stop-words").map { .named($0) }
        vectorizer.stemmer = o.string("stemmer")
        vectorizer.minDF = .count(o.int("min-df") ?? 1)
        let tfidf = TfidfTransformer(sublinearTF: o.flag("sublinear"))
        let threads = Parallel.threadCount(o.int("threads"))
        var seconds: [Double] = []
        var vocabulary = 0, nnz = 0
        for _ in 0 ..< (o.int("repeat") ?? 5) {
            let clock = ContinuousClock()
            let start = clock.now
            do {
                let (fitted, counts) = try vectorizer.fitTransform(texts, threads: threads)
                let (_, x) = try tfidf.fitTransform(counts)
                vocabulary = fitted.vocabulary.count
                nnz = x.nonZeroCount
            } catch {
                fail("vectorize failed: \(error)")
            }
            seconds.append(clock.now.durationSinceStart(start))
        }
        emit([
            "benchmark": "vectorize", "implementation": "triage", "data": .string(path),
            "documents": .number(JSONNumber(texts.count)), "bytes": .number(JSONNumber(texts.reduce(0) { $0 + $1.utf8.count })),
            "ngram_range": [1, .number(JSONNumber(vectorizer.ngramRange.max))],
            "vocabulary": .number(JSONNumber(vocabulary)), "nnz": .number(JSONNumber(nnz)),
            "threads": .number(JSONNumber(threads)), "seconds": .array(seconds.compactMap { JSONValue.double($0) }),
        ])
    }

    /// Texts of a corpus CSV, composed as subject + "\n" + body (subject weight 1).
    static func loadTexts(_ path: String) -> [String] {
        do {
            let batch = try MessageReader.readCSV(path: path, requireLabels: false)
            let text = MessageText(subjectWeight: 1)
            return batch.messages.map { text.compose(subject: $0.subject, body: $0.body) }
        } catch {
            fail("\(error)")
        }
    }

    static func emit(_ value: JSONValue) {
        print(JSONWriter.string(value))
    }

    static func fail(_ message: String) -> Never {
        FileHandle.standardError.write(Data("triage-bench: \(message)\n".utf8))
        exit(2)
    }
}

extension ContinuousClock.Instant {
    func durationSinceStart(_ start: ContinuousClock.Instant) -> Double {
        let d = self - start
        return Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
    }
}

/// `--name value` and `--flag` options.
struct Options {
    var values: [String: String] = [:]
    var flags: Set<String> = []

    init(_ args: [String]) {
        var i = 0
        while i < args.count {
            let a = args[i]
            guard a.hasPrefix("--") else { TriageBench.fail("unexpected argument \(a)") }
            let name = String(a.dropFirst(2))
            if i + 1 < args.count, !args[i + 1].hasPrefix("--") {
                values[name] = args[i + 1]
                i += 2
            } else {
                flags.insert(name)
                i += 1
            }
        }
    }

    func string(_ name: String) -> String? { values[name] }
    func flag(_ name: String) -> Bool { flags.contains(name) }
    func int(_ name: String) -> Int? {
        guard let text = values[name] else { return nil }
        guard let n = Int(text) else { TriageBench.fail("--\(name) takes an integer, got \(text)") }
        return n
    }
}
