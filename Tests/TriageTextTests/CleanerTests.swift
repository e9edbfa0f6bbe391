import Foundation
import Testing
@testable import TriageText

/// The clean step: HTML to text, quoted replies, signatures, disclaimers; its offset map; the
/// patterns files; bad input.
@Suite struct CleanerTests {
    static let cleaner: Cleaner = {
        // The repository's stopwords/mail/ files; a failure here fails every test below.
        (try? CleanSettings().prepare(directories: [TestPaths.stopwords])) ?? Cleaner(settings: CleanSettings(), patterns: MailPatterns())
    }()

    static func normalized(_ text: String) -> String {
        text.split(whereSeparator: { $0.isWhitespace }).joined(separator: " ")
    }

    // MARK: Hand-checked fixtures

    struct Case {
        var name: String
        var client: String
        var language: String
        var parts: [String]
        var subject: String
        var body: String
        var expected: String
    }

    /// Reads `Fixtures/mail-clean.txt` (its header comment gives the format).
    static func cases() throws -> [Case] {
        let text = String(decoding: try TestPaths.fixture("mail-clean.txt"), as: UTF8.self)
        var cases: [Case] = []
        var current: Case?
        var section: String?
        var buffer: [Substring] = []
        func flush() {
            guard var c = current, let s = section else { return }
            var lines = buffer
            while let last = lines.last, last.trimmingCharacters(in: .whitespaces).isEmpty { lines.removeLast() }
            let value = lines.joined(separator: "\n")
            switch s {
            case "subject": c.subject = value
            case "body": c.body = value
            case "expected": c.expected = value
            default: break
            }
            current = c
            buffer = []
        }
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("=== case: ") {
                flush()
                if let c = current { cases.append(c) }
                current = Case(name: String(line.dropFirst(10)), client: "", language: "", parts: [], subject: "", body: "", expected: "")
                section = nil
            } else if line.hasPrefix("--- ") {
                flush()
                section = String(line.dropFirst(4)).trimmingCharacters(in: .whitespaces)
            } else if section != nil {
                buffer.append(line)
            } else if current != nil {
                if line.hasPrefix("client:") { current?.client = line.dropFirst(7).trimmingCharacters(in: .whitespaces) }
                if line.hasPrefix("language:") { current?.language = line.dropFirst(9).trimmingCharacters(in: .whitespaces) }
                if line.hasPrefix("parts:") { current?.parts = line.dropFirst(6).split(separator: " ").map(String.init) }
            }
        }
        flush()
        if let c = current { cases.append(c) }
        return cases
    }

    @Test func everyHandCheckedMessageCleansToItsExpectedText() throws {
        let cases = try Self.cases()
        #expect(cases.count >= 60)
        var failures: [String] = []
        for c in cases {
            let got = Self.normalized(Self.cleaner.clean(body: c.body).text)
            let want = Self.normalized(c.expected)
            if got != want { failures.append("\(c.name):\n  want: \(want)\n  got:  \(got)") }
        }
        #expect(failures.isEmpty, "\(failures.count) of \(cases.count) fixtures differ:\n\(failures.joined(separator: "\n"))")
    }

    @Test func theFixturesCoverEveryClientLanguageAndPart() throws {
        let cases = try Self.cases()
        for client in ["gmail", "outlook", "outlook-web", "apple-mail", "thunderbird", "mobile", "plain"] {
            #expect(cases.filter { $0.client == client }.count >= 3, "client \(client)")
        }
        for language in ["english", "german", "french", "spanish", "italian", "dutch", "portuguese", "swedish", "danish", "norwegian", "finnish"] {
            #expect(cases.contains { $0.language == language }, "language \(language)")
        }
        for part in ["html", "quote", "signature", "disclaimer", "mobile", "none"] {
            #expect(cases.contains { $0.parts.contains(part) }, "part \(part)")
        }
    }

    // MARK: Parts

    @Test func quotedLinesReplyHeadersAndHeaderBlocksAreCut() {
        let gmail = "Where is my card?\n\nOn Mon, 3 Jun 2024 at 14:02, Support <help@bank.example>\nwrote:\n> It was sent.\n"
        #expect(Self.cleaner.clean(body: gmail).text == "Where is my card?")
        let outlook = "Bitte um Rückruf.\n\n________________________________\nVon: Service <s@x.example>\nGesendet: Montag, 3. Juni 2024 14:02\nAn: Kim\nBetreff: Karte\n\nIhre Karte ist unterwegs."
        let cleaned = Self.cleaner.clean(body: outlook)
        #expect(cleaned.text == "Bitte um Rückruf.")
        #expect(cleaned.removed.map(\.kind) == [.quote])
        #expect(cleaned.removed.first?.text.hasPrefix("____") == true)
        let inline = "I paid > 5 euros twice.\n> quoted line\nStill waiting."
        #expect(Self.cleaner.clean(body: inline).text == "I paid > 5 euros twice.\nStill waiting.")
    }

    @Test func everythingFromAReplyHeaderOnGoesUnprefixedLinesIncluded() {
        // Clients that re-wrap quoted lines leave remainders without `>`: they go with the quote.
        // (Bottom-posted replies lose the text below the quote too: measured on 20newsgroups,
        // keeping it cost more than it saved — BENCHMARKS.md, Cleaning e-mail.)
        let top = "It never arrived.\n\nOn Mon, 3 Jun 2024 at 14:02, Bank <help@bank.example> wrote:\n> Your card was sent.\nwrapped remainder of a quoted line"
        #expect(Self.cleaner.clean(body: top).text == "It never arrived.")
    }

    @Test func proseThatLooksLikeHeadersIsKept() {
        for body in ["From: my account to my wife's account, the transfer failed twice.",
                     "My colleague wrote: the card is blocked.",
                     "I read the original message again and still do not understand the fee.",
                     "Kind regards to your team, but my card still does not work.\nCan you help?",
                     "a<b and c>d, I <3 your app"] {
            let cleaned = Self.cleaner.clean(body: body)
            #expect(cleaned.text == body, "\(body)")
            #expect(cleaned.removed.isEmpty)
        }
    }

    @Test func signaturesSignOffsAndMobileFootersAreCut() {
        let body = "Hello,\nmy transfer is stuck.\n\nMit freundlichen Grüßen\nKim Beispiel\nTel. +49 30 123456\n\nVon meinem iPhone gesendet"
        let cleaned = Self.cleaner.clean(body: body)
        #expect(cleaned.text == "Hello,\nmy transfer is stuck.")
        #expect(Set(cleaned.removed.map(\.kind)) == [.signature])
        #expect(Self.cleaner.clean(body: "The app crashes.\n-- \nAnna\nhttps://example.com").text == "The app crashes.")
        // A sign-off followed by a question is not a signature.
        #expect(Self.cleaner.clean(body: "Hi\nThanks\nwhere is my card?").text == "Hi\nThanks\nwhere is my card?")
    }

    @Test func disclaimersAreCutFromTheLineTheyStart() {
        let body = "Please refund the double charge.\nJohn\nCONFIDENTIALITY NOTICE: this e-mail is for the addressee only.\nIf you are not the intended recipient, delete it.\n\nThanks"
        let cleaned = Self.cleaner.clean(body: body)
        #expect(cleaned.text == "Please refund the double charge.\nJohn")
        #expect(cleaned.removed.map(\.kind).contains(.disclaimer))
    }

    @Test func htmlBecomesTextAndItsQuoteContainersAreCut() {
        let html = """
            <html><head><style>p {color: red}</style><title>x</title></head><body>
            <div dir="ltr">Hi,<br><br>my card &amp; PIN don&#39;t work&nbsp;abroad.<script>alert(1)</script></div>
            <div class="gmail_quote"><div class="gmail_attr">On Mon wrote:</div><blockquote>old <b>text</b></blockquote></div>
            </body></html>
            """
        let cleaned = Self.cleaner.clean(body: html)
        #expect(cleaned.wasHTML)
        #expect(cleaned.text == "Hi,\n\nmy card & PIN don't work abroad.")
        #expect(cleaned.markupBytes > 0)
        let outlook = "<p class=MsoNormal>Card blocked<o:p></o:p></p><div id=\"appendonsend\"></div><hr><div id=\"divRplyFwdMsg\"><b>From:</b> Bank</div><div>Old text</div>"
        #expect(Self.cleaner.clean(body: outlook).text == "Card blocked")
    }

    @Test func theSubjectLosesItsReplyPrefixes() {
        #expect(Self.cleaner.cleanSubject("Re: AW: Fwd[2]: My card") == "My card")
        #expect(Self.cleaner.cleanSubject("SV: VS: Kort") == "Kort")
        #expect(Self.cleaner.cleanSubject("Regarding my card") == "Regarding my card")
        #expect(Self.cleaner.cleanSubject("Re:") == "Re:")
    }

    @Test func eachPartCanBeTurnedOff() throws {
        let body = "Card lost.\n\nBest regards\nAnna\n\nOn Mon, 3 Jun 2024, Bank <b@x.example> wrote:\n> ok"
        let keepQuotes = try CleanSettings(quotes: false).prepare(directories: [TestPaths.stopwords])
        #expect(keepQuotes.clean(body: body).text.contains("> ok") == false) // the sign-off still ends the message
        let keepAll = try CleanSettings(quotes: false, signature: false).prepare(directories: [TestPaths.stopwords])
        #expect(keepAll.clean(body: body).text == body)
        let noHTML = try CleanSettings(html: false).prepare(directories: [TestPaths.stopwords])
        #expect(noHTML.clean(body: "<p>x</p>").text == "<p>x</p>")
    }

    @Test func theOneLineShortcutAgreesWithTheFullPasses() {
        for line in ["> quoted", "Sent from my iPhone", "-- ", "--", "Thanks", "Best regards, Anna", "_______________",
                     "On Mon, 3 Jun 2024 at 14:02, A <a@b.example> wrote:", "CONFIDENTIALITY NOTICE: this e-mail is for you",
                     "Von: Kundenservice", "-----Original Message-----", "my card is lost", "", "Re: card"] {
            #expect(Self.cleaner.cleanedText(line) == Self.cleaner.clean(body: line).text, "\(line)")
        }
    }

    @Test func aMessageThatIsAllQuoteIsKeptWhole() {
        let body = "> Your card was sent on Monday.\n> Regards"
        let cleaned = Self.cleaner.clean(body: body)
        #expect(cleaned.fellBack)
        #expect(cleaned.text == body)
    }

    // MARK: Offsets

    @Test func everyKeptCharacterMapsBackToTheSameCharacterOfTheOriginal() {
        let body = "Hi there,\r\nmy card 💳 is blocked.\r\n\r\nBest regards\r\nAnna\r\n> old"
        let cleaned = Self.cleaner.clean(body: body)
        #expect(cleaned.text == "Hi there,\nmy card 💳 is blocked.")
        let original = Array(body.utf8), kept = Array(cleaned.text.utf8)
        for piece in cleaned.map.pieces where piece.copied {
            #expect(Array(original[piece.original]) == Array(kept[piece.output ..< piece.output + piece.length]))
        }
        // UTF-16 offsets of "blocked" in the original.
        let word = cleaned.text.utf8.count - "blocked.".utf8.count
        let range = cleaned.originalUTF16Range(of: word ..< word + 7, in: body)
        let utf16 = Array(body.utf16)
        #expect(String(decoding: utf16[range], as: UTF16.self) == "blocked")
    }

    @Test func htmlTextMapsBackToItsSourceCharacters() {
        let html = "<div>Caf&eacute; <b>card</b> declined</div><blockquote>x</blockquote>"
        let cleaned = Self.cleaner.clean(body: html)
        #expect(cleaned.text == "Café card declined")
        let start = cleaned.text.utf8.count - "declined".utf8.count
        let original = cleaned.map.original(of: start ..< start + 8)
        #expect(String(decoding: Array(html.utf8)[original], as: UTF8.self) == "declined")
        let entity = cleaned.map.original(of: 3 ..< 5) // "é"
        #expect(String(decoding: Array(html.utf8)[entity], as: UTF8.self) == "&eacute;")
    }

    // MARK: Bad input

    @Test func pathologicalInputIsCleanedWithoutCrashingOrBlowingUp() {
        let inputs = [
            String(repeating: "<div>", count: 200_000) + "text",
            String(repeating: "<blockquote>", count: 100_000),
            "<div class=\"gmail_quote" + String(repeating: "a", count: 100_000),
            "<p>" + String(repeating: "<a href='", count: 50_000),
            String(repeating: "<head>", count: 100_000) + "x",
            String(repeating: "<script>", count: 100_000),
            String(repeating: "&#x", count: 100_000) + "&#99999999999;&#0;&#xD800;",
            String(repeating: "<!--", count: 100_000),
            String(repeating: "> \n", count: 100_000),
            String(repeating: "On 1 wrote:\n", count: 50_000),
            String(repeating: "x", count: 10_000_000),
            String(decoding: (0 ..< 1_000_000).map { UInt8(truncatingIfNeeded: $0 &* 2_654_435_761 >> 13) }, as: UTF8.self),
        ]
        for input in inputs {
            let cleaned = Self.cleaner.clean(body: input)
            #expect(cleaned.text.utf8.count <= input.utf8.count * 2 + 16)
            _ = Self.cleaner.cleanSubject(String(input.prefix(1000)))
        }
    }

    // MARK: Pattern files

    @Test func everyShippedLanguageHasAPatternsFileThatParses() throws {
        let languages = MailPatterns.available(in: [TestPaths.stopwords])
        #expect(languages == ["danish", "dutch", "english", "finnish", "french", "german", "italian", "norwegian", "portuguese", "spanish", "swedish"])
        for language in languages {
            let p = try MailPatterns.load(languages: [language], extra: nil, directories: [TestPaths.stopwords])
            #expect(!p.reply.isEmpty && !p.headerFrom.isEmpty && !p.signoff.isEmpty && !p.mobile.isEmpty && !p.disclaimer.isEmpty, "\(language)")
        }
    }

    @Test func badPatternFilesNameTheLineAndTheFix() {
        func error(_ text: String) -> String {
            do { _ = try MailPatterns.parse(text, path: "mine.txt"); return "" } catch { return error.description }
        }
        #expect(error("best regards") == "mail patterns file mine.txt, line 1: a pattern before the first [section] line")
        #expect(error("[signoffs]\nx").contains("line 1: unknown section [signoffs]"))
        #expect(error("# c\n[signoff]\nbest *").contains("line 3: [signoff] patterns are plain text"))
        #expect(error("[reply]\n * ").contains("some text besides `*`"))
        do {
            _ = try MailPatterns.load(languages: ["klingon"], extra: nil, directories: [TestPaths.stopwords])
            Issue.record("klingon loaded")
        } catch {
            #expect(error.description.contains("unknown clean.languages entry \"klingon\""))
            #expect(error.description.contains("available: danish, dutch"))
        }
    }

    @Test func patternsAreFoldedAndTheirHashIsStable() throws {
        let q = try MailPatterns.parse("[signoff]\n  Best   Regards \n[mobile]\nSENT from my *\n", path: "x")
        #expect(q.signoff == ["best regards"] && q.mobile == ["sent from my *"])
        #expect(q.sha256 == (try MailPatterns.parse("[mobile]\nsent from my *\n[signoff]\nbest regards", path: "y")).sha256)
    }
}
