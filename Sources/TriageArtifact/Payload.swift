import Foundation
import TriageBoost
import TriageCore
import TriageLinear
import TriageModel
import TriageText

/// Where a model came from: enough to reproduce it and to tell two models apart.
public struct Provenance: Hashable, Sendable, Codable {
    /// SHA-256 of the training messages in canonical form (see `StableHash.messages`).
    public var dataSHA256: String
    public var rows: Int
    public var labelCounts: [String: Int]
    public var triageVersion: String
    public var gitCommit: String?
    public var swiftVersion: String
    /// The Snowball algorithm, and SHA-256 of the stop words in effect (one per line, sorted).
    public var stemmer: String?
    public var stopWordsSHA256: String?
    /// SHA-256 of the clean step's patterns (`MailPatterns.sha256`), when there is a clean step.
    public var mailPatternsSHA256: String?
    /// The seed of every random choice (the classifier's `random_state`).
    public var seed: UInt64
    /// Evaluation metrics (e.g. held-out accuracy), name → value.
    public var metrics: [String: Double]
    /// Free-form notes (the training command, data file names).
    public var notes: [String: String]

    enum CodingKeys: String, CodingKey {
        case rows, stemmer, seed, metrics, notes
        case dataSHA256 = "data_sha256"
        case labelCounts = "label_counts"
        case triageVersion = "triage_version"
        case gitCommit = "git_commit"
        case swiftVersion = "swift_version"
        case stopWordsSHA256 = "stop_words_sha256"
        case mailPatternsSHA256 = "mail_patterns_sha256"
    }

    public init(dataSHA256: String, rows: Int, labelCounts: [String: Int], triageVersion: String = TriageVersion.current,
                gitCommit: String? = TriageVersion.gitCommit, swiftVersion: String = TriageVersion.swift,
                stemmer: String?, stopWordsSHA256: String?, seed: UInt64, metrics: [String: Double] = [:], notes: [String: String] = [:]) {
        self.dataSHA256 = dataSHA256
        self.rows = rows
        self.labelCounts = labelCounts
        self.triageVersion = triageVersion
        self.gitCommit = gitCommit
        self.swiftVersion = swiftVersion
        self.stemmer = stemmer
        self.stopWordsSHA256 = stopWordsSHA256
        self.seed = seed
        self.metrics = metrics
        self.notes = notes
    }

    /// The provenance of `pipeline` fitted on `messages` (`dataSHA256`: their
    /// `StableHash.messages`, when the caller has it already, e.g. `PipelineFit.dataHash`).
    public init(pipeline: FittedPipeline, messages: [LabeledMessage], dataSHA256: String? = nil, metrics: [String: Double] = [:],
                notes: [String: String] = [:]) {
        var counts: [String: Int] = [:]
        for m in messages { counts[m.label ?? "", default: 0] += 1 }
        // One block: its stemmer and stop list. A union: the distinct stemmers, and the blocks'
        // stop lists one after the other (a blank line between blocks).
        let stopLists = pipeline.blocks.map(\.vectorizer.stopWords)
        let stops = stopLists.count == 1 ? stopLists[0].joined(separator: "\n") : stopLists.map { $0.joined(separator: "\n") }.joined(separator: "\n\n")
        var stemmers: [String] = []
        for b in pipeline.blocks { if let s = b.settings.vect.stemmer, !stemmers.contains(s) { stemmers.append(s) } }
        self.init(dataSHA256: dataSHA256 ?? StableHash.messages(messages), rows: messages.count, labelCounts: counts,
                  stemmer: stemmers.isEmpty ? nil : stemmers.joined(separator: ","),
                  stopWordsSHA256: stopLists.allSatisfy(\.isEmpty) ? nil : StableHash.hex(Array(stops.utf8)),
                  seed: pipeline.settings.clf.randomState, metrics: metrics, notes: notes)
        mailPatternsSHA256 = pipeline.cleaner?.patternsSHA256
    }
}

/// A golden probe: a message and the probabilities the model gave it when it was saved. Loading
/// re-predicts every probe and refuses the model if an answer moved (a different stemmer or
/// library on the serving machine).
public struct Probe: Hashable, Sendable, Codable {
    public var subject: String
    public var body: String
    public var probabilities: [Double]
    /// Version 6, in a model with rules: the names of the rules the probe matched, in rule order
    /// (loading re-matches and compares, so a different stemmer or normaliser is caught).
    public var rules: [String]?

    public init(subject: String, body: String, probabilities: [Double], rules: [String]? = nil) {
        self.subject = subject
        self.body = body
        self.probabilities = probabilities
        self.rules = rules
    }
}

/// What a fitted feature block needs besides its settings: the stop words in effect, the
/// vocabulary (column order) and the idf weights. Version 2 writes `vocabulary` and `idf` as JSON
/// arrays; version 3 as references to binary sections, `{"section": …, "count": n}` and
/// `{"section": …}` (the sections come through `userInfo`: `PayloadSections`).
struct FeaturesPayload: Codable {
    var name: String
    var stopWords: [String]
    var vocabulary: [String]
    var idf: [Double]?
    /// Where the block is in `features` (names its sections when writing version 3).
    var index = 0

    init(index: Int, name: String, stopWords: [String], vocabulary: [String], idf: [Double]?) {
        self.index = index
        self.name = name
        self.stopWords = stopWords
        self.vocabulary = vocabulary
        self.idf = idf
    }

    enum CodingKeys: String, CodingKey {
        case name, vocabulary, idf
        case stopWords = "stop_words"
    }

    struct VocabularyReference: Codable {
        var section: String
        var count: Int
    }

    struct SectionReference: Codable {
        var section: String
    }

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decode(String.self, forKey: .name)
        stopWords = try c.decode([String].self, forKey: .stopWords)
        guard let sections = decoder.userInfo[PayloadSections.userInfoKey] as? PayloadSections else {
            vocabulary = try c.decode([String].self, forKey: .vocabulary)
            idf = try c.decodeIfPresent([Double].self, forKey: .idf)
            return
        }
        let reference = try c.decode(VocabularyReference.self, forKey: .vocabulary)
        guard reference.count >= 0, reference.count <= Int(Int32.max) else {
            throw DecodingError.dataCorruptedError(forKey: .vocabulary, in: c, debugDescription: "\(reference.count) is not a number of terms")
        }
        let terms = try sections.vocabulary(reference.section, count: reference.count)
        vocabulary = terms
        if let idfReference = try c.decodeIfPresent(SectionReference.self, forKey: .idf) {
            idf = try sections.doubles(idfReference.section, count: terms.count)
        } else {
            idf = nil
        }
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(name, forKey: .name)
        try c.encode(stopWords, forKey: .stopWords)
        guard let sections = encoder.userInfo[PayloadSections.userInfoKey] as? PayloadSections else {
            try c.encode(vocabulary, forKey: .vocabulary)
            try c.encodeIfPresent(idf, forKey: .idf)
            return
        }
        let prefix = "features[\(index)]."
        sections.add(prefix + "vocabulary", SectionCoding.vocabulary(vocabulary))
        try c.encode(VocabularyReference(section: prefix + "vocabulary", count: vocabulary.count), forKey: .vocabulary)
        if let idf {
            sections.add(prefix + "idf", SectionCoding.doubles(idf))
            try c.encode(SectionReference(section: prefix + "idf"), forKey: .idf)
        }
    }
}

/// The signed content of an artifact (documented in models/FORMAT.md). A closed schema: the
/// strict decoder refuses any other member.
///
/// Version 7: as version 6, with `heads` when the model has several label heads: the heads
/// after the first, each with its own labels, classifier settings and model, confidence policy
/// and probe probabilities (the top level is the first head, as in a single-head model).
/// Version 6: as version 5, with `head` (the label column the model predicts) and, optionally,
/// `rules` (the routing rules, `RuleSet`'s schema); probes of a model with rules carry the
/// names of the rules they match.
/// Version 5: as version 4, with the clean step: `pipeline.clean` (its settings) and
/// `clean_patterns` (the mail patterns it read when trained), always together.
/// Version 4: as version 3, with `confidence_policy` (calibration and the rules that leave a
/// message unsure, `ConfidencePolicy`); `unsure_threshold` repeats the policy's threshold.
/// Version 3 (binary sections, `ModelFile`): as version 2, with the vocabularies, idf and linear
/// weights in sections the JSON refers to, and `matrices` describing the weight matrices.
/// Version 2 (written since feature unions and linear models): `features`, one entry per block
/// of the pipeline, and any model type. Version 1 (still read): one block whose `stop_words`,
/// `vocabulary` and `idf` sit at the top level, and gradient-boosted trees.
struct Payload: Codable {
    var formatVersion: Int
    var created: String?
    var pipeline: PipelineSettings
    var labels: [String]
    var unsureThreshold: Double
    /// Version 1 only.
    var stopWords: [String]?
    var vocabulary: [String]?
    var idf: [Double]?
    /// Versions 2 and 3.
    var features: [FeaturesPayload]?
    /// Versions 3 and 4.
    var matrices: [MatrixDescriptor]?
    var model: FittedClassifier
    var provenance: Provenance
    var probes: [Probe]
    /// Version 4 (required there).
    var confidencePolicy: ConfidencePolicy?
    /// Version 5: the clean step's patterns (present exactly when `pipeline.clean` is).
    var cleanPatterns: MailPatterns?
    /// Version 6 (required there): the label column the model predicts.
    var head: String?
    /// Version 6: the routing rules.
    var rules: RuleSet?
    /// Version 7, several heads: the heads after the first.
    var heads: [HeadPayload]?

    enum CodingKeys: String, CodingKey {
        case created, pipeline, labels, vocabulary, idf, features, matrices, model, provenance, probes, head, rules, heads
        case formatVersion = "format_version"
        case unsureThreshold = "unsure_threshold"
        case stopWords = "stop_words"
        case confidencePolicy = "confidence_policy"
        case cleanPatterns = "clean_patterns"
    }
}

/// A head after the first of a several-head model (version 7): it reads the first head's
/// features and has its own labels, classifier and policy.
struct HeadPayload: Codable {
    var name: String
    var labels: [String]
    /// The head's classifier settings (`pipeline.clf` is the first head's).
    var clf: ClassifierSettings
    var model: FittedClassifier
    var confidencePolicy: ConfidencePolicy
    /// Each golden probe's (calibrated) probabilities for this head, in probe order.
    var probes: [[Double]]

    enum CodingKeys: String, CodingKey {
        case name, labels, clf, model, probes
        case confidencePolicy = "confidence_policy"
    }
}

/// Just the version, read first so a newer format gets a clear error rather than a field error.
struct PayloadVersion: Decodable {
    var formatVersion: Int
    enum CodingKeys: String, CodingKey { case formatVersion = "format_version" }
}

/// Triage's version, the git commit it was built from when known, and the Swift compiler.
public enum TriageVersion {
    public static let current = "0.1.0"

    /// The commit of the checkout the running executable was built in, read from `.git` next to
    /// it (nil for an installed binary).
    public static let gitCommit: String? = {
        guard let exe = Bundle.main.executablePath ?? CommandLine.arguments.first else { return nil }
        var dir = URL(fileURLWithPath: exe).resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0 ..< 8 {
            let git = dir.appendingPathComponent(".git")
            if let head = try? String(contentsOf: git.appendingPathComponent("HEAD"), encoding: .utf8) {
                let line = head.trimmingCharacters(in: .whitespacesAndNewlines)
                if line.hasPrefix("ref: ") {
                    let ref = String(line.dropFirst(5))
                    if let hash = try? String(contentsOf: git.appendingPathComponent(ref), encoding: .utf8) {
                        return hash.trimmingCharacters(in: .whitespacesAndNewlines)
                    }
                    if let packed = try? String(contentsOf: git.appendingPathComponent("packed-refs"), encoding: .utf8),
                       let entry = packed.split(separator: "\n").first(where: { $0.hasSuffix(" " + ref) }) {
                        return String(entry.prefix(while: { $0 != " " }))
                    }
                    return nil
                }
                return line.isEmpty ? nil : line
            }
            dir = dir.deletingLastPathComponent()
        }
        return nil
    }()

    public static let swift: String = {
        #if compiler(>=6.4)
        return "6.4 or later"
        #elseif compiler(>=6.3)
        return "6.3"
        #elseif compiler(>=6.2)
        return "6.2"
        #else
        return "6.1 or earlier"
        #endif
    }()
}
