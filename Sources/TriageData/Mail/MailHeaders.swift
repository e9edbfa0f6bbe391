/// The header section of a message or a MIME part (RFC 5322 §2.2): fields as byte ranges of the
/// message, unfolded and decoded only when asked for.
struct MailHeaders {
    struct Field {
        /// The name, lower-cased.
        var name: String
        /// The raw value: from after the colon to the end of the field's last line (folds included).
        var value: Range<Int>
        /// Where the field starts, for error messages.
        var offset: Int
    }

    var fields: [Field] = []
    /// Where the body starts (after the blank line), or the end of the input.
    var bodyStart: Int

    /// The longest physical header line accepted; a longer one is an error (RFC 5322 §2.1.1 allows
    /// 998 characters; real mail stays far below this).
    static let maxLineBytes = 64 << 10
    /// The largest header section accepted.
    static let maxSectionBytes = 1 << 20

    /// Reads the header section of `bytes[range]`. A line that is neither a field nor a fold ends the
    /// section there and starts the body (as Python's email package and most readers do). A leading
    /// mbox `From ` line (an .eml saved from an mbox) is skipped.
    static func parse(_ bytes: UnsafeBufferPointer<UInt8>, _ range: Range<Int>, base: Int) throws(MailError) -> MailHeaders {
        var headers = MailHeaders(bodyStart: range.upperBound)
        var p = range.lowerBound
        let end = range.upperBound
        var first = true
        while p < end {
            let (lineEnd, next) = MailScan.line(bytes, from: p, end: end)
            if lineEnd - p > maxLineBytes {
                throw MailError("a header line of \(lineEnd - p) bytes; the limit is \(maxLineBytes / 1024) KiB (is this mail?)", at: base + p)
            }
            if p - range.lowerBound > maxSectionBytes {
                throw MailError("a header section longer than \(maxSectionBytes >> 20) MiB", at: base + p)
            }
            if lineEnd == p {
                headers.bodyStart = next
                return headers
            }
            let c = bytes[p]
            if c == 0x20 || c == 0x09 {
                // A fold: the previous field goes on. Folds before any field are ignored.
                if !headers.fields.isEmpty { headers.fields[headers.fields.count - 1].value = headers.fields[headers.fields.count - 1].value.lowerBound ..< lineEnd }
                p = next
                first = false
                continue
            }
            if first && lineEnd - p >= 5 && bytes[p] == UInt8(ascii: "F") && bytes[p + 1] == UInt8(ascii: "r") && bytes[p + 2] == UInt8(ascii: "o")
                && bytes[p + 3] == UInt8(ascii: "m") && bytes[p + 4] == 0x20 {
                first = false
                p = next
                continue
            }
            first = false
            var colon = p
            while colon < lineEnd, bytes[colon] != UInt8(ascii: ":"), bytes[colon] > 0x20, bytes[colon] < 0x7F { colon += 1 }
            // Tolerate spaces between the name and the colon ("Subject : …", RFC 822's obsolete syntax).
            var afterName = colon
            while afterName < lineEnd, bytes[afterName] == 0x20 || bytes[afterName] == 0x09 { afterName += 1 }
            guard colon > p, afterName < lineEnd, bytes[afterName] == UInt8(ascii: ":") else {
                headers.bodyStart = p
                return headers
            }
            let name = String(unsafeUninitializedCapacity: colon - p) { out in
                for k in p ..< colon { out[k - p] = bytes[k] | (bytes[k] >= 0x41 && bytes[k] <= 0x5A ? 0x20 : 0) }
                return colon - p
            }
            headers.fields.append(Field(name: name, value: afterName + 1 ..< lineEnd, offset: base + p))
            p = next
        }
        headers.bodyStart = end
        return headers
    }

    func first(_ name: String) -> Field? { fields.first { $0.name == name } }

    /// The unfolded value of a field (line breaks inside it removed), trimmed, as bytes.
    static func unfolded(_ bytes: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(range.count)
        for k in range where bytes[k] != 0x0D && bytes[k] != 0x0A { out.append(bytes[k]) }
        var lo = 0
        var hi = out.count
        while lo < hi, out[lo] == 0x20 || out[lo] == 0x09 { lo += 1 }
        while hi > lo, out[hi - 1] == 0x20 || out[hi - 1] == 0x09 { hi -= 1 }
        return Array(out[lo ..< hi])
    }
}

/// A `Content-Type` or `Content-Disposition` value: the token before the first `;` (lower-cased)
/// and its parameters (names lower-cased, quoted strings unquoted; RFC 2045 §5.1).
struct MIMEValue {
    var token: String
    var parameters: [String: String] = [:]

    init(_ value: [UInt8]) {
        var i = 0
        let n = value.count
        func skipSpace() {
            while i < n {
                if value[i] == 0x20 || value[i] == 0x09 { i += 1; continue }
                // A comment (RFC 5322 §3.2.2), not nested here.
                if value[i] == UInt8(ascii: "(") {
                    while i < n, value[i] != UInt8(ascii: ")") { i += 1 }
                    if i < n { i += 1 }
                    continue
                }
                break
            }
        }
        skipSpace()
        let start = i
        while i < n, value[i] != UInt8(ascii: ";"), value[i] != 0x20, value[i] != 0x09, value[i] != UInt8(ascii: "(") { i += 1 }
        token = String(decoding: value[start ..< i], as: UTF8.self).lowercased()
        while i < n {
            while i < n, value[i] != UInt8(ascii: ";") { i += 1 }
            guard i < n else { break }
            i += 1
            skipSpace()
            let nameStart = i
            while i < n, value[i] != UInt8(ascii: "="), value[i] != UInt8(ascii: ";"), value[i] > 0x20 { i += 1 }
            let name = String(decoding: value[nameStart ..< i], as: UTF8.self).lowercased()
            skipSpace()
            guard i < n, value[i] == UInt8(ascii: "=") else { continue }
            i += 1
            skipSpace()
            var v = [UInt8]()
            if i < n, value[i] == UInt8(ascii: "\"") {
                i += 1
                while i < n, value[i] != UInt8(ascii: "\"") {
                    if value[i] == UInt8(ascii: "\\"), i + 1 < n { i += 1 }
                    v.append(value[i])
                    i += 1
                }
                if i < n { i += 1 }
            } else {
                while i < n, value[i] != UInt8(ascii: ";"), value[i] != 0x20, value[i] != 0x09 { v.append(value[i]); i += 1 }
            }
            if !name.isEmpty, parameters[name] == nil { parameters[name] = String(decoding: v, as: UTF8.self) }
        }
    }
}

/// RFC 2047 encoded words (`=?charset?B|Q?text?=`) in header text.
enum EncodedWords {
    /// The text of a header value: encoded words decoded (the white space between two adjacent ones
    /// dropped, RFC 2047 §6.2), other bytes read as UTF-8 when valid (RFC 6532) and windows-1252
    /// otherwise. An encoded word that does not parse stays as it is. `unknownCharsets` collects
    /// charsets decoded as UTF-8 for want of a table.
    static func decode(_ value: [UInt8], unknownCharsets: inout [String]) -> String {
        var out = ""
        var i = 0
        let n = value.count
        var pendingSpace: Range<Int>?
        var literalStart = 0
        var lastWasEncoded = false
        // Where the text of the last encoded word that did not parse ran into a space or the end
        // without a `?=`: a later word's text that starts at or before it fails there too, and is
        // not scanned again (else `=?a?q?x` repeated takes time quadratic in the value's length).
        var failedThrough = -1
        func flushLiteral(_ upTo: Int) {
            if literalStart < upTo { out += plain(Array(value[literalStart ..< upTo])) }
        }
        while i < n {
            if value[i] == UInt8(ascii: "="), i + 1 < n, value[i + 1] == UInt8(ascii: "?"), let (text, end, unknown) = word(value, at: i, failedThrough: &failedThrough) {
                let literalEnd = pendingSpace.map { lastWasEncoded ? $0.lowerBound : $0.upperBound } ?? i
                flushLiteral(literalEnd)
                if let unknown, !unknownCharsets.contains(unknown) { unknownCharsets.append(unknown) }
                out += text
                i = end
                literalStart = end
                pendingSpace = nil
                lastWasEncoded = true
                continue
            }
            if value[i] == 0x20 || value[i] == 0x09 {
                let s = i
                while i < n, value[i] == 0x20 || value[i] == 0x09 { i += 1 }
                pendingSpace = s ..< i
                continue
            }
            pendingSpace = nil
            lastWasEncoded = false
            i += 1
        }
        flushLiteral(n)
        return out
    }

    static func plain(_ bytes: [UInt8]) -> String {
        bytes.withUnsafeBufferPointer { b in
            String(validating: b, as: UTF8.self) ?? MailCharset.named("windows-1252").decode(b)
        }
    }

    /// One encoded word at `i`: its text, where it ends, and its charset when unknown. A text that
    /// starts at or before `failedThrough` cannot end in `?=` (see `decode`); when this word's text
    /// does not, `failedThrough` becomes where it stopped.
    static func word(_ v: [UInt8], at i: Int, failedThrough: inout Int) -> (String, Int, String?)? {
        let n = v.count
        var p = i + 2
        let charsetStart = p
        while p < n, v[p] != UInt8(ascii: "?"), v[p] > 0x20 { p += 1 }
        guard p < n, v[p] == UInt8(ascii: "?"), p > charsetStart else { return nil }
        var charset = String(decoding: v[charsetStart ..< p], as: UTF8.self)
        if let star = charset.firstIndex(of: "*") { charset = String(charset[..<star]) }  // RFC 2231 language
        p += 1
        guard p + 1 < n, v[p + 1] == UInt8(ascii: "?") else { return nil }
        let encoding = v[p] | 0x20
        guard encoding == UInt8(ascii: "b") || encoding == UInt8(ascii: "q") else { return nil }
        p += 2
        let textStart = p
        guard textStart > failedThrough else { return nil }
        while p + 1 < n, !(v[p] == UInt8(ascii: "?") && v[p + 1] == UInt8(ascii: "=")) {
            if v[p] == 0x20 || v[p] == 0x09 {
                failedThrough = p
                return nil
            }
            p += 1
        }
        guard p + 1 < n else {
            failedThrough = n
            return nil
        }
        let bytes: [UInt8] = v.withUnsafeBufferPointer { b in
            let text = UnsafeBufferPointer(rebasing: b[textStart ..< p])
            if encoding == UInt8(ascii: "b") {
                var truncated = false
                return TransferDecoding.base64(text, truncated: &truncated)
            }
            return TransferDecoding.quotedPrintable(text, header: true)
        }
        let cs = MailCharset.named(charset)
        return (cs.decode(bytes), p + 2, cs.isKnown ? nil : charset)
    }
}
