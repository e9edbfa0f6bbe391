import TriageCore

/// The strict subset of HTTP/1.1 that `MessagesFastPath` answers from the bytes: one
/// `POST /messages HTTP/1.1` request with exactly one `Content-Length` and one JSON
/// `Content-Type`, and nothing that changes how the message is framed or the connection used.
///
/// Anything outside the subset is declined, never guessed at: NIO's HTTP parser (llhttp) then
/// reads the same bytes and Hummingbird answers as it always did. So the subset only has to be
/// parsed the way llhttp parses it, not to cover what llhttp covers. In particular it declines
/// (RFC 9112 §6, §11.2: the framing that request smuggling plays on) `Transfer-Encoding`, a
/// repeated or non-decimal `Content-Length`, obsolete line folding, a bare CR or LF, control
/// bytes and bytes above 0x7E in a field, and a field name that is not a token; and it declines
/// `Expect`, `Upgrade` and any `Connection` value but `keep-alive`, which the route's handlers
/// act on. Where llhttp is stricter than RFC 9110 (a tab after the digits of `Content-Length`),
/// the subset declines too.
package enum FastPathRequest: Equatable, Sendable {
    /// A whole request: its head is `headLength` bytes, its body the `bodyLength` after them.
    case complete(headLength: Int, bodyLength: Int)
    /// A prefix of a request the subset may still accept.
    case incomplete
    /// Not in the subset (or over a limit): Hummingbird's to answer.
    case declined

    package static let requestLine = Array("POST /messages HTTP/1.1\r\n".utf8)

    /// Parses the start of `bytes`. `maxHead` bounds the head (request line and fields), `maxBody`
    /// the `Content-Length`. `fields`, when given, sees each field's name and value (without the
    /// optional whitespace around it) as the parser reads it: what the differential fuzz target
    /// compares with NIO's parser.
    package static func parse(_ bytes: UnsafeRawBufferPointer, maxHead: Int, maxBody: Int,
                              fields: ((_ name: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) -> Void)? = nil) -> FastPathRequest {
        let line = requestLine
        // The head is read within its limit: running out of bytes there is a head too long.
        let n = min(bytes.count, maxHead)
        let short: FastPathRequest = bytes.count >= maxHead ? .declined : .incomplete
        for i in 0 ..< min(n, line.count) where bytes[i] != line[i] { return .declined }
        guard n >= line.count else { return short }
        var i = line.count
        var length: Int?
        var sawType = false
        while true {
            guard i + 1 < n else { return short }
            if bytes[i] == cr {
                guard bytes[i + 1] == lf else { return .declined }
                i += 2
                break
            }
            // field-name ":" OWS field-value OWS CRLF
            let nameStart = i
            while i < n, isTokenByte(bytes[i]) { i += 1 }
            guard i < n else { return short }
            guard i > nameStart, bytes[i] == colon else { return .declined }
            let nameEnd = i
            i += 1
            while i < n, bytes[i] == space || bytes[i] == tab { i += 1 }
            let valueStart = i
            while i < n, bytes[i] != cr {
                let b = bytes[i]
                guard (b >= 0x20 && b < 0x7F) || b == tab else { return .declined }
                i += 1
            }
            guard i + 1 < n else { return short }
            guard bytes[i + 1] == lf else { return .declined }
            let lineEnd = i
            var valueEnd = i
            while valueEnd > valueStart, bytes[valueEnd - 1] == space || bytes[valueEnd - 1] == tab { valueEnd -= 1 }
            i += 2
            let name = UnsafeRawBufferPointer(rebasing: bytes[nameStart ..< nameEnd])
            let value = UnsafeRawBufferPointer(rebasing: bytes[valueStart ..< valueEnd])
            fields?(name, value)
            switch field(name) {
            case .contentLength:
                // llhttp refuses a tab after the digits (found by the differential fuzz target).
                guard length == nil, let parsed = decimal(value), parsed <= maxBody,
                      !bytes[valueEnd ..< lineEnd].contains(tab) else { return .declined }
                length = parsed
            case .contentType:
                guard !sawType, RequestBody.isJSON(String(decoding: value, as: UTF8.self)) else { return .declined }
                sawType = true
            case .connection:
                guard equalsIgnoringCase(value, "keep-alive") else { return .declined }
            case .refused:
                return .declined
            case .other:
                break
            }
        }
        guard sawType, let length else { return .declined }
        return bytes.count - i >= length ? .complete(headLength: i, bodyLength: length) : .incomplete
    }

    private enum Field { case contentLength, contentType, connection, refused, other }

    private static func field(_ name: UnsafeRawBufferPointer) -> Field {
        switch name.count {
        case 14 where equalsIgnoringCase(name, "content-length"): .contentLength
        case 12 where equalsIgnoringCase(name, "content-type"): .contentType
        case 10 where equalsIgnoringCase(name, "connection"): .connection
        case 17 where equalsIgnoringCase(name, "transfer-encoding"): .refused
        case 6 where equalsIgnoringCase(name, "expect"): .refused
        case 7 where equalsIgnoringCase(name, "upgrade"): .refused
        default: .other
        }
    }

    /// 1 to 9 decimal digits (larger is over any body limit, and declined).
    private static func decimal(_ value: UnsafeRawBufferPointer) -> Int? {
        guard (1 ... 9).contains(value.count) else { return nil }
        var n = 0
        for b in value {
            guard b >= 0x30, b <= 0x39 else { return nil }
            n = n * 10 + Int(b - 0x30)
        }
        return n
    }

    private static func equalsIgnoringCase(_ bytes: UnsafeRawBufferPointer, _ lowercase: StaticString) -> Bool {
        guard bytes.count == lowercase.utf8CodeUnitCount else { return false }
        let expected = UnsafeRawBufferPointer(start: lowercase.utf8Start, count: lowercase.utf8CodeUnitCount)
        for i in 0 ..< bytes.count {
            let b = bytes[i]
            if (b >= 0x41 && b <= 0x5A ? b | 0x20 : b) != expected[i] { return false }
        }
        return true
    }

    /// RFC 9110 §5.6.2 tchar.
    private static func isTokenByte(_ b: UInt8) -> Bool {
        switch b {
        case 0x30 ... 0x39, 0x41 ... 0x5A, 0x61 ... 0x7A: true
        case UInt8(ascii: "!"), UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: "%"), UInt8(ascii: "&"), UInt8(ascii: "'"),
             UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "^"), UInt8(ascii: "_"),
             UInt8(ascii: "`"), UInt8(ascii: "|"), UInt8(ascii: "~"): true
        default: false
        }
    }

    private static let cr = UInt8(ascii: "\r"), lf = UInt8(ascii: "\n"), colon = UInt8(ascii: ":")
    private static let space = UInt8(ascii: " "), tab = UInt8(ascii: "\t")
}
