import Testing
@testable import TriageCore

@Suite("Strict JSON")
struct JSONTests {
    func syntaxError(_ text: String, limits: JSONLimits = .default) -> JSONSyntaxError? {
        do {
            _ = try JSONParser.parse(text, limits: limits)
            return nil
        } catch {
            return error
        }
    }

    @Test func parsesEveryKindAndKeepsNumberLiterals() throws {
        let v = try JSONParser.parse(#" {"a": [1, 1.0, -2.5e-3, true, false, null, "x\n\u00e9\ud83d\ude00"], "b": {}} "#)
        let a = try #require(v.objectValue?["a"]?.arrayValue)
        #expect(a[0].numberValue?.literal == "1")
        #expect(a[0].numberValue?.isInteger == true)
        #expect(a[1].numberValue?.literal == "1.0")
        #expect(a[1].numberValue?.isInteger == false)
        #expect(a[2].numberValue?.doubleValue == -0.0025)
        #expect(a[3] == .bool(true) && a[4] == .bool(false) && a[5] == .null)
        #expect(a[6].stringValue == "x\né😀")
        #expect(v.objectValue?["b"] == .object(JSONObject()))
    }

    @Test func refusesDuplicateKeysWithTheirPath() {
        let e = syntaxError(#"{"payload": {"trees": [{"feature": 1, "feature": 2}]}}"#)
        #expect(e?.kind == .duplicateKey("feature"))
        #expect(e?.path == "$.payload.trees[0]")
        #expect(e?.line == 1)
    }

    /// Strings take a fast path (no escape: ASCII, or validated UTF-8) or the general one;
    /// duplicate keys a scan (small objects) or a set (from 16 keys on). Same answers on each.
    @Test func stringsAndDuplicateKeysOnEveryPath() throws {
        let v = try JSONParser.parse(#"["plain", "caf\u00e9", "café", "tab\tescaped", "", "é\n", "\u0041"]"#)
        #expect(v.arrayValue?.compactMap(\.stringValue) == ["plain", "café", "café", "tab\tescaped", "", "é\n", "A"])
        #expect(syntaxError(#"["abc"#)?.kind == .unexpectedEnd)
        #expect(syntaxError("[\"é\u{01}\"]") != nil, "a control character after a non-ASCII one")
        let bad: [UInt8] = Array("{\"k\": \"x".utf8) + [0xFF] + Array("y\"}".utf8)
        do { _ = try JSONParser.parse(bad); Issue.record("accepted invalid UTF-8") } catch {
            #expect(error.kind == .invalidUTF8 && error.path == "$.k")
        }
        for keys in [3, 15, 16, 17, 40] {
            let members = (0 ..< keys).map { "\"k\($0)\": \($0)" }
            let object = try JSONParser.parse("{" + members.joined(separator: ", ") + "}")
            #expect(object.objectValue?.count == keys)
            for repeated in [0, keys - 1] {
                let e = syntaxError("{" + (members + ["\"k\(repeated)\": 0"]).joined(separator: ", ") + "}")
                #expect(e?.kind == .duplicateKey("k\(repeated)"), "\(keys) keys, k\(repeated) repeated")
            }
        }
    }

    @Test func refusesNonFiniteNumbers() {
        #expect(syntaxError("[1e400]")?.kind == .nonFiniteNumber("1e400"))
        #expect(syntaxError("[-1e309]")?.kind == .nonFiniteNumber("-1e309"))
        #expect(syntaxError("[NaN]") != nil)
        #expect(syntaxError("[Infinity]") != nil)
        #expect(syntaxError("[-Infinity]") != nil)
    }

    @Test func refusesExcessNesting() {
        let deep = String(repeating: "[", count: 65) + String(repeating: "]", count: 65)
        #expect(syntaxError(deep)?.kind == .tooDeep(limit: 64))
        let ok = String(repeating: "[", count: 64) + String(repeating: "]", count: 64)
        #expect(syntaxError(ok) == nil)
        // Far beyond any stack: refused at the limit, no recursion past it.
        let huge = String(repeating: "{\"a\":", count: 100_000)
        #expect(syntaxError(huge)?.kind == .tooDeep(limit: 64))
    }

    @Test func refusesOversizedDocumentsBeforeParsing() {
        let e = syntaxError("[1, 2, 3]", limits: JSONLimits(maxDepth: 64, maxBytes: 4))
        #expect(e?.kind == .tooLarge(bytes: 9, limit: 4))
    }

    @Test(arguments: [
        "", "[", "[1,]", "{\"a\":1,}", "{'a':1}", "[01]", "[1.]", "[.5]", "[1e]", "[+1]", "tru", "nul",
        "[\"\\x41\"]", "[\"\\ud800\"]", "[\"\\udc00\"]", "[\"a\u{01}b\"]", "[1] [2]", "{\"a\" 1}", "[1 2]",
        "\u{FEFF}[1]", "// c\n[1]", "[\"\\u12G4\"]",
    ])
    func refusesMalformedDocuments(_ text: String) {
        #expect(syntaxError(text) != nil, "accepted: \(text.debugDescription)")
    }

    @Test func refusesInvalidUTF8() throws {
        let bytes: [UInt8] = Array("[\"a".utf8) + [0xC3, 0x28] + Array("\"]".utf8)
        #expect(throws: JSONSyntaxError.self) { try JSONParser.parse(bytes) }
        do { _ = try JSONParser.parse(bytes) } catch { #expect(error.kind == .invalidUTF8) }
    }

    @Test func reportsLineAndColumn() {
        let e = syntaxError("{\n  \"a\": 1,\n  \"b\": tru\n}")
        #expect(e?.line == 3)
        #expect(e?.column == 8)
        #expect(e?.path == "$.b")
    }

    @Test func canonicalWriterSortsKeysAndEscapesMinimally() throws {
        let v = try JSONParser.parse(#"{"b": 1, "a": [1.0, "q\"\\\u0001é"], "A": null}"#)
        #expect(JSONWriter.string(v) == #"{"A":null,"a":[1.0,"q\"\\\u0001é"],"b":1}"#)
        // Parse ∘ write is the identity on canonical text.
        let text = JSONWriter.string(v)
        #expect(JSONWriter.string(try JSONParser.parse(text)) == text)
    }

    @Test func doublesRoundTripBitExactly() throws {
        var rng = SystemRandomNumberGenerator()
        for _ in 0 ..< 2000 {
            let d = Double(bitPattern: rng.next() & 0x7FEF_FFFF_FFFF_FFFF | (rng.next() & 0x8000_0000_0000_0000))
            guard d.isFinite else { continue }
            let value = try #require(JSONValue.double(d))
            let back = try JSONParser.parse(JSONWriter.bytes(value))
            #expect(back.numberValue?.doubleValue.bitPattern == d.bitPattern)
            #expect(back.numberValue?.isInteger == false)
        }
        #expect(JSONNumber(1.0)?.literal == "1.0")
        #expect(JSONNumber(Double.nan) == nil)
        #expect(JSONNumber(-Double.infinity) == nil)
    }
}

@Suite("Strict Codable bridge")
struct StrictCodableTests {
    struct Inner: Codable, Equatable { var count: Int; var rate: Double? }
    struct Outer: Codable, Equatable { var name: String; var inner: [Inner] }

    func decodeError<T: Decodable>(_ type: T.Type, _ text: String) -> JSONDecodingError? {
        do {
            _ = try StrictJSONDecoder().decode(type, from: Array(text.utf8))
            return nil
        } catch {
            return error
        }
    }

    @Test func decodesAndRoundTrips() throws {
        let value = Outer(name: "x", inner: [Inner(count: 2, rate: 0.5), Inner(count: 3, rate: nil)])
        let json = try JSONValueEncoder().encode(value)
        let back = try StrictJSONDecoder().decode(Outer.self, from: json)
        #expect(back == value)
    }

    @Test func refusesUnknownFieldsAtAnyDepth() {
        let e = decodeError(Outer.self, #"{"name": "x", "inner": [{"count": 1}, {"count": 2, "rtae": 0.1}]}"#)
        #expect(e?.kind == .unknownField("rtae"))
        #expect(e?.path == "$.inner[1]")
        #expect(decodeError(Outer.self, #"{"name": "x", "inner": [], "extra": 1}"#)?.kind == .unknownField("extra"))
    }

    @Test func integersMustBeWrittenAsIntegers() {
        #expect(decodeError(Inner.self, #"{"count": 2.0}"#)?.kind == .typeMismatch(expected: "an integer", found: "a number"))
        #expect(decodeError(Inner.self, #"{"count": 2e0}"#) != nil)
        #expect(decodeError(Inner.self, #"{"count": 99999999999999999999}"#) != nil)
        #expect(decodeError(Inner.self, #"{"count": "2"}"#) != nil)
        // Floats accept integer literals, as in Python.
        #expect(decodeError(Inner.self, #"{"count": 2, "rate": 1}"#) == nil)
    }

    @Test func missingFieldsAndSyntaxErrorsAreNamed() {
        #expect(decodeError(Outer.self, #"{"name": "x"}"#)?.kind == .missingField("inner"))
        if case .syntax? = decodeError(Outer.self, #"{"name": "x",}"#)?.kind {} else { Issue.record("expected a syntax error") }
    }

    @Test func encoderRefusesNonFiniteNumbers() {
        #expect(throws: JSONEncodingError.self) { try JSONValueEncoder().encode(Inner(count: 1, rate: .nan)) }
        #expect(throws: JSONEncodingError.self) { try JSONValueEncoder().encode([Double.infinity]) }
    }

    @Test func rawValuesPassThroughWithTheirLiterals() throws {
        struct Holder: Codable { var values: [JSONValue] }
        let h = try StrictJSONDecoder().decode(Holder.self, from: Array(#"{"values": [1, 1.0, {"k": [true]}]}"#.utf8))
        #expect(h.values[0].numberValue?.isInteger == true)
        #expect(h.values[1].numberValue?.isInteger == false)
        #expect(JSONWriter.string(try JSONValueEncoder().encode(h)) == #"{"values":[1,1.0,{"k":[true]}]}"#)
    }
}
