import Foundation
import TriageCore
import TriageData
import TriageBoost
import TriageText

/// The Triage side of `scripts/bench`: runs one benchmark and prints one JSON object on stdout.
/// Loading data is not timed; each repetition is timed with a monotonic clock.
///
///     triage-bench vectorize --data PATH --ngram-max N [--stop-words NAME] [--stemmer NAME]
///                            [--sublinear] [--min-df K] --repeat R [--threads T]
///     triage-bench linear --train PATH --test PATH --model lr|svc|mnb|cnb [--C X] [--alpha X]
///                         [--calibration temperature|none] --repeat R [--threads T]   (LinearBench.swift)
///     triage-bench modelfile --train PATH --test PATH --out-dir DIR [--config FILE]  (ModelFileBench.swift)
///     triage-bench rules --data PATH --model FILE --key PEM [--rules FILE]            (RulesBench.swift)
@main
enum TriageBench {
    static func main() {
        var args = Array(CommandLine.arguments.dropFirst())
        guard let command = args.first else { fail("usage: triage-bench vectorize|boost|features|read|linear OPTIONS (see TriageBench.swift)") }
        args.removeFirst()
        let options = Options(args)
        switch command {
        case "vectorize": vectorize(options)
        case "boost": boost(options)
        case "features": exportFeatures(options)
        case "read": read(options)
        case "linear": linear(options)
        case "modelfile": modelFile(options)
        case "rules": rules(options)
        default: fail("unknown benchmark \(command); known: vectorize, boost, features, read, linear, modelfile, rules")
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

    /// Reading a labelled corpus (RFC 4180 CSV, gzipped or not) into messages, all checks on; or
    /// mail (an mbox, .eml files) into messages, labels not required (one thread):
    ///
    ///     triage-bench read --data PATH --repeat R
    static func read(_ o: Options) {
        guard let path = o.string("data") else { fail("--data is required") }
        var seconds: [Double] = []
        var count = 0, bytes = 0
        for _ in 0 ..< (o.int("repeat") ?? 5) {
            let clock = ContinuousClock()
            let start = clock.now
            do {
                let batch = try MessageReader.mailFormat(path: path).map { format in
                    try MessageReader.readMail(path: path, format: format, requireLabels: false)
                } ?? MessageReader.readCSV(path: path)
                count = batch.messages.count
                bytes = batch.messages.reduce(0) { $0 + $1.subject.utf8.count + $1.body.utf8.count + ($1.label?.utf8.count ?? 0) }
            } catch {
                fail("read failed: \(error)")
            }
            seconds.append(clock.now.durationSinceStart(start))
        }
        emit([
            "benchmark": "read", "implementation": "triage", "data": .string(path),
            "format": .string(MessageReader.mailFormat(path: path)?.rawValue ?? "csv"),
            "messages": .number(JSONNumber(count)), "text_bytes": .number(JSONNumber(bytes)),
            "file_bytes": .number(JSONNumber((try? FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.intValue ?? 0)),
            "seconds": .array(seconds.compactMap { JSONValue.double($0) }),
        ])
    }

    /// Gradient-boosted trees on TF-IDF features of a train/test corpus pair:
    ///
    ///     triage-bench boost --train PATH --test PATH [--ngram-max N] [--stop-words NAME] [--stemmer NAME]
    ///                        [--sublinear] [--min-df K] [--params JSON] --repeat R [--threads T]
    ///
    /// `--params` is a GradientBoostingClassifier JSON object (scikit-learn names). Times the fit
    /// only; reports test accuracy, macro-F1 and log loss, and the peak resident memory.
    static func boost(_ o: Options) {
        let threads = Parallel.threadCount(o.int("threads"))
        let data = o.string("features").map { loadFeatures($0) } ?? buildFeatures(o, threads: threads)
        let (xTrain, y, xTest, truth, classes) = (data.xTrain, data.yTrain, data.xTest, data.yTest, data.classes)
        var booster = GradientBoostingClassifier()
        if let params = o.string("params") {
            do {
                booster = try StrictJSONDecoder().decode(GradientBoostingClassifier.self, from: Array(params.utf8))
            } catch {
                fail("--params: \(error)")
            }
        }
        var seconds: [Double] = []
        var model: FittedGradientBoosting?
        for _ in 0 ..< (o.int("repeat") ?? 3) {
            let clock = ContinuousClock()
            let start = clock.now
            do {
                model = try booster.fit(xTrain, labels: y, classNames: classes, threads: threads)
            } catch {
                fail("fit: \(error)")
            }
            seconds.append(clock.now.durationSinceStart(start))
        }
        guard let model else { fail("no model") }
        let probabilities: [[Double]]
        do { probabilities = try model.predictProbabilities(xTest, threads: threads) } catch { fail("predict: \(error)") }
        let (accuracy, macroF1, logLoss) = scores(probabilities: probabilities, truth: truth, classCount: classes.count)
        // The test log loss after each round, computed exactly like the final one (`scores`).
        var testLossCurve: [Double] = []
        if o.flag("curve") {
            do {
                try model.forEachStage(xTest) { _, raw in
                    let s = model.scoreCount
                    let p = (0 ..< xTest.rowCount).map { model.probabilities(fromScores: Array(raw[$0 * s ..< ($0 + 1) * s])) }
                    testLossCurve.append(scores(probabilities: p, truth: truth, classCount: classes.count).2)
                }
            } catch {
                fail("curve: \(error)")
            }
        }
        emit([
            "benchmark": "boost", "implementation": "triage", "data": .string(data.source),
            "train_documents": .number(JSONNumber(xTrain.rowCount)), "test_documents": .number(JSONNumber(xTest.rowCount)),
            "features": .number(JSONNumber(xTrain.columnCount)), "classes": .number(JSONNumber(classes.count)),
            "rounds": .number(JSONNumber(model.roundCount)), "threads": .number(JSONNumber(threads)),
            "accuracy": JSONValue.double(accuracy) ?? .null, "macro_f1": JSONValue.double(macroF1) ?? .null,
            "log_loss": JSONValue.double(logLoss) ?? .null,
            "peak_rss_mb": JSONValue.double(peakResidentMegabytes()) ?? .null,
            "seconds": .array(seconds.compactMap { JSONValue.double($0) }),
            "params": (try? JSONValueEncoder().encode(booster)) ?? .null,
            "test_log_loss_by_round": .array(testLossCurve.compactMap { JSONValue.double($0) }),
        ])
    }

    /// Train and test matrices with labels (class indices into `classes`; -1 for a test label
    /// unseen in training).
    struct FeatureData {
        var xTrain: SparseMatrix
        var yTrain: [Int]
        var xTest: SparseMatrix
        var yTest: [Int]
        var classes: [String]
        var source: String
    }

    /// TF-IDF features of a train/test corpus pair (`--train`, `--test` and vectorizer options).
    static func buildFeatures(_ o: Options, threads: Int) -> FeatureData {
        guard let trainPath = o.string("train"), let testPath = o.string("test") else { fail("--train and --test (or --features) are required") }
        let (trainTexts, trainLabels) = loadLabelled(trainPath)
        let (testTexts, testLabels) = loadLabelled(testPath)
        var vectorizer = CountVectorizer()
        vectorizer.ngramRange = NgramRange(1, o.int("ngram-max") ?? 1)
        vectorizer.stopWords = o.string("stop-words").map { .named($0) }
        vectorizer.stemmer = o.string("stemmer")
        vectorizer.minDF = .count(o.int("min-df") ?? 1)
        let classes = Array(Set(trainLabels)).sorted()
        let index = Dictionary(uniqueKeysWithValues: classes.enumerated().map { ($1, $0) })
        do {
            let (fitted, counts) = try vectorizer.fitTransform(trainTexts, threads: threads)
            let (tfidf, x) = try TfidfTransformer(sublinearTF: o.flag("sublinear")).fitTransform(counts)
            let xTest = try tfidf.transform(fitted.transform(testTexts, threads: threads))
            return FeatureData(xTrain: x, yTrain: trainLabels.compactMap { index[$0] }, xTest: xTest,
                               yTest: testLabels.map { index[$0] ?? -1 }, classes: classes, source: trainPath)
        } catch {
            fail("features: \(error)")
        }
    }

    /// Writes the features of `buildFeatures` as svmlight files (`label index:value …`, 0-based
    /// indices, values in shortest round-trip form) plus meta.json, for the Python peers:
    ///
    ///     triage-bench features --train PATH --test PATH --out DIR [vectorizer options]
    static func exportFeatures(_ o: Options) {
        guard let out = o.string("out") else { fail("--out DIR is required") }
        let data = buildFeatures(o, threads: Parallel.threadCount(o.int("threads")))
        do {
            try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
            try svmlight(data.xTrain, labels: data.yTrain).write(toFile: out + "/train.svm", atomically: true, encoding: .utf8)
            try svmlight(data.xTest, labels: data.yTest).write(toFile: out + "/test.svm", atomically: true, encoding: .utf8)
            let meta: JSONValue = [
                "classes": .array(data.classes.map { .string($0) }), "features": .number(JSONNumber(data.xTrain.columnCount)),
                "train_documents": .number(JSONNumber(data.xTrain.rowCount)), "test_documents": .number(JSONNumber(data.xTest.rowCount)),
                "source": .string(data.source),
            ]
            try JSONWriter.string(meta, options: .init(sortedKeys: true, pretty: true)).write(toFile: out + "/meta.json", atomically: true, encoding: .utf8)
            emit(meta)
        } catch {
            fail("cannot write \(out): \(error)")
        }
    }

    static func svmlight(_ x: SparseMatrix, labels: [Int]) -> String {
        var lines: [String] = []
        lines.reserveCapacity(x.rowCount)
        for r in 0 ..< x.rowCount {
            let (columns, values) = x.row(r)
            var line = String(labels[r])
            for (c, v) in zip(columns, values) { line += " \(c):\(v)" }
            lines.append(line)
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Reads what `exportFeatures` wrote.
    static func loadFeatures(_ dir: String) -> FeatureData {
        do {
            let meta = try StrictJSONDecoder(allowUnknownFields: true).decode(FeatureMeta.self, from: Array(Data(contentsOf: URL(fileURLWithPath: dir + "/meta.json"))))
            let (xTrain, yTrain) = try readSVMLight(dir + "/train.svm", columns: meta.features)
            let (xTest, yTest) = try readSVMLight(dir + "/test.svm", columns: meta.features)
            return FeatureData(xTrain: xTrain, yTrain: yTrain, xTest: xTest, yTest: yTest, classes: meta.classes, source: dir)
        } catch {
            fail("cannot read features from \(dir): \(error)")
        }
    }

    struct FeatureMeta: Decodable {
        var classes: [String]
        var features: Int
    }

    static func readSVMLight(_ path: String, columns: Int) throws -> (SparseMatrix, [Int]) {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        var rows: [[(column: Int, value: Double)]] = []
        var labels: [Int] = []
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: " ")
            guard let first = parts.first, let label = Int(first) else { fail("\(path): bad line \(line.prefix(40))") }
            labels.append(label)
            rows.append(parts.dropFirst().compactMap { item in
                let pair = item.split(separator: ":")
                guard pair.count == 2, let c = Int(pair[0]), let v = Double(pair[1]) else { return nil }
                return (c, v)
            })
        }
        return (try SparseMatrix(rows: rows, columnCount: columns), labels)
    }

    /// Accuracy, macro-averaged F1 and mean log loss (truth -1: a class unseen in training).
    static func scores(probabilities: [[Double]], truth: [Int], classCount: Int) -> (Double, Double, Double) {
        var correct = 0
        var tp = [Int](repeating: 0, count: classCount), fp = tp, fn = tp
        var logLoss = 0.0
        for (p, t) in zip(probabilities, truth) {
            var best = 0
            for k in 1 ..< p.count where p[k] > p[best] { best = k }
            if best == t { correct += 1; tp[t] += 1 } else {
                fp[best] += 1
                if t >= 0 { fn[t] += 1 }
            }
            logLoss -= log(max(t >= 0 ? p[t] : 0, 1e-15))
        }
        var f1 = 0.0
        for k in 0 ..< classCount {
            let d = Double(2 * tp[k] + fp[k] + fn[k])
            f1 += d > 0 ? Double(2 * tp[k]) / d : 0
        }
        let n = Double(truth.count)
        return (Double(correct) / n, f1 / Double(classCount), logLoss / n)
    }

    static func peakResidentMegabytes() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_maxrss) / 1024   // Linux reports kilobytes
    }

    /// Texts and labels of a corpus CSV.
    static func loadLabelled(_ path: String) -> ([String], [String]) {
        do {
            let batch = try MessageReader.readCSV(path: path, requireLabels: true)
            let text = TextComposer(subjectWeight: 1)
            return (batch.messages.map { text.compose(subject: $0.subject, body: $0.body) }, batch.messages.map { $0.label ?? "" })
        } catch {
            fail("\(error)")
        }
    }

    /// Texts of a corpus CSV, composed as subject + "\n" + body (subject weight 1).
    static func loadTexts(_ path: String) -> [String] {
        do {
            let batch = try MessageReader.readCSV(path: path, requireLabels: false)
            let text = TextComposer(subjectWeight: 1)
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
        (self - start).seconds
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
