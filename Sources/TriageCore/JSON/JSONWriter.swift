/// Writes `JSONValue`s as UTF-8 bytes.
///
/// With `sortedKeys` (the default) the output is canonical: members sorted by the UTF-8 bytes
/// of their keys, no insignificant whitespace, numbers as their literal (shortest round-trip
/// for doubles), strings escaped minimally (`"`, `\`, and control characters only). The same
/// value always gives the same bytes, which is what a signature needs.
public enum JSONWriter {
    public struct Options: Sendable {
        public var sortedKeys: Bool
        /// Two-space indentation and a newline after each member (for humans; not canonical).
        public var pretty: Bool

        public init(sortedKeys: Bool = true, pretty: Bool = false) {
            self.sortedKeys = sortedKeys
            self.pretty = pretty
        }

        public static let canonical = Options()
    }

    public static func bytes(_ value: JSONValue, options: Options = .canonical) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(256)
        write(value, into: &out, options: options, indent: 0)
        if options.pretty { out.append(0x0A) }
        return out
    }

    public static func string(_ value: JSONValue, options: Options = .canonical) -> String {
        String(decoding: bytes(value, options: options), as: UTF8.self)
    }

    private static func newline(_ out: inout [UInt8], _ indent: Int) {
        out.append(0x0A)
        out.append(contentsOf: repeatElement(0x20, count: indent * 2))
    }

    private static func write(_ value: JSONValue, into out: inout [UInt8], options: Options, indent: Int) {
        switch value {
        case .null: out.append(contentsOf: "null".utf8)
        case let .bool(b): out.append(contentsOf: (b ? "true" : "false").utf8)
        case let .number(n): out.append(contentsOf: n.literal.utf8)
        case let .string(s): writeString(s, into: &out)
        case let .array(elements):
            out.append(UInt8(ascii: "["))
            for (i, element) in elements.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                if options.pretty { newline(&out, indent + 1) }
                write(element, into: &out, options: options, indent: indent + 1)
            }
            if options.pretty && !elements.isEmpty { newline(&out, indent) }
            out.append(UInt8(ascii: "]"))
        case let .object(object):
            out.append(UInt8(ascii: "{"))
            var order = Array(0 ..< object.count)
            if options.sortedKeys {
                order.sort { object.keys[$0].utf8.lexicographicallyPrecedes(object.keys[$1].utf8) }
            }
            for (n, i) in order.enumerated() {
                if n > 0 { out.append(UInt8(ascii: ",")) }
                if options.pretty { newline(&out, indent + 1) }
                writeString(object.keys[i], into: &out)
                out.append(UInt8(ascii: ":"))
                if options.pretty { out.append(0x20) }
                write(object.values[i], into: &out, options: options, indent: indent + 1)
            }
            if options.pretty && !order.isEmpty { newline(&out, indent) }
            out.append(UInt8(ascii: "}"))
        }
    }

    private static let hex: [UInt8] = Array("0123456789abcdef".utf8)

    /// Appends `s` as a JSON string literal (quotes, escapes), as every writer here does.
    public static func writeString(_ s: String, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: "\""): out.append(0x5C); out.append(b)
            case UInt8(ascii: "\\"): out.append(0x5C); out.append(b)
            case 0x0A: out.append(0x5C); out.append(UInt8(ascii: "n"))
            case 0x0D: out.append(0x5C); out.append(UInt8(ascii: "r"))
            case 0x09: out.append(0x5C); out.append(UInt8(ascii: "t"))
            case 0x08: out.append(0x5C); out.append(UInt8(ascii: "b"))
            case 0x0C: out.append(0x5C); out.append(UInt8(ascii: "f"))
            case 0 ..< 0x20:
                out.append(contentsOf: [0x5C, UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"), hex[Int(b >> 4)], hex[Int(b & 0xF)]])
            default: out.append(b)
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}
