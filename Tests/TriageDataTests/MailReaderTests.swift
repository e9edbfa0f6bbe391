import Foundation
import Testing
@testable import TriageData

/// Raw mail as bytes: `\n` becomes CRLF (as on the wire) unless `lf`.
private func mail(_ text: String, lf: Bool = false) -> [UInt8] {
    Array((lf ? text : text.replacingOccurrences(of: "\n", with: "\r\n")).utf8)
}

private func parse(_ bytes: [UInt8], textIsUnicode: Bool = false) throws -> ParsedMail {
    try MailParser.parse(bytes, headers: ["x-queue"], textIsUnicode: textIsUnicode)
}

@Suite("Mail: MIME, charsets, transfer encodings, mbox")
struct MailReaderTests {
    // MARK: transfer encodings

    @Test func base64IgnoresLineBreaksAndJunkAndKeepsTheWholeBytesOfATruncatedTail() {
        func decode(_ s: String) -> ([UInt8], Bool) {
            var truncated = false
            let out = Array(s.utf8).withUnsafeBufferPointer { TransferDecoding.base64($0, truncated: &truncated) }
            return (out, truncated)
        }
        #expect(decode("SGVs\r\nbG8=") == (Array("Hello".utf8), false))
        #expect(decode("SG Vs*bG8h") == (Array("Hello!".utf8), false))
        #expect(decode("SGVsbG") == (Array("Hell".utf8), false))   // 2 chars: one byte
        #expect(decode("SGVsbG8") == (Array("Hello".utf8), false))  // 3 chars: two bytes
        #expect(decode("SGVsb") == (Array("Hel".utf8), true))      // 1 char: dropped, said
        #expect(decode("") == ([], false))
    }

    @Test func quotedPrintableSoftBreaksEscapesAndInvalidSequences() {
        func decode(_ s: String) -> String {
            String(decoding: Array(s.utf8).withUnsafeBufferPointer { TransferDecoding.quotedPrintable($0) }, as: UTF8.self)
        }
        #expect(decode("caf=C3=A9 =3D ok") == "café = ok")
        #expect(decode("caf=c3=a9") == "café")
        #expect(decode("one =\r\ntwo=\nthree") == "one twothree")
        #expect(decode("soft with padding=  \r\nnext") == "soft with paddingnext")
        #expect(decode("trailing   \r\nline") == "trailing\nline")
        #expect(decode("kept=20\r\nline") == "kept \nline")
        #expect(decode("bad =ZZ and =4") == "bad =ZZ and =4")
        #expect(decode("end=") == "end")
    }

    // MARK: charsets

    @Test func everyDeclaredCharsetDecodesItsOwnBytes() throws {
        // (charset, bytes, text): the non-ASCII letters each charset is used for.
        let cases: [(String, [UInt8], String)] = [
            ("utf-8", Array("Zoë Łukasz €".utf8), "Zoë Łukasz €"),
            ("iso-8859-1", [0x63, 0x61, 0x66, 0xE9, 0x20, 0x93, 0x71, 0x94], "café \u{201C}q\u{201D}"),
            ("latin1", [0xFC], "ü"),
            ("iso-8859-2", [0xA3, 0xF3, 0x64, 0xBC], "Łódź"),
            ("iso-8859-15", [0xA4, 0x35, 0x20, 0xA6, 0xBD], "€5 Šœ"),
            ("windows-1250", [0x8A, 0x9E, 0xF5], "Šžő"),
            ("windows-1252", [0x80, 0x20, 0x96, 0x20, 0xE9], "€ – é"),
            ("cp1252", [0x85], "…"),
            ("windows-1251", [0xCF, 0xF0, 0xE8, 0xE2, 0xE5, 0xF2], "Привет"),
            ("koi8-r", [0xF0, 0xD2, 0xC9, 0xD7, 0xC5, 0xD4], "Привет"),
            ("\"UTF-8\"", Array("ü".utf8), "ü"),
            ("shift_jis", [130, 177, 130, 241, 130, 201, 130, 191, 130, 205], "こんにちは"),
            ("iso-2022-jp", [27, 36, 66, 36, 51, 36, 115, 36, 75, 36, 65, 36, 79, 27, 40, 66], "こんにちは"),
        ]
        for (charset, bytes, text) in cases {
            let head = "Subject: t\nContent-Type: text/plain; charset=\(charset)\nContent-Transfer-Encoding: 8bit\n\n"
            let parsed = try parse(mail(head) + bytes)
            #expect(parsed.body == text, "\(charset)")
            #expect(parsed.notes.isEmpty, "\(charset)")
        }
    }

    @Test func usASCIIWithEightBitBytesIsReadAsUTF8WhenValidElseWindows1252() throws {
        #expect(try parse(mail("Subject: a\n\n") + Array("naïve".utf8)).body == "naïve")
        #expect(try parse(mail("Subject: a\n\n") + [0x6E, 0x61, 0xEF, 0x76, 0x65]).body == "naïve")
    }

    @Test func anUnknownCharsetIsReadAsUTF8WithReplacementAndReported() throws {
        let parsed = try parse(mail("Subject: x\nContent-Type: text/plain; charset=x-klingon\n\n") + [0x6F, 0x6B, 0x20, 0xFF, 0x21])
        #expect(parsed.body == "ok \u{FFFD}!")
        #expect(parsed.notes == ["unknown charset \"x-klingon\": read as UTF-8, invalid bytes replaced"])
    }

    // MARK: headers

    @Test func encodedWordSubjectsFoldsAndOddCase() throws {
        let parsed = try parse(mail("""
            SUBJECT: =?UTF-8?B?Q2Fmw6k=?= =?iso-8859-1?Q?_cr=E8me?=
             br=?utf-8?q?=C3=BBl=C3=A9e?= and =?ISO-8859-2?Q?=A3=F3d=BC?= (=?utf-8*en?Q?ok?=)
            message-id:   <ABC.123@host.example>
            X-QUEUE: payments

            body
            """))
        #expect(parsed.subject == "Café crème brûlée and Łódź (ok)")
        #expect(parsed.messageID == "ABC.123@host.example")
        #expect(parsed.id == "ABC.123@host.example")
        #expect(parsed.requestedHeaders["x-queue"] == "payments")
        // A word that does not parse stays as it is; raw UTF-8 in a header is UTF-8 (RFC 6532).
        #expect(try parse(mail("Subject: =?utf-8?X?abc?= and =?broken Grüße\n\nb")).subject == "=?utf-8?X?abc?= and =?broken Grüße")
    }

    @Test func withoutAMessageIDTheIDIsAStableHashOfTheBytes() throws {
        let a = try parse(mail("Subject: one\n\nhello"))
        let b = try parse(mail("Subject: one\n\nhello"))
        let c = try parse(mail("Subject: one\n\nhello!"))
        #expect(a.messageID == nil)
        #expect(a.id.hasPrefix("mail-") && a.id.count == 21)
        #expect(a.id == b.id && a.id != c.id)
    }

    @Test func aHeaderLineOf1MBIsANamedErrorWithItsOffset() {
        let long = mail("Subject: x\nX-Junk: ") + [UInt8](repeating: UInt8(ascii: "a"), count: 1 << 20) + mail("\n\nbody")
        #expect { try parse(long) } throws: { error in
            let e = error as? MailError
            return e?.offset == 12 && e?.problem.contains("header line of 1048584 bytes") == true
        }
    }

    // MARK: MIME structure

    @Test func alternativePrefersPlainAndFallsBackToHTML() throws {
        let both = try parse(mail("""
            Subject: s
            Content-Type: multipart/alternative; boundary="b1"

            preamble
            --b1
            Content-Type: text/html; charset=utf-8

            <p>html</p>
            --b1
            Content-Type: text/plain; charset=utf-8

            plain text
            --b1--
            epilogue
            """))
        #expect(both.body == "plain text")
        #expect(!both.bodyIsHTML)
        let htmlOnly = try parse(mail("""
            Content-Type: multipart/alternative; boundary=b1

            --b1
            Content-Type: text/plain

            \u{20}\u{20}
            --b1
            Content-Type: text/html; charset=iso-8859-1
            Content-Transfer-Encoding: quoted-printable

            <p>caf=E9</p>
            --b1--
            """))
        #expect(htmlOnly.body == "<p>café</p>")
        #expect(htmlOnly.bodyIsHTML)
    }

    @Test func mixedTakesInlineTextPartsAndSkipsAttachmentsUndecoded() throws {
        // The attachment's base64 is invalid on purpose: it is never decoded.
        let parsed = try parse(mail("""
            Subject: s
            Content-Type: multipart/mixed; boundary="=_outer"

            --=_outer
            Content-Type: multipart/alternative; boundary="=_inner"

            --=_inner
            Content-Type: text/plain; charset=utf-8
            Content-Transfer-Encoding: base64

            Rmlyc3QgcGFydA==
            --=_inner
            Content-Type: multipart/related; boundary="=_rel"

            --=_rel
            Content-Type: text/html

            <b>ignored: plain wins</b>
            --=_rel
            Content-Type: image/png
            Content-Transfer-Encoding: base64

            iVBORw0KGgo=
            --=_rel--
            --=_inner--
            --=_outer
            Content-Type: application/pdf; name="a.pdf"
            Content-Disposition: attachment; filename="a.pdf"
            Content-Transfer-Encoding: base64

            !!!! not base64 !!!!
            --=_outer
            Content-Type: text/plain; charset=us-ascii
            Content-Disposition: attachment; filename="notes.txt"

            attached text, skipped
            --=_outer
            Content-Type: message/rfc822

            Subject: forwarded

            forwarded body, skipped
            --=_outer
            Content-Type: text/plain

            Second part
            --=_outer--
            """))
        #expect(parsed.body == "First part\n\nSecond part")
        #expect(parsed.notes.isEmpty)
    }

    @Test func plainAndHTMLPartsTogetherBecomeOneHTMLDocument() throws {
        let parsed = try parse(mail("""
            Content-Type: multipart/mixed; boundary=b

            --b
            Content-Type: text/plain

            a < b & c
            second line
            --b
            Content-Type: text/html

            <p>html part</p>
            --b--
            """))
        #expect(parsed.bodyIsHTML)
        #expect(parsed.body == "<div>a &lt; b &amp; c<br>\nsecond line</div>\n<p>html part</p>")
    }

    @Test func aMissingBoundaryParameterOrABoundaryNotInTheBodyIsANamedError() {
        #expect { try parse(mail("Subject: s\nContent-Type: multipart/mixed\n\n--x\n\nbody\n--x--\n")) } throws: { error in
            (error as? MailError).map { $0.problem.contains("multipart/mixed without a boundary parameter") && $0.offset == 12 } ?? false
        }
        #expect { try parse(mail("Subject: s\nContent-Type: multipart/mixed; boundary=\"right\"\n\n--wrong\n\nbody\n--wrong--\n")) } throws: { error in
            (error as? MailError)?.problem.contains("the boundary \"right\" of the Content-Type never appears in the body") ?? false
        }
    }

    @Test func aMissingClosingBoundaryLetsTheLastPartRunToTheEnd() throws {
        let parsed = try parse(mail("Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\n\ncut off here"))
        #expect(parsed.body == "cut off here")
        #expect(parsed.notes == ["a multipart body ends without its closing boundary (truncated?): the last part runs to the end"])
    }

    @Test func aBoundaryThatIsAPrefixOfALongerLineIsNotADelimiter() throws {
        let parsed = try parse(mail("Content-Type: multipart/mixed; boundary=b\n\n--b\n\none\n--bb not a delimiter\n--b--\n"))
        #expect(parsed.body == "one\n--bb not a delimiter")
    }

    @Test func deepNestingIsRefusedNotRecursedWithoutEnd() {
        var text = "Subject: deep\n"
        for k in 0 ..< 40 { text += "Content-Type: multipart/mixed; boundary=b\(k)\n\n--b\(k)\n" }
        text += "\nleaf\n"
        #expect { try parse(mail(text)) } throws: { error in (error as? MailError)?.problem.contains("nested deeper than 32") ?? false }
    }

    @Test func aHundredMegabyteAttachmentIsSkippedQuickly() throws {
        var bytes = mail("Subject: big\nContent-Type: multipart/mixed; boundary=zz\n\n--zz\nContent-Type: text/plain\n\nsee attached\n--zz\nContent-Type: application/octet-stream\nContent-Disposition: attachment\nContent-Transfer-Encoding: base64\n\n")
        let line = [UInt8](repeating: UInt8(ascii: "Q"), count: 76) + [0x0D, 0x0A]
        bytes.reserveCapacity(bytes.count + 100 << 20 + 100)
        for _ in 0 ..< (100 << 20) / line.count { bytes += line }
        bytes += mail("--zz--\n")
        let parsed = try parse(bytes)
        #expect(parsed.body == "see attached")
    }

    @Test func aTextPartBeyondTheLimitIsCutAndSaid() throws {
        var limits = MailLimits()
        limits.maxTextPartBytes = 1000
        let parsed = try MailParser.parse(mail("Subject: s\n\n") + [UInt8](repeating: UInt8(ascii: "x"), count: 5000), limits: limits)
        #expect(parsed.body.utf8.count == 1000)
        #expect(parsed.notes.first?.contains("longer than") == true)
    }

    @Test func rawTextFromJSONIsReadAsUnicodeWhateverItsUnencodedPartsDeclare() throws {
        let raw = mail("Subject: s\nContent-Type: text/plain; charset=iso-8859-1\n\n") + Array("café".utf8)
        #expect(try parse(raw).body == "cafÃ©")
        #expect(try parse(raw, textIsUnicode: true).body == "café")
        // Encoded parts are bytes, so their charset still applies.
        let encoded = mail("Subject: s\nContent-Type: text/plain; charset=iso-8859-1\nContent-Transfer-Encoding: quoted-printable\n\ncaf=E9")
        #expect(try parse(encoded, textIsUnicode: true).body == "café")
    }

    @Test func noContentTypeLFOnlyAndAHeaderlessBody() throws {
        #expect(try parse(mail("Subject: lf only\n\nline one\nline two\n", lf: true)).body == "line one\nline two")
        #expect(try parse(mail("just text, no headers at all")).body == "just text, no headers at all")
        #expect(try parse([]).body == "")
    }

    // MARK: mbox

    @Test func mboxSplitsOnFromLinesAfterEmptyLinesAndUnquotesFrom() throws {
        let text = """
            From alice@example.com Mon Jan  1 10:00:00 2024
            Subject: one
            X-Queue: a

            first
            From here on it is body: no empty line before it
            >From the quoted line
            >>From doubly quoted

            From bob@example.com Mon Jan  1 11:00:00 2024
            Subject: two
            X-Queue: b

            second

            """
        let path = try temporaryFile(text, suffix: ".mbox")
        let batch = try MessageReader.read(path: path, mail: MailOptions(labelHeader: "X-Queue"))
        #expect(batch.messages.map(\.subject) == ["one", "two"])
        #expect(batch.messages[0].body == "first\nFrom here on it is body: no empty line before it\nFrom the quoted line\n>From doubly quoted")
        #expect(batch.messages.map(\.label) == ["a", "b"])
        #expect(batch.messages.map(\.line) == [1, 2])
        #expect(batch.unit == "message")
        // Sniffed without the extension too, and read gzipped.
        let plain = try temporaryFile(text, suffix: ".txt")
        #expect(MessageReader.mailFormat(path: plain) == .mbox)
        #expect(try MessageReader.read(path: try gzip(path), mail: MailOptions(labelHeader: "X-Queue")).messages.count == 2)
    }

    @Test func aBrokenFromLineIsNamedWithItsMessageAndOffsetOrSkippedAndListed() throws {
        let text = "From a@example.com Mon Jan  1 10:00:00 2024\nSubject: one\nX-Queue: a\n\nfirst\n\nFrom what I can tell\nSubject: two\nX-Queue: b\n\nsecond\n\nFrom c@example.com Mon Jan  1 12:00:00 2024\nSubject: three\nX-Queue: c\n\nthird\n"
        let path = try temporaryFile(text, suffix: ".mbox")
        let options = MailOptions(labelHeader: "X-Queue")
        #expect { try MessageReader.read(path: path, mail: options) } throws: { error in
            let e = error as? DataSourceError
            return e?.place == "\(path): message 2 (byte 76)" && e?.problem.contains("a broken mbox From line \"From what I can tell\"") == true
        }
        let batch = try MessageReader.read(path: path, mail: options, skipInvalid: true)
        #expect(batch.messages.map(\.subject) == ["one", "three"])
        #expect(batch.messages.map(\.line) == [1, 3])
        #expect(batch.skipped.map(\.place) == ["message 2 (byte 76)"])
    }

    @Test func aBadFileInADirectoryIsNamedByItsPathOrSkipped() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("mail-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try Data(mail("Message-ID: <ok@x>\nSubject: fine\n\nbody")).write(to: URL(fileURLWithPath: dir + "/1.eml"))
        try Data(mail("Subject: broken\nContent-Type: multipart/mixed\n\n--x\n")).write(to: URL(fileURLWithPath: dir + "/2.eml"))
        try Data(mail("Message-ID: <big@x>\nSubject: big\n\n" + String(repeating: "x", count: 2000))).write(to: URL(fileURLWithPath: dir + "/3.eml"))
        var options = MailOptions()
        options.maxMessageBytes = 1000
        #expect { try MessageReader.read(path: dir, mail: options, requireLabels: false) } throws: { error in
            (error as? DataSourceError)?.description == "\(dir)/2.eml: multipart/mixed without a boundary parameter: its parts cannot be found (byte 17)"
        }
        let batch = try MessageReader.read(path: dir, mail: options, requireLabels: false, skipInvalid: true)
        #expect(batch.messages.map(\.id) == ["ok@x"])
        #expect(batch.skipped.map(\.place) == [dir + "/2.eml", dir + "/3.eml"])
        #expect(batch.skipped.map(\.line) == [2, 3])
        #expect(batch.skipped[1].reason.contains("the limit is"))
    }

    @Test func emptyFilesAndEmptyMessagesAreNamed() throws {
        for suffix in [".mbox", ".eml"] {
            #expect { try MessageReader.read(path: try temporaryFile("", suffix: suffix), requireLabels: false) } throws: { error in
                let problem = (error as? DataSourceError)?.problem ?? ""
                return problem.contains("empty")
            }
        }
        let path = try temporaryFile("From a Mon Jan  1 10:00:00 2024\n\nFrom b Mon Jan  1 10:00:00 2024\nSubject: two\n\nbody\n", suffix: ".mbox")
        #expect { try MessageReader.read(path: path, requireLabels: false) } throws: { error in
            (error as? DataSourceError)?.description == "\(path): message 1 (byte 0): an empty message"
        }
        #expect(try MessageReader.read(path: path, requireLabels: false, skipInvalid: true).messages.map(\.subject) == ["two"])
    }

    @Test func aFileThatIsNotAnMboxIsRefusedWhole() throws {
        let path = try temporaryFile("Subject: no separator\n\nbody\n", suffix: ".mbox")
        for skip in [false, true] {
            #expect { try MessageReader.read(path: path, mail: MailOptions(labelHeader: "X-Queue"), skipInvalid: skip) } throws: { error in
                (error as? DataSourceError)?.problem.contains("not an mbox") ?? false
            }
        }
    }

    @Test func badMessagesInAnMboxAreNamedOrSkippedAndDuplicatesCaught() throws {
        let text = """
            From a Mon Jan  1 10:00:00 2024
            Subject: good
            Message-ID: <1@x>
            X-Queue: a

            ok

            From b Mon Jan  1 10:00:00 2024
            Subject: no boundary
            Message-ID: <2@x>
            X-Queue: a
            Content-Type: multipart/mixed

            --x

            From c Mon Jan  1 10:00:00 2024
            Subject: no label
            Message-ID: <3@x>

            body

            From d Mon Jan  1 10:00:00 2024
            Subject: again
            Message-ID: <1@x>
            X-Queue: b

            dup

            """
        let path = try temporaryFile(text, suffix: ".mbox")
        let options = MailOptions(labelHeader: "X-Queue")
        #expect { try MessageReader.read(path: path, mail: options) } throws: { error in
            (error as? DataSourceError)?.description == "\(path): message 2 (byte 80): multipart/mixed without a boundary parameter: its parts cannot be found (byte 162)"
        }
        let batch = try MessageReader.read(path: path, mail: options, skipInvalid: true)
        #expect(batch.messages.map(\.id) == ["1@x"])
        #expect(batch.skipped.map(\.place) == ["message 2 (byte 80)", "message 3 (byte 198)", "message 4"])
        #expect(batch.skipped[1].reason == "no label: no X-Queue header; every message needs one (or use --skip-invalid)")
        #expect(batch.skipped[2].reason.contains("id \"1@x\" again (first: message 1)"))
        // Without labels required (predict, clean), the unlabelled message is read.
        let unlabelled = try MessageReader.read(path: path, requireLabels: false, skipInvalid: true)
        #expect(unlabelled.messages.map(\.id) == ["1@x", "3@x"])
    }

    @Test func labelsComeFromASidecarCSVWhichWinsOverTheHeader() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("mail-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir + "/sub", withIntermediateDirectories: true)
        try Data(mail("Message-ID: <a@x>\nSubject: A\n\none")).write(to: URL(fileURLWithPath: dir + "/b.eml"))
        try Data(mail("Message-ID: <b@x>\nSubject: B\nX-Queue: header\n\ntwo")).write(to: URL(fileURLWithPath: dir + "/sub/a.eml"))
        try Data("not mail".utf8).write(to: URL(fileURLWithPath: dir + "/README.txt"))
        let labels = try temporaryFile("id,queue\r\na@x,from-csv\r\nzzz@x,unused\r\n")
        let batch = try MessageReader.read(path: dir, mail: MailOptions(labelHeader: "X-Queue", labelsFile: labels, labelColumn: "queue"))
        #expect(batch.messages.map(\.id) == ["a@x", "b@x"])       // b.eml, then sub/a.eml: path order
        #expect(batch.messages.map(\.label) == ["from-csv", "header"])
        #expect(batch.notes.contains { $0.contains("1 file(s) not ending in .eml left out") })
        // Ids of the sidecar that match nothing are said when it is the only label source.
        let sidecarOnly = try MessageReader.read(path: dir, mail: MailOptions(labelsFile: labels, labelColumn: "queue"), requireLabels: false)
        #expect(sidecarOnly.notes.contains { $0.contains("1 id(s) match no message read (first: \"zzz@x\")") })
        // A Maildir: messages without an extension in cur/ and new/.
        try FileManager.default.createDirectory(atPath: dir + "/Maildir/cur", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: dir + "/Maildir/tmp", withIntermediateDirectories: true)
        try Data(mail("Message-ID: <c@x>\nSubject: C\nX-Queue: maildir\n\nthree")).write(to: URL(fileURLWithPath: dir + "/Maildir/cur/1733.M1P2.host:2,S"))
        try Data(mail("Message-ID: <d@x>\nSubject: D\n\nbeing delivered")).write(to: URL(fileURLWithPath: dir + "/Maildir/tmp/1734.M1P2.host"))
        let withMaildir = try MessageReader.read(path: dir, mail: MailOptions(labelHeader: "X-Queue", labelsFile: labels, labelColumn: "queue"))
        #expect(withMaildir.messages.map(\.id) == ["c@x", "a@x", "b@x"])   // byte order: "Maildir/…" < "b.eml"
        #expect(withMaildir.notes.contains { $0.contains("2 file(s) not ending in .eml left out") })
        // No label source at all is a usage error naming both options.
        #expect { try MessageReader.read(path: dir) } throws: { error in
            (error as? DataSourceError)?.problem.contains("--label-header") ?? false
        }
    }
}

/// `Fixtures/mail/`: hand-written messages and mboxes with their expected reading, written from
/// the reader's contract by someone who did not see the reader (`expected.json` says why each is
/// there).
@Suite("Mail: the hand-written fixtures")
struct MailFixtureTests {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/mail")

    static var cases: [(String, [String: Any])] {
        guard let data = try? Data(contentsOf: directory.appendingPathComponent("expected.json")),
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: [String: Any]] else { return [] }
        return object.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
    }

    static let names: [String] = cases.map(\.0)

    static func bytes(_ name: String, _ expected: [String: Any]) throws -> [UInt8] {
        if let spec = expected["spec"] as? [String: Any] {
            let before = spec["before"] as? String ?? "", after = spec["after"] as? String ?? ""
            let repeated = String(repeating: spec["repeat"] as? String ?? "x", count: spec["count"] as? Int ?? 0)
            return Array((before + repeated + after).utf8)
        }
        return Array(try Data(contentsOf: directory.appendingPathComponent(name)))
    }

    static func check(_ mail: (subject: String, id: String, body: String, label: String?), against e: [String: Any], _ what: String) {
        let body = mail.body.replacingOccurrences(of: "\r\n", with: "\n").trimmingCharacters(in: .whitespacesAndNewlines)
        if let subject = e["subject"] as? String { #expect(mail.subject == subject, "\(what): subject") }
        if let id = e["id"] as? String { #expect(mail.id == id, "\(what): id") }
        if let expected = e["body"] as? String { #expect(body == expected.trimmingCharacters(in: .whitespacesAndNewlines), "\(what): body") }
        for part in e["body_contains"] as? [String] ?? [] { #expect(body.contains(part), "\(what): body contains \(part)") }
        for part in e["body_excludes"] as? [String] ?? [] { #expect(!body.contains(part), "\(what): body excludes \(part)") }
        if let label = e["label"] as? String { #expect(mail.label == label, "\(what): label") }
    }

    @Test func theFixturesAreThere() { #expect(Self.cases.count >= 45) }

    @Test(arguments: MailFixtureTests.names)
    func fixture(_ name: String) throws {
        let e = Self.cases.first { $0.0 == name }!.1
        let input = try Self.bytes(name, e)
        let error = (e["fallback"] as? Bool) == true ? nil : e["error"] as? String
        if name.hasSuffix(".mbox") {
            let path = try temporaryFile(input, suffix: ".mbox")
            let read = { try MessageReader.read(path: path, mail: MailOptions(labelHeader: "X-Queue"), requireLabels: false) }
            if let error {
                #expect { try read() } throws: { thrown in
                    guard let d = thrown as? DataSourceError else { return false }
                    let numbered = (e["message_number"] as? Int).map { d.place.contains("message \($0) ") } ?? true
                    return d.problem.lowercased().contains(error) && numbered
                }
                return
            }
            let batch = try read()
            let messages = e["messages"] as? [[String: Any]] ?? []
            #expect(batch.messages.count == messages.count)
            for (m, expected) in zip(batch.messages, messages) {
                Self.check((m.subject, m.id, m.body, m.label), against: expected, "\(name) message \(m.line)")
            }
            return
        }
        if let error {
            #expect { try MailParser.parse(input, headers: ["x-queue"]) } throws: { thrown in
                (thrown as? MailError)?.problem.lowercased().contains(error) ?? false
            }
            return
        }
        let mail = try MailParser.parse(input, headers: ["x-queue"])
        Self.check((mail.subject, mail.id, mail.body, mail.requestedHeaders["x-queue"]), against: e, name)
        if e["fallback"] as? Bool == true, e["error"] != nil { #expect(!mail.notes.isEmpty, "\(name): the fallback is said") }
    }
}
