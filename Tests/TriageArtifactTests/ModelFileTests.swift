import Foundation
import Testing
import TriageCore
import TriageLinear
import TriageModel
@testable import TriageArtifact

@Suite("Model file version 3: sections, weight encodings, streaming verification")
struct ModelFileTests {
    /// Every registered classifier in every weight encoding: the file holds the rounded weights,
    /// the loaded model predicts what the rounded in-memory model predicts, bit for bit, and its
    /// golden probes pass; rounding twice changes nothing, so the bytes are reproducible.
    @Test(arguments: WeightEncoding.allCases)
    func everyEncodingRoundTripsBitForBit(_ encoding: WeightEncoding) throws {
        let data = try ArtifactFixtures.messages(30)
        let key = try ArtifactFixtures.signingKey
        for example in ClassifierRegistry.examples {
            var settings = ArtifactFixtures.linearSettings()
            settings.clf = example.settings
            let pipeline = try settings.fit(data, threads: 2)
            let rounded = pipeline.withWeights(encoding)
            #expect(rounded.withWeights(encoding).classifier == rounded.classifier)
            let provenance = Provenance(pipeline: pipeline, messages: data)
            let bytes = try ModelArtifact.encode(pipeline, provenance: provenance, signingKey: key, created: nil, weights: encoding)
            #expect(bytes == (try ModelArtifact.encode(rounded, provenance: provenance, signingKey: key, created: nil, weights: encoding)))
            let loaded = try ModelArtifact.decode(bytes, trusted: [key.verifyingKey])
            #expect(loaded.formatVersion == ModelArtifact.formatVersion)
            #expect(loaded.probeMaxDifference == 0)
            #expect(loaded.pipeline.classifier == rounded.classifier, "\(example)")
            let probes = ProbeMessages.standard
            #expect(loaded.pipeline.predictProbabilities(probes, threads: 1) == rounded.predictProbabilities(probes, threads: 1))
            // Rounding moves probabilities a little, never a lot, on these small models.
            let before = pipeline.predictProbabilities(probes, threads: 1), after = rounded.predictProbabilities(probes, threads: 1)
            let moved = zip(before, after).flatMap { zip($0, $1).map { abs($0 - $1) } }.max() ?? 0
            #expect(moved < (encoding == .int8 ? 0.05 : 0.002), "\(example): probabilities moved by \(moved)")
            for linear in ([loaded.pipeline.classifier] + loaded.pipeline.classifier.members).compactMap({ $0.model(as: FittedLinearModel.self) }) {
                #expect(linear.weights.encoding == encoding)
            }
        }
    }

    /// The file sizes follow the encoding: float32 ≥ 2 × float16 ≥ 4 × int8 in the weights' part.
    @Test func sizesFollowTheEncoding() throws {
        var sizes: [WeightEncoding: Int] = [:]
        for encoding in WeightEncoding.allCases {
            let (bytes, pipeline) = try ArtifactFixtures.smallLinearArtifact(weights: encoding)
            let parts = try ModelFileParts(bytes)
            let matrix = try #require(parts.section("matrices[0]"))
            let linear = try #require(pipeline.classifier.model(as: FittedLinearModel.self))
            #expect(matrix.count == linear.featureCount * linear.scoreCount * encoding.bytesPerWeight)
            sizes[encoding] = bytes.count
        }
        #expect(sizes[.float32]! > sizes[.float16]! && sizes[.float16]! > sizes[.int8]!)
        // Version 2 (base64 in base64) is the largest.
        #expect(try ArtifactFixtures.smallLinearArtifactVersion2().bytes.count > sizes[.float32]!)
    }

    /// A soft vote of linear models keeps one matrix with every member's columns: in memory after
    /// fitting, after rounding, and after loading (the members read from the stack's matrix).
    @Test func aLinearVoteHoldsItsWeightsOnce() throws {
        let data = try ArtifactFixtures.messages(30)
        var settings = ArtifactFixtures.linearSettings()
        settings.clf = PipelinePreset.recommended.settings.clf
        let pipeline = try settings.fit(data, threads: 2)
        let key = try ArtifactFixtures.signingKey
        func check(_ p: FittedPipeline) throws {
            let vote = try #require(p.classifier.model(as: FittedVoting.self))
            let stack = try #require(vote.linearStack)
            for (member, offset) in zip(vote.members, stack.offsets) {
                let linear = try #require(member.model(as: FittedLinearModel.self))
                #expect(linear.weights === stack.matrix && linear.column == offset)
            }
        }
        try check(pipeline)
        for encoding in WeightEncoding.allCases {
            try check(pipeline.withWeights(encoding))
            let bytes = try ModelArtifact.encode(pipeline, provenance: Provenance(pipeline: pipeline, messages: data), signingKey: key,
                                                 created: nil, weights: encoding)
            let loaded = try ModelArtifact.decode(bytes, trusted: [key.verifyingKey])
            try check(loaded.pipeline)
            #expect(try ModelFileParts(bytes).sections.filter { $0.name.hasPrefix("matrices") }.count == 1)
        }
    }

    /// Naive Bayes is stored relative to a per-feature offset before rounding: its probabilities
    /// (a softmax) do not move with the shift, and rounding the centred weights to int8 keeps them
    /// closer than rounding the raw log-probabilities would.
    @Test func naiveBayesIsCentredBeforeRounding() throws {
        let data = try ArtifactFixtures.messages(60)
        var settings = ArtifactFixtures.linearSettings()
        settings.clf = .multinomialNB(MultinomialNB())
        let pipeline = try settings.fit(data, threads: 1)
        let nb = try #require(pipeline.classifier.model(as: FittedLinearModel.self))
        let centred = nb.weights.encoded(as: .int8, centered: [0 ..< nb.scoreCount])
        let raw = nb.weights.encoded(as: .int8)
        let x = pipeline.features(ProbeMessages.standard)
        func probabilities(_ m: WeightMatrix) throws -> [[Double]] {
            try nb.reading(m, column: 0).predictProbabilities(x, threads: 1)
        }
        let exact = try nb.predictProbabilities(x, threads: 1)
        func error(_ p: [[Double]]) -> Double { zip(exact, p).flatMap { zip($0, $1).map { abs($0 - $1) } }.max() ?? 0 }
        #expect(error(try probabilities(centred)) < error(try probabilities(raw)))
        // The shift itself changes nothing but rounding: centred float32 values give the same
        // probabilities to 1e-12.
        var shifted = nb.weights.values
        for f in 0 ..< nb.featureCount {
            let row = shifted[f * nb.scoreCount ..< (f + 1) * nb.scoreCount]
            let mid = (row.min()! + row.max()!) / 2
            for k in 0 ..< nb.scoreCount { shifted[f * nb.scoreCount + k] -= mid }
        }
        let p = try probabilities(WeightMatrix(rows: nb.featureCount, columns: nb.scoreCount, values: shifted))
        #expect(error(p) < 1e-6)
    }

    /// The loader reads the file section by section from disk (pread), so what it holds is the
    /// decoded model, not the file plus the model; every section is checked and used.
    @Test func loadingFromDiskStreamsAndReportsWhereTheBytesGo() throws {
        let (bytes, _) = try ArtifactFixtures.smallLinearArtifact()
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("triage-v3-\(UUID().uuidString).triage").path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        defer { unlink(path) }
        let key = try ArtifactFixtures.signingKey
        var options = ModelArtifact.LoadOptions()
        options.measurePayloadParts = true
        let loaded = try ModelArtifact.load(path: path, trusted: [key.verifyingKey], options: options)
        #expect(!(try ModelArtifact.load(path: path, trusted: [key.verifyingKey])).parts.contains { $0.name.hasPrefix("payload:") })
        let names = loaded.parts.map(\.name)
        #expect(names.prefix(2) == ["file", "payload"])
        for expected in ["matrices[0]", "features[0].vocabulary", "features[0].idf", "features[1].vocabulary", "features[1].idf", "payload: model"] {
            #expect(names.contains(expected), "\(names)")
        }
        #expect(loaded.parts.first { $0.name == "file" }?.bytes == bytes.count)
        let sectionTotal = loaded.parts.filter { !$0.name.hasPrefix("payload:") && $0.name != "file" }.reduce(0) { $0 + $1.bytes }
        #expect(sectionTotal < bytes.count && bytes.count - sectionTotal < 2048)   // the rest: prefix, header, signature
        // The unverified path reads the same file without a key.
        #expect(try ModelArtifact.loadUnverified(path: path).id == loaded.id)
        // The id names the signed header (which holds every section's digest).
        let h = ModelFile.readUInt32(bytes, at: 44)
        #expect(loaded.id == StableHash.hex(Array(bytes[0 ..< 48 + h])))
    }

    @Test func weightMatrixRoundingIsExactAndCanonical() throws {
        let values: [Float] = [0, 1.5, -3, 0.001, 2e-8, -0.75, 65504, -1e-3]
        let m = WeightMatrix(rows: 4, columns: 2, values: values)
        for encoding in WeightEncoding.allCases {
            let e = m.encoded(as: encoding)
            let back = try WeightMatrix.decode(rows: 4, columns: 2, encoding: e.encoding, scales: e.scales, from: .init(bytes: e.sectionBytes()))
            #expect(back == e)
            #expect(e.encoded(as: encoding) === e)
        }
        // int8: per column, the largest magnitude maps to ±127 exactly.
        let q = m.encoded(as: .int8)
        #expect(q.scales == [Float(65504) / 127, Float(1.5) / 127])
        #expect(q.values[6] == 65504 && q.values[5] == -0.75 || abs(q.values[5] + 0.75) <= q.scales[1] / 2)
        // float16 keeps a matrix it cannot hold as float32.
        #expect(WeightMatrix(rows: 1, columns: 1, values: [1e6]).encoded(as: .float16).encoding == .float32)
        // Bad stored values are named.
        #expect(throws: WeightMatrixError.self) {
            try WeightMatrix.decode(rows: 1, columns: 2, encoding: .int8, scales: [1, 0], from: .init(bytes: [1, 2]))
        }
        #expect(throws: WeightMatrixError.self) {
            try WeightMatrix.decode(rows: 1, columns: 2, encoding: .float16, scales: [], from: .init(bytes: [0, 0x7C, 0, 0]))  // +inf
        }
        #expect(throws: WeightMatrixError.self) {
            try WeightMatrix.decode(rows: 1, columns: 2, encoding: .int8, scales: [1, 1], from: .init(bytes: [0x80, 0]))
        }
        #expect(throws: WeightMatrixError.self) {
            try WeightMatrix.decode(rows: 1, columns: 2, encoding: .float16, scales: [], from: .init(bytes: [0, 0, 0]))
        }
    }

    /// Pruning keeps exactly the features some weight needs (≥ the threshold × its score's
    /// largest), keeps the vocabularies in order, and the pruned model saves, loads and predicts
    /// like the pruned pipeline in memory. Trees cannot be pruned.
    @Test func pruningDropsTheFeaturesNoWeightNeeds() throws {
        let data = try ArtifactFixtures.messages(60)
        var settings = ArtifactFixtures.linearSettings()
        settings.clf = PipelinePreset.recommended.settings.clf
        let pipeline = try settings.fit(data, threads: 2)
        let importance = try #require(pipeline.classifier.model.featureImportance())
        let (pruned, removed) = try #require(pipeline.pruned(threshold: 0.05))
        #expect(removed == importance.filter { $0 < 0.05 }.count && removed > 0)
        #expect(pruned.featureCount == pipeline.featureCount - removed)
        let keptTerms = zip(pipeline.terms, importance).filter { $0.1 >= 0.05 }.map(\.0)
        #expect(pruned.terms == keptTerms)
        for (b, block) in pruned.blocks.enumerated() {
            #expect(block.vectorizer.vocabulary == block.vectorizer.vocabulary.sorted(), "block \(b)")
            #expect(block.offset == pruned.blocks.prefix(b).reduce(0) { $0 + $1.featureCount })
        }
        let key = try ArtifactFixtures.signingKey
        let bytes = try ModelArtifact.encode(pruned, provenance: Provenance(pipeline: pruned, messages: data), signingKey: key, created: nil)
        let loaded = try ModelArtifact.decode(bytes, trusted: [key.verifyingKey])
        let probes = ProbeMessages.standard
        #expect(loaded.pipeline.predictProbabilities(probes, threads: 1) == pruned.withWeights(ModelArtifact.defaultWeights).predictProbabilities(probes, threads: 1))
        #expect(bytes.count < (try ModelArtifact.encode(pipeline, provenance: Provenance(pipeline: pipeline, messages: data), signingKey: key, created: nil)).count)
        // Nothing below a threshold of 0: the same pipeline.
        #expect(pipeline.pruned(threshold: 0)?.removed == 0)
        let trees = try ArtifactFixtures.settings(rounds: 2).fit(data, threads: 1)
        #expect(trees.pruned(threshold: 0.01) == nil)
    }
}

/// Payload version 4: the confidence policy travels with the model; older files get one
/// threshold on uncalibrated probabilities.
@Suite("Model file version 4")
struct ModelFileVersion4Tests {
    @Test func thePolicyRoundTripsAndCalibratesEveryAnswer() throws {
        let key = try ArtifactFixtures.signingKey
        let (bytes, pipeline) = try ArtifactFixtures.smallLinearArtifact(version: 4, withPolicy: true)
        let loaded = try ModelArtifact.decode(bytes, trusted: [key.verifyingKey])
        let policy = ArtifactFixtures.policy(labels: pipeline.labels)
        #expect(loaded.formatVersion == 4 && loaded.pipeline.policy == policy && loaded.unsureThreshold == policy.threshold)
        #expect(loaded.pipeline.oosIndex == pipeline.labels.count - 1)
        // Probabilities are calibrated (T = 0.8 sharpens them), batch and single alike.
        let message = ProbeMessages.standard[0]
        let raw = try loaded.pipeline.withPolicy(nil).predictProbabilities([message])[0]
        let calibrated = loaded.pipeline.predictProbabilities([message])[0]
        #expect(calibrated == policy.calibration.applied(raw))
        #expect(loaded.pipeline.makePredictor().probabilities(message) == calibrated)
        #expect(calibrated.max() ?? 0 > raw.max() ?? 0)
        // Decisions follow the policy; a threshold given by the caller replaces only the threshold.
        let p = loaded.pipeline.predict([message], top: 2)[0]
        #expect(p.unsure == (p.reason != nil) && p.reason == policy.reason(calibrated, oosIndex: loaded.pipeline.oosIndex))
        #expect(loaded.pipeline.effectivePolicy(threshold: 0.99).calibration == policy.calibration)
        #expect(loaded.pipeline.effectivePolicy(threshold: 0.99).threshold == 0.99)
    }

    @Test func olderFilesGetTheirThresholdAsAManualPolicy() throws {
        let key = try ArtifactFixtures.signingKey
        let data = try ArtifactFixtures.messages(30)
        let pipeline = try ArtifactFixtures.linearSettings().fit(data, threads: 1)
        let provenance = Provenance(pipeline: pipeline, messages: data)
        for version in [3, 4] {
            let bytes = try ModelArtifact.encode(pipeline, provenance: provenance, unsureThreshold: 0.3, signingKey: key, created: nil, version: version)
            let loaded = try ModelArtifact.decode(bytes, trusted: [key.verifyingKey])
            #expect(loaded.formatVersion == version)
            #expect(loaded.pipeline.policy == .manual(0.3) && loaded.unsureThreshold == 0.3)
        }
        // A policy cannot be written into version 3: only its threshold is (and no calibration).
        let withPolicy = try pipeline.withPolicy(ArtifactFixtures.policy(labels: pipeline.labels))
        let v3 = try ModelArtifact.encode(withPolicy, provenance: provenance, unsureThreshold: 0.4, signingKey: key, created: nil, version: 3)
        #expect(try ModelArtifact.decode(v3, trusted: [key.verifyingKey]).pipeline.policy == .manual(0.4))
        #expect(throws: ArtifactError.self) { try ModelArtifact.encode(pipeline, provenance: provenance, signingKey: key, version: 2) }
    }
}
