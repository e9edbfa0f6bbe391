import Foundation
import TriageCore

/// The patterns the clean step recognises mail parts by, read from `stopwords/mail/<language>.txt`
/// (and the user's own file in the same format), kept in a model file so that a server cleans
/// exactly as training did. Every pattern is folded (lower-cased, whitespace runs as one space,
/// trimmed) when read; text is folded the same way before it is matched.
///
/// File format (`stopwords/mail/README.md`): UTF-8; `#` lines and blank lines are skipped; a line
/// `[kind]` starts a section; every other line is one pattern of the current section's kind:
/// - `reply`: a reply header line (`on * wrote:`); `*` matches any text. A line (or two lines
///   joined, as Gmail wraps long headers) matches when the whole folded line does and holds a digit
///   or `@` (a date or an address) and a `:`.
/// - `separator`: a line that starts a quoted or forwarded message (`-----original message-----`);
///   a whole-line match as for `reply`, without the digit rule.
/// - `header-from`, `header`: the field names of a quoted header block: a line `From: …` followed,
///   within the next six lines, by two lines naming other fields (`Sent: …`, `To: …`).
/// - `signoff`: a closing line (`best regards`), matched on the whole line less trailing `,.!`.
/// - `mobile`: a mobile or app footer line (`sent from my *`), whole line.
/// - `disclaimer`: a phrase that marks its paragraph as a disclaimer (`if you are not the intended
///   recipient`), matched at a word start anywhere in the paragraph.
/// - `subject`: a reply or forward prefix of the subject (`re`, `aw`), removed with its `:`.
public struct MailPatterns: Hashable, Sendable, Codable {
    public var reply: [String] = []
    public var separator: [String] = []
    public var headerFrom: [String] = []
    public var header: [String] = []
    public var signoff: [String] = []
    public var mobile: [String] = []
    public var disclaimer: [String] = []
    public var subject: [String] = []

    public init() {}

    public enum Kind: String, CaseIterable, Sendable {
        case reply, separator, headerFrom = "header-from", header, signoff, mobile, disclaimer, subject
    }

    enum CodingKeys: String, CodingKey {
        case reply, separator, headerFrom = "header_from", header, signoff, mobile, disclaimer, subject
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        for key in [CodingKeys.reply, .separator, .headerFrom, .header, .signoff, .mobile, .disclaimer, .subject] {
            let values = try c.decodeIfPresent([String].self, forKey: key) ?? []
            for (i, v) in values.enumerated() where Self.fold(v) != v || v.isEmpty {
                throw DecodingError.dataCorruptedError(forKey: key, in: c,
                    debugDescription: "pattern \(i) (\"\(v.prefix(60))\") is not folded (lower-case, single spaces, trimmed, not empty)")
            }
            self[key] = values
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        for key in [CodingKeys.reply, .separator, .headerFrom, .header, .signoff, .mobile, .disclaimer, .subject] {
            try c.encode(self[key], forKey: key)
        }
    }

    subscript(key: CodingKeys) -> [String] {
        get {
            switch key {
            case .reply: reply
            case .separator: separator
            case .headerFrom: headerFrom
            case .header: header
            case .signoff: signoff
            case .mobile: mobile
            case .disclaimer: disclaimer
            case .subject: subject
            }
        }
        set {
            switch key {
            case .reply: reply = newValue
            case .separator: separator = newValue
            case .headerFrom: headerFrom = newValue
            case .header: header = newValue
            case .signoff: signoff = newValue
            case .mobile: mobile = newValue
            case .disclaimer: disclaimer = newValue
            case .subject: subject = newValue
            }
        }
    }

    private mutating func append(_ pattern: String, kind: Kind) {
        switch kind {
        case .reply: reply.append(pattern)
        case .separator: separator.append(pattern)
        case .headerFrom: headerFrom.append(pattern)
        case .header: header.append(pattern)
        case .signoff: signoff.append(pattern)
        case .mobile: mobile.append(pattern)
        case .disclaimer: disclaimer.append(pattern)
        case .subject: subject.append(pattern)
        }
    }

    /// Every list sorted and without repeats (the order patterns are tried in does not matter).
    public var normalized: MailPatterns {
        var p = self
        for key in [CodingKeys.reply, .separator, .headerFrom, .header, .signoff, .mobile, .disclaimer, .subject] {
            p[key] = Array(Set(p[key])).sorted()
        }
        return p
    }

    /// The patterns of both.
    public func merged(with other: MailPatterns) -> MailPatterns {
        var p = self
        for key in [CodingKeys.reply, .separator, .headerFrom, .header, .signoff, .mobile, .disclaimer, .subject] {
            p[key] += other[key]
        }
        return p.normalized
    }

    public var count: Int { reply.count + separator.count + headerFrom.count + header.count + signoff.count + mobile.count + disclaimer.count + subject.count }

    /// SHA-256 of the canonical JSON of the patterns: what a model's provenance records.
    public var sha256: String { (try? StableHash.hex(encoding: self)) ?? "" }

    // MARK: Reading

    /// Parses a patterns file; `path` names it in errors.
    public static func parse(_ text: String, path: String) throws(TextFeatureError) -> MailPatterns {
        var p = MailPatterns()
        var kind: Kind?
        var lineNumber = 0
        for raw in text.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNumber += 1
            let line = raw.trimmingCharacters(in: .whitespacesAndNewlines)
            if line.isEmpty || line.hasPrefix("#") { continue }
            if line.hasPrefix("[") && line.hasSuffix("]") {
                let name = String(line.dropFirst().dropLast())
                guard let k = Kind(rawValue: name) else {
                    throw .invalidMailPatterns(path: path, line: lineNumber,
                                               reason: "unknown section [\(name)]; sections: \(Kind.allCases.map { "[\($0.rawValue)]" }.joined(separator: ", "))")
                }
                kind = k
                continue
            }
            guard let kind else {
                throw .invalidMailPatterns(path: path, line: lineNumber, reason: "a pattern before the first [section] line")
            }
            let folded = fold(line)
            if folded.utf8.count > 200 {
                throw .invalidMailPatterns(path: path, line: lineNumber, reason: "a pattern is at most 200 bytes")
            }
            if kind == .disclaimer || kind == .signoff || kind == .subject || kind == .headerFrom || kind == .header, folded.contains("*") {
                throw .invalidMailPatterns(path: path, line: lineNumber, reason: "[\(kind.rawValue)] patterns are plain text; `*` is for [reply], [separator] and [mobile]")
            }
            if folded.replacingOccurrences(of: "*", with: "").trimmingCharacters(in: .whitespaces).isEmpty {
                throw .invalidMailPatterns(path: path, line: lineNumber, reason: "a pattern needs some text besides `*`")
            }
            p.append(folded, kind: kind)
        }
        return p.normalized
    }

    /// The languages with a patterns file in `directories` (`<dir>/mail/<language>.txt`).
    public static func available(in directories: [String] = StopWordLists.searchDirectories()) -> [String] {
        var names = Set<String>()
        for dir in directories {
            let files = (try? FileManager.default.contentsOfDirectory(atPath: dir + "/mail")) ?? []
            for f in files where f.hasSuffix(".txt") { names.insert(String(f.dropLast(4))) }
        }
        return names.sorted()
    }

    /// The patterns of `languages` (nil: every language available) and of the user's file `extra`.
    public static func load(languages: [String]?, extra: String?,
                            directories: [String]? = nil) throws(TextFeatureError) -> MailPatterns {
        let dirs = directories ?? StopWordLists.searchDirectories()
        let names = languages ?? available(in: dirs)
        if names.isEmpty && extra == nil {
            throw .unknownMailLanguage(name: "", searched: dirs.map { $0 + "/mail" }, available: [])
        }
        var p = MailPatterns()
        for name in names {
            let valid = !name.isEmpty && name.unicodeScalars.allSatisfy { $0.properties.isAlphabetic || $0 == "-" || $0 == "_" }
            guard valid, let dir = dirs.first(where: { FileManager.default.fileExists(atPath: "\($0)/mail/\(name).txt") }) else {
                throw .unknownMailLanguage(name: name, searched: dirs.map { $0 + "/mail" }, available: available(in: dirs))
            }
            p = p.merged(with: try read(path: "\(dir)/mail/\(name).txt"))
        }
        if let extra { p = p.merged(with: try read(path: extra)) }
        return p
    }

    static func read(path: String) throws(TextFeatureError) -> MailPatterns {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw .invalidMailPatterns(path: path, line: 0, reason: "cannot read the file")
        }
        guard let text = String(validating: data, as: UTF8.self) else {
            throw .invalidMailPatterns(path: path, line: 0, reason: "not UTF-8")
        }
        return try parse(text, path: path)
    }

    /// Lower-cased, whitespace runs (and no-break spaces) as one space, trimmed.
    public static func fold(_ text: some StringProtocol) -> String {
        String(decoding: MailText.fold(Array(text.utf8)[...]), as: UTF8.self)
    }
}
