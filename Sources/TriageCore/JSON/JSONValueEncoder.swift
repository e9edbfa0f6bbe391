/// Why a value could not be written as JSON (a NaN or an infinity, which JSON cannot hold).
public struct JSONEncodingError: Error, Equatable, CustomStringConvertible {
    public let path: String
    public let reason: String
    public var description: String { "cannot write JSON at \(path): \(reason)" }
}

/// Encodes `Encodable` values to `JSONValue`. Doubles are written in their shortest round-trip
/// form with a fraction or exponent (`1.0`), integers without, so a value decodes back to the
/// same type and bits; NaN and infinities are refused.
public struct JSONValueEncoder: Sendable {
    /// Handed to every `Encoder` of the tree (`Encoder.userInfo`): how a type learns, for
    /// example, that its large arrays go to an artifact's binary sections.
    public var userInfo: [CodingUserInfoKey: any Sendable]

    public init(userInfo: [CodingUserInfoKey: any Sendable] = [:]) { self.userInfo = userInfo }

    public func encode<T: Encodable>(_ value: T) throws(JSONEncodingError) -> JSONValue {
        let root = Slot(userInfo: userInfo)
        do {
            try encodeValue(value, into: root, codingPath: [])
        } catch let error as JSONEncodingError {
            throw error
        } catch let EncodingError.invalidValue(_, context) {
            throw JSONEncodingError(path: pathString(context.codingPath), reason: context.debugDescription)
        } catch {
            throw JSONEncodingError(path: "$", reason: "\(error)")
        }
        return root.materialize()
    }

    /// Canonical bytes (sorted keys, no whitespace): see `JSONWriter`.
    public func canonicalBytes<T: Encodable>(_ value: T) throws(JSONEncodingError) -> [UInt8] {
        JSONWriter.bytes(try encode(value))
    }
}

/// One place in the tree being built.
private final class Slot {
    enum Node {
        case empty
        case value(JSONValue)
        case object(keys: [String], slots: [Slot])
        case array([Slot])
    }

    var node: Node = .empty
    let userInfo: [CodingUserInfoKey: any Sendable]

    init(userInfo: [CodingUserInfoKey: any Sendable]) { self.userInfo = userInfo }

    func materialize() -> JSONValue {
        switch node {
        case .empty: return .object(JSONObject())
        case let .value(v): return v
        case let .object(keys, slots):
            var object = JSONObject()
            for (k, s) in zip(keys, slots) { object.appendUnchecked(k, s.materialize()) }
            return .object(object)
        case let .array(slots): return .array(slots.map { $0.materialize() })
        }
    }

    /// Key → index in an object's slots (a large keyed container must not cost O(n) per key).
    var keyIndex: [String: Int] = [:]

    // Both mutators take the arrays out of `node` and clear it before appending, so the arrays
    // are uniquely referenced and grow in place: appending n elements is O(n), not O(n²) (a
    // 300k-term vocabulary took minutes to encode before).
    func child(forKey key: String) -> Slot {
        var keys: [String] = [], slots: [Slot] = []
        if case let .object(k, s) = node { keys = k; slots = s } else { keyIndex = [:] }
        if let i = keyIndex[key] { return slots[i] }
        node = .empty
        let slot = Slot(userInfo: userInfo)
        keyIndex[key] = keys.count
        keys.append(key)
        slots.append(slot)
        node = .object(keys: keys, slots: slots)
        return slot
    }

    func appendElement() -> Slot {
        var slots: [Slot] = []
        if case let .array(s) = node { slots = s }
        node = .empty
        let slot = Slot(userInfo: userInfo)
        slots.append(slot)
        node = .array(slots)
        return slot
    }
}

private func encodeValue<T: Encodable>(_ value: T, into slot: Slot, codingPath: [any CodingKey]) throws {
    switch value {
    case let v as String: slot.node = .value(.string(v))
    case let v as Bool: slot.node = .value(.bool(v))
    case let v as Double: slot.node = .value(try number(v, codingPath))
    case let v as Float: slot.node = .value(try number(Double(v), codingPath))
    case let v as Int: slot.node = .value(.number(JSONNumber(v)))
    case let v as any FixedWidthInteger:
        slot.node = .value(.number(JSONNumber(validatedLiteral: String(describing: v), value: Double(v))))
    default:
        try value.encode(to: ValueEncoder(slot: slot, codingPath: codingPath))
    }
}

private func number(_ v: Double, _ codingPath: [any CodingKey]) throws -> JSONValue {
    guard let n = JSONNumber(v) else {
        throw JSONEncodingError(path: pathString(codingPath), reason: "\(v) is not a finite number")
    }
    return .number(n)
}

private struct ValueEncoder: Encoder {
    let slot: Slot
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { slot.userInfo }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        if case .object = slot.node {} else {
            slot.node = .object(keys: [], slots: [])
            slot.keyIndex = [:]
        }
        return KeyedEncodingContainer(KeyedContainer<Key>(slot: slot, codingPath: codingPath))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        if case .array = slot.node {} else { slot.node = .array([]) }
        return UnkeyedContainer(slot: slot, codingPath: codingPath)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer {
        SingleContainer(slot: slot, codingPath: codingPath)
    }
}

private struct KeyedContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let slot: Slot
    let codingPath: [any CodingKey]

    mutating func encodeNil(forKey key: Key) throws { slot.child(forKey: key.stringValue).node = .value(.null) }

    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        try encodeValue(value, into: slot.child(forKey: key.stringValue), codingPath: codingPath + [key])
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key) -> KeyedEncodingContainer<NestedKey> {
        ValueEncoder(slot: slot.child(forKey: key.stringValue), codingPath: codingPath + [key]).container(keyedBy: keyType)
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        ValueEncoder(slot: slot.child(forKey: key.stringValue), codingPath: codingPath + [key]).unkeyedContainer()
    }

    mutating func superEncoder() -> any Encoder { ValueEncoder(slot: slot, codingPath: codingPath) }

    mutating func superEncoder(forKey key: Key) -> any Encoder {
        ValueEncoder(slot: slot.child(forKey: key.stringValue), codingPath: codingPath + [key])
    }
}

private struct UnkeyedContainer: UnkeyedEncodingContainer {
    let slot: Slot
    let codingPath: [any CodingKey]
    var count: Int {
        if case let .array(s) = slot.node { return s.count }
        return 0
    }

    mutating func encodeNil() throws { slot.appendElement().node = .value(.null) }

    mutating func encode<T: Encodable>(_ value: T) throws {
        let path = codingPath + [IndexKey(count)]
        try encodeValue(value, into: slot.appendElement(), codingPath: path)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
        let path = codingPath + [IndexKey(count)]
        return ValueEncoder(slot: slot.appendElement(), codingPath: path).container(keyedBy: keyType)
    }

    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        let path = codingPath + [IndexKey(count)]
        return ValueEncoder(slot: slot.appendElement(), codingPath: path).unkeyedContainer()
    }

    mutating func superEncoder() -> any Encoder {
        let path = codingPath + [IndexKey(count)]
        return ValueEncoder(slot: slot.appendElement(), codingPath: path)
    }
}

private struct SingleContainer: SingleValueEncodingContainer {
    let slot: Slot
    let codingPath: [any CodingKey]

    mutating func encodeNil() throws { slot.node = .value(.null) }

    mutating func encode<T: Encodable>(_ value: T) throws {
        try encodeValue(value, into: slot, codingPath: codingPath)
    }
}

extension SingleValueEncodingContainer {
    /// Writes a raw JSON value when encoding through `JSONValueEncoder` (other encoders get
    /// nothing: use it only in types that are written by Triage's encoder).
    public mutating func encodeJSONValue(_ value: JSONValue) {
        if let container = self as? SingleContainer { container.slot.node = .value(value) }
    }
}
