import Testing
import TriageFuzzing

/// The differential target's invariant on the fuzzer's seeds and on every one-byte change of
/// them, so that `make test` covers the shapes the fuzzer starts from (the long runs are
/// `scripts/fuzz RUNS http`, recorded in RELIABILITY.md).
@Suite("HTTP differential: the fast path's parser against NIO's decoder")
struct HTTPDifferentialTests {
    static let body = Array(#"{"messages": [{"id": "1", "subject": "Card", "body": "I lost my card"}]}"#.utf8)

    static func request(_ fields: [String], body: [UInt8] = body, line: String = "POST /messages HTTP/1.1") -> [UInt8] {
        Array((line + "\r\n" + fields.map { $0 + "\r\n" }.joined() + "\r\n").utf8) + body
    }

    static let accepted: [[UInt8]] = [
        request(["Content-Type: application/json", "Content-Length: \(body.count)"]),
        request(["content-type:  Application/JSON; charset=utf-8 ", "CONTENT-LENGTH:\t\(body.count)", "Connection: keep-alive"]),
        request(["Host: x", "User-Agent: wrk", "Content-Length: \(body.count)", "Accept: */*", "Content-Type: application/json", "X-A: b\tc"]),
    ]

    @Test func theSeedsAreAcceptedAndReadAlike() {
        for bytes in Self.accepted {
            #expect(HTTPDifferential.fastPathAccepts(bytes))
            #expect(HTTPDifferential.disagreement(bytes) == nil)
        }
    }

    @Test func shapesTheFastPathDeclinesAreNotChecked() {
        let declined = [
            Self.request(["Content-Type: application/json", "Transfer-Encoding: chunked"], body: Array("4\r\nabcd\r\n0\r\n\r\n".utf8)),
            Self.request(["Content-Type: application/json", "Content-Length: \(Self.body.count)"], line: "POST /messages HTTP/1.0"),
            Self.request(["Content-Type: application/json", "Content-Length: \(Self.body.count)", "X-A: b", " c"]),
            Self.request(["Content-Type: application/json", "Content-Length: \(Self.body.count)", "Content-Length: \(Self.body.count)"]),
            Array("GET /health HTTP/1.1\r\nHost: x\r\n\r\n".utf8),
        ]
        for bytes in declined {
            #expect(!HTTPDifferential.fastPathAccepts(bytes))
            #expect(HTTPDifferential.disagreement(bytes) == nil)
        }
    }

    /// Every byte of the head replaced in turn by the bytes HTTP framing turns on; every prefix.
    @Test func everyOneByteChangeAndEveryPrefixKeepsTheInvariant() {
        let replacements: [UInt8] = [0x00, 0x09, 0x0A, 0x0D, 0x20, 0x2C, 0x3A, 0x3B, 0x7F, 0x80, 0xFF, UInt8(ascii: "0"), UInt8(ascii: "A")]
        var accepted = 0
        for seed in Self.accepted {
            let headEnd = seed.count - Self.body.count
            for index in 0 ..< headEnd {
                for byte in replacements where byte != seed[index] {
                    var bytes = seed
                    bytes[index] = byte
                    if HTTPDifferential.fastPathAccepts(bytes) { accepted += 1 }
                    let disagreement = HTTPDifferential.disagreement(bytes)
                    #expect(disagreement == nil, "byte \(index) → \(byte): \(disagreement ?? "") in \(String(decoding: bytes, as: UTF8.self).debugDescription)")
                }
            }
            for end in 0 ..< seed.count {
                #expect(HTTPDifferential.disagreement(Array(seed[..<end])) == nil)
            }
        }
        // The sweep reaches accepted variants too (case, whitespace and value changes), not only refusals.
        #expect(accepted > 100)
    }
}
