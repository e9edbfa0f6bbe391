import TriageCore

/// The `clean` step's settings (scikit-learn-style names, addressable as `clean.html`, …): what
/// to cut from a message before subject weighting. In a pipeline's JSON, `"clean": {}` turns every
/// part on; no `"clean"` means no cleaning.
public struct CleanSettings: Hashable, Sendable, Codable {
    /// HTML bodies to text (tags, entities, `<script>`/`<style>` dropped, blocks as line breaks).
    public var html: Bool
    /// Quoted replies: `>` lines, reply and forward headers and all after them, quote containers;
    /// and the subject's `Re:`/`AW:`/`Fwd:` prefixes.
    public var quotes: Bool
    /// Signatures: `-- ` and all after it, a sign-off line followed by short lines, mobile footers.
    public var signature: Bool
    /// Disclaimer and confidentiality paragraphs.
    public var disclaimer: Bool
    /// The languages whose patterns apply (`stopwords/mail/<language>.txt`); nil: every one found.
    public var languages: [String]?
    /// A patterns file of the user's own, in the same format, added to the languages'.
    public var patterns: String?

    public init(html: Bool = true, quotes: Bool = true, signature: Bool = true, disclaimer: Bool = true,
                languages: [String]? = nil, patterns: String? = nil) {
        self.html = html
        self.quotes = quotes
        self.signature = signature
        self.disclaimer = disclaimer
        self.languages = languages
        self.patterns = patterns
    }

    enum CodingKeys: String, CodingKey { case html, quotes, signature, disclaimer, languages, patterns }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        html = try c.decodeIfPresent(Bool.self, forKey: .html) ?? true
        quotes = try c.decodeIfPresent(Bool.self, forKey: .quotes) ?? true
        signature = try c.decodeIfPresent(Bool.self, forKey: .signature) ?? true
        disclaimer = try c.decodeIfPresent(Bool.self, forKey: .disclaimer) ?? true
        languages = try c.decodeIfPresent([String].self, forKey: .languages)
        patterns = try c.decodeIfPresent(String.self, forKey: .patterns)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(html, forKey: .html)
        try c.encode(quotes, forKey: .quotes)
        try c.encode(signature, forKey: .signature)
        try c.encode(disclaimer, forKey: .disclaimer)
        try c.encodeIfPresent(languages, forKey: .languages)
        try c.encodeIfPresent(patterns, forKey: .patterns)
    }

    /// The step with its patterns read from the mail pattern files.
    public func prepare(directories: [String]? = nil) throws(TextFeatureError) -> Cleaner {
        Cleaner(settings: self, patterns: try MailPatterns.load(languages: languages, extra: patterns, directories: directories))
    }
}

/// A part of a message the clean step removed.
public struct RemovedPart: Sendable, Hashable {
    public enum Kind: String, Sendable, CaseIterable, Codable {
        case markup, quote, signature, disclaimer
    }
    public var kind: Kind
    /// Why, in words: `reply header "on * wrote:"`, `'>' lines`, `sign-off "best regards"`.
    public var reason: String
    /// The removed text (as text, after HTML conversion).
    public var text: String
    /// Where it was in the original body (UTF-8 byte offsets).
    public var original: Range<Int>
}

/// A body after the clean step: the kept text, where it came from, and what was removed.
public struct CleanedText: Sendable, Hashable {
    public var text: String
    /// Cleaned UTF-8 offsets → original UTF-8 offsets.
    public var map: OffsetMap
    public var removed: [RemovedPart]
    /// Bytes of the original body that were HTML markup (tags, skipped elements, references).
    public var markupBytes: Int
    public var wasHTML: Bool
    /// True when cleaning would have left no words, so the text is the body with only its
    /// markup removed (a message that is all quote or all signature is classified on that).
    public var fellBack: Bool

    /// Original UTF-16 offsets (what a browser indexes) of cleaned UTF-8 range `range`.
    public func originalUTF16Range(of range: Range<Int>, in original: String) -> Range<Int> {
        Self.utf16Range(ofUTF8: map.original(of: range), in: original)
    }

    /// The UTF-16 offsets of UTF-8 byte range `bytes` of `text` (clamped to it).
    public static func utf16Range(ofUTF8 bytes: Range<Int>, in text: String) -> Range<Int> {
        let utf8 = text.utf8
        func utf16Offset(_ byte: Int) -> Int {
            let index = utf8.index(utf8.startIndex, offsetBy: max(0, min(byte, utf8.count)))
            return text.utf16.distance(from: text.utf16.startIndex, to: index.samePosition(in: text.utf16) ?? index)
        }
        return utf16Offset(bytes.lowerBound) ..< utf16Offset(bytes.upperBound)
    }
}

/// The clean step, ready to run: settings and the patterns in effect (from the pattern files at
/// training, from the model file when served). Plain values; safe to share across threads.
public struct Cleaner: Sendable {
    public let settings: CleanSettings
    public let patterns: MailPatterns
    /// `patterns.sha256`, computed once.
    public let patternsSHA256: String
    let compiled: CompiledMailPatterns

    public init(settings: CleanSettings, patterns: MailPatterns) {
        self.settings = settings
        self.patterns = patterns.normalized
        patternsSHA256 = self.patterns.sha256
        compiled = CompiledMailPatterns(self.patterns)
    }

    /// The message with its subject and body cleaned (its id kept).
    public func clean(_ message: Message) -> Message {
        Message(id: message.id, subject: cleanSubject(message.subject), body: cleanedText(message.body))
    }

    /// Every message cleaned, in order (parallel, deterministic).
    public func clean(_ messages: [Message], threads: Int? = nil) -> [Message] {
        let chunks = Parallel.chunks(count: messages.count, chunkSize: 256)
        return Array(Parallel.map(count: chunks.count, threads: Parallel.threadCount(threads)) { c in
            chunks[c].map { clean(messages[$0]) }
        }.joined())
    }

    /// The text of `clean(body:)`. A body of one line that is not HTML comes back as it is
    /// without the line passes: cutting anything from a single line would leave nothing, and a
    /// body cleaned to nothing is kept whole — the common chat message costs one scan.
    func cleanedText(_ body: String) -> String {
        var oneLine = true
        var body = body
        body.withUTF8 { bytes in
            for b in bytes where b == 0x0A || b == 0x0D || b == UInt8(ascii: "<") || b == UInt8(ascii: "&") {
                oneLine = false
                break
            }
        }
        return oneLine ? body : clean(body: body, details: false).text
    }

    /// The subject without reply and forward prefixes (`Re: AW: Fwd[2]: …`), when `quotes` is on.
    public func cleanSubject(_ subject: String) -> String {
        // Every prefix ends with `:`; a subject without one (most of them) needs no copy.
        guard settings.quotes, !compiled.subjectPrefixes.isEmpty, subject.utf8.contains(UInt8(ascii: ":")) else { return subject }
        let bytes = Array(subject.utf8)
        var at = 0
        func skipSpaces(_ k: inout Int) { while k < bytes.count && (bytes[k] == 0x20 || bytes[k] == 0x09) { k += 1 } }
        while true {
            var k = at
            skipSpaces(&k)
            // A prefix is a word of at most 12 bytes, then `[n]` or `(n)` maybe, then `:`.
            let wordStart = k
            while k < bytes.count && k - wordStart <= 12 && bytes[k] != UInt8(ascii: ":") && bytes[k] != UInt8(ascii: "[")
                && bytes[k] != UInt8(ascii: "(") && bytes[k] != 0x20 { k += 1 }
            var wordEnd = k
            skipSpaces(&k)
            if k < bytes.count && (bytes[k] == UInt8(ascii: "[") || bytes[k] == UInt8(ascii: "(")) {
                let close = bytes[k] == UInt8(ascii: "[") ? UInt8(ascii: "]") : UInt8(ascii: ")")
                var j = k + 1
                while j < bytes.count && bytes[j] &- 0x30 < 10 { j += 1 }
                guard j > k + 1, j < bytes.count, bytes[j] == close else { break }
                k = j + 1
                skipSpaces(&k)
            }
            guard k < bytes.count, bytes[k] == UInt8(ascii: ":"), wordEnd > wordStart else { break }
            while wordEnd > wordStart && bytes[wordEnd - 1] == 0x20 { wordEnd -= 1 }
            let word = String(decoding: MailText.fold(bytes[wordStart ..< wordEnd]), as: UTF8.self)
            guard compiled.subjectPrefixes.contains(word) else { break }
            at = k + 1
        }
        var k = at
        skipSpaces(&k)
        return at == 0 || k >= bytes.count ? subject : String(decoding: bytes[k...], as: UTF8.self)
    }

    /// The body cleaned, with its map and removed parts.
    public func clean(body: String) -> CleanedText { clean(body: body, details: true) }

    /// `details`: false leaves the map and the removed parts empty (what classifying needs).
    func clean(body: String, details: Bool) -> CleanedText {
        let bytes = Array(body.utf8)
        let isHTML = settings.html && HTMLText.looksLikeHTML(bytes)
        var text: [UInt8]
        var map: OffsetMap
        var regions: [HTMLText.Region]?
        if isHTML {
            let converted = HTMLText.convert(bytes)
            text = converted.bytes
            map = converted.map
            regions = converted.lineRegions
        } else {
            text = bytes
            map = .identity(bytes.count)
        }
        var lines = MailLines(text, regions: regions)
        if settings.quotes { lines.cutQuotes(compiled) }
        if settings.disclaimer { lines.cutDisclaimers(compiled) }
        if settings.signature { lines.cutSignatures(compiled) }
        if settings.signature || settings.disclaimer || settings.quotes { lines.cutTrailingRules() }
        var (kept, keptMap) = lines.kept(map, mapping: details)
        var fellBack = false
        if !kept.contains(where: { $0 >= 0x80 || (($0 | 0x20) &- 0x61 < 26) || ($0 &- 0x30 < 10) }) && lines.removedAny {
            (kept, keptMap) = MailLines(text, regions: nil).kept(map, mapping: details)
            fellBack = true
        }
        let markup = isHTML && details ? max(0, bytes.count - map.pieces.filter(\.copied).reduce(0) { $0 + $1.length }) : 0
        return CleanedText(text: String(decoding: kept, as: UTF8.self), map: keptMap,
                           removed: fellBack || !details ? [] : lines.removedParts(map), markupBytes: markup, wasHTML: isHTML, fellBack: fellBack)
    }
}

/// The patterns compiled for matching.
struct CompiledMailPatterns: Sendable {
    let reply: GlobSet
    let separator: GlobSet
    let mobile: GlobSet
    let headerFrom: Set<[UInt8]>
    let headerFields: Set<[UInt8]>
    let signoff: Set<[UInt8]>
    let disclaimer: PhraseSet
    let subjectPrefixes: Set<String>

    init(_ p: MailPatterns) {
        reply = GlobSet(p.reply.map(Glob.init))
        separator = GlobSet(p.separator.map(Glob.init))
        mobile = GlobSet(p.mobile.map(Glob.init))
        headerFrom = Set(p.headerFrom.map { Array($0.utf8) })
        headerFields = Set(p.header.map { Array($0.utf8) })
        signoff = Set(p.signoff.map { Array($0.utf8) })
        disclaimer = PhraseSet(p.disclaimer)
        subjectPrefixes = Set(p.subject)
    }
}
