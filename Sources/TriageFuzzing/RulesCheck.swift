import TriageText

/// The `rules` fuzz mode's check: the routing rules' regular expressions and matcher on arbitrary
/// bytes. A refused pattern or rules file is an answer, not a finding; a crash, a hang, a
/// sanitizer report or a broken invariant (a `fatalError` here) is.
///
/// **The input.** Up to its first 0x00 byte, a *spec*; the byte after that 0x00 is a *flags*
/// byte, and the rest is the *text* (decoded as UTF-8, invalid bytes becoming U+FFFD; at most
/// `maxTextBytes`). An input without a 0x00 is a spec that is also its own text, flags 0
/// (`input(spec:flags:text:)` builds one).
///
/// **Regex differential.** The spec's first `maxPatterns` lines (split at 0x0A) are patterns;
/// bit i of the flags makes pattern i case-insensitive. `LinearRegexSet` of all of them must
/// refuse exactly when one of them is refused by `LinearRegex`, with the first refused one's index
/// and the same error. The set of those that compile must answer, for the text and each
/// `maxScalars` of -1, 0, 1, 2, 7, half, all but one and all the text's scalars and `.max`, exactly
/// the indices whose `LinearRegex.firstMatch` is not nil; every such range must lie within
/// 0...min(scalars, maxScalars). Up to 3 patterns twice (the second time in reverse order, so
/// every unit is shared by two patterns) must answer each pattern's answer twice, and entries set
/// beforehand in `matches(_:maxScalars:into:)` must stay set (with the others still found).
///
/// **Rules.** The spec is also given to `RuleSet.parse`; when it parses (with at most
/// `maxRegexRules` regex rules), `RuleMatcher` must build, and for the text as the subject, as the
/// body, as both, and split at its first line break: a reused worker and a fresh
/// `matcher.matches` must agree; the indices must be rule indices, ascending, without duplicates;
/// a rule may only match through a field it reads and a non-empty one; the answer for (subject,
/// body) must be the union of those for (subject, "") and ("", body); a regex rule must match
/// exactly when its own `LinearRegex` (case-insensitive unless `case_sensitive`) matches the first
/// `max_field_chars` scalars of a non-empty field it reads; and the same worker asked again (in
/// the reverse order) must answer the same.
///
/// **Cost.** Matching costs up to (scalars × instructions), so the text is cut to
/// `stepBudget / instructions` scalars (never below 64) before it is matched.
public enum RulesCheck {
    /// The most patterns taken from the spec's lines.
    public static let maxPatterns = 8
    /// The most bytes of text.
    public static let maxTextBytes = 16384
    /// The most regex rules a parsed rules file may have to be matched (a file with more is only
    /// parsed): each may compile to `LinearRegex.maxInstructions`.
    public static let maxRegexRules = 16
    /// Text scalars × program instructions a check may match (see **Cost**).
    static let stepBudget = 1_000_000

    /// The input for `spec` (patterns, one a line, or a rules file), `flags` (bit i: pattern i
    /// ignores case) and `text`.
    public static func input(spec: String, flags: UInt8 = 0, text: String) -> [UInt8] {
        Array(spec.utf8) + [0, flags] + Array(text.utf8)
    }

    public static func check(_ bytes: [UInt8]) {
        let spec: ArraySlice<UInt8>, flags: UInt8, textBytes: ArraySlice<UInt8>
        if let zero = bytes.firstIndex(of: 0) {
            spec = bytes[..<zero]
            let rest = bytes[(zero + 1)...]
            flags = rest.first ?? 0
            textBytes = rest.dropFirst()
        } else {
            (spec, flags, textBytes) = (bytes[...], 0, bytes[...])
        }
        let text = String(decoding: textBytes.prefix(maxTextBytes), as: UTF8.self)
        regexes(spec: spec, flags: flags, text: text)
        rules(spec: spec, text: text)
    }

    // MARK: Regex differential

    static func regexes(spec: ArraySlice<UInt8>, flags: UInt8, text fullText: String) {
        let lines = spec.split(separator: 0x0A, maxSplits: maxPatterns, omittingEmptySubsequences: false).prefix(maxPatterns)
        var specs: [(pattern: String, caseInsensitive: Bool)] = []
        var compiled: [LinearRegex] = []
        var refused: (index: Int, error: RegexSyntaxError)?
        for (i, line) in lines.enumerated() {
            let pattern = String(decoding: line, as: UTF8.self)
            let caseInsensitive = flags & (1 << UInt8(i)) != 0
            specs.append((pattern, caseInsensitive))
            do throws(RegexSyntaxError) {
                compiled.append(try LinearRegex(pattern, caseInsensitive: caseInsensitive))
            } catch {
                if refused == nil { refused = (i, error) }
            }
        }
        let described = describe(specs)

        // All the patterns: refused exactly as the first pattern LinearRegex refuses.
        var whole: LinearRegexSet?
        do throws(LinearRegexSet.Error) {
            whole = try LinearRegexSet(specs)
            if let refused {
                fail("LinearRegexSet accepted \(described), but LinearRegex refuses pattern \(refused.index): \(refused.error)")
            }
        } catch {
            guard let refused else { fail("LinearRegexSet refused \(described) (\(error)), but LinearRegex accepts every pattern") }
            if error.index != refused.index || error.error != refused.error {
                fail("LinearRegexSet refused \(described) with \(error), but LinearRegex first refuses pattern \(refused.index): \(refused.error)")
            }
        }
        if compiled.isEmpty { return }

        // The patterns that compile.
        let accepted = compiled.map { (pattern: $0.pattern, caseInsensitive: $0.caseInsensitive) }
        let acceptedDescribed = describe(accepted)
        let set: LinearRegexSet
        if let whole {
            set = whole
        } else {
            do throws(LinearRegexSet.Error) { set = try LinearRegexSet(accepted) } catch {
                fail("LinearRegexSet refused \(acceptedDescribed) (\(error)), each of which LinearRegex accepts")
            }
        }
        if set.count != compiled.count { fail("LinearRegexSet of \(acceptedDescribed) has \(set.count) patterns") }

        let instructions = compiled.reduce(0) { $0 + $1.programSize }
        let text = cut(fullText, instructions: instructions)
        let n = text.unicodeScalars.count
        var limits = [-1, 0, 1, 2, 7, n / 2, n - 1, n, Int.max]
        limits = limits.enumerated().filter { !limits[..<$0.offset].contains($0.element) }.map(\.element)
        var wholeText: [Int] = []
        for maxScalars in limits {
            var want: [Int] = []
            for (i, regex) in compiled.enumerated() {
                guard let range = regex.firstMatch(in: text, maxScalars: maxScalars) else { continue }
                if range.lowerBound < 0 || range.upperBound > min(n, max(maxScalars, 0)) {
                    fail("LinearRegex \(describe([accepted[i]])) matched at \(range) in \(n) scalars with maxScalars \(maxScalars): \(escape(text))")
                }
                want.append(i)
            }
            let got = set.matchingIndices(text, maxScalars: maxScalars)
            if got != want {
                fail("LinearRegexSet of \(acceptedDescribed) with maxScalars \(maxScalars) found \(got), each regex \(want), in \(escape(text))")
            }
            if maxScalars == Int.max { wholeText = want }
        }

        // Every unit shared by two patterns: the patterns, then the same in reverse order (for up
        // to 3 patterns: compiling a case-insensitive class walks the case-folding table, the
        // bulk of an execution's time under the sanitizers).
        let c = compiled.count
        if c <= 3 {
            let doubled: LinearRegexSet
            do throws(LinearRegexSet.Error) { doubled = try LinearRegexSet(accepted + accepted.reversed()) } catch {
                fail("LinearRegexSet refused \(acceptedDescribed) twice over (\(error))")
            }
            let want = (wholeText + wholeText.map { 2 * c - 1 - $0 }).sorted()
            let got = doubled.matchingIndices(text)
            if got != want {
                fail("LinearRegexSet of \(acceptedDescribed) and then the same reversed found \(got), each regex \(want), in \(escape(text))")
            }
        }

        // Entries set beforehand stay set (and one extra entry is left alone).
        var hits = (0 ... c).map { $0 % 2 == 1 }
        set.matches(text, into: &hits)
        let expected = (0 ... c).map { $0 % 2 == 1 || ($0 < c && wholeText.contains($0)) }
        if hits != expected {
            fail("LinearRegexSet of \(acceptedDescribed) with the odd entries set beforehand answered \(hits), not \(expected), in \(escape(text))")
        }
    }

    // MARK: Rules

    static func rules(spec: ArraySlice<UInt8>, text fullText: String) {
        let set: RuleSet
        do throws(RuleError) { set = try RuleSet.parse(Array(spec)) } catch { return }
        let regexRules = set.rules.indices.filter { set.rules[$0].regex != nil }
        if regexRules.count > maxRegexRules { return }
        let matcher: RuleMatcher
        do throws(RuleError) { matcher = try RuleMatcher(set) } catch {
            fail("RuleSet.parse accepted the rules, RuleMatcher refused them: \(error)")
        }
        var own: [Int: LinearRegex] = [:]
        var instructions = 0
        for (i, rule) in set.rules.enumerated() {
            guard let pattern = rule.regex else { continue }
            let regex: LinearRegex
            do throws(RegexSyntaxError) { regex = try LinearRegex(pattern, caseInsensitive: !rule.caseSensitive) } catch {
                fail("rules[\(i)] was accepted, but LinearRegex refuses its regex \(pattern.debugDescription): \(error)")
            }
            own[i] = regex
            instructions += regex.programSize * (rule.field == .any ? 2 : 1)
        }
        let text = cut(fullText, instructions: instructions)
        let worker = matcher.makeWorker()

        func ask(_ subject: String, _ body: String) -> [Int] {
            let answer = worker.matches(subject: subject, body: body)
            let fresh = matcher.matches(subject: subject, body: body)
            let message = "subject \(escape(subject)), body \(escape(body))"
            if answer != fresh { fail("a worker answered \(answer), a fresh match \(fresh), for \(message)") }
            for (k, i) in answer.enumerated() {
                if i < 0 || i >= set.rules.count { fail("rule index \(i) of \(set.rules.count) rules for \(message)") }
                if k > 0 && answer[k - 1] >= i { fail("the rule indices \(answer) are not ascending for \(message)") }
                let field = set.rules[i].field
                if field == .subject && subject.isEmpty || field == .body && body.isEmpty {
                    fail("rules[\(i)] \"\(set.rules[i].name)\" (field \(field)) matched an empty field: \(message)")
                }
            }
            for (i, regex) in own {
                let rule = set.rules[i]
                var want = false
                for (field, value) in [(RuleSet.Field.subject, subject), (.body, body)]
                    where (rule.field == .any || rule.field == field) && !value.isEmpty {
                    if regex.matches(value, maxScalars: set.maxFieldChars) { want = true }
                }
                if answer.contains(i) != want {
                    fail("rules[\(i)] \"\(rule.name)\" (regex \(regex.pattern.debugDescription), field \(rule.field), case-sensitive \(rule.caseSensitive), max_field_chars \(set.maxFieldChars)) matched: \(!want), its LinearRegex: \(want), for \(message)")
                }
            }
            return answer
        }

        let line = text.firstIndex(of: "\n") ?? text.endIndex
        let firstLine = String(text[..<line]), rest = line < text.endIndex ? String(text[text.index(after: line)...]) : ""
        var messages: [(String, String)] = [("", "")]
        for (subject, body) in [(text, text), (firstLine, rest)] {
            messages += [(subject, ""), ("", body), (subject, body)]
        }
        var answers: [[Int]] = []
        for (subject, body) in messages { answers.append(ask(subject, body)) }
        if !answers[0].isEmpty { fail("rules \(answers[0]) matched an empty message") }
        for k in stride(from: 1, to: messages.count, by: 3) {
            let union = Array(Set(answers[k] + answers[k + 1])).sorted()
            if answers[k + 2] != union {
                fail("subject and body matched \(answers[k + 2]), the subject alone \(answers[k]), the body alone \(answers[k + 1]): subject \(escape(messages[k + 2].0)), body \(escape(messages[k + 2].1))")
            }
        }
        // The same worker again, in the reverse order (a worker keeps buffers and stems).
        for k in messages.indices.reversed() {
            let again = worker.matches(subject: messages[k].0, body: messages[k].1)
            if again != answers[k] {
                fail("a worker answered \(answers[k]) and then \(again) for subject \(escape(messages[k].0)), body \(escape(messages[k].1))")
            }
        }
    }

    // MARK: Helpers

    /// The text's first `stepBudget / instructions` scalars (at least 64).
    static func cut(_ text: String, instructions: Int) -> String {
        let most = max(64, stepBudget / max(instructions, 1))
        let scalars = text.unicodeScalars
        guard scalars.count > most else { return text }
        var out = String.UnicodeScalarView()
        out.append(contentsOf: scalars.prefix(most))
        return String(out)
    }

    static func describe(_ specs: [(pattern: String, caseInsensitive: Bool)]) -> String {
        "[" + specs.map { ($0.caseInsensitive ? "i:" : "") + $0.pattern.debugDescription }.joined(separator: ", ") + "]"
    }

    /// A text for a message: escaped, its first 2000 scalars.
    static func escape(_ text: String) -> String {
        let scalars = text.unicodeScalars
        guard scalars.count > 2000 else { return text.debugDescription }
        var head = String.UnicodeScalarView()
        head.append(contentsOf: scalars.prefix(2000))
        return String(head).debugDescription + "… (\(scalars.count) scalars)"
    }

    static func fail(_ message: String) -> Never {
        fatalError("rules fuzz mode: \(message)")
    }
}
