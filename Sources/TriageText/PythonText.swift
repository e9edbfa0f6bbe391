import TriageCore
import Foundation

/// The character semantics of CPython 3's `str` and `re`, which scikit-learn's analyzers use,
/// re-implemented on Swift's Unicode properties so Triage's tokens match scikit-learn's exactly:
///
/// - `\w` (word character): general category L* (`str.isalpha`) or any numeric type
///   (`isdecimal`/`isdigit`/`isnumeric`), or `_`. Combining marks are *not* word characters,
///   so a decomposed "cafe\u{301}" tokenises as "cafe", as in Python.
/// - `\s` and `str.isspace()`: the fixed list below (bidirectional class WS, B or S, or
///   category Zs), which includes U+001C…U+001F.
/// - `\d`: category Nd.
/// - `str.lower()`: the full lower-case mapping (SpecialCasing), with the Final_Sigma rule
///   for U+03A3 that Swift's `lowercased()` does not apply.
///
/// Unicode version: Swift's tables are newer than Python 3.11's (Unicode 14.0); the two agree
/// on every code point assigned in 14.0 (checked against `python_unicode.json` in the tests).
enum PythonText {
    static let word: UInt8 = 1
    static let space: UInt8 = 2
    static let cased: UInt8 = 4
    static let caseIgnorable: UInt8 = 8
    static let decimal: UInt8 = 16

    /// Flags of every BMP code point, built once on first use (about 5 ms).
    private static let bmpFlags: [UInt8] = (0 ..< 0x10000).map { computeFlags(UInt32($0)) }

    /// Lower-case mapping of every BMP code point: the mapped scalar when the mapping is one
    /// scalar (most), `multiScalar` when it is longer (U+0130 İ → "i̇").
    private static let bmpLower: [UInt32] = (0 ..< 0x10000).map { computeLower(UInt32($0)) }
    private static let multiScalar: UInt32 = 0xFFFF_FFFF

    @inline(__always)
    static func flags(_ v: UInt32) -> UInt8 {
        v < 0x10000 ? bmpFlags[Int(v)] : computeFlags(v)
    }

    @inline(__always)
    static func isWord(_ v: UInt32) -> Bool {
        if v < 0x80 { return asciiWord[Int(v)] }
        return flags(v) & word != 0
    }

    @inline(__always)
    static func isSpace(_ v: UInt32) -> Bool {
        switch v {
        case 0x09 ... 0x0D, 0x1C ... 0x20, 0x85, 0xA0, 0x1680, 0x2000 ... 0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000:
            return true
        default:
            return false
        }
    }

    static let asciiWord: [Bool] = (0 ..< 128).map { c in
        (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || c == 0x5F
    }

    private static func computeFlags(_ v: UInt32) -> UInt8 {
        guard let scalar = Unicode.Scalar(v) else { return 0 }
        let p = scalar.properties
        var f: UInt8 = 0
        switch p.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter:
            f |= word
        case .decimalNumber:
            f |= word | decimal
        default:
            if p.numericType != nil { f |= word }
        }
        if v == 0x5F { f |= word }
        if isSpace(v) { f |= space }
        if p.isCased { f |= cased }
        if p.isCaseIgnorable { f |= caseIgnorable }
        return f
    }

    private static func computeLower(_ v: UInt32) -> UInt32 {
        guard let scalar = Unicode.Scalar(v) else { return v }
        guard scalar.properties.changesWhenLowercased else { return v }
        let mapped = scalar.properties.lowercaseMapping.unicodeScalars
        if mapped.count == 1, let first = mapped.first { return first.value }
        return multiScalar
    }

    /// Appends Python's `str.lower()` of `scalars` to `out`.
    static func appendLowercased(_ scalars: [Unicode.Scalar], to out: inout [Unicode.Scalar]) {
        for (i, s) in scalars.enumerated() {
            let v = s.value
            if v == 0x3A3 {
                out.append(isFinalSigma(scalars, at: i) ? "\u{3C2}" : "\u{3C3}")
                continue
            }
            let mapped = v < 0x10000 ? bmpLower[Int(v)] : computeLower(v)
            if mapped == multiScalar {
                out.append(contentsOf: s.properties.lowercaseMapping.unicodeScalars)
            } else if let m = Unicode.Scalar(mapped) {
                out.append(m)
            } else {
                out.append(s)
            }
        }
    }

    /// Final_Sigma (Unicode 3.13, as CPython applies it): preceded by a cased letter (skipping
    /// case-ignorable characters) and not followed by one (skipping them likewise).
    private static func isFinalSigma(_ scalars: [Unicode.Scalar], at i: Int) -> Bool {
        var j = i - 1
        while j >= 0, flags(scalars[j].value) & caseIgnorable != 0 { j -= 1 }
        guard j >= 0, flags(scalars[j].value) & cased != 0 else { return false }
        j = i + 1
        while j < scalars.count, flags(scalars[j].value) & caseIgnorable != 0 { j += 1 }
        return j == scalars.count || flags(scalars[j].value) & cased == 0
    }
}
