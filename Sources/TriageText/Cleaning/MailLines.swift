/// The line passes of the clean step over a text body (or an HTML body already converted to
/// text): quoted replies, disclaimers and signatures, each marking lines as removed with a kind
/// and a reason. Each pass looks at every line once (a reply header may also be tried joined with
/// the next line); lines longer than `maxPatternLine` are never headers, sign-offs or footers.
struct MailLines {
    let text: [UInt8]
    private(set) var starts: [Int] = []
    private(set) var ends: [Int] = []
    private var regions: [HTMLText.Region]
    private(set) var removed: [(kind: RemovedPart.Kind, reason: String)?]
    private var foldedCache: [[UInt8]?]

    static let maxPatternLine = 300

    init(_ text: [UInt8], regions: [HTMLText.Region]?) {
        self.text = text
        var s = 0
        for k in text.indices where text[k] == 0x0A {
            starts.append(s)
            ends.append(k > s && text[k - 1] == 0x0D ? k - 1 : k)
            s = k + 1
        }
        starts.append(s)
        ends.append(s < text.count && text[text.count - 1] == 0x0D ? text.count - 1 : text.count)
        let count = starts.count
        if let regions, regions.count == count {
            self.regions = regions
        } else {
            self.regions = Array(repeating: .text, count: count)
        }
        removed = Array(repeating: nil, count: count)
        foldedCache = Array(repeating: nil, count: count)
    }

    var count: Int { starts.count }
    var removedAny: Bool { removed.contains { $0 != nil } }

    private func isBlank(_ i: Int) -> Bool {
        var k = starts[i]
        while k < ends[i] {
            let b = text[k]
            if !MailText.isSpace(b) && !(b == 0xC2 && k + 1 < ends[i] && text[k + 1] == 0xA0) { return false }
            k += b == 0xC2 ? 2 : 1
        }
        return true
    }

    private mutating func folded(_ i: Int) -> [UInt8] {
        if let f = foldedCache[i] { return f }
        let f = MailText.fold(text[starts[i] ..< ends[i]])
        foldedCache[i] = f
        return f
    }

    private func firstNonBlankByte(_ i: Int) -> UInt8? {
        var k = starts[i]
        while k < ends[i] && MailText.isSpace(text[k]) { k += 1 }
        return k < ends[i] ? text[k] : nil
    }

    /// The next line after `i` that is neither removed nor blank.
    private func nextContentLine(after i: Int) -> Int? {
        var j = i + 1
        while j < count {
            if removed[j] == nil && !isBlank(j) { return j }
            j += 1
        }
        return nil
    }

    private mutating func cut(from i: Int, _ kind: RemovedPart.Kind, _ reason: String) {
        for j in i ..< count where removed[j] == nil { removed[j] = (kind, reason) }
    }

    private static func pattern(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }

    // MARK: Quotes

    mutating func cutQuotes(_ c: CompiledMailPatterns) {
        for i in 0 ..< count where regions[i] == .quote { removed[i] = (.quote, "quote container (HTML)") }
        var i = 0
        while i < count {
            defer { i += 1 }
            guard removed[i] == nil else { continue }
            if firstNonBlankByte(i) == UInt8(ascii: ">") {
                removed[i] = (.quote, "'>' quoted line")
                continue
            }
            guard ends[i] - starts[i] <= Self.maxPatternLine else { continue }
            let f = folded(i)
            if f.isEmpty { continue }
            if let g = replyHeader(f, c) {
                cut(from: i, .quote, "reply header \"\(g.pattern)\"")
                return
            }
            if let j = nextContentLine(after: i), j == i + 1, ends[j] - starts[j] <= 120, folded(j).last == UInt8(ascii: ":") {
                let joined = f + [0x20] + folded(j)
                if let g = replyHeader(joined, c) {
                    cut(from: i, .quote, "reply header \"\(g.pattern)\" (on two lines)")
                    return
                }
            }
            if let g = c.separator.firstMatch(f) {
                cut(from: i, .quote, "separator \"\(g.pattern)\"")
                return
            }
            if let name = fieldName(f), c.headerFrom.contains(name), headerBlockFollows(i, c) {
                // A rule line (`____`, `----`) just above the header block goes with it.
                var from = i
                if let p = previousContentLine(before: i), isRule(p) { from = p }
                cut(from: from, .quote, "header block \"\(Self.pattern(name)):\"")
                return
            }
        }
    }

    private func replyHeader(_ f: [UInt8], _ c: CompiledMailPatterns) -> Glob? {
        guard f.contains(UInt8(ascii: ":")), f.contains(where: { ($0 &- 0x30 < 10) || $0 == UInt8(ascii: "@") }) else { return nil }
        return c.reply.firstMatch(f)
    }

    /// The field name of a header line (`from: jane` → `from`, `envoyé : lundi` → `envoyé`).
    private func fieldName(_ f: [UInt8]) -> [UInt8]? {
        guard let colon = f.prefix(32).firstIndex(of: UInt8(ascii: ":")), colon > 0 else { return nil }
        var name = Array(f[..<colon])
        while name.last == 0x20 { name.removeLast() }
        // Outlook on the web writes the names in bold: `*from:*` in text renderings.
        while name.first == UInt8(ascii: "*") { name.removeFirst() }
        return name.isEmpty ? nil : name
    }

    private mutating func headerBlockFollows(_ i: Int, _ c: CompiledMailPatterns) -> Bool {
        var found = 0, seen = 0
        var j = i
        while seen < 6, let next = nextContentLine(after: j) {
            j = next
            seen += 1
            guard ends[j] - starts[j] <= Self.maxPatternLine * 2 else { continue }
            if let name = fieldName(folded(j)), c.headerFields.contains(name) { found += 1 }
            if found >= 2 { return true }
        }
        return false
    }

    private func previousContentLine(before i: Int) -> Int? {
        var j = i - 1
        while j >= 0 {
            if removed[j] == nil && !isBlank(j) { return j }
            j -= 1
        }
        return nil
    }

    private func isRule(_ i: Int) -> Bool {
        var n = 0
        for k in starts[i] ..< ends[i] {
            let b = text[k]
            if MailText.isSpace(b) { continue }
            guard b == UInt8(ascii: "_") || b == UInt8(ascii: "-") || b == UInt8(ascii: "=") || b == UInt8(ascii: "*") else { return false }
            n += 1
        }
        return n >= 5
    }

    // MARK: Disclaimers

    mutating func cutDisclaimers(_ c: CompiledMailPatterns) {
        guard !c.disclaimer.isEmpty else { return }
        var i = 0
        while i < count {
            guard removed[i] == nil, !isBlank(i) else { i += 1; continue }
            // One paragraph: lines i ..< j.
            var j = i
            var joined: [UInt8] = []
            var lineAt: [(offset: Int, line: Int)] = []
            while j < count && removed[j] == nil && !isBlank(j) {
                if !joined.isEmpty { joined.append(0x20) }
                lineAt.append((joined.count, j))
                joined += ends[j] - starts[j] <= Self.maxPatternLine ? folded(j) : MailText.fold(text[starts[j] ..< ends[j]])
                j += 1
            }
            if let match = c.disclaimer.firstMatch(in: joined) {
                let first = lineAt.last { $0.offset <= match.at }?.line ?? i
                let phrase = Self.pattern(match.phrase)
                for k in first ..< j { removed[k] = (.disclaimer, "disclaimer \"\(phrase)\"") }
            }
            i = j
        }
    }

    // MARK: Signatures

    mutating func cutSignatures(_ c: CompiledMailPatterns) {
        for i in 0 ..< count where regions[i] == .signature && removed[i] == nil { removed[i] = (.signature, "signature container (HTML)") }
        for i in 0 ..< count where removed[i] == nil && ends[i] - starts[i] <= 120 {
            var f = folded(i)
            while let last = f.last, last == UInt8(ascii: ".") || last == UInt8(ascii: "!") { f.removeLast() }
            if !f.isEmpty, let g = c.mobile.firstMatch(f) { removed[i] = (.signature, "mobile footer \"\(g.pattern)\"") }
        }
        for i in 0 ..< count where removed[i] == nil {
            let k = starts[i]
            var e = ends[i]
            while e > k && text[e - 1] == 0x20 && e - k > 3 { e -= 1 }
            if e - k == 2 || e - k == 3, text[k] == UInt8(ascii: "-"), text[k + 1] == UInt8(ascii: "-"), e - k == 2 || text[k + 2] == 0x20 {
                cut(from: i, .signature, "'-- ' delimiter")
                break
            }
        }
        // A sign-off after the message's first line (a greeting is not one) with a short tail.
        var seenContent = false
        for i in 0 ..< count where removed[i] == nil && !isBlank(i) {
            defer { seenContent = true }
            guard seenContent, ends[i] - starts[i] <= 80, let phrase = signoff(folded(i), c), signatureTailFollows(i) else { continue }
            cut(from: i, .signature, "sign-off \"\(phrase)\"")
            break
        }
    }

    /// Rule lines (`_____`, `-----`) left at the end once the rest is cut: what they divided off
    /// is gone.
    mutating func cutTrailingRules() {
        var i = count - 1
        while i >= 0 {
            if removed[i] != nil || isBlank(i) { i -= 1; continue }
            guard isRule(i) else { return }
            removed[i] = (.signature, "rule line at the end")
            i -= 1
        }
    }

    /// The sign-off a line is (`best regards,`, `thanks, anna`), or nil.
    private func signoff(_ f: [UInt8], _ c: CompiledMailPatterns) -> String? {
        var s = f
        while let last = s.last, last == UInt8(ascii: ",") || last == UInt8(ascii: ".") || last == UInt8(ascii: "!") || last == 0x20 || last == UInt8(ascii: "-") {
            s.removeLast()
        }
        if c.signoff.contains(s) { return Self.pattern(s) }
        // A sign-off and a short name on one line: `thanks, anna`, `cheers - tom`, `lg sabine`:
        // the longest sign-off the line starts with, then one to three words.
        var best: [UInt8]?
        var k = 0
        var words = 0
        while k < s.count && words < 5 {
            if s[k] == 0x20 || s[k] == UInt8(ascii: ",") || s[k] == UInt8(ascii: "-") {
                words += 1
                var end = k
                while end > 0 && (s[end - 1] == 0x20 || s[end - 1] == UInt8(ascii: ",")) { end -= 1 }
                if end > 0 {
                    let head = Array(s[..<end])
                    if c.signoff.contains(head) { best = head }
                }
            }
            k += 1
        }
        if let head = best {
            let tail = s[head.count...].drop { $0 == 0x20 || $0 == UInt8(ascii: ",") || $0 == UInt8(ascii: "-") }
            let words = tail.split(separator: 0x20).count
            if words >= 1, words <= 3, tail.count <= 30 { return Self.pattern(head) }
        }
        return nil
    }

    /// After a sign-off: at most ten short lines (a name, a title, contact lines), none a question.
    private func signatureTailFollows(_ i: Int) -> Bool {
        var n = 0
        var j = i
        while let next = nextContentLine(after: j) {
            j = next
            n += 1
            guard n <= 10, ends[j] - starts[j] <= 100 else { return false }
            var e = ends[j]
            while e > starts[j] && MailText.isSpace(text[e - 1]) { e -= 1 }
            if e > starts[j] && text[e - 1] == UInt8(ascii: "?") { return false }
        }
        return true
    }

    // MARK: Output

    /// The kept lines joined by line breaks (blank runs as one blank line, none at the ends), and
    /// their map to the original through `map` (the map of `text`).
    func kept(_ map: OffsetMap, mapping: Bool = true) -> ([UInt8], OffsetMap) {
        var out: [UInt8] = []
        var outMap = OffsetMap()
        var blankPending = false
        var lastEnd: Int?
        for i in 0 ..< count where removed[i] == nil {
            if isBlank(i) {
                if !out.isEmpty { blankPending = true }
                continue
            }
            if let lastEnd {
                let breaks = blankPending ? 2 : 1
                out.append(0x0A)
                if breaks == 2 { out.append(0x0A) }
                if mapping { outMap.replace(map.original(of: lastEnd ..< min(text.count, max(lastEnd, starts[i]))), length: breaks) }
            }
            blankPending = false
            out += text[starts[i] ..< ends[i]]
            if mapping { outMap.append(map, range: starts[i] ..< ends[i]) }
            lastEnd = ends[i]
        }
        return (out, outMap)
    }

    /// The removed lines as parts: runs of lines with one kind and reason.
    func removedParts(_ map: OffsetMap) -> [RemovedPart] {
        var parts: [RemovedPart] = []
        var i = 0
        while i < count {
            guard let r = removed[i] else { i += 1; continue }
            var j = i
            while j + 1 < count, let next = removed[j + 1], next.kind == r.kind, next.reason == r.reason { j += 1 }
            let range = starts[i] ..< ends[j]
            var lines: [String] = []
            for k in i ... j where !isBlank(k) { lines.append(String(decoding: text[starts[k] ..< ends[k]], as: UTF8.self)) }
            // Blank lines alone (after a cut) are not worth a part.
            if lines.isEmpty { i = j + 1; continue }
            parts.append(RemovedPart(kind: r.kind, reason: r.reason, text: lines.joined(separator: "\n"), original: map.original(of: range)))
            i = j + 1
        }
        return parts
    }
}
