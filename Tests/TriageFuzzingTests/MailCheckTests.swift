import Testing
import TriageFuzzing

/// The `mime` fuzz target's invariants on a handful of shapes, so that `make test` runs the check
/// the fuzzer runs (the long runs are `scripts/fuzz RUNS mime`, recorded in RELIABILITY.md). A
/// case passes when nothing traps: `MailCheck.check` calls `fatalError` when an invariant breaks.
@Suite("Mail fuzz check: the MIME reader and the mbox splitter on odd input")
struct MailCheckTests {
    /// An input named in the test report (not printed byte by byte).
    struct Input: CustomTestStringConvertible, Sendable {
        var name: String
        var bytes: [UInt8]
        var testDescription: String { "\(name) (\(bytes.count) bytes)" }
        init(_ name: String, _ bytes: [UInt8]) { (self.name, self.bytes) = (name, bytes) }
        init(_ name: String, _ text: String) { self.init(name, Array(text.utf8)) }
    }

    static let valid: [Input] = [
        Input("alternative: base64 plain, quoted-printable HTML",
              "Subject: =?UTF-8?B?Q2FydGUgcmVmdXPDqWU=?=\r\nMessage-ID: <a@example.com>\r\nMIME-Version: 1.0\r\n"
                  + "Content-Type: multipart/alternative; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain; charset=utf-8\r\n"
                  + "Content-Transfer-Encoding: base64\r\n\r\nSGVsbG8sIG15IGNhcmQ=\r\n--b\r\nContent-Type: text/html; charset=iso-8859-1\r\n"
                  + "Content-Transfer-Encoding: quoted-printable\r\n\r\n<p>caf=E9 =\r\nbill</p>\r\n--b--\r\n"),
        Input("nested multipart, plain beside HTML, an attachment",
              "Content-Type: multipart/mixed; boundary=o\n\n--o\nContent-Type: multipart/alternative; boundary=i\n\n--i\n"
                  + "Content-Type: text/plain\n\n\n--i\nContent-Type: text/html\n\n<p>x</p>\n--i--\n--o\nContent-Type: text/plain\n\n"
                  + "a & b < c\nd\n--o\nContent-Type: text/plain\nContent-Disposition: attachment\n\nskip\n--o--\n"),
        Input("mbox: >From quoting, CRLF, a broken separator",
              "From a@example.com Mon Jan  1 10:00:00 2024\nSubject: one\n\nHello\n>From here\n>>From there\n\n"
                  + "From b@example.com Tue Jan  2 11:30:00 2024\r\nSubject: two\r\n\r\nSecond\r\n\r\n"
                  + "From broken\n\nSubject: three\n\nThird\n\nFrom c@example.com Wed Jan  3 12:00:00 2024\nSubject: four\n\nlast\n\n"),
        Input("windows-1252, every byte three bytes of UTF-8, beyond the small limit",
              Array("Content-Type: text/plain; charset=windows-1252\nSubject: caf\u{E9}\n\n".utf8) + Array(repeating: 0x80, count: 5000)),
    ]

    static let malformed: [Input] = [
        Input("multipart without a boundary", "Content-Type: multipart/mixed\n\nno boundary"),
        Input("a boundary not in the body", "Content-Type: multipart/mixed; boundary=x\n\nthe boundary never appears"),
        Input("truncated base64, no closing boundary",
              "Content-Type: multipart/mixed; boundary=x\n\n--x\nContent-Type: text/plain\nContent-Transfer-Encoding: base64\n\nSGVsbG8gS"),
        Input("broken encoded words", "Subject: =?utf-8?q?unterminated =?x?b?====?= =?koi8-r?Q?=F0=?=\n\n=\n"),
        Input("40 nested multiparts", String(repeating: "Content-Type: multipart/mixed; boundary=d\n\n--d\n", count: 40)),
        Input("From lines without a sender or a date", "From \n\nFrom x 1:23\n"),
        Input("empty mbox messages", "From x 10:00\n\n\n\nFrom y 10:00\n"),
        Input("folds and bare CRs in the header", "Subject\n: x\n \n\tfold\r\r\n\n"),
    ]

    static let junk: [Input] = [
        Input("empty", []),
        Input("a NUL byte", [0x00]),
        Input("\"From \"", "From "),
        Input("a line break", "\n"),
        Input("4 KB of hashed bytes", (0 ..< 4096).map { UInt8(truncatingIfNeeded: ($0 &* 2_654_435_761) >> 13) }),
        Input("1 KB of 0xFF", Array(repeating: 0xFF, count: 1000)),
    ]

    @Test(arguments: valid + malformed + junk)
    func theCheckHolds(_ input: Input) {
        MailCheck.check(input.bytes)
    }

    /// Regression: encoded words that never end (`=?a?q?x` repeated, no `?=`) made the header
    /// decoder rescan the rest of the value from each one — 39 s for this 63 KB subject in a debug
    /// build (a timeout under the fuzzer); the decoder now remembers where such a text failed.
    @Test func unterminatedEncodedWordsTakeLinearTime() {
        let subject = String(String(repeating: "=?a?q?x", count: 9000).prefix(63_000))
        let input = Array("Subject: \(subject)\nFrom: \(subject.prefix(20_000))\n\nbody\n".utf8)
        let start = ContinuousClock.now
        MailCheck.check(input)
        #expect(ContinuousClock.now - start < .seconds(5))
    }

    /// Every prefix of the valid shapes: truncated headers, boundaries, base64 groups and From lines.
    @Test func everyPrefixOfTheValidShapesHolds() {
        for input in Self.valid.prefix(3) {
            for end in 0 ... input.bytes.count { MailCheck.check(Array(input.bytes[..<end])) }
        }
    }
}
