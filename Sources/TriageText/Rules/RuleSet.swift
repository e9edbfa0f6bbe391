import TriageCore

/// A team's routing rules (issue 31): ordered, each matching words, phrases or a regular
/// expression in a message's subject, body or either, and either deciding a head's label
/// (`override`) or giving the model one more feature to learn a weight for (`feature`).
///
/// The file (JSON, unknown fields refused so that a typo is an error, not a rule that never fires):
///
///     {"stemmer": "english",                      // optional: for rules with "stem": true
///      "max_field_chars": 8192,                   // optional: regular expressions read this much
///      "rules": [
///        {"name": "lost-card", "field": "subject", "words": ["lost card", "stolen card"],
///         "mode": "override", "label": "card_loss_fraud"},
///        {"name": "fraud", "words": ["fraud", "scam"], "stem": true, "mode": "feature"},
///        {"name": "iban", "field": "body", "regex": "\\b[a-z]{2}\\d{2}[a-z0-9]{11,30}\\b", "mode": "feature"}]}
public struct RuleSet: Equatable, Sendable {
    public enum Field: String, Codable, Equatable, Sendable, CaseIterable {
        case subject, body, any
    }

    public enum Mode: String, Codable, Equatable, Sendable, CaseIterable {
        /// The rule's label wins for its head.
        case override
        /// The match is one binary feature column; no label.
        case feature
    }

    public struct Rule: Equatable, Sendable {
        public var name: String
        public var field: Field
        /// Words or phrases, any of which matches: compared as token sequences after the same
        /// normalisation as the message (lower case, accents stripped, optionally stems).
        public var words: [String]?
        /// A regular expression of `LinearRegex`'s subset, matched on the field's text (after
        /// the clean step), case-insensitively unless `caseSensitive`.
        public var regex: String?
        public var caseSensitive: Bool
        /// Compare Snowball stems (the file's `stemmer`) instead of the words themselves.
        public var stem: Bool
        public var mode: Mode
        /// The head an override decides (nil: the first head).
        public var head: String?
        public var label: String?

        public init(name: String, field: Field = .any, words: [String]? = nil, regex: String? = nil, caseSensitive: Bool = false,
                    stem: Bool = false, mode: Mode = .override, head: String? = nil, label: String? = nil) {
            self.name = name
            self.field = field
            self.words = words
            self.regex = regex
            self.caseSensitive = caseSensitive
            self.stem = stem
            self.mode = mode
            self.head = head
            self.label = label
        }
    }

    public var rules: [Rule]
    /// The Snowball algorithm for `stem` rules (libstemmer's names: "english", "german", …).
    public var stemmer: String?
    /// How many characters of a field a regular expression reads (the rest is not searched).
    public var maxFieldChars: Int

    public static let defaultMaxFieldChars = 8192

    public init(rules: [Rule], stemmer: String? = nil, maxFieldChars: Int = RuleSet.defaultMaxFieldChars) {
        self.rules = rules
        self.stemmer = stemmer
        self.maxFieldChars = maxFieldChars
    }

    /// The rules of a JSON file's bytes, checked: each problem names the rule (`rules[2]
    /// "lost-card"`) and what to change.
    public static func parse(_ bytes: [UInt8]) throws(RuleError) -> RuleSet {
        let value: JSONValue
        do { value = try JSONParser.parse(bytes, limits: JSONLimits(maxDepth: 8, maxBytes: 16 << 20)) } catch {
            throw RuleError(rule: nil, "not JSON: \(error)")
        }
        let set: RuleSet
        do { set = try StrictJSONDecoder().decode(RuleSet.self, from: value) } catch {
            throw RuleError(rule: nil, "\(error)")
        }
        try set.validate()
        return set
    }

    /// Every rule well-formed: names unique, exactly one of words / regex, a label for an
    /// override and none for a feature, regular expressions of the linear-time subset, a stemmer
    /// for stem rules. Labels and heads are checked against a model's at training.
    public func validate() throws(RuleError) {
        guard !rules.isEmpty else { throw RuleError(rule: nil, "\"rules\" is empty: give at least one rule") }
        guard maxFieldChars >= 1 else { throw RuleError(rule: nil, "\"max_field_chars\" must be at least 1") }
        if let stemmer, !SnowballStemmer.algorithms.contains(stemmer) {
            throw RuleError(rule: nil, "unknown stemmer \"\(stemmer)\"; libstemmer has: \(SnowballStemmer.algorithms.joined(separator: ", "))")
        }
        var seen: [String: Int] = [:]
        for (i, rule) in rules.enumerated() {
            let at = RuleError.Place(index: i, name: rule.name)
            guard !rule.name.isEmpty, rule.name.utf8.count <= 64,
                  rule.name.unicodeScalars.allSatisfy({ ("a" ... "z").contains($0) || ("0" ... "9").contains($0) || "-_.".unicodeScalars.contains($0) })
            else { throw RuleError(rule: at, "a name is 1–64 of a-z, 0-9, '-', '_', '.' (it is shown in answers as \"rule:NAME\")") }
            if let first = seen[rule.name] { throw RuleError(rule: at, "the name is taken by rules[\(first)]: names are unique") }
            seen[rule.name] = i
            switch (rule.words, rule.regex) {
            case (nil, nil): throw RuleError(rule: at, "give \"words\" (words or phrases) or \"regex\"")
            case (.some, .some): throw RuleError(rule: at, "give \"words\" or \"regex\", not both")
            case let (words?, nil):
                guard !words.isEmpty else { throw RuleError(rule: at, "\"words\" is empty") }
                for w in words where RuleText.tokens(w, stemmer: nil).isEmpty {
                    throw RuleError(rule: at, "\"\(w)\" has no word in it (words are letters and digits)")
                }
                if rule.caseSensitive { throw RuleError(rule: at, "\"case_sensitive\" is for \"regex\": words are always compared in lower case") }
            case let (nil, regex?):
                do { _ = try LinearRegex(regex, caseInsensitive: !rule.caseSensitive) } catch {
                    throw RuleError(rule: at, "\"regex\" \(error)")
                }
                if rule.stem { throw RuleError(rule: at, "\"stem\" is for \"words\"") }
            }
            if rule.stem && stemmer == nil { throw RuleError(rule: at, "\"stem\": true needs the file's \"stemmer\" (e.g. \"english\")") }
            switch rule.mode {
            case .override:
                guard let label = rule.label, !label.isEmpty else { throw RuleError(rule: at, "an override rule needs the \"label\" it routes to") }
            case .feature:
                if rule.label != nil || rule.head != nil {
                    throw RuleError(rule: at, "a feature rule has no \"label\" or \"head\": the model learns what its match means")
                }
            }
        }
    }
}

extension RuleSet: Codable {
    enum CodingKeys: String, CodingKey { case rules, stemmer, maxFieldChars = "max_field_chars" }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        rules = try c.decode([Rule].self, forKey: .rules)
        stemmer = try c.decodeIfPresent(String.self, forKey: .stemmer)
        maxFieldChars = try c.decodeIfPresent(Int.self, forKey: .maxFieldChars) ?? Self.defaultMaxFieldChars
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(rules, forKey: .rules)
        try c.encodeIfPresent(stemmer, forKey: .stemmer)
        try c.encode(maxFieldChars, forKey: .maxFieldChars)
    }
}

extension RuleSet.Rule: Codable {
    enum CodingKeys: String, CodingKey { case name, field, words, regex, caseSensitive = "case_sensitive", stem, mode, head, label }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decode(String.self, forKey: .name)
        field = try c.decodeIfPresent(RuleSet.Field.self, forKey: .field) ?? .any
        words = try c.decodeIfPresent([String].self, forKey: .words)
        regex = try c.decodeIfPresent(String.self, forKey: .regex)
        caseSensitive = try c.decodeIfPresent(Bool.self, forKey: .caseSensitive) ?? false
        stem = try c.decodeIfPresent(Bool.self, forKey: .stem) ?? false
        mode = try c.decodeIfPresent(RuleSet.Mode.self, forKey: .mode) ?? .override
        head = try c.decodeIfPresent(String.self, forKey: .head)
        label = try c.decodeIfPresent(String.self, forKey: .label)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(name, forKey: .name)
        try c.encode(field, forKey: .field)
        try c.encodeIfPresent(words, forKey: .words)
        try c.encodeIfPresent(regex, forKey: .regex)
        if regex != nil { try c.encode(caseSensitive, forKey: .caseSensitive) }
        if words != nil { try c.encode(stem, forKey: .stem) }
        try c.encode(mode, forKey: .mode)
        try c.encodeIfPresent(head, forKey: .head)
        try c.encodeIfPresent(label, forKey: .label)
    }
}

/// What is wrong with a rules file, and which rule.
public struct RuleError: Error, Equatable, Sendable, CustomStringConvertible {
    public struct Place: Equatable, Sendable {
        public var index: Int
        public var name: String

        public init(index: Int, name: String) {
            self.index = index
            self.name = name
        }
    }

    public let rule: Place?
    public let problem: String

    public init(rule: Place?, _ problem: String) {
        self.rule = rule
        self.problem = problem
    }

    public var description: String {
        guard let rule else { return problem }
        return "rules[\(rule.index)]" + (rule.name.isEmpty ? "" : " \"\(rule.name)\"") + ": " + problem
    }
}
