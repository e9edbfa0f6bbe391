/// A JSON document as parsed, with nothing lost that matters for strictness:
/// object members keep their order, and numbers keep their literal text, so that `1` (an
/// integer: a document count for `min_df`) and `1.0` (a proportion) stay different, as they
/// are in Python.
public enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    case number(JSONNumber)
    case string(String)
    case array([JSONValue])
    case object(JSONObject)

    /// A short name of the kind, for error messages ("expected an array, found a string").
    public var kindName: String {
        switch self {
        case .null: return "null"
        case .bool: return "a boolean"
        case let .number(n): return n.isInteger ? "an integer" : "a number"
        case .string: return "a string"
        case .array: return "an array"
        case .object: return "an object"
        }
    }

    public var objectValue: JSONObject? { if case let .object(o) = self { return o } else { return nil } }
    public var arrayValue: [JSONValue]? { if case let .array(a) = self { return a } else { return nil } }
    public var stringValue: String? { if case let .string(s) = self { return s } else { return nil } }
    public var numberValue: JSONNumber? { if case let .number(n) = self { return n } else { return nil } }
    public var boolValue: Bool? { if case let .bool(b) = self { return b } else { return nil } }
    public var isNull: Bool { if case .null = self { return true } else { return false } }

    /// The member `key` of an object (nil for other values or a missing member).
    public subscript(key: String) -> JSONValue? { objectValue?[key] }

    /// Element `index` of an array (nil for other values or out of range).
    public subscript(index: Int) -> JSONValue? {
        guard let a = arrayValue, a.indices.contains(index) else { return nil }
        return a[index]
    }
}

/// A JSON number: its literal text (valid JSON number grammar, finite) and its value.
public struct JSONNumber: Sendable, Equatable, Hashable, CustomStringConvertible {
    /// The text as written in the document, e.g. `"1"`, `"1.0"`, `"2.5e-3"`.
    public let literal: String
    /// The value as a `Double` (always finite).
    public let doubleValue: Double

    /// True when the literal has no fraction and no exponent, as Python's `json` reads an `int`.
    public var isInteger: Bool { !literal.utf8.contains { $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "e") || $0 == UInt8(ascii: "E") } }

    /// The value as an `Int` when the literal is an integer that fits.
    public var intValue: Int? { isInteger ? Int(literal) : nil }

    public var description: String { literal }

    /// Internal: the parser has validated `literal` and computed a finite `value`.
    package init(validatedLiteral literal: String, value: Double) {
        self.literal = literal
        self.doubleValue = value
    }

    public init(_ value: Int) {
        literal = String(value)
        doubleValue = Double(value)
    }

    /// A number from a finite `Double`, written in its shortest round-trip form with a fraction
    /// or exponent (`1.0`, not `1`), so that it reads back as a float. Nil for NaN and infinities.
    public init?(_ value: Double) {
        guard value.isFinite else { return nil }
        var text = value.description   // shortest round-trip: "0.1", "1e-05", "1.0", "-0.0"
        // Byte search: `String.contains(String)` goes through Foundation's locale-aware search,
        // which cost more than formatting the number (every served probability comes here).
        if !text.utf8.contains(where: { $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "e") }) { text += ".0" }
        literal = text
        doubleValue = value
    }
}

/// A JSON object: members in document order, keys unique (the parser rejects duplicates).
public struct JSONObject: Sendable, Equatable {
    public private(set) var keys: [String] = []
    public private(set) var values: [JSONValue] = []

    public init() {}

    public init(_ members: [(String, JSONValue)]) {
        for (k, v) in members { self[k] = v }
    }

    public var count: Int { keys.count }
    public var isEmpty: Bool { keys.isEmpty }

    /// Member lookup. - Complexity: O(members); objects in configs and requests are small.
    public subscript(key: String) -> JSONValue? {
        get { keys.firstIndex(of: key).map { values[$0] } }
        set {
            if let i = keys.firstIndex(of: key) {
                if let newValue { values[i] = newValue } else { keys.remove(at: i); values.remove(at: i) }
            } else if let newValue {
                keys.append(key)
                values.append(newValue)
            }
        }
    }

    /// Appends a member without checking for an existing key (the parser checks separately).
    package mutating func appendUnchecked(_ key: String, _ value: JSONValue) {
        keys.append(key)
        values.append(value)
    }

    public var members: [(key: String, value: JSONValue)] { Array(zip(keys, values)).map { (key: $0.0, value: $0.1) } }
}

extension JSONValue: ExpressibleByNilLiteral, ExpressibleByBooleanLiteral, ExpressibleByIntegerLiteral,
    ExpressibleByStringLiteral, ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral
{
    public init(nilLiteral: ()) { self = .null }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(integerLiteral value: Int) { self = .number(JSONNumber(value)) }
    public init(stringLiteral value: String) { self = .string(value) }
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, JSONValue)...) { self = .object(JSONObject(elements)) }

    /// A float value; nil for NaN and infinities, which JSON cannot hold.
    public static func double(_ value: Double) -> JSONValue? { JSONNumber(value).map { .number($0) } }
}

/// A raw `JSONValue` inside a `Codable` type (grid values, free-form metadata). It passes
/// through `StrictJSONDecoder` / `JSONValueEncoder` unchanged, number literals included; other
/// coders are refused rather than guessed at.
extension JSONValue: Codable {
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        guard let value = container.decodeJSONValue() else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath,
                debugDescription: "JSONValue is decoded only by StrictJSONDecoder"))
        }
        self = value
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        container.encodeJSONValue(self)
    }
}
