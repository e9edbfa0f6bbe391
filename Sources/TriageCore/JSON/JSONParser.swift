/// Limits a parse enforces before any of the document is trusted.
public struct JSONLimits: Sendable, Equatable {
    /// Maximum nesting of arrays and objects.
    public var maxDepth: Int
    /// Maximum document size in bytes (checked before parsing starts).
    public var maxBytes: Int

    public init(maxDepth: Int = 64, maxBytes: Int = 256 << 20) {
        self.maxDepth = maxDepth
        self.maxBytes = maxBytes
    }

    public static let `default` = JSONLimits()
}

/// Why a JSON document was refused, and where: byte offset, line and column (1-based), and the
/// path of the value being read (`$.messages[2].body`).
public struct JSONSyntaxError: Error, Equatable, CustomStringConvertible {
    public enum Kind: Equatable, Sendable {
        case tooLarge(bytes: Int, limit: Int)
        case tooDeep(limit: Int)
        case duplicateKey(String)
        case nonFiniteNumber(String)
        case invalidUTF8
        case invalidSyntax(String)
        case unexpectedEnd
        case trailingData
    }

    public let kind: Kind
    public let offset: Int
    public let line: Int
    public let column: Int
    public let path: String

    public var description: String { "invalid JSON at line \(line), column \(column) (\(path)): \(what)" }

    /// What is wrong, without the place.
    public var what: String {
        let what: String
        switch kind {
        case let .tooLarge(bytes, limit): what = "document of \(bytes) bytes exceeds the limit of \(limit) bytes"
        case let .tooDeep(limit): what = "nesting deeper than \(limit) levels"
        case let .duplicateKey(key): what = "duplicate key \"\(key)\""
        case let .nonFiniteNumber(text): what = "number \(text) is outside the range of a double"
        case .invalidUTF8: what = "invalid UTF-8"
        case let .invalidSyntax(why): what = why
        case .unexpectedEnd: what = "unexpected end of document"
        case .trailingData: what = "unexpected data after the JSON value"
        }
        return what
    }
}

/// A strict RFC 8259 parser: no comments, no trailing commas, no NaN/Infinity, no lone
/// surrogates, no duplicate keys (Foundation's `JSONDecoder` keeps the first duplicate and
/// `JSONSerialization` the last; both are refused here), bounded size and depth.
public enum JSONParser {
    public static func parse(_ bytes: [UInt8], limits: JSONLimits = .default) throws(JSONSyntaxError) -> JSONValue {
        if bytes.count > limits.maxBytes {
            throw JSONSyntaxError(kind: .tooLarge(bytes: bytes.count, limit: limits.maxBytes), offset: 0, line: 1, column: 1, path: "$")
        }
        return try bytes.withUnsafeBufferPointer { buffer throws(JSONSyntaxError) in
            var parser = Parser(input: buffer, maxDepth: limits.maxDepth)
            return try parser.parseDocument()
        }
    }

    public static func parse(_ text: String, limits: JSONLimits = .default) throws(JSONSyntaxError) -> JSONValue {
        try parse(Array(text.utf8), limits: limits)
    }
}

private enum PathComponent {
    case key(String)
    case index(Int)
}

private struct Parser {
    let input: UnsafeBufferPointer<UInt8>
    let maxDepth: Int
    var pos = 0
    var depth = 0
    var path: [PathComponent] = []

    init(input: UnsafeBufferPointer<UInt8>, maxDepth: Int) {
        self.input = input
        self.maxDepth = maxDepth
    }

    mutating func parseDocument() throws(JSONSyntaxError) -> JSONValue {
        // A UTF-8 byte order mark is not JSON (RFC 8259 §8.1 forbids emitting one); refuse it clearly.
        if input.count >= 3, input[0] == 0xEF, input[1] == 0xBB, input[2] == 0xBF {
            throw error(.invalidSyntax("byte order mark before the JSON value"))
        }
        skipWhitespace()
        let value = try parseValue()
        skipWhitespace()
        if pos != input.count { throw error(.trailingData) }
        return value
    }

    func error(_ kind: JSONSyntaxError.Kind, at offset: Int? = nil) -> JSONSyntaxError {
        let at = min(offset ?? pos, input.count)
        var line = 1, column = 1
        for i in 0 ..< at {
            if input[i] == 0x0A { line += 1; column = 1 } else if input[i] & 0xC0 != 0x80 { column += 1 }
        }
        var text = "$"
        for component in path {
            switch component {
            case let .key(k): text += k.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) && !k.isEmpty ? ".\(k)" : "[\"\(k)\"]"
            case let .index(i): text += "[\(i)]"
            }
        }
        return JSONSyntaxError(kind: kind, offset: at, line: line, column: column, path: text)
    }

    mutating func skipWhitespace() {
        while pos < input.count {
            switch input[pos] {
            case 0x20, 0x09, 0x0A, 0x0D: pos += 1
            default: return
            }
        }
    }

    mutating func parseValue() throws(JSONSyntaxError) -> JSONValue {
        guard pos < input.count else { throw error(.unexpectedEnd) }
        switch input[pos] {
        case UInt8(ascii: "{"): return try parseObject()
        case UInt8(ascii: "["): return try parseArray()
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"): try expectLiteral("true"); return .bool(true)
        case UInt8(ascii: "f"): try expectLiteral("false"); return .bool(false)
        case UInt8(ascii: "n"): try expectLiteral("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0") ... UInt8(ascii: "9"): return .number(try parseNumber())
        case UInt8(ascii: "N"), UInt8(ascii: "I"):
            throw error(.invalidSyntax("NaN and Infinity are not JSON numbers"))
        default:
            throw error(.invalidSyntax("unexpected character \(describe(input[pos]))"))
        }
    }

    func describe(_ byte: UInt8) -> String {
        byte >= 0x20 && byte < 0x7F ? "'\(Character(UnicodeScalar(byte)))'" : "byte 0x" + String(byte, radix: 16, uppercase: true)
    }

    mutating func expectLiteral(_ word: StaticString) throws(JSONSyntaxError) {
        let n = word.utf8CodeUnitCount
        guard pos + n <= input.count else { throw error(.unexpectedEnd) }
        let start = word.utf8Start
        for i in 0 ..< n where input[pos + i] != start[i] {
            throw error(.invalidSyntax("invalid literal (expected \(word))"))
        }
        pos += n
    }

    mutating func enter() throws(JSONSyntaxError) {
        depth += 1
        if depth > maxDepth { throw error(.tooDeep(limit: maxDepth)) }
    }

    mutating func parseObject() throws(JSONSyntaxError) -> JSONValue {
        try enter()
        pos += 1
        var object = JSONObject()
        // Duplicate keys: a scan of the keys so far while the object is small (requests and
        // configs: a handful of keys, where building a Set and hashing each key cost more than
        // the scan), a Set from `Self.smallObject` keys on.
        var seen: Set<String>?
        skipWhitespace()
        if pos < input.count, input[pos] == UInt8(ascii: "}") {
            pos += 1
            depth -= 1
            return .object(object)
        }
        while true {
            skipWhitespace()
            guard pos < input.count else { throw error(.unexpectedEnd) }
            guard input[pos] == UInt8(ascii: "\"") else { throw error(.invalidSyntax("expected a string key")) }
            let keyOffset = pos
            let key = try parseString()
            if seen == nil, object.count >= Self.smallObject { seen = Set(object.keys) }
            let duplicate: Bool
            if let inserted = seen?.insert(key).inserted { duplicate = !inserted } else { duplicate = object.keys.contains(key) }
            if duplicate { throw error(.duplicateKey(key), at: keyOffset) }
            skipWhitespace()
            guard pos < input.count else { throw error(.unexpectedEnd) }
            guard input[pos] == UInt8(ascii: ":") else { throw error(.invalidSyntax("expected ':' after a key")) }
            pos += 1
            skipWhitespace()
            path.append(.key(key))
            let value = try parseValue()
            path.removeLast()
            object.appendUnchecked(key, value)
            skipWhitespace()
            guard pos < input.count else { throw error(.unexpectedEnd) }
            if input[pos] == UInt8(ascii: ",") { pos += 1; continue }
            if input[pos] == UInt8(ascii: "}") { pos += 1; break }
            throw error(.invalidSyntax("expected ',' or '}' in an object"))
        }
        depth -= 1
        return .object(object)
    }

    mutating func parseArray() throws(JSONSyntaxError) -> JSONValue {
        try enter()
        pos += 1
        var elements: [JSONValue] = []
        skipWhitespace()
        if pos < input.count, input[pos] == UInt8(ascii: "]") {
            pos += 1
            depth -= 1
            return .array(elements)
        }
        while true {
            skipWhitespace()
            path.append(.index(elements.count))
            let value = try parseValue()
            path.removeLast()
            elements.append(value)
            skipWhitespace()
            guard pos < input.count else { throw error(.unexpectedEnd) }
            if input[pos] == UInt8(ascii: ",") { pos += 1; continue }
            if input[pos] == UInt8(ascii: "]") { pos += 1; break }
            throw error(.invalidSyntax("expected ',' or ']' in an array"))
        }
        depth -= 1
        return .array(elements)
    }

    mutating func parseNumber() throws(JSONSyntaxError) -> JSONNumber {
        let start = pos
        func digit(_ b: UInt8) -> Bool { b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9") }
        if input[pos] == UInt8(ascii: "-") { pos += 1 }
        guard pos < input.count, digit(input[pos]) else { throw error(.invalidSyntax("a number needs digits")) }
        if input[pos] == UInt8(ascii: "0") {
            pos += 1
            if pos < input.count, digit(input[pos]) { throw error(.invalidSyntax("leading zeros are not allowed")) }
        } else {
            while pos < input.count, digit(input[pos]) { pos += 1 }
        }
        if pos < input.count, input[pos] == UInt8(ascii: ".") {
            pos += 1
            guard pos < input.count, digit(input[pos]) else { throw error(.invalidSyntax("a fraction needs digits")) }
            while pos < input.count, digit(input[pos]) { pos += 1 }
        }
        if pos < input.count, input[pos] == UInt8(ascii: "e") || input[pos] == UInt8(ascii: "E") {
            pos += 1
            if pos < input.count, input[pos] == UInt8(ascii: "+") || input[pos] == UInt8(ascii: "-") { pos += 1 }
            guard pos < input.count, digit(input[pos]) else { throw error(.invalidSyntax("an exponent needs digits")) }
            while pos < input.count, digit(input[pos]) { pos += 1 }
        }
        let literal = String(decoding: UnsafeBufferPointer(rebasing: input[start ..< pos]), as: UTF8.self)
        guard let value = Double(literal), value.isFinite else { throw error(.nonFiniteNumber(literal), at: start) }
        return JSONNumber(validatedLiteral: literal, value: value)
    }

    /// Objects with more keys than this check duplicates with a Set (see `parseObject`).
    static let smallObject = 16

    mutating func parseString() throws(JSONSyntaxError) -> String {
        pos += 1  // opening quote
        // Most strings have no escape: made straight from the input, without the byte array
        // of the general case below; an ASCII one (most of them) also without the generic UTF-8
        // validation. Escapes, control characters and an unterminated string go the general way.
        let start = pos
        var ascii = true
        while pos < input.count {
            let b = input[pos]
            if b == UInt8(ascii: "\"") {
                let run = UnsafeBufferPointer(rebasing: input[start ..< pos])
                pos += 1
                if ascii { return String(decoding: run, as: UTF8.self) }
                guard let string = String(validating: run, as: UTF8.self) else { throw error(.invalidUTF8) }
                return string
            }
            if b == UInt8(ascii: "\\") || b < 0x20 { break }
            if b >= 0x80 { ascii = false }
            pos += 1
        }
        pos = start
        var bytes: [UInt8] = []
        var runStart = pos
        while true {
            guard pos < input.count else { throw error(.unexpectedEnd) }
            let b = input[pos]
            if b == UInt8(ascii: "\"") {
                bytes.append(contentsOf: UnsafeBufferPointer(rebasing: input[runStart ..< pos]))
                pos += 1
                break
            }
            if b == UInt8(ascii: "\\") {
                bytes.append(contentsOf: UnsafeBufferPointer(rebasing: input[runStart ..< pos]))
                try parseEscape(into: &bytes)
                runStart = pos
                continue
            }
            if b < 0x20 { throw error(.invalidSyntax("unescaped control character \(describe(b)) in a string")) }
            pos += 1
        }
        guard let string = String(validating: bytes, as: UTF8.self) else { throw error(.invalidUTF8) }
        return string
    }

    mutating func parseEscape(into bytes: inout [UInt8]) throws(JSONSyntaxError) {
        pos += 1  // backslash
        guard pos < input.count else { throw error(.unexpectedEnd) }
        let c = input[pos]
        pos += 1
        switch c {
        case UInt8(ascii: "\""): bytes.append(0x22)
        case UInt8(ascii: "\\"): bytes.append(0x5C)
        case UInt8(ascii: "/"): bytes.append(0x2F)
        case UInt8(ascii: "b"): bytes.append(0x08)
        case UInt8(ascii: "f"): bytes.append(0x0C)
        case UInt8(ascii: "n"): bytes.append(0x0A)
        case UInt8(ascii: "r"): bytes.append(0x0D)
        case UInt8(ascii: "t"): bytes.append(0x09)
        case UInt8(ascii: "u"):
            var scalar = try parseHex4()
            if scalar >= 0xD800 && scalar <= 0xDBFF {
                guard pos + 1 < input.count, input[pos] == UInt8(ascii: "\\"), input[pos + 1] == UInt8(ascii: "u") else {
                    throw error(.invalidSyntax("lone high surrogate \\u\(String(scalar, radix: 16, uppercase: true))"))
                }
                pos += 2
                let low = try parseHex4()
                guard low >= 0xDC00 && low <= 0xDFFF else {
                    throw error(.invalidSyntax("high surrogate not followed by a low surrogate"))
                }
                scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
            } else if scalar >= 0xDC00 && scalar <= 0xDFFF {
                throw error(.invalidSyntax("lone low surrogate \\u\(String(scalar, radix: 16, uppercase: true))"))
            }
            guard let u = Unicode.Scalar(scalar) else { throw error(.invalidSyntax("invalid code point")) }
            bytes.append(contentsOf: UTF8.encode(u).map { Array($0) } ?? [])
        default:
            throw error(.invalidSyntax("invalid escape \\\(Character(UnicodeScalar(c)))"))
        }
    }

    mutating func parseHex4() throws(JSONSyntaxError) -> UInt32 {
        guard pos + 4 <= input.count else { throw error(.unexpectedEnd) }
        var value: UInt32 = 0
        for _ in 0 ..< 4 {
            let b = input[pos]
            let d: UInt32
            switch b {
            case UInt8(ascii: "0") ... UInt8(ascii: "9"): d = UInt32(b - UInt8(ascii: "0"))
            case UInt8(ascii: "a") ... UInt8(ascii: "f"): d = UInt32(b - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A") ... UInt8(ascii: "F"): d = UInt32(b - UInt8(ascii: "A") + 10)
            default: throw error(.invalidSyntax("invalid hex digit in \\u escape"))
            }
            value = value << 4 | d
            pos += 1
        }
        return value
    }
}
