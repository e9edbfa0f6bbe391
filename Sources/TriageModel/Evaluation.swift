import TriageCore

extension ClassificationReport {
    /// The metrics of a fitted pipeline on labelled messages: each predicted label is the
    /// argmax of its probabilities (`Ranking`), each true label encoded in the pipeline's label
    /// order. Messages whose label the model does not know are left out of every metric — one
    /// denominator for accuracy, the averages and balanced accuracy, as scikit-learn's
    /// `classification_report(labels=model.classes_)` keeps to the model's labels — and are
    /// counted in `unknownLabels`.
    public init(_ pipeline: FittedPipeline, on messages: [LabeledMessage], threads: Int? = nil) {
        self = ModelEvaluation(pipeline, on: messages, threads: threads).report
    }
}

/// A fitted pipeline measured on labelled messages: the classification report and how far its
/// confidence can be trusted (`ConfidenceReport`), from one pass of predictions over the
/// messages whose label the model knows.
public struct ModelEvaluation: Sendable {
    public let report: ClassificationReport
    /// Nil when no message has a label the model knows.
    public let confidence: ConfidenceReport?

    public init(_ pipeline: FittedPipeline, on messages: [LabeledMessage], threads: Int? = nil) {
        let known = Set(pipeline.labels)
        let kept = messages.filter { known.contains($0.label ?? "") }
        let truth = LabelEncoder(classes: pipeline.labels).encode(kept)
        let p = pipeline.predictProbabilities(kept.map(\.message), threads: threads)
        var report = ClassificationReport(labels: pipeline.labels, truth: truth, predicted: p.map(Ranking.argmax), probabilities: p)
        for m in messages where !known.contains(m.label ?? "") { report.unknownLabels[m.label ?? "", default: 0] += 1 }
        self.report = report
        confidence = kept.isEmpty ? nil : ConfidenceReport(truth: truth, probabilities: p)
    }
}
