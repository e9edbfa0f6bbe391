import TriageCore

/// Byte-level helpers of the clean step: folding a line for matching, glob patterns and phrase
/// search. Everything here is linear in the text (a glob's literal parts are found left to right
/// once; phrases are looked up by their first two bytes).
enum MailText {
    @inline(__always) static func isSpace(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D || b == 0x0C || b == 0x0B }

    /// Lower-cased (ASCII bytewise, anything else by Unicode rules), every run of whitespace
    /// (including U+00A0, U+2007, U+202F) one space, trimmed.
    static func fold(_ bytes: ArraySlice<UInt8>) -> [UInt8] {
        // Bytewise when every non-ASCII character is Latin-1 (U+0080–U+00FF, whose capitals
        // U+00C0–U+00DE but × lower-case by +0x20) or general punctuation (U+2000–U+20BF, no
        // cased letters); Unicode's full lower-casing otherwise.
        var simple = true
        var k0 = bytes.startIndex
        while k0 < bytes.endIndex {
            let b = bytes[k0]
            if b < 0x80 { k0 += 1; continue }
            if b == 0xC2 || b == 0xC3 { k0 += 2; continue }
            if b == 0xE2, k0 + 1 < bytes.endIndex, bytes[k0 + 1] >= 0x80, bytes[k0 + 1] <= 0x82 { k0 += 3; continue }
            simple = false
            break
        }
        var source: [UInt8]
        if simple {
            source = Array(bytes)
            var k = 0
            while k < source.count {
                let b = source[k]
                if b &- 0x41 < 26 {
                    source[k] = b | 0x20
                } else if b == 0xC3, k + 1 < source.count, source[k + 1] >= 0x80, source[k + 1] <= 0x9E, source[k + 1] != 0x97 {
                    source[k + 1] += 0x20
                    k += 1
                }
                k += 1
            }
        } else {
            let lowered = String(decoding: bytes, as: UTF8.self).lowercased()
            source = Array(lowered.utf8)
        }
        var out: [UInt8] = []
        out.reserveCapacity(source.count)
        var pendingSpace = false
        var k = 0
        let n = source.count
        while k < n {
            let b = source[k]
            var spaceWidth = 0
            if isSpace(b) {
                spaceWidth = 1
            } else if b == 0xC2, k + 1 < n, source[k + 1] == 0xA0 {
                spaceWidth = 2
            } else if b == 0xE2, k + 2 < n, source[k + 1] == 0x80, source[k + 2] == 0x87 || source[k + 2] == 0xAF {
                spaceWidth = 3
            }
            if spaceWidth > 0 {
                pendingSpace = !out.isEmpty
                k += spaceWidth
                continue
            }
            if pendingSpace { out.append(0x20); pendingSpace = false }
            out.append(b)
            k += 1
        }
        return out
    }
}

/// A pattern where `*` matches any run of bytes (possibly empty) and everything else matches
/// itself; it must match the whole text.
struct Glob: Sendable, Hashable {
    let pattern: String
    private let parts: [[UInt8]]
    private let anchoredStart: Bool
    private let anchoredEnd: Bool

    init(_ pattern: String) {
        self.pattern = pattern
        let bytes = Array(pattern.utf8)
        parts = bytes.split(separator: UInt8(ascii: "*"), omittingEmptySubsequences: false).map(Array.init)
        anchoredStart = bytes.first != UInt8(ascii: "*")
        anchoredEnd = bytes.last != UInt8(ascii: "*")
    }

    func matches(_ text: [UInt8]) -> Bool {
        if parts.count == 1 { return text == parts[0] }
        var lo = 0, hi = text.count
        var first = 0, last = parts.count - 1
        if anchoredStart {
            let p = parts[0]
            guard p.count <= hi, text[0 ..< p.count].elementsEqual(p) else { return false }
            lo = p.count
            first = 1
        }
        if anchoredEnd {
            let p = parts[last]
            guard p.count <= hi - lo, text[(hi - p.count) ..< hi].elementsEqual(p) else { return false }
            hi -= p.count
            last -= 1
        }
        if first > last { return true }
        for k in first ... last where !parts[k].isEmpty {
            guard let at = Self.find(parts[k], in: text, from: lo, to: hi) else { return false }
            lo = at + parts[k].count
        }
        return true
    }

    /// The first index of `needle` in `text[from..<to]`.
    static func find(_ needle: [UInt8], in text: [UInt8], from: Int, to: Int) -> Int? {
        let m = needle.count
        guard m > 0, to - from >= m else { return m == 0 ? from : nil }
        let first = needle[0]
        var k = from
        while k <= to - m {
            if text[k] == first {
                var j = 1
                while j < m && text[k + j] == needle[j] { j += 1 }
                if j == m { return k }
            }
            k += 1
        }
        return nil
    }
}

/// Globs looked up by what a match needs: a glob anchored at its start is tried only on text
/// starting with its first byte, one anchored only at its end only on text ending with its last
/// byte; the rest always.
struct GlobSet: Sendable {
    private var byFirst = [[Glob]](repeating: [], count: 256)
    private var byLast = [[Glob]](repeating: [], count: 256)
    private var always: [Glob] = []

    init(_ globs: [Glob]) {
        for g in globs {
            let bytes = Array(g.pattern.utf8)
            if let first = bytes.first, first != UInt8(ascii: "*") {
                byFirst[Int(first)].append(g)
            } else if let last = bytes.last, last != UInt8(ascii: "*") {
                byLast[Int(last)].append(g)
            } else {
                always.append(g)
            }
        }
    }

    /// The first glob (in pattern order within each group) that matches `text`.
    func firstMatch(_ text: [UInt8]) -> Glob? {
        guard let first = text.first, let last = text.last else { return nil }
        for g in byFirst[Int(first)] where g.matches(text) { return g }
        for g in byLast[Int(last)] where g.matches(text) { return g }
        for g in always where g.matches(text) { return g }
        return nil
    }
}

/// Phrases found at a word start anywhere in a text: candidates are looked up by the text's
/// next two bytes, so a search costs one table probe per byte and a comparison per candidate.
struct PhraseSet: Sendable {
    private var buckets: [UInt16: [[UInt8]]] = [:]
    private var present = [Bool](repeating: false, count: 1 << 16)
    private var single: [UInt8: [[UInt8]]] = [:]
    let isEmpty: Bool

    init(_ phrases: [String]) {
        for phrase in phrases {
            let bytes = Array(phrase.utf8)
            guard let b0 = bytes.first else { continue }
            if bytes.count == 1 { single[b0, default: []].append(bytes); continue }
            let key = UInt16(b0) << 8 | UInt16(bytes[1])
            buckets[key, default: []].append(bytes)
            present[Int(key)] = true
        }
        isEmpty = phrases.isEmpty
    }

    /// The first phrase that starts at a word start of `text` (folded) and where, or nil.
    func firstMatch(in text: [UInt8]) -> (phrase: [UInt8], at: Int)? {
        let n = text.count
        guard n > 0, !isEmpty else { return nil }
        var k = 0
        while k < n {
            let atWordStart = k == 0 || text[k - 1] == 0x20
            if atWordStart {
                if k + 1 < n {
                    let key = Int(UInt16(text[k]) << 8 | UInt16(text[k + 1]))
                    if present[key], let candidates = buckets[UInt16(key)] {
                        for c in candidates where c.count <= n - k {
                            var j = 2
                            while j < c.count && text[k + j] == c[j] { j += 1 }
                            if j == c.count { return (c, k) }
                        }
                    }
                }
                if let candidates = single[text[k]], let c = candidates.first { return (c, k) }
            }
            k += 1
        }
        return nil
    }
}
