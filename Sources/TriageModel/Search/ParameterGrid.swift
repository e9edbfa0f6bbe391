import TriageCore
import TriageText

/// Why a parameter, a grid or a candidate is invalid.
public enum ParameterError: Error, Equatable, Sendable, CustomStringConvertible {
    case unknownName(String, valid: [String])
    case invalidValue(name: String, reason: String)
    case invalidGrid(String)

    public var description: String {
        switch self {
        case let .unknownName(name, valid):
            return "unknown parameter \"\(name)\"; valid parameters: \(valid.joined(separator: ", "))"
        case let .invalidValue(name, reason): return "invalid value for \(name): \(reason)"
        case let .invalidGrid(why): return "invalid grid: \(why)"
        }
    }
}

/// One point of a grid: parameter name → JSON value, e.g. `"vect.ngram_range": [1, 2]`.
public struct Candidate: Hashable, Sendable, Comparable, CustomStringConvertible {
    public let parameters: [String: JSONValue]

    public init(_ parameters: [String: JSONValue]) { self.parameters = parameters }

    /// Canonical JSON of the parameters (sorted names): the candidate's identity in ledgers.
    public var key: String { JSONWriter.string(.object(JSONObject(parameters.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }))) }

    public var description: String { key }

    public static func < (a: Candidate, b: Candidate) -> Bool { a.key < b.key }

    public func hash(into hasher: inout Hasher) { hasher.combine(key) }
    public static func == (a: Candidate, b: Candidate) -> Bool { a.key == b.key }
}

/// Pipeline parameters addressed by name, as scikit-learn's `set_params` does: `<step>.<name>`
/// with the steps `clean`, `text`, `vect`, `tfidf`, `clf`, and each step's parameter names
/// (`clean.quotes` works whether or not the settings clean already: it starts from the step's
/// defaults; `clean` alone is its settings, `true` for the defaults, `false` or `null` for none); in a feature
/// union, `union.<block>.<name>` (e.g. `union.char.ngram_range`, `union.word.weight`). A step's
/// name alone replaces the whole step, as scikit-learn's `{"clf": [LogisticRegression(), …]}`:
/// `"clf": [{"type": "logistic_regression"}, {"type": "linear_svc"}]` compares classifiers in one
/// grid (a type name alone, `"clf": ["linear_svc"]`, stands for `{"type": "linear_svc"}`),
/// `"union": [[…blocks…], …]` feature sets (replacing `vect` and `tfidf`), and `vect` or `tfidf`
/// a single block (replacing a union).
///
/// Names apply in three rounds, each against the settings the previous one left: whole steps;
/// then `clf.type`, which starts the classifier afresh from that type's defaults (as a whole
/// `clf` of that type would); then every other name, checked against the steps now in place —
/// so `clf.type=logistic_regression` with `clf.C=10` is valid whatever the classifier was.
public enum PipelineParameters {
    /// The steps a name alone may replace.
    public static let steps = ["clean", "text", "vect", "tfidf", "union", "clf"]

    /// The clean step's parameter names (all of them, whether or not the settings clean).
    static let cleanNames: [String] = {
        let all = CleanSettings(languages: [], patterns: "")
        guard case let .object(fields)? = try? JSONValueEncoder().encode(all) else { return [] }
        return fields.keys.map { "clean.\($0)" }
    }()

    /// Every valid name for settings whose classifier is `clf`'s type.
    public static func names(for settings: PipelineSettings) -> [String] {
        guard case let .object(root)? = try? JSONValueEncoder().encode(settings) else { return [] }
        var names = steps + cleanNames
        for (step, value) in root.members where step != "clean" {
            switch value {
            case let .object(fields):
                names += fields.keys.map { "\(step).\($0)" }
            case let .array(items) where step == "union":
                for case let .object(block) in items {
                    guard let name = block["name"]?.stringValue else { continue }
                    names += block.keys.filter { $0 != "name" }.map { "union.\(name).\($0)" }
                }
            default: continue
            }
        }
        return names.sorted()
    }

    /// `settings` with the parameters set, decoded strictly and validated: a value of the wrong
    /// type or out of range is an error naming the parameter.
    public static func apply(_ parameters: [String: JSONValue], to settings: PipelineSettings) throws(ParameterError) -> PipelineSettings {
        let sorted = parameters.sorted { $0.key < $1.key }
        let wholeSteps = sorted.filter { !$0.key.contains(".") }
        let types = sorted.filter { $0.key == "clf.type" }
        let fields = sorted.filter { $0.key.contains(".") && $0.key != "clf.type" }
        var current = settings
        if !wholeSteps.isEmpty || !types.isEmpty {
            var root = try encoded(current)
            for (name, value) in wholeSteps {
                guard steps.contains(name) else { throw .unknownName(name, valid: names(for: current)) }
                root[name] = try stepValue(name, value)
                switch name {
                case "clean" where root[name] == .null: root["clean"] = nil
                case "union": root["vect"] = nil; root["tfidf"] = nil
                case "vect", "tfidf": root["union"] = nil
                default: break
                }
            }
            for (_, value) in types {
                guard case .string = value else { throw .invalidValue(name: "clf.type", reason: "expected a classifier type name (\(ClassifierRegistry.typeNames.joined(separator: ", ")))") }
                root["clf"] = .object(JSONObject([("type", value)]))
            }
            current = try decoded(root, naming: wholeSteps.map(\.key) + types.map(\.key))
        }
        guard !fields.isEmpty else { return try validated(current, naming: sorted.map(\.key)) }
        var root = try encoded(current)
        let valid = names(for: current)
        for (name, value) in fields {
            guard valid.contains(name) else { throw unknown(name, valid: valid, in: current) }
            if name.hasPrefix("union.") {
                let parts = name.split(separator: ".", maxSplits: 2).map(String.init)
                guard parts.count == 3, case var .array(blocks)? = root["union"],
                      let b = blocks.firstIndex(where: { $0.objectValue?["name"]?.stringValue == parts[1] }),
                      case var .object(block) = blocks[b] else { throw .unknownName(name, valid: valid) }
                block[parts[2]] = value
                blocks[b] = .object(block)
                root["union"] = .array(blocks)
                continue
            }
            let parts = name.split(separator: ".", maxSplits: 1).map(String.init)
            let existing: JSONValue? = root[parts[0]] ?? (parts.first == "clean" ? .object(JSONObject()) : nil)
            guard parts.count == 2, case var .object(step)? = existing else {
                throw .unknownName(name, valid: valid)
            }
            step[parts[1]] = value
            root[parts[0]] = .object(step)
        }
        return try validated(try decoded(root, naming: fields.map(\.key)), naming: sorted.map(\.key))
    }

    /// A config file's settings: each step it names replaces the preset's, as a whole step of a
    /// grid does (`vect` or `tfidf` replace a union, `union` replaces them); the steps it leaves
    /// out keep the preset's settings.
    public static func applyConfig(_ json: JSONValue, to preset: PipelineSettings) throws(ParameterError) -> PipelineSettings {
        guard case let .object(root) = json else {
            throw .invalidGrid("a config is a JSON object of steps (\(steps.joined(separator: ", ")))")
        }
        for key in root.keys where !steps.contains(key) {
            throw .invalidValue(name: key, reason: "not a step; a config's members are the steps \(steps.joined(separator: ", "))")
        }
        if root["union"] != nil, let both = ["vect", "tfidf"].first(where: { root[$0] != nil }) {
            throw .invalidValue(name: both, reason: "\"\(both)\" and \"union\" exclude each other: put the vectorizer and TF-IDF settings in each union block")
        }
        return try apply(Dictionary(uniqueKeysWithValues: root.members.map { ($0.key, $0.value) }), to: preset)
    }

    /// A whole step's value: an object (or the union's list of blocks); a classifier type name
    /// alone stands for that type with its defaults.
    private static func stepValue(_ name: String, _ value: JSONValue) throws(ParameterError) -> JSONValue {
        switch (name, value) {
        case ("clean", .bool(true)): return .object(JSONObject())
        case ("clean", .bool(false)), ("clean", .null): return .null
        case ("union", .array), (_, .object): return value
        case ("clf", let .string(type)): return .object(JSONObject([("type", .string(type))]))
        case ("union", _): throw .invalidValue(name: name, reason: "expected a list of feature blocks")
        case ("clf", _): throw .invalidValue(name: name, reason: "expected an object such as {\"type\": \"logistic_regression\", \"C\": 10}, or a classifier type name (\(ClassifierRegistry.typeNames.joined(separator: ", ")))")
        default: throw .invalidValue(name: name, reason: "expected an object of the step's parameters")
        }
    }

    /// An unknown name, said precisely: a field of a step that is not in place, or of another
    /// classifier type, is not the same mistake as a misspelling.
    private static func unknown(_ name: String, valid: [String], in settings: PipelineSettings) -> ParameterError {
        let step = String(name.split(separator: ".").first ?? "")
        if ["vect", "tfidf"].contains(step), !settings.union.isEmpty {
            return .invalidValue(name: name, reason: "the pipeline is a feature union: set union.<block>.\(name.dropFirst(step.count + 1)) (blocks: \(settings.union.map(\.name).joined(separator: ", ")))")
        }
        if step == "clf", let type = (try? JSONValueEncoder().encode(settings.clf))?.objectValue?["type"]?.stringValue {
            let field = String(name.dropFirst(4))
            let owners = Set(ClassifierRegistry.examples.compactMap { example -> String? in
                guard let object = (try? JSONValueEncoder().encode(example.settings))?.objectValue, object[field] != nil else { return nil }
                return object["type"]?.stringValue
            }).sorted()
            if !owners.isEmpty, !owners.contains(type) {
                return .invalidValue(name: name, reason: "the classifier is \(type), which has no \(field) (\(owners.joined(separator: ", ")) \(owners.count == 1 ? "has" : "have") it: set clf.type, or clf, too)")
            }
        }
        return .unknownName(name, valid: valid)
    }

    private static func encoded(_ settings: PipelineSettings) throws(ParameterError) -> JSONObject {
        guard case let .object(root)? = try? JSONValueEncoder().encode(settings) else { throw .invalidGrid("the settings cannot be encoded") }
        return root
    }

    private static func decoded(_ root: JSONObject, naming names: [String]) throws(ParameterError) -> PipelineSettings {
        do {
            return try StrictJSONDecoder().decode(PipelineSettings.self, from: .object(root))
        } catch {
            let name = names.first { error.path.contains(String($0.split(separator: ".").last ?? "")) } ?? error.path
            throw .invalidValue(name: name, reason: error.description)
        }
    }

    private static func validated(_ settings: PipelineSettings, naming names: [String]) throws(ParameterError) -> PipelineSettings {
        do { try settings.validate() } catch { throw .invalidValue(name: names.joined(separator: ", "), reason: error.description) }
        return settings
    }
}

/// scikit-learn's `param_grid`: a dict of lists, or a list of them, expanded into candidates in
/// `ParameterGrid` order (within a dict, names sorted; the last name varies fastest).
public struct ParameterGrid: Sendable {
    public let grids: [[(name: String, values: [JSONValue])]]

    /// Parses grid JSON: `{"vect.ngram_range": [[1,1],[1,2]], "clf.learning_rate": [0.1, 0.3]}`
    /// or a list of such objects.
    public init(json: JSONValue) throws(ParameterError) {
        let objects: [JSONValue]
        switch json {
        case .object: objects = [json]
        case let .array(items): objects = items
        default: throw .invalidGrid("expected an object of parameter lists, or an array of them")
        }
        guard !objects.isEmpty else { throw .invalidGrid("the grid is empty") }
        var grids: [[(name: String, values: [JSONValue])]] = []
        for (i, item) in objects.enumerated() {
            guard case let .object(o) = item else { throw .invalidGrid("grid \(i) is not an object") }
            var entries: [(name: String, values: [JSONValue])] = []
            for name in o.keys.sorted() {
                guard case let .array(values)? = o[name] else {
                    throw .invalidGrid("\"\(name)\" must be a list of values (write [x] for a single value)")
                }
                guard !values.isEmpty else { throw .invalidGrid("\"\(name)\" has no values") }
                entries.append((name, values))
            }
            grids.append(entries)
        }
        self.grids = grids
    }

    /// Every candidate, in order; duplicates (across dicts) removed, first kept.
    public var candidates: [Candidate] {
        var seen = Set<Candidate>()
        var out: [Candidate] = []
        for grid in grids {
            var combinations: [[String: JSONValue]] = [[:]]
            for (name, values) in grid {
                combinations = combinations.flatMap { partial in values.map { v in partial.merging([name: v]) { $1 } } }
            }
            for c in combinations.map(Candidate.init) where seen.insert(c).inserted { out.append(c) }
        }
        return out
    }

    /// Random search: `count` distinct candidates drawn with the seeded generator, in grid order.
    public func sample(_ count: Int, seed: UInt64) -> [Candidate] {
        let all = candidates
        guard count < all.count else { return all }
        var rng = SeededGenerator(seed: seed, stream: 20)
        return rng.sample(count, from: all.count).map { all[$0] }
    }

    /// Checks every candidate against `settings` (names and values) before any fitting.
    public func validate(against settings: PipelineSettings) throws(ParameterError) {
        for c in candidates { _ = try PipelineParameters.apply(c.parameters, to: settings) }
    }
}
