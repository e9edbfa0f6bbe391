import TriageCore

extension ClassificationReport {
    /// The metrics of a fitted pipeline on labelled messages: each predicted label is the
    /// argmax of its probabilities (`Ranking`), each true label encoded in the pipeline's label
    /// order; a label the model does not know counts as an error (see `init(labels:truth:…)`).
    public init(_ pipeline: FittedPipeline, on messages: [LabeledMessage], threads: Int? = nil) {
        let truth = LabelEncoder(classes: pipeline.labels).encode(messages)
        let p = pipeline.predictProbabilities(messages.map(\.message), threads: threads)
        self.init(labels: pipeline.labels, truth: truth, predicted: p.map(Ranking.argmax), probabilities: p)
    }
}
