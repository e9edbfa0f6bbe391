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

/// A rule set compiled for matching. Words and phrases become sequences of token ids in one
/// vocabulary, indexed by their first token; a field is normalised and split once, each word
/// looked up once (and stemmed once when a rule stems). The regular expressions of the rules
/// reading a field are one `LinearRegexSet`, so a field is scanned once for all of them.
/// Thread-safe; the per-call state lives in a `Worker` (one per thread, or one per call through
/// `matches(subject:body:)`).
public struct RuleMatcher: Sendable {
    public let set: RuleSet

    struct Phrase: Sendable {
        var rule: Int
        /// Token ids; the first is the index key.
        var tokens: [Int32]
    }

    /// Every word of every phrase (plain and stemmed forms alike).
    let vocabulary: ByteInterner
    /// Token id → the phrases starting with it: compared with the words as they are, and with
    /// their stems.
    let plain: [[Phrase]]
    let stemmed: [[Phrase]]
    let hasPlain: Bool
    let hasStemmed: Bool
    /// The regular expressions of the rules reading each field, and each pattern's rule.
    let subjectRegexes: LinearRegexSet?
    let subjectRegexRules: [Int]
    let bodyRegexes: LinearRegexSet?
    let bodyRegexRules: [Int]

    public init(_ set: RuleSet) throws(RuleError) {
        try set.validate()
        self.set = set
        var stemmer: SnowballStemmer?
        if let name = set.stemmer, set.rules.contains(where: \.stem) {
            do { stemmer = try SnowballStemmer(algorithm: name) } catch { throw RuleError(rule: nil, "\(error)") }
        }
        var vocabulary = ByteInterner()
        var phrases: [(stemmed: Bool, Phrase)] = []
        var subject: [(rule: Int, pattern: String, caseInsensitive: Bool)] = []
        var body: [(rule: Int, pattern: String, caseInsensitive: Bool)] = []
        for (i, rule) in set.rules.enumerated() {
            if let words = rule.words {
                for w in words {
                    let tokens = RuleText.tokens(w, stemmer: rule.stem ? stemmer : nil).map { token in
                        var token = token
                        return token.withUTF8 { vocabulary.intern($0) }
                    }
                    phrases.append((rule.stem, Phrase(rule: i, tokens: tokens)))
                }
            } else if let pattern = rule.regex {
                if rule.field != .body { subject.append((i, pattern, !rule.caseSensitive)) }
                if rule.field != .subject { body.append((i, pattern, !rule.caseSensitive)) }
            }
        }
        var plain = [[Phrase]](repeating: [], count: vocabulary.count)
        var stemmed = [[Phrase]](repeating: [], count: vocabulary.count)
        for (isStemmed, phrase) in phrases {
            if isStemmed { stemmed[Int(phrase.tokens[0])].append(phrase) } else { plain[Int(phrase.tokens[0])].append(phrase) }
        }
        func compile(_ list: [(rule: Int, pattern: String, caseInsensitive: Bool)]) throws(RuleError) -> LinearRegexSet? {
            guard !list.isEmpty else { return nil }
            do { return try LinearRegexSet(list.map { ($0.pattern, $0.caseInsensitive) }) } catch {
                let rule = list[error.index].rule
                throw RuleError(rule: RuleError.Place(index: rule, name: set.rules[rule].name), "\"regex\" \(error.error)")
            }
        }
        self.vocabulary = vocabulary
        self.plain = plain
        self.stemmed = stemmed
        hasPlain = phrases.contains { !$0.stemmed }
        hasStemmed = phrases.contains { $0.stemmed }
        subjectRegexes = try compile(subject)
        subjectRegexRules = subject.map(\.rule)
        bodyRegexes = try compile(body)
        bodyRegexRules = body.map(\.rule)
    }

    /// The indices of the rules that match, in rule order.
    public func matches(subject: String, body: String) -> [Int] {
        makeWorker().matches(subject: subject, body: body)
    }

    /// A worker for one thread: reuses its buffers and its stemmer (whose cache of stems
    /// grows with the words it meets) from message to message.
    public func makeWorker() -> Worker { Worker(self) }

    /// Matches messages one at a time with buffers and a stemmer of its own. Not thread-safe.
    public final class Worker {
        public let matcher: RuleMatcher
        private let stemmer: SnowballStemmer?
        private var bytes: [UInt8] = []
        private var plainIDs: [Int32] = []
        private var stemIDs: [Int32] = []
        private var hit: [Bool]
        private var regexHits: [Bool]

        init(_ matcher: RuleMatcher) {
            self.matcher = matcher
            stemmer = matcher.hasStemmed ? matcher.set.stemmer.flatMap { try? SnowballStemmer(algorithm: $0) } : nil
            hit = [Bool](repeating: false, count: matcher.set.rules.count)
            regexHits = [Bool](repeating: false, count: max(matcher.subjectRegexRules.count, matcher.bodyRegexRules.count))
        }

        /// The indices of the rules that match, in rule order.
        public func matches(subject: String, body: String) -> [Int] {
            for i in hit.indices { hit[i] = false }
            scan(subject, field: .subject, regexes: matcher.subjectRegexes, rules: matcher.subjectRegexRules)
            scan(body, field: .body, regexes: matcher.bodyRegexes, rules: matcher.bodyRegexRules)
            var out: [Int] = []
            for i in hit.indices where hit[i] { out.append(i) }
            return out
        }

        private func scan(_ text: String, field: RuleSet.Field, regexes: LinearRegexSet?, rules: [Int]) {
            guard !text.isEmpty else { return }
            let m = matcher
            if m.hasPlain || m.hasStemmed {
                RuleText.preprocessor.run(text, into: &bytes)
                plainIDs.removeAll(keepingCapacity: true)
                stemIDs.removeAll(keepingCapacity: true)
                let stemmer = m.hasStemmed ? self.stemmer : nil
                var plainIDs = self.plainIDs, stemIDs = self.stemIDs
                bytes.withUnsafeBufferPointer { buffer in
                    TokenPattern.scanWordRuns(buffer, minLength: 1) { word in
                        if m.hasPlain { plainIDs.append(m.vocabulary.find(word) ?? -1) }
                        if let stemmer { stemmer.stem(word) { stemIDs.append(m.vocabulary.find($0) ?? -1) } }
                    }
                }
                if m.hasPlain { mark(plainIDs, m.plain, field) }
                if m.hasStemmed { mark(stemIDs, m.stemmed, field) }
                self.plainIDs = plainIDs
                self.stemIDs = stemIDs
            }
            if let regexes {
                for k in rules.indices { regexHits[k] = hit[rules[k]] }
                regexes.matches(text, maxScalars: m.set.maxFieldChars, into: &regexHits)
                for k in rules.indices where regexHits[k] { hit[rules[k]] = true }
            }
        }

        private func mark(_ ids: [Int32], _ index: [[Phrase]], _ field: RuleSet.Field) {
            let rules = matcher.set.rules
            for k in ids.indices {
                let id = ids[k]
                guard id >= 0 else { continue }
                for phrase in index[Int(id)] where !hit[phrase.rule] && RuleMatcher.covers(rules[phrase.rule].field, field) {
                    let n = phrase.tokens.count
                    guard k + n <= ids.count else { continue }
                    var same = true
                    for j in 1 ..< n where ids[k + j] != phrase.tokens[j] {
                        same = false
                        break
                    }
                    if same { hit[phrase.rule] = true }
                }
            }
        }
    }

    static func covers(_ ruleField: RuleSet.Field, _ field: RuleSet.Field) -> Bool { ruleField == .any || ruleField == field }

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
