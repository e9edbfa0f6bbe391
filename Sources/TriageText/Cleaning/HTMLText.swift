/// HTML → text for the clean step: one forward pass over the bytes, linear in their length
/// whatever the markup (unclosed tags, comments or quotes run to the end of the input; nesting
/// is counted, never recursed).
///
/// - Tags are dropped; `<script>`, `<style>`, `<title>` and `<head>` with their contents;
///   comments, `<!…>` and `<?…>` declarations.
/// - Block elements (`p`, `div`, `br`, `li`, `tr`, headings, …) end a line; other whitespace runs
///   become one space, as a browser shows them.
/// - Character references: decimal and hexadecimal ones, and the named ones of HTML 4 that mail
///   uses (`&amp;`, `&nbsp;` as a space, the Latin-1 letters, quotes and dashes); an unknown name
///   is kept as text.
/// - Quote containers mark their lines as quoted: `<blockquote>`, Gmail's `div.gmail_quote`,
///   Yahoo's `div.yahoo_quoted`, Thunderbird's `div.moz-cite-prefix`; Outlook's
///   `div#divRplyFwdMsg`, `div#appendonsend` and `hr#stopSpelling` mark everything after them.
///   Signature containers (`div.gmail_signature`, `div.moz-signature`, `div#Signature`) mark
///   their lines as signature.
enum HTMLText {
    enum Region: UInt8, Sendable { case text, quote, signature }

    struct Result {
        var bytes: [UInt8] = []
        var map = OffsetMap()
        /// The region of each output line (lines end at `\n`).
        var lineRegions: [Region] = []
    }

    /// Whether a body is HTML rather than text that happens to hold a `<`: it has one of the tags
    /// that start or structure an HTML mail.
    static func looksLikeHTML(_ bytes: [UInt8]) -> Bool {
        let markers: [[UInt8]] = ["<html", "<body", "<div", "<p>", "<p ", "<br", "<table", "<span", "<blockquote", "<!doctype", "<font", "<meta"].map { Array($0.utf8) }
        let n = bytes.count
        var k = 0
        while k < n {
            if bytes[k] == UInt8(ascii: "<") {
                for m in markers where m.count <= n - k {
                    var j = 1
                    while j < m.count && (bytes[k + j] | (bytes[k + j] &- 0x41 < 26 ? 0x20 : 0)) == m[j] { j += 1 }
                    if j == m.count { return true }
                }
            }
            k += 1
        }
        return false
    }

    private static let blockTags: Set<String> = [
        "p", "div", "br", "li", "ul", "ol", "tr", "table", "tbody", "thead", "tfoot", "h1", "h2", "h3", "h4", "h5", "h6",
        "blockquote", "hr", "dt", "dd", "dl", "section", "article", "header", "footer", "address", "pre", "center",
        "form", "fieldset", "caption", "body", "html", "title", "nav", "aside", "main", "figure", "figcaption",
    ]
    private static let voidTags: Set<String> = ["br", "hr", "img", "meta", "link", "input", "wbr", "col", "area", "base", "source", "embed", "param", "track"]
    private static let skippedTags: Set<String> = ["script", "style", "title", "head", "xml", "template", "noscript"]

    static func convert(_ src: [UInt8]) -> Result {
        var r = Result()
        let n = src.count
        var lineRegion: Region? = nil          // region of the current line's first text
        var pendingSpace: Range<Int>? = nil    // a whitespace run not yet written
        var regionStack: [(name: String, depth: Int, region: Region)] = []
        var divDepth = 0, quoteDepth = 0          // open <div>s and <blockquote>s
        var rest: Region = .text               // region of everything after an Outlook marker
        var missingEnd = Set<String>()         // skipped tags without an end tag after some offset

        func current() -> Region {
            if rest == .quote { return .quote }
            return regionStack.last?.region ?? rest
        }
        func newline(_ original: Range<Int>) {
            pendingSpace = nil
            r.bytes.append(0x0A)
            r.map.replace(original, length: 1)
            r.lineRegions.append(lineRegion ?? .text)
            lineRegion = nil
        }
        func beforeText(_ at: Int) {
            let region = current()
            if let lr = lineRegion, lr != region { newline(at ..< at) }
            if let space = pendingSpace, lineRegion != nil {
                r.bytes.append(0x20)
                r.map.replace(space, length: 1)
            }
            pendingSpace = nil
            if lineRegion == nil { lineRegion = region }
        }

        var i = 0
        while i < n {
            let b = src[i]
            if b == UInt8(ascii: "<") {
                // Comments and declarations.
                if i + 3 < n, src[i + 1] == UInt8(ascii: "!"), src[i + 2] == UInt8(ascii: "-"), src[i + 3] == UInt8(ascii: "-") {
                    i = (find([0x2D, 0x2D, 0x3E], in: src, from: i + 4).map { $0 + 3 }) ?? n
                    continue
                }
                if i + 1 < n, src[i + 1] == UInt8(ascii: "!") || src[i + 1] == UInt8(ascii: "?") {
                    i = (find([0x3E], in: src, from: i + 2).map { $0 + 1 }) ?? n
                    continue
                }
                guard let tag = parseTag(src, at: i) else {
                    beforeText(i)
                    r.bytes.append(b)
                    r.map.copy(i ..< i + 1)
                    i += 1
                    continue
                }
                let start = i
                i = tag.end
                if !tag.closing && skippedTags.contains(tag.name) && !tag.selfClosing {
                    // Skip to the matching end tag; `head` without one is not skipped (its contents
                    // are shown rather than dropping the whole mail).
                    // (Searched once per name at most when absent: no quadratic rescans.)
                    if !missingEnd.contains(tag.name), let close = findEndTag(tag.name, in: src, from: i) {
                        i = close
                    } else {
                        missingEnd.insert(tag.name)
                        if tag.name != "head" { i = n }
                    }
                    continue
                }
                if tag.closing {
                    if tag.name == "div" || tag.name == "blockquote" {
                        let d = (tag.name == "div" ? divDepth : quoteDepth) - 1
                        if tag.name == "div" { divDepth = max(0, d) } else { quoteDepth = max(0, d) }
                        if let top = regionStack.last, top.name == tag.name, d <= top.depth { regionStack.removeLast() }
                    }
                } else if !tag.selfClosing && !voidTags.contains(tag.name) {
                    if tag.name == "div" || tag.name == "blockquote" {
                        let d = tag.name == "div" ? divDepth : quoteDepth
                        if let region = containerRegion(tag, src) {
                            if tag.name == "blockquote" || region == .signature || !tag.markerOfRest {
                                regionStack.append((tag.name, d, region))
                            }
                        }
                        if tag.name == "div" { divDepth = d + 1 } else { quoteDepth = d + 1 }
                    }
                }
                if tag.markerOfRest { rest = .quote }
                if tag.name == "br" && !tag.closing {
                    newline(start ..< tag.end)
                } else if blockTags.contains(tag.name) {
                    if lineRegion != nil { newline(start ..< tag.end) } else { pendingSpace = nil }
                } else if tag.name == "td" || tag.name == "th" {
                    if lineRegion != nil { pendingSpace = start ..< tag.end }
                }
                continue
            }
            if b == UInt8(ascii: "&") {
                if let (decoded, end) = decodeReference(src, at: i) {
                    if decoded == [0x20] {
                        if lineRegion != nil { pendingSpace = (pendingSpace?.lowerBound ?? i) ..< end }
                    } else {
                        beforeText(i)
                        r.bytes += decoded
                        r.map.replace(i ..< end, length: decoded.count)
                    }
                    i = end
                    continue
                }
                beforeText(i)
                r.bytes.append(b)
                r.map.copy(i ..< i + 1)
                i += 1
                continue
            }
            if MailText.isSpace(b) {
                let s = i
                while i < n && MailText.isSpace(src[i]) { i += 1 }
                if lineRegion != nil { pendingSpace = (pendingSpace?.lowerBound ?? s) ..< i }
                continue
            }
            // A run of plain text.
            let s = i
            while i < n {
                let c = src[i]
                if c == UInt8(ascii: "<") || c == UInt8(ascii: "&") || MailText.isSpace(c) { break }
                i += 1
            }
            beforeText(s)
            r.bytes.append(contentsOf: src[s ..< i])
            r.map.copy(s ..< i)
        }
        r.lineRegions.append(lineRegion ?? .text)
        return r
    }

    // MARK: Tags

    struct Tag {
        var name: String
        var closing: Bool
        var selfClosing: Bool
        var attributes: Range<Int>
        var end: Int
        var markerOfRest = false
    }

    /// The tag at `at` (a `<`), or nil when the `<` does not start one (`a < b`, `<3`).
    static func parseTag(_ src: [UInt8], at: Int) -> Tag? {
        let n = src.count
        var k = at + 1
        var closing = false
        if k < n && src[k] == UInt8(ascii: "/") { closing = true; k += 1 }
        guard k < n, isLetter(src[k]) else { return nil }
        let nameStart = k
        while k < n, isLetter(src[k]) || (src[k] >= 0x30 && src[k] <= 0x39) || src[k] == UInt8(ascii: ":") || src[k] == UInt8(ascii: "-") { k += 1 }
        var name = Array(src[nameStart ..< k])
        for j in name.indices where name[j] &- 0x41 < 26 { name[j] |= 0x20 }
        let attributesStart = k
        // The tag ends at the first `>` outside a quoted attribute value; a quote that never
        // closes is ignored (the tag ends at the first `>` after it).
        var quote: UInt8 = 0
        var quoteStart = 0
        var end: Int?
        while k < n {
            let c = src[k]
            if quote != 0 {
                if c == quote { quote = 0 }
            } else if c == UInt8(ascii: "\"") || c == UInt8(ascii: "'") {
                quote = c
                quoteStart = k
            } else if c == UInt8(ascii: ">") {
                end = k
                break
            }
            k += 1
        }
        if end == nil, quote != 0 { end = find([0x3E], in: src, from: quoteStart) }
        let close = end ?? n
        let selfClosing = close > attributesStart && src[close - 1] == UInt8(ascii: "/")
        var tag = Tag(name: String(decoding: name, as: UTF8.self), closing: closing, selfClosing: selfClosing,
                      attributes: attributesStart ..< close, end: min(n, close + 1))
        if !closing && (tag.name == "div" || tag.name == "hr") {
            let attrs = lowered(src[tag.attributes])
            if (tag.name == "div" && (contains(attrs, "divrplyfwdmsg") || contains(attrs, "appendonsend")))
                || (tag.name == "hr" && contains(attrs, "stopspelling")) {
                tag.markerOfRest = true
            }
        }
        return tag
    }

    /// The region a `div` or `blockquote` opens, if it is a quote or signature container.
    private static func containerRegion(_ tag: Tag, _ src: [UInt8]) -> Region? {
        if tag.name == "blockquote" { return .quote }
        let attrs = lowered(src[tag.attributes])
        for marker in ["gmail_quote", "yahoo_quoted", "moz-cite-prefix"] where contains(attrs, marker) { return .quote }
        for marker in ["gmail_signature", "moz-signature", "id=\"signature\"", "id=signature"] where contains(attrs, marker) { return .signature }
        return nil
    }

    private static func isLetter(_ b: UInt8) -> Bool { (b | 0x20) &- 0x61 < 26 }

    private static func lowered(_ bytes: ArraySlice<UInt8>) -> [UInt8] {
        var out = Array(bytes.prefix(4096))
        for j in out.indices where out[j] &- 0x41 < 26 { out[j] |= 0x20 }
        return out
    }

    private static func contains(_ haystack: [UInt8], _ needle: String) -> Bool {
        Glob.find(Array(needle.utf8), in: haystack, from: 0, to: haystack.count) != nil
    }

    private static func find(_ needle: [UInt8], in src: [UInt8], from: Int) -> Int? {
        Glob.find(needle, in: src, from: min(from, src.count), to: src.count)
    }

    /// The offset just past `</name…>` at or after `from`, ASCII case-insensitive.
    private static func findEndTag(_ name: String, in src: [UInt8], from: Int) -> Int? {
        let pattern = Array("</\(name)".utf8)
        let n = src.count
        var k = from
        while k + pattern.count <= n {
            if src[k] == 0x3C && src[k + 1] == 0x2F {
                var j = 2
                while j < pattern.count && (src[k + j] | (src[k + j] &- 0x41 < 26 ? 0x20 : 0)) == pattern[j] { j += 1 }
                if j == pattern.count {
                    let after = k + j
                    if after >= n || !isLetter(src[after]) {
                        return (find([0x3E], in: src, from: after).map { $0 + 1 }) ?? n
                    }
                }
            }
            k += 1
        }
        return nil
    }

    // MARK: Character references

    /// The UTF-8 bytes a character reference at `at` (a `&`) stands for, and the offset after it.
    static func decodeReference(_ src: [UInt8], at: Int) -> ([UInt8], Int)? {
        let n = src.count
        var k = at + 1
        guard k < n else { return nil }
        if src[k] == UInt8(ascii: "#") {
            k += 1
            var hex = false
            if k < n && (src[k] | 0x20) == UInt8(ascii: "x") { hex = true; k += 1 }
            let digitsStart = k
            var value: UInt32 = 0
            while k < n, k - digitsStart < 8 {
                let c = src[k]
                let d: UInt32
                if c >= 0x30 && c <= 0x39 { d = UInt32(c - 0x30) }
                else if hex && (c | 0x20) >= 0x61 && (c | 0x20) <= 0x66 { d = UInt32((c | 0x20) - 0x61 + 10) }
                else { break }
                value = value * (hex ? 16 : 10) + d
                k += 1
            }
            guard k > digitsStart else { return nil }
            if k < n && src[k] == UInt8(ascii: ";") { k += 1 }
            let scalar = value == 0xA0 ? Unicode.Scalar(0x20) : (value == 0 ? nil : Unicode.Scalar(value))
            return (Array(String(Character(scalar ?? "\u{FFFD}")).utf8), k)
        }
        let nameStart = k
        while k < n, k - nameStart < 10, isLetter(src[k]) || (src[k] >= 0x30 && src[k] <= 0x39) { k += 1 }
        guard k > nameStart, k < n, src[k] == UInt8(ascii: ";") else { return nil }
        let name = String(decoding: src[nameStart ..< k], as: UTF8.self)
        guard let value = namedReferences[name] else { return nil }
        return (Array(value.utf8), k + 1)
    }

    /// Named references: HTML 4's Latin-1 set (U+00A0–U+00FF, in code point order) and the
    /// quotes, dashes and symbols mail clients write. Source: the HTML 4.01 entity sets
    /// (w3.org/TR/html4/sgml/entities.html).
    static let namedReferences: [String: String] = {
        let latin1 = ["nbsp", "iexcl", "cent", "pound", "curren", "yen", "brvbar", "sect", "uml", "copy", "ordf", "laquo", "not", "shy",
                      "reg", "macr", "deg", "plusmn", "sup2", "sup3", "acute", "micro", "para", "middot", "cedil", "sup1", "ordm", "raquo",
                      "frac14", "frac12", "frac34", "iquest", "Agrave", "Aacute", "Acirc", "Atilde", "Auml", "Aring", "AElig", "Ccedil",
                      "Egrave", "Eacute", "Ecirc", "Euml", "Igrave", "Iacute", "Icirc", "Iuml", "ETH", "Ntilde", "Ograve", "Oacute", "Ocirc",
                      "Otilde", "Ouml", "times", "Oslash", "Ugrave", "Uacute", "Ucirc", "Uuml", "Yacute", "THORN", "szlig", "agrave",
                      "aacute", "acirc", "atilde", "auml", "aring", "aelig", "ccedil", "egrave", "eacute", "ecirc", "euml", "igrave",
                      "iacute", "icirc", "iuml", "eth", "ntilde", "ograve", "oacute", "ocirc", "otilde", "ouml", "divide", "oslash",
                      "ugrave", "uacute", "ucirc", "uuml", "yacute", "thorn", "yuml"]
        var table: [String: String] = [:]
        for (k, name) in latin1.enumerated() {
            if let s = Unicode.Scalar(UInt32(0xA0 + k)) { table[name] = String(Character(s)) }
        }
        table["nbsp"] = " "
        table["shy"] = ""
        let more: [String: UInt32] = [
            "amp": 0x26, "lt": 0x3C, "gt": 0x3E, "quot": 0x22, "apos": 0x27, "ndash": 0x2013, "mdash": 0x2014,
            "lsquo": 0x2018, "rsquo": 0x2019, "sbquo": 0x201A, "ldquo": 0x201C, "rdquo": 0x201D, "bdquo": 0x201E,
            "hellip": 0x2026, "bull": 0x2022, "euro": 0x20AC, "trade": 0x2122, "zwnj": 0x200C, "zwj": 0x200D,
            "ensp": 0x20, "emsp": 0x20, "thinsp": 0x20, "OElig": 0x152, "oelig": 0x153, "Scaron": 0x160, "scaron": 0x161,
            "Yuml": 0x178, "dagger": 0x2020, "larr": 0x2190, "rarr": 0x2192,
        ]
        for (name, value) in more {
            if let s = Unicode.Scalar(value) { table[name] = String(Character(s)) }
        }
        return table
    }()
}
