import Foundation
import TriageCore
import TriageData
import TriageLinear
import TriageModel
import TriageText

/// Triage's linear classifiers on scikit-learn's best linear features for short messages (issue 9):
///
///     triage-bench linear --train PATH --test PATH --model lr|svc|mnb|cnb [--C X] [--alpha X]
///                         [--calibration temperature|none] [--max-iter N] [--tol T]
///                         [--word-min-df K] [--char-min-df K] --repeat R [--threads T]
///
/// The pipeline: the message text (subject + "\n" + body, subject weight 1) → a feature union of
/// TF-IDF word 1–2-grams and char_wb 2–5-grams (both sublinear, scikit-learn's defaults otherwise)
/// → the classifier. Times R fits (`PipelineSettings.fit`: vectorizers, TF-IDF and classifier;
/// reading the files is not timed) and R predictions of the whole test set with the last fitted
/// pipeline (features, probabilities and the argmax label). Reports test accuracy and macro-F1
/// with scikit-learn's definitions (`accuracy_score`, `f1_score(average="macro")`: the mean F1
/// over the labels found in the truth or the predictions), the feature count, the solver's
/// iterations and whether it converged.
extension TriageBench {
    static func linear(_ o: Options) {
        guard let trainPath = o.string("train"), let testPath = o.string("test") else { fail("--train and --test are required") }
        guard let model = o.string("model") else { fail("--model lr|svc|mnb|cnb is required") }
        let threads = Parallel.threadCount(o.int("threads"))
        let repeats = o.int("repeat") ?? 3
        guard repeats >= 1 else { fail("--repeat must be at least 1") }
        let settings = linearSettings(model: model, o)

        let train: [LabeledMessage], test: [LabeledMessage]
        do {
            train = try MessageReader.readCSV(path: trainPath, requireLabels: true).messages
            test = try MessageReader.readCSV(path: testPath, requireLabels: true).messages
        } catch {
            fail("\(error)")
        }
        let messages = test.map { Message(id: $0.id, subject: $0.subject, body: $0.body) }
        let truth = test.map { $0.label ?? "" }

        var fitSeconds: [Double] = []
        var pipeline: FittedPipeline?
        for rep in 0 ..< repeats {
            pipeline = nil  // free the previous model before the next fit (not timed)
            let clock = ContinuousClock()
            let start = clock.now
            do {
                pipeline = try settings.fit(train, threads: threads)
            } catch {
                fail("fit: \(error)")
            }
            fitSeconds.append(clock.now.durationSinceStart(start))
            progress("linear \(model) fit \(rep + 1)/\(repeats): \(String(format: "%.3f", fitSeconds.last!)) s")
        }
        guard let pipeline else { fail("no model") }

        var predictSeconds: [Double] = []
        var predicted: [String] = []
        for rep in 0 ..< repeats {
            let clock = ContinuousClock()
            let start = clock.now
            let probabilities = pipeline.predictProbabilities(messages, threads: threads)
            predicted = probabilities.map { pipeline.labels[Ranking.argmax($0)] }
            predictSeconds.append(clock.now.durationSinceStart(start))
            progress("linear \(model) predict \(rep + 1)/\(repeats): \(String(format: "%.3f", predictSeconds.last!)) s")
        }
        let (accuracy, macroF1) = labelScores(truth: truth, predicted: predicted)

        var iterations: JSONValue = .null, converged: JSONValue = .null, temperature: JSONValue = .null
        if let fitted = pipeline.classifier.model(as: FittedLinearModel.self) {
            iterations = .number(JSONNumber(fitted.iterations))
            converged = .bool(fitted.converged)
            temperature = JSONValue.double(fitted.temperature) ?? .null
        }
        emit([
            "benchmark": "linear", "implementation": "triage", "model": .string(model),
            "classifier": .string(settings.clf.typeName),
            "train": .string(trainPath), "test": .string(testPath),
            "train_messages": .number(JSONNumber(train.count)), "test_messages": .number(JSONNumber(test.count)),
            "classes": .number(JSONNumber(pipeline.labels.count)),
            "features": .number(JSONNumber(pipeline.featureCount)),
            "iterations": iterations, "converged": converged, "temperature": temperature,
            "threads": .number(JSONNumber(threads)),
            "accuracy": JSONValue.double(accuracy) ?? .null, "macro_f1": JSONValue.double(macroF1) ?? .null,
            "seconds": .array(fitSeconds.compactMap { JSONValue.double($0) }),
            "predict_seconds": .array(predictSeconds.compactMap { JSONValue.double($0) }),
            "params": (try? JSONValueEncoder().encode(settings.clf)) ?? .null,
        ])
    }

    /// scikit-learn's word 1–2 + char_wb 2–5 TF-IDF union (bench_peers.py `linear` / `accuracy`)
    /// into the classifier `model` names.
    static func linearSettings(model: String, _ o: Options) -> PipelineSettings {
        func number(_ name: String) -> Double? {
            guard let text = o.string(name) else { return nil }
            guard let x = Double(text) else { fail("--\(name) takes a number, got \(text)") }
            return x
        }
        let clf: ClassifierSettings
        switch model {
        case "lr":
            var lr = LogisticRegression()
            lr.c = number("C") ?? 10
            lr.maxIter = o.int("max-iter") ?? 1000
            if let tol = number("tol") { lr.tol = tol }
            clf = .logisticRegression(lr)
        case "svc":
            var svc = LinearSVC()
            svc.c = number("C") ?? 1
            if let text = o.string("calibration") {
                guard let calibration = LinearSVC.Calibration(rawValue: text) else {
                    fail("--calibration takes temperature or none, got \(text)")
                }
                svc.calibration = calibration
            }
            if let n = o.int("max-iter") { svc.maxIter = n }
            clf = .linearSVC(svc)
        case "mnb":
            var nb = MultinomialNB()
            nb.alpha = number("alpha") ?? 0.01
            clf = .multinomialNB(nb)
        case "cnb":
            var nb = ComplementNB()
            nb.alpha = number("alpha") ?? 0.3
            clf = .complementNB(nb)
        default:
            fail("unknown --model \(model); known: lr, svc, mnb, cnb")
        }
        var settings = PipelineSettings.wordAndCharUnion(clf: clf)
        settings.union[0].vect.minDF = .count(o.int("word-min-df") ?? 1)
        settings.union[1].vect.minDF = .count(o.int("char-min-df") ?? 1)
        settings.text.subjectWeight = 1
        do { try settings.validate() } catch { fail("settings: \(error)") }
        return settings
    }

    /// Accuracy and macro-F1 as scikit-learn's `accuracy_score` and `f1_score(average="macro")`:
    /// F1 = 2tp / (2tp + fp + fn) per label, averaged over the labels that occur in the truth or
    /// in the predictions.
    static func labelScores(truth: [String], predicted: [String]) -> (accuracy: Double, macroF1: Double) {
        var tp: [String: Int] = [:], fp: [String: Int] = [:], fn: [String: Int] = [:]
        var correct = 0
        for (t, p) in zip(truth, predicted) {
            if t == p {
                correct += 1
                tp[t, default: 0] += 1
            } else {
                fp[p, default: 0] += 1
                fn[t, default: 0] += 1
            }
        }
        let labels = Set(truth).union(predicted)
        var f1 = 0.0
        for label in labels {
            let a = tp[label] ?? 0
            let d = 2 * a + (fp[label] ?? 0) + (fn[label] ?? 0)
            f1 += d > 0 ? Double(2 * a) / Double(d) : 0
        }
        let n = truth.count
        return (n > 0 ? Double(correct) / Double(n) : 0, labels.isEmpty ? 0 : f1 / Double(labels.count))
    }

    static func progress(_ message: String) {
        FileHandle.standardError.write(Data("triage-bench: \(message)\n".utf8))
    }
}
