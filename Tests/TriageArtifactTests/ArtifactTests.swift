import Foundation
import Testing
import TriageCore
import TriageData
import TriageModel
@testable import TriageArtifact

enum ArtifactFixtures {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The committed test-only key pair (it signs nothing but these fixtures).
    static var signingKey: SigningKey {
        get throws { try SigningKey(pem: String(contentsOf: directory.appendingPathComponent("test-private.pem"), encoding: .utf8)) }
    }

    /// A small corpus: the first messages of the demo corpus, three labels.
    static func messages(_ count: Int) throws -> [LabeledMessage] {
        let batch = try MessageReader.readCSV(path: repository.appendingPathComponent("corpora/demo/train.csv").path)
        let keep = Set(["card_loss_fraud", "payments", "account_access"])
        return Array(batch.messages.filter { keep.contains($0.label ?? "") }.prefix(count))
    }

    static func settings(rounds: Int = 3, depth: Int = 2) -> PipelineSettings {
        var s = PipelineSettings()
        s.vect.stemmer = "english"
        s.tfidf.sublinearTF = true
        var clf = TriageBoost.GradientBoostingClassifier()
        clf.nEstimators = rounds
        clf.maxDepth = depth
        clf.minSamplesLeaf = 2
        s.clf = .gradientBoosting(clf)
        return s
    }

    static func smallArtifact(version: Int = ModelArtifact.formatVersion) throws -> (bytes: [UInt8], pipeline: FittedPipeline) {
        try small(settings(rounds: 2, depth: 1), messages: 24, probes: 2, version2: false, version: version)
    }

    /// Version 5 with the clean step (every shipped language's mail patterns), with the two
    /// e-mail probes among its probes so a change of patterns shows at load.
    static func smallCleanArtifact(version: Int = 5) throws -> (bytes: [UInt8], pipeline: FittedPipeline) {
        var settings = linearSettings()
        settings.clean = CleanSettings()
        let data = try messages(30)
        let pipeline = try settings.fit(data, threads: 1)
        let probes = ProbeMessages.standard.filter { $0.body.contains("gmail_quote") || $0.body.contains("Gesendet:") } + ProbeMessages.standard.prefix(2)
        let bytes = try ModelArtifact.encode(pipeline, provenance: Provenance(pipeline: pipeline, messages: data), probes: probes,
                                             signingKey: signingKey, created: nil, version: version)
        return (bytes, pipeline)
    }

    /// Rules for the small corpus: an override, a stemmed word feature and a regex feature.
    static let rules = RuleSet(rules: [
        RuleSet.Rule(name: "lost-card", field: .any, words: ["lost my card", "stolen card"], mode: .override, label: "card_loss_fraud"),
        RuleSet.Rule(name: "fraud", words: ["fraud", "scam"], stem: true, mode: .feature),
        RuleSet.Rule(name: "amount", field: .body, regex: "\\d+[.,]\\d{2}\\b", mode: .feature),
    ], stemmer: "english")

    /// Version 6: a rules-only model (a dummy classifier, override rules).
    static func smallRulesOnlyArtifact() throws -> (bytes: [UInt8], pipeline: FittedPipeline) {
        let data = try messages(30)
        let overrides = RuleSet(rules: rules.rules.filter { $0.mode == .override }, stemmer: "english")
        var settings = PipelineSettings()
        settings.clf = .dummy()
        let fit = try PipelineFit(messages: data, rules: try ModelRules(overrides))
        let pipeline = try fit.fit(settings, threads: 1).pipeline
        let bytes = try ModelArtifact.encode(pipeline, provenance: Provenance(pipeline: pipeline, messages: data),
                                             probes: Array(ProbeMessages.standard.prefix(2)), signingKey: signingKey, created: nil, version: 6)
        return (bytes, pipeline)
    }

    /// Version 7: two heads over the small corpus — its label as "queue", and "length" (short or
    /// long body, a column made up for the fixture) — with a rule deciding the second head.
    static func smallHeadsArtifact() throws -> (bytes: [UInt8], heads: FittedHeads) {
        var data = try messages(30)
        for i in data.indices { data[i].otherLabels = [data[i].body.count >= 80 ? "long" : "short"] }
        let set = RuleSet(rules: [RuleSet.Rule(name: "stolen-long", words: ["stolen"], mode: .override, head: "length", label: "long"),
                                  RuleSet.Rule(name: "fraud", words: ["fraud", "scam"], mode: .feature)])
        let fit = try PipelineFit(messages: data, rules: try ModelRules(set), head: "queue", otherHeads: ["length"])
        let heads = try fit.fitHeads(linearSettings(), classifiers: ["length": .multinomialNB(MultinomialNB())], threads: 1)
        let bytes = try ModelArtifact.encode(heads.primary, provenance: Provenance(pipeline: heads.primary, messages: data),
                                             probes: Array(ProbeMessages.standard.prefix(3)), signingKey: signingKey, created: nil,
                                             otherHeads: Array(heads.heads.dropFirst()))
        return (bytes, heads)
    }

    /// Version 6: a linear model trained with `rules` (feature columns, an override), with
    /// the rule probes beside two standard ones.
    static func smallRulesArtifact() throws -> (bytes: [UInt8], pipeline: FittedPipeline) {
        let data = try messages(30)
        let fit = try PipelineFit(messages: data, rules: try ModelRules(rules), head: "queue")
        let pipeline = try fit.fit(linearSettings(), threads: 1).pipeline
        let bytes = try ModelArtifact.encode(pipeline, provenance: Provenance(pipeline: pipeline, messages: data),
                                             probes: Array(ProbeMessages.standard.prefix(2)), signingKey: signingKey, created: nil, version: 6)
        return (bytes, pipeline)
    }

    /// The same model in payload version 2 (a JSON envelope): what Triage wrote before version 3.
    static func smallArtifactVersion2() throws -> (bytes: [UInt8], pipeline: FittedPipeline) {
        try small(settings(rounds: 2, depth: 1), messages: 24, probes: 2, version2: true)
    }

    /// A confidence policy as `train --target-precision 0.9 --oos-label <last label>` could
    /// choose it: calibrated, a threshold, a margin, an out-of-scope label.
    static func policy(labels: [String]) -> ConfidencePolicy {
        ConfidencePolicy(calibration: Calibration(temperature: 0.8), goal: .precision(0.9), threshold: 0.4,
                         classThresholds: labels.first.map { [$0: 0.6] }, margin: 0.05, oosLabel: labels.last,
                         evidence: .init(messages: 30, folds: 3, seed: 0, coverage: 0.6, precision: 0.9, logLossBefore: 1.2, logLossAfter: 1.1,
                                         eceBefore: 0.2, eceAfter: 0.1))
    }

    /// `settings` fitted on the first `messages` demo messages, signed in `version` (3 or 4,
    /// with `weights`, and in version 4 `policy` when given) or version 2, with the first
    /// `probes` standard probes.
    static func small(_ settings: PipelineSettings, messages count: Int, probes: Int, version2: Bool,
                      weights: WeightEncoding = ModelArtifact.defaultWeights, version: Int = ModelArtifact.formatVersion,
                      withPolicy: Bool = false) throws -> (bytes: [UInt8], pipeline: FittedPipeline) {
        let data = try messages(count)
        var pipeline = try settings.fit(data, threads: 1)
        if withPolicy { pipeline = try pipeline.withPolicy(policy(labels: pipeline.labels)) }
        let provenance = Provenance(pipeline: pipeline, messages: data)
        let probeMessages = Array(ProbeMessages.standard.prefix(probes))
        let bytes = version2
            ? try ModelArtifact.encodeVersion2(pipeline, provenance: provenance, probes: probeMessages, signingKey: signingKey, created: nil)
            : try ModelArtifact.encode(pipeline, provenance: provenance, probes: probeMessages, signingKey: signingKey, created: nil, weights: weights,
                                       version: version)
        return (bytes, pipeline)
    }

    /// A feature union (stemmed words, char_wb 2–4-grams of the body) into a logistic regression.
    static func linearSettings() -> PipelineSettings {
        var word = FeatureBlock(name: "word")
        word.vect.stemmer = "english"
        word.vect.ngramRange = NgramRange(1, 2)
        word.tfidf.sublinearTF = true
        var char = FeatureBlock(name: "char", source: .body, weight: 0.5)
        char.vect.analyzer = .charWB
        char.vect.ngramRange = NgramRange(2, 4)
        char.vect.minDF = .count(2)
        var clf = LogisticRegression()
        clf.c = 5
        return PipelineSettings(union: [word, char], clf: .logisticRegression(clf))
    }

    static func smallLinearArtifact(weights: WeightEncoding = ModelArtifact.defaultWeights, version: Int = ModelArtifact.formatVersion,
                                    withPolicy: Bool = false) throws -> (bytes: [UInt8], pipeline: FittedPipeline) {
        try small(linearSettings(), messages: 30, probes: 4, version2: false, weights: weights, version: version, withPolicy: withPolicy)
    }

    static func smallLinearArtifactVersion2() throws -> (bytes: [UInt8], pipeline: FittedPipeline) {
        try small(linearSettings(), messages: 30, probes: 4, version2: true)
    }
}

import TriageBoost
import TriageLinear
import TriageText

@Suite("Signed artifact: feature unions and every registered classifier")
struct LinearArtifactTests {
    /// Every registered classifier (its check examples, from the registry) behind a union:
    /// signed, verified, its golden probes re-predicted bit for bit at load.
    @Test(arguments: ClassifierRegistry.examples)
    func unionPipelinesRoundTripBitForBit(_ example: ClassifierRegistry.Example) throws {
        let data = try ArtifactFixtures.messages(30)
        var settings = ArtifactFixtures.linearSettings()
        settings.clf = example.settings
        let pipeline = try settings.fit(data, threads: 2)
        let key = try ArtifactFixtures.signingKey
        let bytes = try ModelArtifact.encode(pipeline, provenance: Provenance(pipeline: pipeline, messages: data), signingKey: key, created: nil)
        // Deterministic bytes: fit again on one thread, encode again.
        let again = try ModelArtifact.encode(try settings.fit(data, threads: 1), provenance: Provenance(pipeline: pipeline, messages: data),
                                             signingKey: key, created: nil)
        #expect(bytes == again)
        let loaded = try ModelArtifact.decode(bytes, trusted: [key.verifyingKey])
        #expect(loaded.formatVersion == ModelArtifact.formatVersion)
        #expect(loaded.probeMaxDifference == 0)
        #expect(loaded.pipeline.settings == settings)
        #expect(loaded.pipeline.blocks.map(\.settings.name) == ["word", "char"])
        // The file holds the weights rounded as the default encoding stores them.
        let rounded = pipeline.withWeights(ModelArtifact.defaultWeights)
        #expect(loaded.pipeline.classifier == rounded.classifier)
        let probe = ProbeMessages.standard
        #expect(loaded.pipeline.predictProbabilities(probe, threads: 1) == rounded.predictProbabilities(probe, threads: 1))
        // The single-message predictor agrees with the batch path bit for bit.
        let predictor = loaded.pipeline.makePredictor()
        for m in probe.prefix(8) { #expect(predictor.probabilities(m) == rounded.predictProbabilities([m], threads: 1)[0]) }
    }

    @Test func version1ArtifactsStillLoad() throws {
        // A version-2 single-block tree model rewritten in the version-1 layout (stop words,
        // vocabulary and idf at the top level) and signed: loads, and predicts the same.
        let (bytes, pipeline) = try ArtifactFixtures.smallArtifactVersion2()
        let key = try ArtifactFixtures.signingKey
        let envelope = try #require(try JSONParser.parse(bytes).objectValue)
        var payload = try #require(try JSONParser.parse(Base64.decode(envelope["payload"]?.stringValue ?? "") ?? []).objectValue)
        let block = try #require(payload["features"]?.arrayValue?.first?.objectValue)
        payload["features"] = nil
        payload["format_version"] = 1
        payload["stop_words"] = block["stop_words"]
        payload["vocabulary"] = block["vocabulary"]
        payload["idf"] = block["idf"]
        let v1 = try AttackCorpus.sign(JSONWriter.bytes(.object(payload)), key: key)
        let loaded = try ModelArtifact.decode(v1, trusted: [key.verifyingKey])
        #expect(loaded.formatVersion == 1)
        #expect(loaded.pipeline.predictProbabilities(ProbeMessages.standard, threads: 1) == pipeline.predictProbabilities(ProbeMessages.standard, threads: 1))
    }
}

@Suite("Signed artifact")
struct ArtifactTests {
    @Test func roundTripPredictsBitIdentically() throws {
        let data = try ArtifactFixtures.messages(120)
        let pipeline = try ArtifactFixtures.settings(rounds: 6).fit(data, threads: 2)
        let key = try ArtifactFixtures.signingKey
        let bytes = try ModelArtifact.encode(pipeline, provenance: Provenance(pipeline: pipeline, messages: data), signingKey: key, created: nil)
        let loaded = try ModelArtifact.decode(bytes, trusted: [key.verifyingKey])
        #expect(loaded.probeMaxDifference == 0)
        #expect(loaded.keyId == key.verifyingKey.id)
        #expect(loaded.pipeline.labels == pipeline.labels)
        let probes = ProbeMessages.standard
        #expect(loaded.pipeline.predictProbabilities(probes) == pipeline.predictProbabilities(probes))
        let predictor = loaded.pipeline.makePredictor()
        for m in probes { #expect(predictor.probabilities(m) == pipeline.predictProbabilities([m])[0]) }
        #expect(loaded.provenance.rows == 120 && loaded.provenance.stemmer == "english")
        #expect(loaded.provenance.dataSHA256 == StableHash.messages(data))
    }

    @Test func sameDataSettingsSeedAndKeyGiveTheSameBytesOnAnyThreadCount() throws {
        let data = try ArtifactFixtures.messages(80)
        let key = try ArtifactFixtures.signingKey
        func bytes(threads: Int) throws -> [UInt8] {
            let p = try ArtifactFixtures.settings(rounds: 4).fit(data, threads: threads)
            return try ModelArtifact.encode(p, provenance: Provenance(pipeline: p, messages: data, metrics: ["a": 1]), signingKey: key,
                                            created: "2026-01-01T00:00:00Z")
        }
        let one = try bytes(threads: 1)
        #expect(one == (try bytes(threads: 2)))
        #expect(one == (try bytes(threads: 3)))
    }

    @Test func tamperSweepRejectsEveryFlippedByteAndSignatureBit() throws {
        let (bytes, _) = try ArtifactFixtures.smallArtifact()
        let trusted = [try ArtifactFixtures.signingKey.verifyingKey]
        #expect(throws: Never.self) { try ModelArtifact.decode(bytes, trusted: trusted) }
        var accepted: [Int] = []
        for i in bytes.indices {
            var tampered = bytes
            tampered[i] ^= 0xFF
            if (try? ModelArtifact.decode(tampered, trusted: trusted)) != nil { accepted.append(i) }
            tampered[i] = bytes[i] ^ 0x01
            if (try? ModelArtifact.decode(tampered, trusted: trusted)) != nil { accepted.append(i) }
        }
        #expect(accepted.isEmpty, "accepted after flipping bytes \(accepted.prefix(10))")
        // Every bit of the signature (after the prefix and the header).
        let signatureStart = ModelFile.prefixLength + ModelFile.readUInt32(bytes, at: 44)
        for bit in 0 ..< ModelFile.signatureLength * 8 {
            var flipped = bytes
            flipped[signatureStart + bit / 8] ^= UInt8(1 << (bit % 8))
            #expect(throws: ArtifactError.badSignature(keyId: trusted[0].id)) { try ModelArtifact.decode(flipped, trusted: trusted) }
        }
    }

    @Test func version2TamperSweepStillRejectsEveryFlippedByte() throws {
        let (bytes, _) = try ArtifactFixtures.smallArtifactVersion2()
        let trusted = [try ArtifactFixtures.signingKey.verifyingKey]
        #expect(try ModelArtifact.decode(bytes, trusted: trusted).formatVersion == 2)
        var accepted: [Int] = []
        for i in bytes.indices {
            var tampered = bytes
            tampered[i] ^= 0x01
            if (try? ModelArtifact.decode(tampered, trusted: trusted)) != nil { accepted.append(i) }
        }
        #expect(accepted.isEmpty, "accepted after flipping bytes \(accepted.prefix(10))")
    }

    @Test func sizeCapIsCheckedBeforeReading() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("triage-huge-\(UUID().uuidString).json").path
        let fd = open(path, O_WRONLY | O_CREAT, 0o644)
        #expect(fd >= 0)
        ftruncate(fd, 2 << 30)   // a sparse 2 GiB file: nothing is written, nothing need be read
        close(fd)
        defer { unlink(path) }
        #expect(throws: ArtifactError.tooLarge(bytes: 2 << 30, limit: ModelArtifact.LoadOptions.defaultMaxBytes)) {
            try ModelArtifact.load(path: path, trusted: [try ArtifactFixtures.signingKey.verifyingKey])
        }
        // The message says how to raise the limit, with a value that admits the file.
        #expect(ArtifactError.tooLarge(bytes: (300 << 20) + 1, limit: 256 << 20).description.contains("--max-model-bytes \(301 << 20)"))
        var small = ModelArtifact.LoadOptions()
        small.maxBytes = 100
        let (bytes, _) = try ArtifactFixtures.smallArtifact()
        #expect(throws: ArtifactError.tooLarge(bytes: bytes.count, limit: 100)) {
            try ModelArtifact.decode(bytes, trusted: [try ArtifactFixtures.signingKey.verifyingKey], options: small)
        }
    }

    @Test func keysAreStandardPEMAndThePrivateOneIsProtected() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("triage-keys-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let (privatePath, publicPath, key) = try generateKeyPair(in: dir)
        var info = stat()
        stat(privatePath, &info)
        #expect(info.st_mode & 0o777 == 0o600)
        #expect(try SigningKey(path: privatePath).verifyingKey == key.verifyingKey)
        #expect(try VerifyingKey(path: publicPath) == key.verifyingKey)
        #expect(throws: KeyError.exists(path: privatePath)) { try generateKeyPair(in: dir) }
        chmod(privatePath, 0o644)
        #expect(throws: KeyError.tooOpen(path: privatePath, mode: "644")) { try SigningKey(path: privatePath) }
        // Issue 25 item 13: the wrong half of the pair is named as such (its mode does not matter).
        #expect(throws: KeyError.wrongHalf(path: publicPath, expected: "private")) { try SigningKey(path: publicPath) }
        #expect(throws: KeyError.wrongHalf(path: privatePath, expected: "public")) { try VerifyingKey(path: privatePath) }
        #expect(KeyError.wrongHalf(path: publicPath, expected: "private").description.contains("a public key; signing needs the private key"))
        #expect(throws: KeyError.self) { try VerifyingKey(pem: key.pem) }           // a private key is not a public key
        #expect(throws: KeyError.self) { try VerifyingKey(pem: "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n") }
        // OpenSSL reads the same keys (when it is installed).
        if FileManager.default.isExecutableFile(atPath: "/usr/bin/openssl") {
            chmod(privatePath, 0o600)
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
            p.arguments = ["pkey", "-in", privatePath, "-pubout"]
            let pipe = Pipe()
            p.standardOutput = pipe
            try p.run()
            p.waitUntilExit()
            let derived = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            #expect(derived == key.verifyingKey.pem)
        }
    }

    @Test func probesCatchAnAnalyzerThatDrifted() throws {
        let (bytes, _) = try ArtifactFixtures.smallArtifact()
        let key = try ArtifactFixtures.signingKey
        // Re-sign a payload whose first probe claims other probabilities: what a model trained with
        // another stemmer version would look like on this machine.
        var file = try ModelFileParts(bytes)
        let payloadBytes = file.sections[0].bytes
        var payload = try #require(try JSONParser.parse(payloadBytes).objectValue)
        var probes = try #require(payload["probes"]?.arrayValue)
        var first = try #require(probes[0].objectValue)
        var p = try #require(first["probabilities"]?.arrayValue).compactMap(\.numberValue?.doubleValue)
        p[0] += 1e-9
        p[1] -= 1e-9
        first["probabilities"] = .array(p.compactMap { JSONValue.double($0) })
        probes[0] = .object(first)
        payload["probes"] = .array(probes)
        file.sections[0].bytes = JSONWriter.bytes(.object(payload))
        let drifted = try file.signed(with: key)
        do {
            _ = try ModelArtifact.decode(drifted, trusted: [key.verifyingKey])
            Issue.record("accepted")
        } catch {
            guard case let .probeMismatch(index, difference, _) = error else { Issue.record("\(error)"); return }
            #expect(index == 0 && difference > 0)
        }
        var lenient = ModelArtifact.LoadOptions()
        lenient.probeTolerance = 1e-6
        #expect(throws: Never.self) { try ModelArtifact.decode(drifted, trusted: [key.verifyingKey], options: lenient) }
    }

    @Test func saveIsAtomicAndLeavesNoTemporaryFiles() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("triage-save-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let data = try ArtifactFixtures.messages(30)
        let pipeline = try ArtifactFixtures.settings(rounds: 2).fit(data, threads: 1)
        let path = dir.appendingPathComponent("m.triage").path
        let key = try ArtifactFixtures.signingKey
        try ModelArtifact.save(pipeline, to: path, provenance: Provenance(pipeline: pipeline, messages: data), signingKey: key)
        let first = try Data(contentsOf: URL(fileURLWithPath: path))
        try ModelArtifact.save(pipeline, to: path, provenance: Provenance(pipeline: pipeline, messages: data), signingKey: key)
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == first)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["m.triage"])
        #expect(throws: Never.self) { try ModelArtifact.load(path: path, trusted: [key.verifyingKey]) }
        #expect(throws: ArtifactError.noTrustedKeys) { try ModelArtifact.load(path: path, trusted: []) }
    }

    @Test func base64IsStrict() {
        for n in 0 ..< 40 {
            let bytes = (0 ..< n).map { UInt8(truncatingIfNeeded: $0 * 37 + 11) }
            #expect(Base64.decode(Base64.encode(bytes)) == bytes)
            #expect(Base64.encode(bytes) == Data(bytes).base64EncodedString())
        }
        #expect(Base64.decode("QQ==") == [0x41])
        #expect(Base64.decode("QR==") == nil)      // unused bits set
        #expect(Base64.decode("QUI=") == [0x41, 0x42])
        #expect(Base64.decode("QUJ=") == nil)
        #expect(Base64.decode("QQ") == nil)        // padding required
        #expect(Base64.decode("Q Q==") == nil)
        #expect(Base64.decode("=QQQ") == nil)
    }
}

/// A version-3 model file taken apart into its sections, to edit and sign again (with the test
/// key): how the tests and the attack corpus build files a real signer could have made.
struct ModelFileParts {
    var version: Int
    var sections: [(name: String, bytes: [UInt8])]

    init(_ bytes: [UInt8]) throws {
        guard ModelFile.hasMagic(bytes) else { throw ArtifactError.notAnArtifact("not version 3") }
        version = ModelFile.readUInt32(bytes, at: 8)
        let h = ModelFile.readUInt32(bytes, at: 44)
        let header = try StrictJSONDecoder().decode(ModelFile.Header.self, from: Array(bytes[48 ..< 48 + h]))
        var at = 48 + h + 64
        sections = []
        for s in header.sections {
            sections.append((s.name, Array(bytes[at ..< at + s.length])))
            at += s.length
        }
    }

    func section(_ name: String) -> [UInt8]? { sections.first { $0.name == name }?.bytes }

    mutating func replace(_ name: String, with bytes: [UInt8]) {
        if let i = sections.firstIndex(where: { $0.name == name }) { sections[i].bytes = bytes }
    }

    /// The payload as a JSON object.
    var payload: JSONObject {
        get throws { try #require(try JSONParser.parse(sections[0].bytes).objectValue) }
    }

    mutating func editPayload(_ transform: (inout JSONObject) throws -> Void) throws {
        var object = try payload
        try transform(&object)
        sections[0].bytes = JSONWriter.bytes(.object(object))
    }

    func signed(with key: SigningKey) throws -> [UInt8] {
        try ModelFile.write(version: version, sections: sections, signingKey: key)
    }
}

/// Issue 31: a model of several heads in one file (payload version 7).
@Suite("Several heads in a model file")
struct HeadsArtifactTests {
    @Test func everyHeadIsSavedSignedAndLoadedAsItPredicts() throws {
        let (bytes, heads) = try ArtifactFixtures.smallHeadsArtifact()
        let loaded = try ModelArtifact.decode(bytes, trusted: [try ArtifactFixtures.signingKey.verifyingKey])
        #expect(loaded.formatVersion == 7)
        #expect(loaded.heads.names == ["queue", "length"])
        #expect(loaded.heads["length"]?.classifier.typeName == "multinomial_nb")
        #expect(loaded.pipeline.head == "queue" && loaded.pipeline.labels == heads.primary.labels)
        let messages = ProbeMessages.standard.prefix(12) + [Message(subject: "", body: "my card was stolen yesterday")]
        // The file holds int8 weights: compare with the same heads rounded as it stores them.
        let rounded = FittedHeads(heads.heads.map { $0.withWeights(ModelArtifact.defaultWeights) })
        // (The file's policy is a threshold of 0.5 by hand; compare what the classifiers say.)
        #expect(loaded.heads.predict(Array(messages), threads: 1).map { $0.map(\.top) } == rounded.predict(Array(messages), threads: 1).map { $0.map(\.top) })
        #expect(loaded.heads.predict(Array(messages), threads: 1).map { $0.map(\.label) } == rounded.predict(Array(messages), threads: 1).map { $0.map(\.label) })
        let last = loaded.heads.predict([messages.last!], threads: 1)[0]
        #expect(last[1].rule == "stolen-long" && last[1].label == "long" && last[0].rule == nil)
        // Same heads, same key: the same bytes.
        #expect(try ArtifactFixtures.smallHeadsArtifact().bytes == bytes)
        // A file of one head has no "heads" and loads as one head.
        let single = try ModelArtifact.decode(try ArtifactFixtures.smallRulesArtifact().bytes, trusted: [try ArtifactFixtures.signingKey.verifyingKey])
        #expect(single.heads.names == ["queue"])
    }
}
