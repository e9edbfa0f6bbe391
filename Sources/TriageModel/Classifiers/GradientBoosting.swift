import TriageBoost
import TriageCore

/// Gradient-boosted trees (TriageBoost) as a pipeline classifier. Preparation: the binned
/// feature matrix, shared by every fit with the same features and `max_bins`.
extension GradientBoostingClassifier: ClassifierSpec {
    public typealias Fitted = FittedGradientBoosting

    public static let typeName = "gradient_boosting"

    public static var checkExamples: [GradientBoostingClassifier] {
        var small = GradientBoostingClassifier()
        small.nEstimators = 8
        small.minSamplesLeaf = 1
        var sampled = small
        sampled.subsample = 0.8
        sampled.maxFeatures = 0.7
        sampled.maxLeafNodes = 4
        sampled.maxDepth = nil
        sampled.randomState = 7
        return [small, sampled]
    }

    public static var invalidExamples: [(json: String, message: String)] {
        [(#"{"n_estimators": 0}"#, "n_estimators"), (#"{"max_bins": 300}"#, "max_bins"),
         (#"{"max_depth": null, "max_leaf_nodes": null}"#, "max_depth"), (#"{"subsample": 0}"#, "subsample")]
    }

    public func checkSettings() throws(PipelineError) {
        do { try validate() } catch { throw .classifier(error) }
    }

    public var preparationKey: JSONValue? { ["max_bins": .number(JSONNumber(maxBins))] }

    public func prepare(_ x: SparseMatrix) -> BinnedMatrix { BinMapper(fitting: x, maxBins: maxBins).transform(x) }

    public func fit(_ x: SparseMatrix, prepared: BinnedMatrix, labels: [Int], classNames: [String], threads: Int?) throws(PipelineError) -> FittedGradientBoosting {
        do { return try fit(binned: prepared, features: x, labels: labels, classNames: classNames, threads: threads) } catch {
            throw .classifier(error)
        }
    }
}

extension FittedGradientBoosting: FittedClassifierModel {
    public static let payloadType = "gradient_boosting"

    public var typeName: String { GradientBoostingClassifier.typeName }

    public func makeRowScorer() -> any RowScorer { Scorer(self) }

    private final class Scorer: RowScorer {
        let model: FittedGradientBoosting
        let scratch: PredictionScratch
        init(_ model: FittedGradientBoosting) {
            self.model = model
            scratch = model.makeScratch()
        }
        func probabilities(_ row: SparseRow) -> [Double] { model.probabilities(row, scratch: scratch) }
    }

    public func probabilities(_ x: SparseMatrix, threads: Int?) throws(PipelineError) -> [[Double]] {
        do { return try predictProbabilities(x, threads: threads) } catch { throw .classifier(error) }
    }

    public func scoreContributions(_ row: SparseRow) -> ScoreContributions? {
        let c = contributions(row)
        return ScoreContributions(bias: c.bias, perFeature: c.perFeature)
    }

    /// Features by the gain of their splits in score `score`'s trees; `direction` is the
    /// gain-weighted share of splits where a higher value raises the score (times `sign`).
    public func topFeatures(score k: Int, sign: Double, limit: Int) -> [RankedFeature] {
        var gain = [Double](repeating: 0, count: featureCount)
        var toward = gain
        var splits = [Int](repeating: 0, count: featureCount)
        for round in trees where k < round.count {
            let tree = round[k]
            for i in 0 ..< tree.nodeCount where tree.feature[i] >= 0 {
                let f = Int(tree.feature[i])
                let g = tree.gain[i]
                gain[f] += g
                splits[f] += 1
                let delta = tree.value[Int(tree.right[i])] - tree.value[Int(tree.left[i])]
                toward[f] += delta > 0 ? g : (delta < 0 ? -g : 0)
            }
        }
        return gain.indices.filter { gain[$0] > 0 }
            .sorted { gain[$0] != gain[$1] ? gain[$0] > gain[$1] : $0 < $1 }
            .prefix(limit)
            .map { RankedFeature(feature: $0, gain: gain[$0], direction: sign * toward[$0] / gain[$0], splits: splits[$0]) }
    }

    public func describe() -> String {
        let leaves = trees.joined().reduce(0) { $0 + $1.leafCount }
        return "gradient_boosting, \(roundCount) rounds × \(scoreCount) trees, \(leaves) leaves"
    }

    public func check(against settings: ClassifierSettings, labels: [String], featureCount: Int, path: String) throws(ModelCheckError) {
        func invalid(_ suffix: String, _ reason: String) -> ModelCheckError { ModelCheckError(path: path + suffix, reason: reason) }
        guard let expected = settings.settings(as: GradientBoostingClassifier.self) else {
            throw invalid(".type", "the model's type does not match the pipeline's classifier (\(settings.typeName))")
        }
        guard self.settings == expected else { throw invalid(".settings", "differ from the pipeline's clf settings") }
        guard classNames == labels else { throw invalid(".class_names", "differ from the model's labels") }
        guard self.featureCount == featureCount else {
            throw invalid(".feature_count", "\(self.featureCount), but the vocabulary has \(featureCount) terms")
        }
        let scores = labels.count == 2 ? 1 : labels.count
        guard initialScores.count == scores else {
            throw invalid(".initial_scores", "\(initialScores.count) scores for \(labels.count) labels (expected \(scores))")
        }
        if let bad = initialScores.firstIndex(where: { !$0.isFinite }) { throw invalid(".initial_scores[\(bad)]", "not finite") }
        for (r, round) in trees.enumerated() {
            guard round.count == scores else { throw invalid(".trees[\(r)]", "\(round.count) trees, expected one per score (\(scores))") }
            for (k, tree) in round.enumerated() {
                try Self.check(tree, featureCount: featureCount, path: path + ".trees[\(r)][\(k)]")
            }
        }
        for (name, losses) in [("training_loss", trainingLoss), ("validation_loss", validationLoss)] {
            if let bad = losses.firstIndex(where: { !$0.isFinite }) { throw invalid(".\(name)[\(bad)]", "not finite") }
        }
    }

    /// A tree is valid when its arrays agree in length, every internal node tests a feature in
    /// range and has two children with larger indices (so there is no cycle), and every node but
    /// the root has exactly one parent (so there is no sharing and nothing unreachable).
    static func check(_ tree: Tree, featureCount: Int, path: String) throws(ModelCheckError) {
        func invalid(_ suffix: String, _ reason: String) -> ModelCheckError { ModelCheckError(path: path + suffix, reason: reason) }
        let n = tree.feature.count
        guard n >= 1 else { throw invalid(".feature", "a tree needs at least one node") }
        let lengths = [tree.threshold.count, tree.left.count, tree.right.count, tree.value.count, tree.gain.count,
                       tree.count.count, tree.cover.count, tree.binThreshold.count]
        guard lengths.allSatisfy({ $0 == n }) else { throw invalid("", "node arrays of different lengths \([n] + lengths)") }
        var parents = [Int](repeating: 0, count: n)
        for i in 0 ..< n {
            let f = Int(tree.feature[i]), l = Int(tree.left[i]), r = Int(tree.right[i])
            guard tree.value[i].isFinite else { throw invalid(".value[\(i)]", "not finite") }
            guard tree.gain[i].isFinite && tree.gain[i] >= 0 else { throw invalid(".gain[\(i)]", "\(tree.gain[i]) is not a gain") }
            guard tree.cover[i].isFinite && tree.count[i] >= 0 else { throw invalid(".count[\(i)]", "invalid count or cover") }
            if f == -1 {
                guard l == -1 && r == -1 else { throw invalid(".left[\(i)]", "a leaf (feature -1) with children") }
                continue
            }
            guard f >= 0 && f < featureCount else { throw invalid(".feature[\(i)]", "feature \(f) outside 0..<\(featureCount)") }
            guard tree.threshold[i].isFinite else { throw invalid(".threshold[\(i)]", "not finite") }
            for (side, child) in [("left", l), ("right", r)] {
                guard child > i && child < n else {
                    throw invalid(".\(side)[\(i)]", child <= i && child >= 0
                        ? "child \(child) does not come after its parent \(i): the tree has a cycle or shared node"
                        : "child \(child) outside the tree's \(n) nodes")
                }
                parents[child] += 1
            }
        }
        if let orphan = (1 ..< max(n, 1)).first(where: { parents[$0] != 1 }) {
            throw invalid(".left", "node \(orphan) has \(parents[orphan]) parents (each node but the root needs exactly one)")
        }
    }
}

extension ClassifierSettings {
    /// Gradient-boosted trees.
    public static func gradientBoosting(_ settings: GradientBoostingClassifier) -> ClassifierSettings { ClassifierSettings(settings) }
}
