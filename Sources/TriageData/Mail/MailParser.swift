import Foundation
import TriageCore

/// Why a message could not be read, and where: a byte offset into the input the parser was given
/// (the file, for mbox and .eml readers).
public struct MailError: Error, Equatable, Sendable, CustomStringConvertible {
    public let problem: String
    public let offset: Int

    public init(_ problem: String, at offset: Int) {
        self.problem = problem
        self.offset = offset
    }

    public var description: String { "byte \(offset): \(problem)" }
}

/// What a message's reader may spend on it.
public struct MailLimits: Sendable {
    /// Encoded bytes of one text part that are decoded; the rest is dropped (and said in `notes`).
    public var maxTextPartBytes = 4 << 20
    /// MIME multipart nesting.
    public var maxDepth = 32
    /// MIME parts in one message.
    public var maxParts = 10_000

    public init() {}
}

/// A message read from RFC 5322 bytes: what Triage classifies, and what it reports.
public struct ParsedMail: Equatable, Sendable {
    /// `Subject`, RFC 2047 encoded words decoded, unfolded and trimmed ("" when absent).
    public var subject: String
    /// `From` and `Date`, decoded like the subject ("" when absent). Read, not classified.
    public var from: String
    public var date: String
    /// `Message-ID` without its angle brackets, or nil when the message has none.
    public var messageID: String?
    /// The id Triage uses: `messageID`, or `mail-` and the first 16 hex digits of the SHA-256 of
    /// the message's bytes (the same bytes always give the same id).
    public var id: String
    /// The text of the body parts (see `MailParser`), line breaks as `\n`, trimmed.
    public var body: String
    /// True when the body is HTML (the message had no usable text/plain part); the clean step turns
    /// it into text.
    public var bodyIsHTML: Bool
    /// Fallbacks taken while reading (unknown charset, truncated base64, missing closing boundary, …).
    public var notes: [String]
    /// Values of the headers asked for by name (lower-cased names; decoded like the subject).
    public var requestedHeaders: [String: String]
}

/// Reads one RFC 5322 message (RFC 2045–2047 MIME): headers, the body text, the id.
///
/// The body is chosen as mail clients show it: in `multipart/alternative` the first non-empty
/// `text/plain` alternative, else the first `text/html` one (kept as HTML for the clean step); in
/// every other multipart (`mixed`, `related`, `signed`, unknown subtypes, RFC 2046 §5.1.3) the
/// inline text parts in order, joined by a blank line. Parts marked `Content-Disposition:
/// attachment`, non-text types and `message/rfc822` are skipped without being decoded. A message
/// without a `Content-Type` is US-ASCII text/plain.
public enum MailParser {
    /// `textIsUnicode`: the bytes are the UTF-8 of text that was already decoded (a JSON string):
    /// parts without a base64 or quoted-printable encoding are read as UTF-8 whatever charset they
    /// declare, since their bytes were turned into Unicode on the way.
    public static func parse(_ bytes: [UInt8], base: Int = 0, headers requested: [String] = [], textIsUnicode: Bool = false,
                             limits: MailLimits = MailLimits()) throws(MailError) -> ParsedMail {
        let result: Result<ParsedMail, MailError> = bytes.withUnsafeBufferPointer { b in
            do throws(MailError) {
                return .success(try parse(b, base: base, headers: requested, textIsUnicode: textIsUnicode, limits: limits))
            } catch { return .failure(error) }
        }
        return try result.get()
    }

    public static func parse(_ b: UnsafeBufferPointer<UInt8>, base: Int = 0, headers requested: [String] = [], textIsUnicode: Bool = false,
                             limits: MailLimits = MailLimits()) throws(MailError) -> ParsedMail {
        var reader = EntityReader(bytes: b, base: base, limits: limits)
        reader.textIsUnicode = textIsUnicode
        let top = try MailHeaders.parse(b, 0 ..< b.count, base: base)
        var unknown: [String] = []
        func text(_ name: String) -> String {
            guard let f = top.first(name) else { return "" }
            return EncodedWords.decode(MailHeaders.unfolded(b, f.value), unknownCharsets: &unknown)
        }
        let subject = text("subject")
        let from = text("from")
        let date = text("date")
        var wanted: [String: String] = [:]
        for name in requested {
            let key = name.lowercased()
            if top.first(key) != nil { wanted[key] = text(key) }
        }
        let messageID = top.first("message-id").flatMap { messageIDValue(MailHeaders.unfolded(b, $0.value)) }
        let pieces = try reader.entity(top, range: 0 ..< b.count, depth: 0)
        for c in unknown where !reader.unknownCharsets.contains(c) { reader.unknownCharsets.append(c) }
        var notes = reader.notes
        for c in reader.unknownCharsets { notes.append("unknown charset \"\(c)\": read as UTF-8, invalid bytes replaced") }
        let (body, isHTML) = join(pieces)
        let id = messageID ?? "mail-" + String(StableHash.hex(b).prefix(16))
        return ParsedMail(subject: subject, from: from, date: date, messageID: messageID, id: id, body: body, bodyIsHTML: isHTML,
                          notes: notes, requestedHeaders: wanted)
    }

    /// `<local@domain>` → `local@domain`; without brackets, the trimmed value; white space removed.
    static func messageIDValue(_ v: [UInt8]) -> String? {
        var s = v[...]
        if let open = s.firstIndex(of: UInt8(ascii: "<")), let close = s[open...].firstIndex(of: UInt8(ascii: ">")) {
            s = s[(open + 1) ..< close]
        }
        let kept = s.filter { $0 > 0x20 }
        return kept.isEmpty ? nil : EncodedWords.plain(Array(kept))
    }

    struct Piece {
        var text: String
        var html: Bool
    }

    /// One body from the chosen parts: plain parts joined by a blank line; when any part is HTML,
    /// the plain ones are escaped into HTML so that the whole body is one HTML document.
    static func join(_ pieces: [Piece]) -> (String, Bool) {
        let kept = pieces.filter { !$0.text.isEmpty }
        guard let first = kept.first else { return ("", false) }
        if kept.count == 1 { return (first.text, first.html) }
        if !kept.contains(where: \.html) { return (kept.map(\.text).joined(separator: "\n\n"), false) }
        return (kept.map { $0.html ? $0.text : "<div>" + escapeHTML($0.text) + "</div>" }.joined(separator: "\n"), true)
    }

    static func escapeHTML(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.utf8.count + 16)
        for c in s.unicodeScalars {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\n": out += "<br>\n"
            default: out.unicodeScalars.append(c)
            }
        }
        return out
    }
}

/// Walks the MIME tree of one message.
struct EntityReader {
    let bytes: UnsafeBufferPointer<UInt8>
    let base: Int
    let limits: MailLimits
    var notes: [String] = []
    var unknownCharsets: [String] = []
    var parts = 0
    var textIsUnicode = false

    init(bytes: UnsafeBufferPointer<UInt8>, base: Int, limits: MailLimits) {
        self.bytes = bytes
        self.base = base
        self.limits = limits
    }

    mutating func note(_ s: String) { if !notes.contains(s) { notes.append(s) } }

    func value(_ headers: MailHeaders, _ name: String) -> MIMEValue? {
        headers.first(name).map { MIMEValue(MailHeaders.unfolded(bytes, $0.value)) }
    }

    /// The text pieces of the entity whose headers are `headers` and which spans `range`.
    mutating func entity(_ headers: MailHeaders, range: Range<Int>, depth: Int) throws(MailError) -> [MailParser.Piece] {
        parts += 1
        if parts > limits.maxParts { throw MailError("more than \(limits.maxParts) MIME parts", at: base + range.lowerBound) }
        let typeField = headers.first("content-type")
        let type = typeField.map { MIMEValue(MailHeaders.unfolded(bytes, $0.value)) }
        let token = type?.token ?? "text/plain"
        let disposition = value(headers, "content-disposition")?.token
        let body = headers.bodyStart ..< range.upperBound
        if token.hasPrefix("multipart/") {
            guard depth < limits.maxDepth else { throw MailError("MIME parts nested deeper than \(limits.maxDepth)", at: base + range.lowerBound) }
            let field = typeField?.offset ?? base + range.lowerBound
            guard let boundary = type?.parameters["boundary"], !boundary.isEmpty else {
                throw MailError("\(token) without a boundary parameter: its parts cannot be found", at: field)
            }
            guard boundary.utf8.count <= 200 else { throw MailError("a MIME boundary of \(boundary.utf8.count) bytes; RFC 2046 allows 70", at: field) }
            let children = try split(body, boundary: Array(boundary.utf8), field: field)
            if token == "multipart/alternative" {
                var fallback: [MailParser.Piece]?
                for child in children {
                    let h = try MailHeaders.parse(bytes, child, base: base)
                    let got = try entity(h, range: child, depth: depth + 1)
                    guard got.contains(where: { !$0.text.isEmpty }) else { continue }
                    if !got.contains(where: \.html) { return got }
                    if fallback == nil { fallback = got }
                }
                return fallback ?? []
            }
            var out: [MailParser.Piece] = []
            for child in children {
                let h = try MailHeaders.parse(bytes, child, base: base)
                out += try entity(h, range: child, depth: depth + 1)
            }
            return out
        }
        if disposition == "attachment" { return [] }
        let isHTML: Bool
        switch token {
        case "text/plain", "text", "": isHTML = false
        case "text/html": isHTML = true
        default: return []
        }
        return [MailParser.Piece(text: try decodeText(headers, type: type, body: body), html: isHTML)]
    }

    /// The delimited parts of a multipart body (RFC 2046 §5.1.1), without the CRLF before each
    /// delimiter. No delimiter at all is an error; no closing delimiter lets the last part run to
    /// the end (a truncated message), noted.
    mutating func split(_ body: Range<Int>, boundary: [UInt8], field: Int) throws(MailError) -> [Range<Int>] {
        let needle = [UInt8(ascii: "-"), UInt8(ascii: "-")] + boundary
        var delimiters: [(start: Int, next: Int, close: Bool)] = []
        var p = body.lowerBound
        while let hit = MailScan.find(bytes, needle, from: p, end: body.upperBound) {
            p = hit + 1
            guard hit == body.lowerBound || bytes[hit - 1] == 0x0A else { continue }
            var q = hit + needle.count
            var close = false
            if q + 1 < body.upperBound, bytes[q] == UInt8(ascii: "-"), bytes[q + 1] == UInt8(ascii: "-") {
                close = true
                q += 2
            }
            while q < body.upperBound, bytes[q] == 0x20 || bytes[q] == 0x09 { q += 1 }
            guard q == body.upperBound || bytes[q] == 0x0A || bytes[q] == 0x0D else { continue }
            let (_, next) = MailScan.line(bytes, from: q, end: body.upperBound)
            // The line break before the delimiter belongs to it.
            var start = hit
            if start > body.lowerBound, bytes[start - 1] == 0x0A {
                start -= 1
                if start > body.lowerBound, bytes[start - 1] == 0x0D { start -= 1 }
            }
            delimiters.append((start, next, close))
            if close { break }
            if delimiters.count > limits.maxParts { throw MailError("more than \(limits.maxParts) MIME parts", at: base + hit) }
        }
        guard !delimiters.isEmpty else {
            let shown = String(decoding: boundary.prefix(80), as: UTF8.self)
            throw MailError("the boundary \"\(shown)\" of the Content-Type never appears in the body: the parts cannot be found", at: field)
        }
        var parts: [Range<Int>] = []
        for k in 0 ..< delimiters.count where !delimiters[k].close {
            let from = delimiters[k].next
            let to = k + 1 < delimiters.count ? delimiters[k + 1].start : body.upperBound
            parts.append(from ..< max(from, to))
        }
        if delimiters.last?.close != true { note("a multipart body ends without its closing boundary (truncated?): the last part runs to the end") }
        return parts
    }

    /// A text part's body: transfer-decoded, charset-decoded, line breaks as `\n`.
    mutating func decodeText(_ headers: MailHeaders, type: MIMEValue?, body: Range<Int>) throws(MailError) -> String {
        var range = body
        if range.count > limits.maxTextPartBytes {
            range = range.lowerBound ..< range.lowerBound + limits.maxTextPartBytes
            note("a text part longer than \(sizeText(limits.maxTextPartBytes)): only its first \(sizeText(limits.maxTextPartBytes)) are read")
        }
        let encoding = value(headers, "content-transfer-encoding")?.token ?? ""
        let raw = UnsafeBufferPointer(rebasing: bytes[range])
        var decoded: [UInt8]?
        switch encoding {
        case "base64":
            var truncated = false
            decoded = TransferDecoding.base64(raw, truncated: &truncated)
            if truncated { note("base64 text ends in the middle of a group (truncated?): the incomplete bytes are dropped") }
        case "quoted-printable":
            decoded = TransferDecoding.quotedPrintable(raw)
        case "", "7bit", "8bit", "binary":
            break
        default:
            note("unknown Content-Transfer-Encoding \"\(encoding)\": the text is read as it is")
        }
        let declared = MailCharset.named(type?.parameters["charset"]?.trimmingCharacters(in: .whitespaces))
        let charset = textIsUnicode && decoded == nil ? .utf8 : declared
        if case let .unknown(name) = charset, !unknownCharsets.contains(name) { unknownCharsets.append(name) }

        // Trimmed as bytes (ASCII white space), line breaks made `\n`, then decoded.
        func text(_ all: UnsafeBufferPointer<UInt8>) -> String {
            var lo = 0
            var hi = all.count
            while lo < hi, MailScan.isSpace(all[lo]) { lo += 1 }
            while hi > lo, MailScan.isSpace(all[hi - 1]) { hi -= 1 }
            let b = UnsafeBufferPointer(rebasing: all[lo ..< hi])
            guard let start = b.baseAddress, memchr(start, 0x0D, b.count) != nil else { return charset.decode(b) }
            var lf = [UInt8]()
            lf.reserveCapacity(b.count)
            var i = 0
            while i < b.count {
                if b[i] == 0x0D {
                    lf.append(0x0A)
                    i += i + 1 < b.count && b[i + 1] == 0x0A ? 2 : 1
                    continue
                }
                lf.append(b[i])
                i += 1
            }
            return charset.decode(lf)
        }
        if let decoded { return decoded.withUnsafeBufferPointer(text) }
        return text(raw)
    }
}

enum MailScan {
    @inline(__always)
    static func isSpace(_ c: UInt8) -> Bool { c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 || c == 0x0C || c == 0x0B }

    /// The line at `p`: where its text ends (before CR LF or LF) and where the next line starts.
    @inline(__always)
    static func line(_ b: UnsafeBufferPointer<UInt8>, from p: Int, end: Int) -> (Int, Int) {
        guard p < end, let base = b.baseAddress, let raw = memchr(base + p, 0x0A, end - p) else { return (end, end) }
        let nl = base.distance(to: raw.assumingMemoryBound(to: UInt8.self))
        let textEnd = nl > p && b[nl - 1] == 0x0D ? nl - 1 : nl
        return (textEnd, nl + 1)
    }

    /// The first occurrence of `needle` in `b[from..<end]`: `memchr` for its first byte, then a
    /// comparison.
    static func find(_ b: UnsafeBufferPointer<UInt8>, _ needle: [UInt8], from: Int, end: Int) -> Int? {
        guard let base = b.baseAddress, let first = needle.first else { return nil }
        let n = needle.count
        var p = from
        while end - p >= n {
            guard let raw = memchr(base + p, Int32(first), end - p - n + 1) else { return nil }
            let hit = base.distance(to: raw.assumingMemoryBound(to: UInt8.self))
            var k = 1
            while k < n, base[hit + k] == needle[k] { k += 1 }
            if k == n { return hit }
            p = hit + 1
        }
        return nil
    }
}
