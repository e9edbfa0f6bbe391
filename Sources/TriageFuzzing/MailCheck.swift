import TriageData

/// The `mime` fuzz mode's check: the mail reader (`MailParser`, `MboxSplitter`) on arbitrary
/// bytes, its invariants enforced. A parse error is an answer, not a finding; a crash, a hang, a
/// sanitizer report or a broken invariant (a `fatalError` here) is.
public enum MailCheck {
    /// Small limits, so that the truncation of long text parts and the part and depth limits are
    /// reached by inputs of a few KB.
    static let small: MailLimits = {
        var limits = MailLimits()
        limits.maxTextPartBytes = 4096
        limits.maxDepth = 4
        limits.maxParts = 16
        return limits
    }()

    public static func check(_ bytes: [UInt8]) {
        message(bytes)
        mbox(bytes)
    }

    /// The input as one message (an .eml, or the `raw` of `POST /messages`).
    static func message(_ bytes: [UInt8]) {
        let first = parse(bytes)
        let second = parse(bytes)
        guard first == second else {
            fail("two parses of the same \(bytes.count) bytes differ: \(describe(first)) then \(describe(second))")
        }
        checkResult(first, count: bytes.count, base: 0, what: "the message")
        let unicode = result { () throws(MailError) in try MailParser.parse(bytes, headers: ["X-Queue", "subject"], textIsUnicode: true) }
        checkResult(unicode, count: bytes.count, base: 0, what: "the message read with textIsUnicode")
        let limited = result { () throws(MailError) in try MailParser.parse(bytes, limits: small) }
        checkResult(limited, count: bytes.count, base: 0, what: "the message read with small limits")
    }

    /// The input as an mbox: every message the splitter finds, each parsed as the reader does.
    static func mbox(_ bytes: [UInt8]) {
        bytes.withUnsafeBufferPointer { b in
            var splitter = MboxSplitter(bytes: b)
            var previousEnd = 0
            var iterations = 0
            while true {
                iterations += 1
                if iterations > b.count + 2 { fail("the mbox splitter did not end after \(iterations - 1) calls on \(b.count) bytes") }
                let next: MboxSplitter.Message?
                do throws(MboxSplitter.Broken) { next = try splitter.next() } catch {
                    if error.offset < 0 || error.offset > b.count {
                        fail("a broken From line reported at byte \(error.offset) of \(b.count)")
                    }
                    guard error.recoverable else { break }
                    continue
                }
                guard let message = next else { break }
                let range = message.range
                if range.lowerBound < 0 || range.upperBound > b.count {
                    fail("an mbox message at \(range) outside the \(b.count) bytes of the input")
                }
                if range.lowerBound < previousEnd {
                    fail("an mbox message at \(range) overlaps or precedes the previous one, which ended at \(previousEnd)")
                }
                if message.separator < previousEnd || message.separator > range.lowerBound {
                    fail("an mbox message at \(range) has its From line at \(message.separator) (the previous message ended at \(previousEnd))")
                }
                if !message.unescaped.isEmpty && message.unescaped.count > range.count {
                    fail("an mbox message of \(range.count) bytes is \(message.unescaped.count) bytes without its >From quoting")
                }
                previousEnd = range.upperBound
                let parsed: Result<ParsedMail, MailError>
                if message.unescaped.isEmpty {
                    let slice = UnsafeBufferPointer(rebasing: b[range])
                    parsed = result { () throws(MailError) in try MailParser.parse(slice, base: range.lowerBound) }
                    checkResult(parsed, count: range.count, base: range.lowerBound, what: "the mbox message at \(range)")
                } else {
                    let unescaped = message.unescaped
                    parsed = result { () throws(MailError) in try MailParser.parse(unescaped, base: range.lowerBound) }
                    checkResult(parsed, count: unescaped.count, base: range.lowerBound, what: "the mbox message at \(range) (unescaped)")
                }
            }
        }
    }

    static func parse(_ bytes: [UInt8]) -> Result<ParsedMail, MailError> {
        result { () throws(MailError) in try MailParser.parse(bytes) }
    }

    static func result(_ body: () throws(MailError) -> ParsedMail) -> Result<ParsedMail, MailError> {
        do throws(MailError) { return .success(try body()) } catch { return .failure(error) }
    }

    /// The invariants of one parse of `count` bytes that sit at `base` of the input.
    ///
    /// Growth: a byte becomes at most 3 bytes of UTF-8 (a single-byte charset's character below
    /// U+10000, or U+FFFD for an invalid byte; base64 turns 4 bytes into 3), and a plain part
    /// escaped into HTML beside an HTML part turns `&` into `&amp;` and a line break into `<br>\n`
    /// (5 bytes), with `<div>`, `</div>` and a line break (12 bytes) around a part that took at
    /// least 5 bytes of delimiter and text: the body stays within 6 bytes a byte. A header value
    /// is not escaped: 3 bytes a byte, within 4.
    static func checkResult(_ result: Result<ParsedMail, MailError>, count: Int, base: Int, what: String) {
        let mail: ParsedMail
        switch result {
        case let .failure(error):
            if error.offset < base || error.offset > base + count {
                fail("\(what) (bytes \(base)..<\(base + count)) failed at byte \(error.offset), outside it: \(error.problem)")
            }
            return
        case let .success(parsed): mail = parsed
        }
        let body = mail.body.utf8.count
        if body > 6 * count + 64 { fail("\(what): a body of \(body) bytes from \(count) bytes of input") }
        for (name, value) in [("subject", mail.subject), ("from", mail.from), ("date", mail.date)] where value.utf8.count > 4 * count + 64 {
            fail("\(what): a \(name) of \(value.utf8.count) bytes from \(count) bytes of input")
        }
        if mail.id.isEmpty { fail("\(what): an empty id") }
        if let messageID = mail.messageID {
            if messageID.isEmpty { fail("\(what): an empty Message-ID that is not nil") }
            if mail.id != messageID { fail("\(what): the id \"\(mail.id)\" is not the Message-ID \"\(messageID)\"") }
        } else {
            let hex = mail.id.utf8.dropFirst(5)
            if !mail.id.hasPrefix("mail-") || mail.id.utf8.count != 21
                || !hex.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }) {
                fail("\(what): without a Message-ID the id should be \"mail-\" and 16 hex digits, not \"\(mail.id)\"")
            }
        }
    }

    static func describe(_ result: Result<ParsedMail, MailError>) -> String {
        switch result {
        case let .success(mail): "\(mail)"
        case let .failure(error): "error \(error)"
        }
    }

    static func fail(_ message: String) -> Never {
        fatalError("mime fuzz mode: \(message)")
    }
}
