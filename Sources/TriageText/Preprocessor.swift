import TriageCore
import Foundation

/// scikit-learn's `strip_accents` choices.
public enum StripAccents: String, Codable, Hashable, Sendable, CaseIterable {
    /// NFKD, then drop every non-ASCII character (`strip_accents_ascii`). Fast; loses non-Latin text.
    case ascii
    /// NFKD, then drop combining characters (`strip_accents_unicode`). Keeps non-Latin letters.
    case unicode
}

/// The preprocessing step of an analyzer: lower-casing, then accent stripping, in that order
/// (scikit-learn's `_preprocess`).
///
/// - `lowercase`: Python's `str.lower()` (full mappings, Final_Sigma).
/// - `strip_accents="unicode"`: ASCII text is returned as is; otherwise `NFKD(s)` with every
///   character of non-zero canonical combining class dropped — also marks that were already
///   decomposed, so NFC "café" and NFD "cafe\u{301}" both become "cafe" (scikit-learn ≥ 0.22).
/// - `strip_accents="ascii"`: `NFKD(s)` with every non-ASCII character dropped.
///
/// ASCII documents take a byte-level fast path; the result is identical.
public struct Preprocessor: Hashable, Sendable {
    public var lowercase: Bool
    public var stripAccents: StripAccents?

    public init(lowercase: Bool = true, stripAccents: StripAccents? = nil) {
        self.lowercase = lowercase
        self.stripAccents = stripAccents
    }

    /// The preprocessed text.
    public func callAsFunction(_ text: String) -> String {
        var out: [UInt8] = []
        run(text, into: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Replaces `out` with the UTF-8 bytes of the preprocessed `text`.
    public func run(_ text: String, into out: inout [UInt8]) {
        out.removeAll(keepingCapacity: true)
        var text = text
        let ascii = text.withUTF8 { bytes -> Bool in
            var isASCII = true
            for b in bytes where b >= 0x80 { isASCII = false; break }
            if isASCII {
                out.append(contentsOf: bytes)
                if lowercase {
                    out.withUnsafeMutableBufferPointer { buffer in
                        for k in buffer.indices where buffer[k] &- 0x41 < 26 { buffer[k] |= 0x20 }
                    }
                }
            }
            return isASCII
        }
        if ascii { return }

        var scalars = Array(text.unicodeScalars)
        if lowercase {
            var lowered: [Unicode.Scalar] = []
            lowered.reserveCapacity(scalars.count)
            PythonText.appendLowercased(scalars, to: &lowered)
            scalars = lowered
        }
        if let stripAccents {
            scalars = Self.strip(scalars, stripAccents)
        }
        for s in scalars { UTF8.encode(s) { out.append($0) } }
    }

    static func strip(_ scalars: [Unicode.Scalar], _ mode: StripAccents) -> [Unicode.Scalar] {
        var view = String.UnicodeScalarView()
        view.append(contentsOf: scalars)
        let decomposed = Array(String(view).decomposedStringWithCompatibilityMapping.unicodeScalars)
        switch mode {
        case .ascii:
            return decomposed.filter { $0.isASCII }
        case .unicode:
            return decomposed.filter { $0.properties.canonicalCombiningClass.rawValue == 0 }
        }
    }
}
