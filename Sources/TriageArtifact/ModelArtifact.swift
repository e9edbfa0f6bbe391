import Foundation
import TriageBoost
import TriageCore
import TriageLinear
import TriageModel
import TriageText

/// The signed model file (format "triage-model", payload version 7, versions 1 to 6 still
/// read; models/FORMAT.md).
///
/// Versions 3 to 7 are a binary file (`ModelFile`): a prefix with the key id, a signed header holding
/// each section's length and SHA-256, then the sections — the JSON payload, and the vocabularies,
/// idf and linear weights in binary. Loading reads the prefix, selects a pinned key, verifies the
/// header's signature, then reads each section into its final buffer through SHA-256 and parses
/// it only once its digest matches; nothing is held twice.
///
/// Versions 1 and 2, an envelope, a JSON object with exactly these members:
/// `{"format": "triage-model", "keyId": <hex SHA-256 of the public key>,
///   "payload": <base64 of the canonical payload bytes>, "signature": <base64 Ed25519 signature
///   of those bytes>}`. There is no algorithm field to downgrade: the format fixes Ed25519.
///
/// Loading, in order, each step a named `ArtifactError`: size cap (before reading) → strict
/// envelope parse → key id selects one of the pinned trusted keys (never trusted by itself) →
/// strict base64 → signature verified over the payload bytes → only then the payload is parsed
/// (strictly: duplicate keys, non-finite numbers, depth) and decoded against the closed schema
/// (unknown fields) → format version → semantic checks (indices, trees, labels) → the pipeline is
/// rebuilt → every golden probe is re-predicted and must match within `probeTolerance`.
public enum ModelArtifact {
    public static let format = "triage-model"
    public static let formatVersion = 7
    /// Payload versions `load` accepts.
    public static let readableVersions = [1, 2, 3, 4, 5, 6, 7]
    /// Versions written as a binary `ModelFile` (the others are JSON envelopes).
    static let binaryVersions = [3, 4, 5, 6, 7]
    /// How `train` stores linear weights unless told otherwise (`--weights`): chosen by
    /// measurement (BENCHMARKS.md, "Model files").
    public static let defaultWeights: WeightEncoding = .int8

    /// Limits and tolerances of `load`.
    public struct LoadOptions: Sendable {
        /// Largest artifact accepted, in bytes; checked before reading. 1 GiB: above every model
        /// the recommended settings write on the corpora we ship (the largest, 20newsgroups,
        /// BENCHMARKS.md "Model files"), while a file of several GiB is refused before any of it
        /// is read.
        public static let defaultMaxBytes = 1 << 30
        public var maxBytes: Int = defaultMaxBytes
        /// Deepest JSON nesting accepted in the payload.
        public var maxDepth: Int = 32
        /// Largest accepted |p − p_saved| for a golden probe. Triage predicts probes bit for bit
        /// (its own exp, fixed summation order), so the default is 0.
        public var probeTolerance: Double = 0
        /// Also measure the payload's own parts (its model, probes and features JSON) for
        /// `Loaded.parts`: re-serialising them is work only `triage inspect` needs, not a server.
        public var measurePayloadParts = false

        public init() {}
    }

    /// A loaded, verified model.
    public struct Loaded: Sendable {
        /// The model's first head (its only one for most models).
        public let pipeline: FittedPipeline
        /// SHA-256 of the payload bytes: the model's identity.
        public let id: String
        /// The id of the trusted key that signed it.
        public let keyId: String
        public let created: String?
        /// The policy's threshold.
        public let unsureThreshold: Double
        public let provenance: Provenance
        public let probes: [Probe]
        public let formatVersion: Int
        /// Largest |p − p_saved| over all probes (0 when bit-identical).
        public let probeMaxDifference: Double
        /// Where the file's bytes go: each part and its size (`triage inspect`).
        public let parts: [Part]
        /// Every head, the first (`pipeline`) first.
        public let heads: FittedHeads
    }

    /// A part of a model file and its size in bytes.
    public struct Part: Sendable, Equatable {
        public let name: String
        public let bytes: Int
        /// What it holds, for people.
        public let what: String
    }

    // MARK: Saving

    /// The artifact bytes: canonical payload, signed, in a canonical envelope. Deterministic:
    /// the same model, provenance, probes and key give the same bytes (Ed25519 signatures are
    /// deterministic; `created` comes from `SOURCE_DATE_EPOCH` when set, else is absent).
    /// `pipeline.policy` is what the file holds (without one: a manual policy at
    /// `unsureThreshold`); `version` 3 writes the previous format, which holds no policy (only
    /// its threshold) — for tests that older files keep loading.
    public static func encode(_ pipeline: FittedPipeline, provenance: Provenance, probes: [Message] = ProbeMessages.standard,
                              unsureThreshold: Double = 0.5, signingKey: SigningKey,
                              created: String? = sourceDateEpoch(), weights: WeightEncoding = defaultWeights,
                              version: Int = formatVersion, otherHeads: [FittedPipeline] = []) throws(ArtifactError) -> [UInt8] {
        guard binaryVersions.contains(version) else { throw .unsupportedVersion(version, supported: binaryVersions) }
        // The probes and the file hold the weights as the file stores them (a no-op when the
        // caller rounded them already, as `train` does before it evaluates).
        var payload = try makePayload(pipeline.withWeights(weights), version: version, provenance: provenance, probes: probes,
                                  unsureThreshold: unsureThreshold, created: created, otherHeads: otherHeads.map { $0.withWeights(weights) })
        let matrices = WeightMatrixTable(), sections = PayloadSections(reader: nil)
        let encoder = JSONValueEncoder(userInfo: [WeightMatrixTable.userInfoKey: matrices, PayloadSections.userInfoKey: sections])
        let payloadBytes: [UInt8]
        do {
            // The models first, to number their matrices (the first head's, then the others'
            // in order, as the payload lists them); then the whole payload (same numbers).
            _ = try JSONValueEncoder(userInfo: [WeightMatrixTable.userInfoKey: matrices]).encode(payload.model)
            for head in payload.heads ?? [] { _ = try JSONValueEncoder(userInfo: [WeightMatrixTable.userInfoKey: matrices]).encode(head.model) }
            payload.matrices = matrices.matrices.enumerated().map { MatrixDescriptor(section: "matrices[\($0.offset)]", matrix: $0.element) }
            payloadBytes = try encoder.canonicalBytes(payload)
        } catch { throw .invalid(path: error.path, reason: error.reason) }
        var all = [(name: "payload", bytes: payloadBytes)] + sections.written
        for (i, m) in matrices.matrices.enumerated() { all.append((name: "matrices[\(i)]", bytes: m.sectionBytes())) }
        return try ModelFile.write(version: version, sections: all, signingKey: signingKey)
    }

    /// The payload of `pipeline` (whose weights are as the file will hold them), with its golden
    /// probes predicted now.
    static func makePayload(_ pipelineIn: FittedPipeline, version: Int, provenance: Provenance, probes: [Message], unsureThreshold: Double,
                            created: String?, otherHeads: [FittedPipeline] = []) throws(ArtifactError) -> Payload {
        if version < 7 && !otherHeads.isEmpty {
            throw .invalid(path: "$.heads", reason: "several label heads need format version 7 (this file: \(version))")
        }
        guard (0 ... 1).contains(unsureThreshold) else {
            throw .invalid(path: "$.unsure_threshold", reason: "\(unsureThreshold) is not a probability")
        }
        // Before version 4 a file holds one threshold and no calibration: the probes are
        // predicted without the policy, as such a file's reader will.
        var unsureThreshold = unsureThreshold
        let policy: ConfidencePolicy? = version >= 4 ? (pipelineIn.policy ?? .manual(unsureThreshold)) : nil
        let pipeline: FittedPipeline
        do { pipeline = try pipelineIn.withPolicy(policy) } catch { throw .invalid(path: "$.confidence_policy", reason: error.description) }
        if let policy { unsureThreshold = policy.threshold }
        // Rules and the head are version 6; a model with rules also probes each word rule.
        if version < 6 && pipeline.routing != nil {
            throw .invalid(path: "$.rules", reason: "rules need format version 6 (this file: \(version))")
        }
        if version < 6 && pipeline.classifier.model is FittedDummy {
            throw .invalid(path: "$.model.type", reason: "a dummy classifier needs format version 6 (this file: \(version))")
        }
        let probes = probes + (pipeline.routing.map { ProbeMessages.forRules($0.set) } ?? [])
        let (probabilities, matched) = pipeline.predictProbabilitiesAndMatches(probes, threads: 1)
        var heads: [HeadPayload] = []
        if !otherHeads.isEmpty {
            let x = pipeline.features(probes, threads: 1)
            for (k, head) in otherHeads.enumerated() {
                let own: FittedPipeline
                let headPolicy = head.policy ?? .manual(unsureThreshold)
                do { own = try head.withPolicy(headPolicy) } catch { throw .invalid(path: "$.heads[\(k)].confidence_policy", reason: error.description) }
                heads.append(HeadPayload(name: head.head, labels: head.labels, clf: head.settings.clf, model: head.classifier,
                                         confidencePolicy: headPolicy, probes: own.probabilities(of: x, threads: 1)))
            }
        }
        let probeResults = probes.indices.map { i in
            Probe(subject: probes[i].subject, body: probes[i].body, probabilities: probabilities[i],
                  rules: pipeline.routing.map { r in matched[i].map { r.set.rules[$0].name } })
        }
        let features = pipeline.blocks.enumerated().map { i, b in
            FeaturesPayload(index: i, name: b.settings.name, stopWords: b.vectorizer.stopWords, vocabulary: b.vectorizer.vocabulary, idf: b.tfidf.idf)
        }
        // Version 5 holds the clean step's patterns; an older file cannot hold a clean step.
        if version < 5 && pipeline.settings.clean != nil {
            throw .invalid(path: "$.pipeline.clean", reason: "a clean step needs format version 5 (this file: \(version))")
        }
        return Payload(formatVersion: version, created: created, pipeline: pipeline.settings, labels: pipeline.labels,
                       unsureThreshold: unsureThreshold, features: features, model: pipeline.classifier, provenance: provenance, probes: probeResults,
                       confidencePolicy: policy, cleanPatterns: pipeline.cleaner?.patterns,
                       head: version >= 6 ? pipeline.head : nil, rules: pipeline.routing?.set, heads: heads.isEmpty ? nil : heads)
    }

    /// Version-2 bytes of the same model (an envelope around base64 JSON, float32 weights): for
    /// tests that older files keep loading, and for a server that has not been upgraded yet.
    public static func encodeVersion2(_ pipeline: FittedPipeline, provenance: Provenance, probes: [Message] = ProbeMessages.standard,
                                      unsureThreshold: Double = 0.5, signingKey: SigningKey,
                                      created: String? = sourceDateEpoch()) throws(ArtifactError) -> [UInt8] {
        let payload = try makePayload(pipeline, version: 2, provenance: provenance, probes: probes, unsureThreshold: unsureThreshold, created: created)
        let payloadBytes: [UInt8]
        do { payloadBytes = try JSONValueEncoder().canonicalBytes(payload) } catch { throw .invalid(path: error.path, reason: error.reason) }
        let signature: [UInt8]
        do { signature = try signingKey.signature(for: payloadBytes) } catch { throw .key(error) }
        let envelope: JSONValue = [
            "format": .string(format),
            "keyId": .string(signingKey.verifyingKey.id),
            "payload": .string(Base64.encode(payloadBytes)),
            "signature": .string(Base64.encode(signature)),
        ]
        return JSONWriter.bytes(envelope)
    }

    /// Writes an artifact atomically: a temporary file in the same directory, fsync, rename,
    /// fsync of the directory — a reader sees the old file or the new one, never a part.
    public static func save(_ pipeline: FittedPipeline, to path: String, provenance: Provenance,
                            probes: [Message] = ProbeMessages.standard, unsureThreshold: Double = 0.5,
                            signingKey: SigningKey, weights: WeightEncoding = defaultWeights, otherHeads: [FittedPipeline] = []) throws(ArtifactError) {
        let bytes = try encode(pipeline, provenance: provenance, probes: probes, unsureThreshold: unsureThreshold, signingKey: signingKey,
                               weights: weights, otherHeads: otherHeads)
        try AtomicFile.write(bytes, to: path)
    }

    /// `SOURCE_DATE_EPOCH` (reproducible-builds.org) as an ISO 8601 UTC time, or nil.
    public static func sourceDateEpoch() -> String? {
        guard let text = ProcessInfo.processInfo.environment["SOURCE_DATE_EPOCH"], let seconds = Int(text) else { return nil }
        let formatter = ISO8601DateFormatter()
        formatter.timeZone = TimeZone(identifier: "UTC")
        return formatter.string(from: Date(timeIntervalSince1970: TimeInterval(seconds)))
    }

    // MARK: Loading

    /// Loads and verifies the artifact at `path` against the pinned `trusted` keys. A version-3
    /// file is streamed: its sections are read one by one, each into its final buffer.
    public static func load(path: String, trusted: [VerifyingKey], options: LoadOptions = LoadOptions()) throws(ArtifactError) -> Loaded {
        guard !trusted.isEmpty else { throw .noTrustedKeys }
        let file = try FileBytes(path: path, maxBytes: options.maxBytes)
        if try isVersion3(file) { return try decodeVersion3(file, trusted: trusted, options: options) }
        return try decode(file.bytes(at: 0, count: file.count), trusted: trusted, options: options)
    }

    /// Reads and decodes an artifact WITHOUT checking its signature (for `triage inspect
    /// --unverified` on a machine without the public key). The content is still parsed
    /// strictly and validated — parsing cannot execute anything — but nothing says who made it.
    public static func loadUnverified(path: String, options: LoadOptions = LoadOptions()) throws(ArtifactError) -> Loaded {
        let file = try FileBytes(path: path, maxBytes: options.maxBytes)
        if try isVersion3(file) { return try decodeVersion3(file, trusted: nil, options: options) }
        let bytes = try file.bytes(at: 0, count: file.count)
        let envelope = try Envelope(bytes, options: options)
        _ = try envelope.signature()
        return try decodePayload(try envelope.payload(), keyId: envelope.keyId, fileBytes: bytes.count, options: options)
    }

    static func isVersion3(_ source: some ArtifactBytes) throws(ArtifactError) -> Bool {
        guard source.count >= ModelFile.magic.count else { return false }
        return ModelFile.hasMagic(try source.bytes(at: 0, count: ModelFile.magic.count))
    }

    /// Version 3: (1) the prefix — magic, version, key id — selects a pinned key, (2) the header's
    /// signature is verified before the header is parsed, (3) the header's section table must
    /// cover the rest of the file exactly, (4) the payload section is read through SHA-256 and
    /// parsed only when its digest matches; then each matrix, vocabulary and idf section the same
    /// way, as the payload asks for it; every section must be used. `trusted` nil: no signature
    /// check (inspect --unverified, the fuzzer).
    static func decodeVersion3(_ source: some ArtifactBytes, trusted: [VerifyingKey]?, options: LoadOptions) throws(ArtifactError) -> Loaded {
        guard source.count <= options.maxBytes else { throw .tooLarge(bytes: source.count, limit: options.maxBytes) }
        let minimum = ModelFile.prefixLength + 2 + ModelFile.signatureLength
        guard source.count >= minimum else { throw .notAnArtifact("a version-3 model file has at least \(minimum) bytes, this one \(source.count)") }
        let prefix = try source.bytes(at: 0, count: ModelFile.prefixLength)
        guard ModelFile.hasMagic(prefix) else { throw .notAnArtifact("the file does not start with the model file magic") }
        let version = ModelFile.readUInt32(prefix, at: 8)
        guard binaryVersions.contains(Int(version)) else { throw .unsupportedVersion(version, supported: readableVersions) }
        let keyId = Hex.encode(Array(prefix[12 ..< 44]))
        let headerLength = ModelFile.readUInt32(prefix, at: 44)
        guard headerLength >= 2, headerLength <= ModelFile.maxHeaderBytes,
              headerLength <= source.count - ModelFile.prefixLength - ModelFile.signatureLength else {
            throw .notAnArtifact("header length \(headerLength) does not fit the \(source.count)-byte file (2 … \(ModelFile.maxHeaderBytes) bytes)")
        }
        let signedCount = ModelFile.prefixLength + headerLength
        let signed = try source.bytes(at: 0, count: signedCount + ModelFile.signatureLength)
        if let trusted {
            guard !trusted.isEmpty else { throw .noTrustedKeys }
            guard let key = trusted.first(where: { $0.id == keyId }) else { throw .unknownKeyId(keyId, trusted: trusted.map(\.id)) }
            guard key.isValidSignature(Array(signed[signedCount...]), for: Array(signed[..<signedCount])) else {
                throw .badSignature(keyId: keyId)
            }
        }
        // The header is authenticated: parse it.
        let header: ModelFile.Header
        do {
            let value = try JSONParser.parse(Array(signed[ModelFile.prefixLength ..< signedCount]),
                                             limits: JSONLimits(maxDepth: 4, maxBytes: ModelFile.maxHeaderBytes))
            header = try StrictJSONDecoder().decode(ModelFile.Header.self, from: value)
        } catch let error as JSONSyntaxError {
            throw .invalid(path: "header", reason: error.description)
        } catch let error as JSONDecodingError {
            throw .invalid(path: "header", reason: error.description)
        } catch {
            throw .invalid(path: "header", reason: "\(error)")
        }
        let reader = try SectionReader(source: source, header: header, dataOffset: signedCount + ModelFile.signatureLength)
        let payload = try reader.bytes("payload")
        return try decodePayload(payload, keyId: keyId, fileBytes: source.count, options: options, sections: reader,
                                 fileVersion: Int(version), id: StableHash.hex(Array(signed[..<signedCount])))
    }

    /// A version-3 file's bytes decoded without a signature check: the fuzzer's entry point
    /// (behind a signature, mutated input would never get past the header).
    package static func decodeUnsigned(_ bytes: [UInt8], options: LoadOptions = LoadOptions()) throws(ArtifactError) -> Loaded {
        try decodeVersion3(MemoryBytes(storage: bytes), trusted: nil, options: options)
    }

    /// The envelope's members, checked for shape only.
    struct Envelope {
        let keyId: String
        /// The payload and signature as written (base64), decoded only when asked: after the key
        /// id has selected a pinned key.
        let payloadText: String
        let signatureText: String

        init(_ bytes: [UInt8], options: LoadOptions) throws(ArtifactError) {
            guard bytes.count <= options.maxBytes else { throw .tooLarge(bytes: bytes.count, limit: options.maxBytes) }
            let envelope: JSONObject
            do {
                guard let object = try JSONParser.parse(bytes, limits: JSONLimits(maxDepth: 2, maxBytes: options.maxBytes)).objectValue else {
                    throw ArtifactError.notAnArtifact("the file is not a JSON object")
                }
                envelope = object
            } catch let error as ArtifactError {
                throw error
            } catch let error as JSONSyntaxError {
                throw .notAnArtifact(error.description)
            } catch {
                throw .notAnArtifact("\(error)")
            }
            let expected = ["format", "keyId", "payload", "signature"]
            if let extra = envelope.keys.first(where: { !expected.contains($0) }) { throw .notAnArtifact("unknown envelope member \"\(extra)\"") }
            func member(_ name: String) throws(ArtifactError) -> String {
                guard let value = envelope[name] else { throw .notAnArtifact("the envelope has no \"\(name)\"") }
                guard let text = value.stringValue else { throw .notAnArtifact("\"\(name)\" must be a string") }
                return text
            }
            let formatName = try member("format")
            guard formatName == format else { throw .notAnArtifact("format is \"\(formatName)\", expected \"\(format)\"") }
            keyId = try member("keyId")
            payloadText = try member("payload")
            signatureText = try member("signature")
        }

        /// The payload bytes (strict base64).
        func payload() throws(ArtifactError) -> [UInt8] {
            guard let bytes = Base64.decode(payloadText) else { throw .invalidBase64("payload") }
            return bytes
        }

        /// The signature bytes (strict base64).
        func signature() throws(ArtifactError) -> [UInt8] {
            guard let bytes = Base64.decode(signatureText) else { throw .invalidBase64("signature") }
            return bytes
        }
    }

    /// Verifies and decodes artifact bytes: (1) size, (2) envelope shape, (3) the key id selects
    /// a pinned key — it is never trusted by itself, (4) strict base64 of the payload and the
    /// signature, (5) the Ed25519 signature over the exact payload bytes, before any parsing of
    /// them, then strict decoding, semantic checks and the golden probes.
    public static func decode(_ bytes: [UInt8], trusted: [VerifyingKey], options: LoadOptions = LoadOptions()) throws(ArtifactError) -> Loaded {
        guard !trusted.isEmpty else { throw .noTrustedKeys }
        if ModelFile.hasMagic(bytes) { return try decodeVersion3(MemoryBytes(storage: bytes), trusted: trusted, options: options) }
        let envelope = try Envelope(bytes, options: options)
        guard let key = trusted.first(where: { $0.id == envelope.keyId }) else {
            throw .unknownKeyId(envelope.keyId, trusted: trusted.map(\.id))
        }
        let payload = try envelope.payload(), signature = try envelope.signature()
        guard signature.count == 64, key.isValidSignature(signature, for: payload) else {
            throw .badSignature(keyId: envelope.keyId)
        }
        return try decodePayload(payload, keyId: envelope.keyId, fileBytes: bytes.count, options: options)
    }

    /// Steps after the signature: strict parse and decode, semantics, probes. Exposed inside the
    /// package for the fuzzer, which feeds it payloads directly (behind a signature, mutated
    /// input would never get this far). `sections`: the version-3 file the payload came from.
    package static func decodeVerifiedPayload(_ payloadBytes: [UInt8], keyId: String, options: LoadOptions) throws(ArtifactError) -> Loaded {
        try decodePayload(payloadBytes, keyId: keyId, options: options)
    }

    static func decodePayload(_ payloadBytes: [UInt8], keyId: String, fileBytes: Int? = nil, options: LoadOptions,
                              sections reader: SectionReader? = nil, fileVersion: Int? = nil, id: String? = nil) throws(ArtifactError) -> Loaded {
        // 4. Strict parse and decode of the (now authenticated) payload.
        let value: JSONValue
        do {
            value = try JSONParser.parse(payloadBytes, limits: JSONLimits(maxDepth: options.maxDepth, maxBytes: options.maxBytes))
        } catch {
            throw .payloadSyntax(error)
        }
        let lenient = StrictJSONDecoder(allowUnknownFields: true)
        let version: Int
        do { version = try lenient.decode(PayloadVersion.self, from: value).formatVersion } catch { throw .payload(error) }
        guard readableVersions.contains(version) else { throw .unsupportedVersion(version, supported: readableVersions) }
        if binaryVersions.contains(version) != (reader != nil) {
            throw .invalid(path: "$.format_version", reason: reader == nil
                ? "version \(version) is a binary model file, not a JSON envelope"
                : "version \(version) in a binary model file")
        }
        if let fileVersion, fileVersion != version {
            throw .invalid(path: "$.format_version", reason: "version \(version) in a version-\(fileVersion) model file")
        }
        var parts: [Part] = []
        let payload: Payload
        if let reader {
            // Matrices first, each from its section (checked against the shape before anything
            // is allocated), then the rest, which reads vocabularies and idf as it meets them.
            let descriptors: [MatrixDescriptor]
            do { descriptors = try lenient.decode(PayloadMatrices.self, from: value).matrices } catch { throw .payload(error) }
            var matrices: [WeightMatrix] = []
            for (i, d) in descriptors.enumerated() {
                let path = "$.matrices[\(i)]"
                let (cells, overflow) = d.rows.multipliedReportingOverflow(by: d.columns)
                let (bytes, overflow2) = cells.multipliedReportingOverflow(by: d.encoding.bytesPerWeight)
                guard d.rows >= 0, d.columns >= 1, !overflow, !overflow2 else { throw .invalid(path: path, reason: "\(d.rows) × \(d.columns) is not a matrix shape") }
                let stored = try reader.length(of: d.section)
                guard stored == bytes else {
                    throw .invalid(path: path + ".section", reason: "\(stored) bytes, but \(d.rows) × \(d.columns) \(d.encoding.rawValue) weights take \(bytes)")
                }
                do {
                    matrices.append(try WeightMatrix.decode(rows: d.rows, columns: d.columns, encoding: d.encoding, scales: d.scales ?? [],
                                                            from: reader.matrixSource(d.section)))
                } catch let error as ArtifactError {
                    throw error
                } catch {
                    throw .invalid(path: path, reason: "\(error)")
                }
                if d.encoding != .int8 && d.scales != nil { throw .invalid(path: path + ".scales", reason: "only int8 matrices have scales") }
                parts.append(Part(name: d.section, bytes: stored, what: "weights, \(d.rows) × \(d.columns) \(d.encoding.rawValue)"))
            }
            let table = WeightMatrixTable(matrices: matrices), sections = PayloadSections(reader: reader)
            let decoder = StrictJSONDecoder(userInfo: [WeightMatrixTable.userInfoKey: table, PayloadSections.userInfoKey: sections])
            do { payload = try decoder.decode(Payload.self, from: value) } catch {
                if let failure = sections.failure { throw failure }
                throw .payload(error)
            }
            if let unused = matrices.indices.first(where: { !table.used.contains($0) }) {
                throw .invalid(path: "$.matrices[\(unused)]", reason: "no model reads it")
            }
            try reader.checkAllRead()
            for (i, f) in (payload.features ?? []).enumerated() {
                for kind in ["vocabulary", "idf"] {
                    let name = "features[\(i)].\(kind)"
                    if let length = try? reader.length(of: name) {
                        parts.append(Part(name: name, bytes: length, what: kind == "vocabulary" ? "\(f.vocabulary.count) terms of block \"\(f.name)\"" : "idf of block \"\(f.name)\""))
                    }
                }
            }
            parts.insert(Part(name: "payload", bytes: payloadBytes.count, what: "JSON: settings, labels, stop words, classifier, provenance, probes"), at: 0)
        } else {
            do { payload = try StrictJSONDecoder().decode(Payload.self, from: value) } catch { throw .payload(error) }
            parts.append(Part(name: "payload", bytes: payloadBytes.count, what: "JSON, with vocabularies and weights inside"))
        }
        if options.measurePayloadParts, let object = value.objectValue {
            for (key, member) in object.members where ["model", "probes", "features"].contains(key) {
                parts.append(Part(name: "payload: \(key)", bytes: JSONWriter.bytes(member).count, what: "its JSON within the payload"))
            }
        }
        if let fileBytes { parts.insert(Part(name: "file", bytes: fileBytes, what: "the whole file"), at: 0) }

        // 5. Semantics, then the pipeline.
        let (pipeline, otherHeads) = try ArtifactValidation.pipelines(from: payload)

        // 6. Golden probes.
        let messages = payload.probes.map { Message(subject: $0.subject, body: $0.body) }
        let (predicted, matched) = pipeline.predictProbabilitiesAndMatches(messages, threads: 1)
        var maxDifference = 0.0
        for (i, (probe, p)) in zip(payload.probes, predicted).enumerated() {
            guard probe.probabilities.count == p.count else {
                throw .invalid(path: "$.probes[\(i)].probabilities", reason: "\(probe.probabilities.count) probabilities for \(p.count) labels")
            }
            switch (pipeline.routing, probe.rules) {
            case (nil, nil): break
            case (nil, _?): throw .invalid(path: "$.probes[\(i)].rules", reason: "present, but the model has no rules")
            case (_?, nil): throw .invalid(path: "$.probes[\(i)].rules", reason: "missing: the model has rules")
            case let (routing?, names?):
                let now = matched[i].map { routing.set.rules[$0].name }
                guard now == names else { throw .probeRulesMismatch(index: i, saved: names, now: now) }
            }
            let difference = zip(probe.probabilities, p).map { abs($0 - $1) }.max() ?? 0
            maxDifference = max(maxDifference, difference)
            if !(difference <= options.probeTolerance) {
                throw .probeMismatch(index: i, difference: difference, tolerance: options.probeTolerance)
            }
        }
        // Every later head's probes, on the same feature rows.
        if let heads = payload.heads, !heads.isEmpty {
            let x = pipeline.features(messages, threads: 1)
            for (k, (head, own)) in zip(heads, otherHeads).enumerated() {
                guard head.probes.count == payload.probes.count else {
                    throw .invalid(path: "$.heads[\(k)].probes", reason: "\(head.probes.count) probes, but the model has \(payload.probes.count)")
                }
                for (i, (saved, p)) in zip(head.probes, own.probabilities(of: x, threads: 1)).enumerated() {
                    guard saved.count == p.count else {
                        throw .invalid(path: "$.heads[\(k)].probes[\(i)]", reason: "\(saved.count) probabilities for \(p.count) labels")
                    }
                    if let bad = saved.firstIndex(where: { !($0 >= 0 && $0 <= 1) }) {
                        throw .invalid(path: "$.heads[\(k)].probes[\(i)][\(bad)]", reason: "\(saved[bad]) is not a probability")
                    }
                    let difference = zip(saved, p).map { abs($0 - $1) }.max() ?? 0
                    maxDifference = max(maxDifference, difference)
                    if !(difference <= options.probeTolerance) {
                        throw .probeMismatch(index: i, difference: difference, tolerance: options.probeTolerance)
                    }
                }
            }
        }
        return Loaded(pipeline: pipeline, id: id ?? StableHash.hex(payloadBytes), keyId: keyId, created: payload.created,
                      unsureThreshold: payload.unsureThreshold, provenance: payload.provenance, probes: payload.probes,
                      formatVersion: version, probeMaxDifference: maxDifference, parts: parts, heads: FittedHeads([pipeline] + otherHeads))
    }
}

/// Just the matrices of a version-3 payload, read before the rest.
struct PayloadMatrices: Decodable {
    var matrices: [MatrixDescriptor]
}
