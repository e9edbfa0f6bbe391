import TriageCore

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
/// with the steps `text`, `vect`, `tfidf`, `clf`, and each step's parameter names; in a feature
/// union, `union.<block>.<name>` (e.g. `union.char.ngram_range`, `union.word.weight`). A step's
/// name alone replaces the whole step, as scikit-learn's `{"clf": [LogisticRegression(), …]}`:
/// `"clf": [{"type": "logistic_regression"}, {"type": "linear_svc"}]` compares classifiers in one
/// grid, `"union": [[…blocks…], …]` feature sets (and replaces `vect` and `tfidf`).
public enum PipelineParameters {
    /// Every valid name for settings whose classifier is `clf`'s type.
    public static func names(for settings: PipelineSettings) -> [String] {
        guard case let .object(root)? = try? JSONValueEncoder().encode(settings) else { return [] }
        var names: [String] = ["union"]
        for (step, value) in root.members {
            if step != "union" { names.append(step) }
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
        guard case var .object(root)? = try? JSONValueEncoder().encode(settings) else {
            throw .invalidGrid("the settings cannot be encoded")
        }
        let valid = names(for: settings)
        for name in parameters.keys.sorted() {
            guard let value = parameters[name] else { continue }
            guard valid.contains(name) else { throw .unknownName(name, valid: valid) }
            if !name.contains(".") {
                // A whole step. Sorted names put it before any of its fields.
                root[name] = value
                if name == "union" {
                    root["vect"] = nil
                    root["tfidf"] = nil
                }
                continue
            }
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
            guard parts.count == 2, case var .object(step)? = root[parts[0]] else {
                throw .unknownName(name, valid: valid)
            }
            step[parts[1]] = value
            root[parts[0]] = .object(step)
        }
        let result: PipelineSettings
        do {
            result = try StrictJSONDecoder().decode(PipelineSettings.self, from: .object(root))
        } catch {
            let name = parameters.keys.sorted().first { error.path.contains(String($0.split(separator: ".").last ?? "")) } ?? error.path
            throw .invalidValue(name: name, reason: error.description)
        }
        do { try result.validate() } catch {
            throw .invalidValue(name: parameters.keys.sorted().joined(separator: ", "), reason: error.description)
        }
        return result
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
