/// Why a JSON value could not become the requested type, and where (`$.vect.min_df`).
public struct JSONDecodingError: Error, Equatable, CustomStringConvertible {
    public enum Kind: Equatable, Sendable {
        case syntax(JSONSyntaxError)
        case unknownField(String)
        case missingField(String)
        case typeMismatch(expected: String, found: String)
        case invalidValue(String)
    }

    public let kind: Kind
    public let path: String

    public init(_ kind: Kind, path: String) {
        self.kind = kind
        self.path = path
    }

    public var description: String {
        switch kind {
        case let .syntax(e): return e.description
        case let .unknownField(name): return "unknown field \"\(name)\" at \(path)"
        case let .missingField(name): return "missing field \"\(name)\" at \(path)"
        case let .typeMismatch(expected, found): return "expected \(expected) at \(path), found \(found)"
        case let .invalidValue(why): return "invalid value at \(path): \(why)"
        }
    }
}

/// Decodes `Decodable` types from `JSONValue`s, strictly:
/// - a member the type does not read is an error (`unknownField`), at any depth;
/// - integers must be written as integers (`2`, not `2.0` or `2e0`), and must fit the type;
/// - floats accept both (`2` and `2.0`), as Python does;
/// - no type coercion between strings, numbers and booleans.
/// Duplicate keys, non-finite numbers and excess depth were already refused by `JSONParser`.
public struct StrictJSONDecoder: Sendable {
    public var allowUnknownFields: Bool
    /// Handed to every `Decoder` of the tree (`Decoder.userInfo`).
    public var userInfo: [CodingUserInfoKey: any Sendable]

    public init(allowUnknownFields: Bool = false, userInfo: [CodingUserInfoKey: any Sendable] = [:]) {
        self.allowUnknownFields = allowUnknownFields
        self.userInfo = userInfo
    }

    public func decode<T: Decodable>(_ type: T.Type, from value: JSONValue) throws(JSONDecodingError) -> T {
        let state = DecodingState(userInfo: userInfo)
        let result: T
        do {
            result = try T(from: ValueDecoder(value: value, codingPath: [], state: state))
        } catch let error as JSONDecodingError {
            throw error
        } catch let error as DecodingError {
            throw Self.translate(error)
        } catch {
            throw JSONDecodingError(.invalidValue("\(error)"), path: "$")
        }
        if !allowUnknownFields, let (path, key) = state.firstUnreadMember() {
            throw JSONDecodingError(.unknownField(key), path: path)
        }
        return result
    }

    public func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8], limits: JSONLimits = .default) throws(JSONDecodingError) -> T {
        let value: JSONValue
        do { value = try JSONParser.parse(bytes, limits: limits) } catch { throw JSONDecodingError(.syntax(error), path: error.path) }
        return try decode(type, from: value)
    }

    static func translate(_ error: DecodingError) -> JSONDecodingError {
        switch error {
        case let .keyNotFound(key, context):
            return JSONDecodingError(.missingField(key.stringValue), path: pathString(context.codingPath))
        case let .typeMismatch(type, context):
            return JSONDecodingError(.typeMismatch(expected: "\(type)", found: context.debugDescription), path: pathString(context.codingPath))
        case let .valueNotFound(type, context):
            return JSONDecodingError(.typeMismatch(expected: "\(type)", found: "null"), path: pathString(context.codingPath))
        case let .dataCorrupted(context):
            return JSONDecodingError(.invalidValue(context.debugDescription), path: pathString(context.codingPath))
        @unknown default:
            return JSONDecodingError(.invalidValue("\(error)"), path: "$")
        }
    }
}

/// `$.a.b[3]` from a coding path.
package func pathString(_ path: [any CodingKey]) -> String {
    var text = "$"
    for key in path {
        if let i = key.intValue { text += "[\(i)]" } else { text += ".\(key.stringValue)" }
    }
    return text
}

package struct IndexKey: CodingKey {
    package let intValue: Int?
    package var stringValue: String { String(intValue ?? 0) }
    package init(_ i: Int) { intValue = i }
    package init?(intValue: Int) { self.intValue = intValue }
    package init?(stringValue: String) { return nil }
}

/// Remembers which members of each object were read, to report the ones nobody read.
private final class DecodingState {
    let userInfo: [CodingUserInfoKey: any Sendable]
    init(userInfo: [CodingUserInfoKey: any Sendable]) { self.userInfo = userInfo }

    private var order: [String] = []
    private var objects: [String: JSONObject] = [:]
    private var read: [String: Set<String>] = [:]
    private var readAll: Set<String> = []

    func register(_ object: JSONObject, path: String) {
        if objects[path] == nil {
            order.append(path)
            objects[path] = object
            read[path] = []
        }
    }

    func markRead(_ key: String, path: String) { read[path, default: []].insert(key) }
    func markAllRead(path: String) { readAll.insert(path) }

    func firstUnreadMember() -> (String, String)? {
        for path in order where !readAll.contains(path) {
            guard let object = objects[path] else { continue }
            let seen = read[path] ?? []
            if let key = object.keys.first(where: { !seen.contains($0) }) { return (path, key) }
        }
        return nil
    }
}

private struct ValueDecoder: Decoder {
    let value: JSONValue
    let codingPath: [any CodingKey]
    let state: DecodingState
    var userInfo: [CodingUserInfoKey: Any] { state.userInfo }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        guard case let .object(object) = value else {
            throw JSONDecodingError(.typeMismatch(expected: "an object", found: value.kindName), path: pathString(codingPath))
        }
        let path = pathString(codingPath)
        state.register(object, path: path)
        return KeyedDecodingContainer(KeyedContainer<Key>(object: object, codingPath: codingPath, path: path, state: state))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        guard case let .array(elements) = value else {
            throw JSONDecodingError(.typeMismatch(expected: "an array", found: value.kindName), path: pathString(codingPath))
        }
        return UnkeyedContainer(elements: elements, codingPath: codingPath, state: state)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer {
        SingleContainer(value: value, codingPath: codingPath, state: state)
    }
}

/// Converts one JSON value to a primitive or a nested `Decodable`.
private func unbox<T: Decodable>(_ value: JSONValue, as type: T.Type, codingPath: [any CodingKey], state: DecodingState) throws -> T {
    func mismatch(_ expected: String) -> JSONDecodingError {
        JSONDecodingError(.typeMismatch(expected: expected, found: value.kindName), path: pathString(codingPath))
    }
    switch value {
    case let .string(s) where type == String.self:
        if let v = s as? T { return v }
    case let .bool(b) where type == Bool.self:
        if let v = b as? T { return v }
    case let .number(n) where type == Double.self:
        if let v = n.doubleValue as? T { return v }
    case let .number(n) where type == Float.self:
        let f = Float(n.doubleValue)
        guard f.isFinite else { throw JSONDecodingError(.invalidValue("\(n.literal) does not fit a 32-bit float"), path: pathString(codingPath)) }
        if let v = f as? T { return v }
    default:
        break
    }
    if type == String.self { throw mismatch("a string") }
    if type == Bool.self { throw mismatch("a boolean") }
    if type == Double.self || type == Float.self { throw mismatch("a number") }
    if let integer = type as? any FixedWidthInteger.Type {
        guard case let .number(n) = value, n.isInteger else { throw mismatch("an integer") }
        guard let parsed = integer.init(n.literal, radix: 10), let v = parsed as? T else {
            throw JSONDecodingError(.invalidValue("\(n.literal) is out of range for \(type)"), path: pathString(codingPath))
        }
        return v
    }
    return try T(from: ValueDecoder(value: value, codingPath: codingPath, state: state))
}

private struct KeyedContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let object: JSONObject
    let codingPath: [any CodingKey]
    let path: String
    let state: DecodingState

    var allKeys: [Key] {
        state.markAllRead(path: path)
        return object.keys.compactMap { Key(stringValue: $0) }
    }

    func contains(_ key: Key) -> Bool {
        state.markRead(key.stringValue, path: path)
        return object[key.stringValue] != nil
    }

    private func member(_ key: Key) throws -> JSONValue {
        state.markRead(key.stringValue, path: path)
        guard let value = object[key.stringValue] else {
            throw JSONDecodingError(.missingField(key.stringValue), path: path)
        }
        return value
    }

    func decodeNil(forKey key: Key) throws -> Bool {
        state.markRead(key.stringValue, path: path)
        return object[key.stringValue]?.isNull ?? true
    }

    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        try unbox(member(key), as: type, codingPath: codingPath + [key], state: state)
    }

    func decodeIfPresent<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T? {
        state.markRead(key.stringValue, path: path)
        guard let value = object[key.stringValue], !value.isNull else { return nil }
        return try unbox(value, as: type, codingPath: codingPath + [key], state: state)
    }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
        try ValueDecoder(value: member(key), codingPath: codingPath + [key], state: state).container(keyedBy: type)
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        try ValueDecoder(value: member(key), codingPath: codingPath + [key], state: state).unkeyedContainer()
    }

    func superDecoder() throws -> any Decoder {
        ValueDecoder(value: .object(object), codingPath: codingPath, state: state)
    }

    func superDecoder(forKey key: Key) throws -> any Decoder {
        ValueDecoder(value: try member(key), codingPath: codingPath + [key], state: state)
    }
}

private struct UnkeyedContainer: UnkeyedDecodingContainer {
    let elements: [JSONValue]
    let codingPath: [any CodingKey]
    let state: DecodingState
    var currentIndex = 0

    init(elements: [JSONValue], codingPath: [any CodingKey], state: DecodingState) {
        self.elements = elements
        self.codingPath = codingPath
        self.state = state
    }

    var count: Int? { elements.count }
    var isAtEnd: Bool { currentIndex >= elements.count }

    private mutating func next() throws -> (JSONValue, [any CodingKey]) {
        guard !isAtEnd else {
            throw JSONDecodingError(.invalidValue("array has only \(elements.count) elements"), path: pathString(codingPath))
        }
        let path = codingPath + [IndexKey(currentIndex)]
        let value = elements[currentIndex]
        currentIndex += 1
        return (value, path)
    }

    mutating func decodeNil() throws -> Bool {
        guard !isAtEnd else { return false }
        if elements[currentIndex].isNull { currentIndex += 1; return true }
        return false
    }

    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T {
        let (value, path) = try next()
        return try unbox(value, as: type, codingPath: path, state: state)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> {
        let (value, path) = try next()
        return try ValueDecoder(value: value, codingPath: path, state: state).container(keyedBy: type)
    }

    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
        let (value, path) = try next()
        return try ValueDecoder(value: value, codingPath: path, state: state).unkeyedContainer()
    }

    mutating func superDecoder() throws -> any Decoder {
        let (value, path) = try next()
        return ValueDecoder(value: value, codingPath: path, state: state)
    }
}

private struct SingleContainer: SingleValueDecodingContainer {
    let value: JSONValue
    let codingPath: [any CodingKey]
    let state: DecodingState

    func decodeNil() -> Bool { value.isNull }

    func decode<T: Decodable>(_ type: T.Type) throws -> T {
        try unbox(value, as: type, codingPath: codingPath, state: state)
    }
}

extension SingleValueDecodingContainer {
    /// The raw JSON value when decoding through `StrictJSONDecoder` (nil with other decoders),
    /// for types whose meaning depends on how a number was written (`1` versus `1.0`).
    public func decodeJSONValue() -> JSONValue? {
        (self as? SingleContainer)?.value
    }
}
