/// MIME content-transfer-encodings (RFC 2045 §6), decoded leniently, as mail readers do: what
/// cannot be decoded is kept or dropped by a documented rule rather than failing the message.
enum TransferDecoding {
    /// Base64 (RFC 2045 §6.8). Characters outside the alphabet (line breaks, spaces, junk) are
    /// ignored, as §6.8 says; decoding stops at the first `=`. A final group of 2 or 3 characters
    /// gives its whole bytes; a lone trailing character (a truncated body) is dropped, and
    /// `truncated` says so.
    static func base64(_ input: UnsafeBufferPointer<UInt8>, truncated: inout Bool) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(input.count / 4 * 3 + 3)
        var group: UInt32 = 0
        var count = 0
        for c in input {
            let v = base64Values[Int(c)]
            if v >= 64 {
                if c == UInt8(ascii: "=") { break }
                continue
            }
            group = group << 6 | UInt32(v)
            count += 1
            if count == 4 {
                out.append(UInt8(truncatingIfNeeded: group >> 16))
                out.append(UInt8(truncatingIfNeeded: group >> 8))
                out.append(UInt8(truncatingIfNeeded: group))
                group = 0
                count = 0
            }
        }
        switch count {
        case 2: out.append(UInt8(truncatingIfNeeded: group >> 4))
        case 3:
            out.append(UInt8(truncatingIfNeeded: group >> 10))
            out.append(UInt8(truncatingIfNeeded: group >> 2))
        case 1: truncated = true
        default: break
        }
        return out
    }

    /// 0–63 for the alphabet, 64 for `=`, 255 for everything else.
    static let base64Values: [UInt8] = {
        var t = [UInt8](repeating: 255, count: 256)
        for (i, c) in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8.enumerated() { t[Int(c)] = UInt8(i) }
        t[Int(UInt8(ascii: "="))] = 64
        return t
    }()

    /// Quoted-printable (RFC 2045 §6.7): `=XX` (either case) is a byte, `=` at a line end is a
    /// soft break; any other `=` is kept as it is (§6.7 note 1). Line breaks become `\n`, and the
    /// spaces that end a line are dropped (§6.7 rule 3).
    static func quotedPrintable(_ input: UnsafeBufferPointer<UInt8>, header: Bool = false) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(input.count)
        var i = 0
        let n = input.count
        // Where the run of literal (not encoded) spaces at the end of `out` starts, if any.
        var padding: Int?
        while i < n {
            let c = input[i]
            if c == UInt8(ascii: "=") {
                // Soft line break: "=", optional spaces, then CRLF, LF, CR or the end.
                var j = i + 1
                while j < n, input[j] == 0x20 || input[j] == 0x09 { j += 1 }
                if j == n { break }
                if input[j] == 0x0A || input[j] == 0x0D {
                    i = input[j] == 0x0D && j + 1 < n && input[j + 1] == 0x0A ? j + 2 : j + 1
                    padding = nil
                    continue
                }
                if i + 2 < n, let hi = hexValue(input[i + 1]), let lo = hexValue(input[i + 2]) {
                    out.append(hi << 4 | lo)
                    padding = nil
                    i += 3
                    continue
                }
                out.append(c)
                padding = nil
                i += 1
                continue
            }
            if c == 0x0D || c == 0x0A {
                if let p = padding { out.removeSubrange(p...) }
                padding = nil
                out.append(0x0A)
                i += c == 0x0D && i + 1 < n && input[i + 1] == 0x0A ? 2 : 1
                continue
            }
            if header && c == UInt8(ascii: "_") {
                out.append(0x20)
                padding = nil
            } else {
                if c == 0x20 || c == 0x09 {
                    if padding == nil { padding = out.count }
                } else {
                    padding = nil
                }
                out.append(c)
            }
            i += 1
        }
        if let p = padding { out.removeSubrange(p...) }
        return out
    }

    @inline(__always)
    static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0") ... UInt8(ascii: "9"): return c - UInt8(ascii: "0")
        case UInt8(ascii: "A") ... UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
        case UInt8(ascii: "a") ... UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
        default: return nil
        }
    }
}
