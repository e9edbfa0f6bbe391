import TriageCore

/// How rules see words: Python's `str.lower()`, accents stripped (NFKD, combining marks dropped,
/// as `strip_accents="unicode"`), split into runs of word characters (Python's `\w`: "card's" is
/// "card", "s"; "4421" is a word), optionally Snowball stems.
enum RuleText {
    static let preprocessor = Preprocessor(lowercase: true, stripAccents: .unicode)

    static func tokens(_ text: String, stemmer: SnowballStemmer?) -> [String] {
        var bytes: [UInt8] = []
        preprocessor.run(text, into: &bytes)
        var out: [String] = []
        bytes.withUnsafeBufferPointer { buffer in
            // The tokenizer's own scan of `\w` runs (`(?u)\b\w+\b`).
            TokenPattern.scanWordRuns(buffer, minLength: 1) { word in
                if let stemmer { stemmer.stem(word) { out.append(String(decoding: $0, as: UTF8.self)) } } else { out.append(String(decoding: word, as: UTF8.self)) }
            }
        }
        return out
    }
}

/// A rule set compiled for matching: phrases indexed by their first token, regular expressions
/// compiled once. Thread-safe (a stemmer, which is not, is made per call when a rule stems).
public struct RuleMatcher: Sendable {
    public let set: RuleSet

    struct Phrase: Sendable {
        var rule: Int
        var tokens: [String]
    }

    /// First token → the phrases starting with it, for plain and for stemmed comparison.
    let plain: [String: [Phrase]]
    let stemmed: [String: [Phrase]]
    let regexes: [Int: LinearRegex]

    public init(_ set: RuleSet) throws(RuleError) {
        try set.validate()
        self.set = set
        var plain: [String: [Phrase]] = [:]
        var stemmed: [String: [Phrase]] = [:]
        var regexes: [Int: LinearRegex] = [:]
        var stemmer: SnowballStemmer?
        if let name = set.stemmer, set.rules.contains(where: \.stem) {
            do { stemmer = try SnowballStemmer(algorithm: name) } catch { throw RuleError(rule: nil, "\(error)") }
        }
        for (i, rule) in set.rules.enumerated() {
            if let words = rule.words {
                for w in words {
                    let tokens = RuleText.tokens(w, stemmer: rule.stem ? stemmer : nil)
                    if rule.stem { stemmed[tokens[0], default: []].append(Phrase(rule: i, tokens: tokens)) } else { plain[tokens[0], default: []].append(Phrase(rule: i, tokens: tokens)) }
                }
            } else if let pattern = rule.regex {
                do { regexes[i] = try LinearRegex(pattern, caseInsensitive: !rule.caseSensitive) } catch {
                    throw RuleError(rule: RuleError.Place(index: i, name: rule.name), "\"regex\" \(error)")
                }
            }
        }
        self.plain = plain
        self.stemmed = stemmed
        self.regexes = regexes
    }

    /// The indices of the rules that match, in rule order.
    public func matches(subject: String, body: String) -> [Int] {
        var hit = [Bool](repeating: false, count: set.rules.count)
        let fields: [(RuleSet.Field, String)] = [(.subject, subject), (.body, body)]
        var stemmer: SnowballStemmer?
        if !stemmed.isEmpty, let name = set.stemmer { stemmer = try? SnowballStemmer(algorithm: name) }
        for (field, text) in fields where !text.isEmpty {
            if !plain.isEmpty { mark(RuleText.tokens(text, stemmer: nil), plain, field, &hit) }
            if let stemmer { mark(RuleText.tokens(text, stemmer: stemmer), stemmed, field, &hit) }
            for (i, regex) in regexes where !hit[i] && covers(set.rules[i].field, field) {
                if regex.matches(text, maxScalars: set.maxFieldChars) { hit[i] = true }
            }
        }
        return hit.indices.filter { hit[$0] }
    }

    func covers(_ ruleField: RuleSet.Field, _ field: RuleSet.Field) -> Bool { ruleField == .any || ruleField == field }

    func mark(_ tokens: [String], _ index: [String: [Phrase]], _ field: RuleSet.Field, _ hit: inout [Bool]) {
        for (k, token) in tokens.enumerated() {
            guard let candidates = index[token] else { continue }
            for phrase in candidates where !hit[phrase.rule] && covers(set.rules[phrase.rule].field, field) {
                guard k + phrase.tokens.count <= tokens.count else { continue }
                var same = true
                for j in 1 ..< phrase.tokens.count where tokens[k + j] != phrase.tokens[j] {
                    same = false
                    break
                }
                if same { hit[phrase.rule] = true }
            }
        }
    }

    /// For each head, the override that decides it: the first matching override rule naming that
    /// head (nil in `head` means `firstHead`).
    public func overrides(_ matched: [Int], firstHead: String) -> [String: Int] {
        var out: [String: Int] = [:]
        for i in matched where set.rules[i].mode == .override {
            let head = set.rules[i].head ?? firstHead
            if out[head] == nil { out[head] = i }
        }
        return out
    }
}
