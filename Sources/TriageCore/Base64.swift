/// Standard base64 (RFC 4648 §4) with a strict decoder: padding required, no whitespace, and the
/// unused low bits of the last character must be zero — so one encoded text decodes to one
/// byte string and a flipped unused bit is an error, not a silent no-op.
public enum Base64 {
    static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
    static let values: [Int8] = {
        var table = [Int8](repeating: -1, count: 256)
        for (i, c) in alphabet.enumerated() { table[Int(c)] = Int8(i) }
        return table
    }()

    public static func encode(_ bytes: [UInt8]) -> String {
        var out = [UInt8]()
        out.reserveCapacity((bytes.count + 2) / 3 * 4)
        var i = 0
        while i + 3 <= bytes.count {
            let n = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2])
            for shift in [18, 12, 6, 0] { out.append(alphabet[Int((n >> UInt32(shift)) & 63)]) }
            i += 3
        }
        let rest = bytes.count - i
        if rest == 1 {
            let n = UInt32(bytes[i]) << 16
            out += [alphabet[Int(n >> 18)], alphabet[Int((n >> 12) & 63)], UInt8(ascii: "="), UInt8(ascii: "=")]
        } else if rest == 2 {
            let n = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8
            out += [alphabet[Int(n >> 18)], alphabet[Int((n >> 12) & 63)], alphabet[Int((n >> 6) & 63)], UInt8(ascii: "=")]
        }
        return String(decoding: out, as: UTF8.self)
    }

    public static func decode(_ text: String) -> [UInt8]? {
        let chars = Array(text.utf8)
        guard chars.count % 4 == 0 else { return nil }
        var out = [UInt8]()
        out.reserveCapacity(chars.count / 4 * 3)
        var i = 0
        while i < chars.count {
            let last = i + 4 == chars.count
            let c2 = chars[i + 2], c3 = chars[i + 3]
            let pad = last && c3 == UInt8(ascii: "=") ? (c2 == UInt8(ascii: "=") ? 2 : 1) : 0
            var n: UInt32 = 0
            for k in 0 ..< 4 - pad {
                let v = values[Int(chars[i + k])]
                guard v >= 0 else { return nil }
                n |= UInt32(v) << UInt32(18 - 6 * k)
            }
            out.append(UInt8(n >> 16))
            if pad == 2 {
                guard n & 0xFFFF == 0 else { return nil }   // unused bits must be zero
            } else {
                out.append(UInt8((n >> 8) & 0xFF))
                if pad == 1 {
                    guard n & 0xFF == 0 else { return nil }
                } else {
                    out.append(UInt8(n & 0xFF))
                }
            }
            i += 4
        }
        return out
    }
}
