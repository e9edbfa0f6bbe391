import Crypto

/// The one stable hash of Triage: SHA-256, written as lower-case hex. It names what must be the
/// same on every machine and every run — training data (`data_sha256` in a model's provenance),
/// a search's identity (its ledger lines), the cache keys of fit stages, payloads, stop lists.
/// Not a secret or a signature: those are `TriageArtifact`'s (Ed25519); this file only uses
/// swift-crypto's SHA-256.
///
/// `scheme` names the hash in files that store its values (search ledgers): a reader that meets
/// another scheme refuses the file instead of treating old identities as new.
public enum StableHash {
    /// The identity scheme written into ledgers. Search ledgers written before it existed used
    /// 128-bit FNV-1a (32 hex digits) and no scheme field.
    public static let scheme = "sha256"

    /// SHA-256 of `bytes` in hex.
    public static func hex(_ bytes: [UInt8]) -> String { Hex.encode(Array(SHA256.hash(data: bytes))) }

    /// SHA-256 of the bytes in `buffer` in hex (no copy).
    public static func hex(_ buffer: UnsafeBufferPointer<UInt8>) -> String {
        var hasher = SHA256()
        hasher.update(bufferPointer: UnsafeRawBufferPointer(buffer))
        return Hex.encode(Array(hasher.finalize()))
    }

    /// SHA-256 in hex of the UTF-8 of `parts` one after another (no copy of their concatenation).
    public static func hex(utf8Of parts: String...) -> String {
        var hasher = SHA256()
        for var part in parts { part.withUTF8 { hasher.update(bufferPointer: UnsafeRawBufferPointer($0)) } }
        return Hex.encode(Array(hasher.finalize()))
    }

    /// The hash of a value's canonical JSON (`JSONValueEncoder`, members sorted): two values
    /// with the same encoding have the same hash, and any encoded member — including one added
    /// later — changes it.
    public static func hex<T: Encodable>(encoding value: T) throws(JSONEncodingError) -> String {
        hex(try JSONValueEncoder().canonicalBytes(value))
    }

    /// The hash of labelled messages, independent of the file format they came from: each
    /// message as the canonical JSON array `[id, subject, body, label]` followed by a newline.
    /// A model's `provenance.data_sha256`, and the data part of a search's identity.
    public static func messages(_ messages: [LabeledMessage]) -> String {
        var hasher = SHA256()
        for m in messages {
            var bytes = JSONWriter.bytes([.string(m.id), .string(m.subject), .string(m.body), m.label.map { .string($0) } ?? .null])
            bytes.append(0x0A)
            bytes.withUnsafeBytes { hasher.update(bufferPointer: $0) }
        }
        return Hex.encode(Array(hasher.finalize()))
    }
}

/// Lower-case hexadecimal.
public enum Hex {
    public static func encode(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(bytes.count * 2)
        for b in bytes {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 0xF)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The bytes of lower-case hexadecimal text (an even number of `0-9a-f`), or nil.
    public static func decode(_ text: String) -> [UInt8]? {
        let utf8 = Array(text.utf8)
        guard utf8.count % 2 == 0 else { return nil }
        func digit(_ c: UInt8) -> UInt8? {
            switch c {
            case UInt8(ascii: "0") ... UInt8(ascii: "9"): return c - UInt8(ascii: "0")
            case UInt8(ascii: "a") ... UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
            default: return nil
            }
        }
        var out = [UInt8]()
        out.reserveCapacity(utf8.count / 2)
        var i = 0
        while i < utf8.count {
            guard let hi = digit(utf8[i]), let lo = digit(utf8[i + 1]) else { return nil }
            out.append(hi << 4 | lo)
            i += 2
        }
        return out
    }
}
