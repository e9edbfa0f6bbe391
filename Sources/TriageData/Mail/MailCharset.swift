import Foundation

/// How the bytes of a MIME text part (or an RFC 2047 encoded word) become text.
///
/// UTF-8, US-ASCII and the single-byte charsets of `tables` are decoded here; Shift_JIS and
/// ISO-2022-JP through Foundation. Following the WHATWG Encoding Standard
/// (https://encoding.spec.whatwg.org/#names-and-labels), `iso-8859-1`, `latin1` and
/// `us-ascii` are read as windows-1252 — mail labelled Latin-1 often holds windows-1252 quotes
/// and dashes in 0x80–0x9F, where true Latin-1 has unused control codes — except that 8-bit text
/// labelled US-ASCII that is valid UTF-8 is read as UTF-8 (a common mislabelling).
///
/// A charset not known here is decoded as UTF-8, invalid sequences becoming U+FFFD, and the caller
/// reports it (`isKnown == false`).
public enum MailCharset: Equatable, Sendable {
    case utf8
    /// US-ASCII: windows-1252 for bytes above 0x7F, unless the text is valid UTF-8.
    case ascii
    /// A single-byte charset: its name and the Unicode scalars of its bytes 0x80–0xFF.
    case singleByte(name: String, upperHalf: [UInt16])
    case foundation(String.Encoding)
    /// Not known: read as UTF-8 with replacement characters.
    case unknown(String)

    public var isKnown: Bool { if case .unknown = self { return false } else { return true } }

    /// The charset a MIME `charset` parameter names (case-insensitive, quotes and spaces already
    /// removed); nil or empty means US-ASCII (RFC 2045 §5.2).
    public static func named(_ label: String?) -> MailCharset {
        guard let label, !label.isEmpty else { return .ascii }
        let name = label.lowercased()
        switch name {
        case "utf-8", "utf8", "unicode-1-1-utf-8", "x-unicode20utf8": return .utf8
        case "us-ascii", "ascii", "ansi_x3.4-1968", "iso646-us", "us", "cp367", "ibm367", "iso-ir-6": return .ascii
        case "iso-8859-1", "iso8859-1", "iso_8859-1", "latin1", "latin-1", "l1", "iso-ir-100", "cp819", "ibm819",
             "windows-1252", "cp1252", "x-cp1252", "iso_8859-1:1987": return single("windows-1252")
        case "iso-8859-2", "iso8859-2", "iso_8859-2", "latin2", "latin-2", "l2", "iso-ir-101": return single("iso-8859-2")
        case "iso-8859-5", "iso8859-5", "iso_8859-5", "cyrillic": return single("iso-8859-5")
        case "iso-8859-7", "iso8859-7", "iso_8859-7", "greek", "greek8": return single("iso-8859-7")
        case "iso-8859-9", "iso8859-9", "iso_8859-9", "latin5", "l5": return single("windows-1254")
        case "iso-8859-15", "iso8859-15", "iso_8859-15", "latin9", "latin-9", "l9": return single("iso-8859-15")
        case "windows-1250", "cp1250", "x-cp1250": return single("windows-1250")
        case "windows-1251", "cp1251", "x-cp1251": return single("windows-1251")
        case "windows-1253", "cp1253": return single("windows-1253")
        case "windows-1254", "cp1254": return single("windows-1254")
        case "koi8-r", "koi8r", "koi8": return single("koi8-r")
        case "koi8-u", "koi8u": return single("koi8-u")
        case "shift_jis", "shift-jis", "sjis", "ms_kanji", "windows-31j", "cp932", "x-sjis": return .foundation(.shiftJIS)
        case "iso-2022-jp", "csiso2022jp": return .foundation(.iso2022JP)
        default: return .unknown(label)
        }
    }

    /// The charset of a table of `MailCharsetTables.swift` (every name `named` gives has one).
    private static func single(_ name: String) -> MailCharset {
        tables[name].map { .singleByte(name: name, upperHalf: $0) } ?? .unknown(name)
    }

    /// US-ASCII's reading of bytes above 0x7F.
    private static let windows1252 = tables["windows-1252"] ?? []

    /// The text of `bytes`. Never fails: what cannot be decoded becomes U+FFFD.
    public func decode(_ bytes: UnsafeBufferPointer<UInt8>) -> String {
        switch self {
        case .utf8, .unknown:
            return String(decoding: bytes, as: UTF8.self)
        case .ascii:
            // ASCII is valid UTF-8; 8-bit text that is UTF-8 is read as such.
            if let text = String(validating: bytes, as: UTF8.self) { return text }
            return Self.decodeSingleByte(bytes, table: Self.windows1252)
        case let .singleByte(_, upperHalf):
            return Self.decodeSingleByte(bytes, table: upperHalf)
        case let .foundation(encoding):
            if let s = String(data: Data(buffer: bytes), encoding: encoding) { return s }
            return String(decoding: bytes, as: UTF8.self)
        }
    }

    public func decode(_ bytes: [UInt8]) -> String { bytes.withUnsafeBufferPointer { decode($0) } }

    /// Bytes below 0x80 are ASCII; the rest go through the table of the upper half.
    static func decodeSingleByte(_ bytes: UnsafeBufferPointer<UInt8>, table: [UInt16]) -> String {
        guard table.count == 128 else { return String(decoding: bytes, as: UTF8.self) }
        var ascii = 0
        for b in bytes where b < 0x80 { ascii += 1 }
        let capacity = ascii + (bytes.count - ascii) * 3
        return String(unsafeUninitializedCapacity: capacity) { out in
            var n = 0
            table.withUnsafeBufferPointer { table in
                for b in bytes {
                    if b < 0x80 {
                        out[n] = b
                        n += 1
                        continue
                    }
                    let u = UInt32(table[Int(b) - 0x80])
                    if u < 0x800 {
                        out[n] = UInt8(0xC0 | (u >> 6))
                        out[n + 1] = UInt8(0x80 | (u & 0x3F))
                        n += 2
                    } else {
                        out[n] = UInt8(0xE0 | (u >> 12))
                        out[n + 1] = UInt8(0x80 | ((u >> 6) & 0x3F))
                        out[n + 2] = UInt8(0x80 | (u & 0x3F))
                        n += 3
                    }
                }
            }
            return n
        }
    }
}
