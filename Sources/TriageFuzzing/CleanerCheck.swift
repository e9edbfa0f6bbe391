import TriageText

/// The `clean` fuzz mode's check: the clean step on arbitrary bytes, its invariants enforced.
enum CleanerCheck {
    /// Every shipped language's patterns (the repository's stopwords/mail/, found from the
    /// executable), so the fuzzer reaches every pattern kind.
    static let cleaner: Cleaner = {
        do { return try CleanSettings().prepare() } catch { fatalError("clean fuzz mode: cannot read the mail patterns: \(error)") }
    }()

    static func check(_ bytes: [UInt8]) {
        let body = String(decoding: bytes, as: UTF8.self)
        let cleaned = cleaner.clean(body: body)
        let original = Array(body.utf8), text = Array(cleaned.text.utf8)
        precondition(text.count <= 2 * original.count + 16, "the cleaned text grew from \(original.count) to \(text.count) bytes")
        precondition(cleaned.map.outputCount == text.count, "the map covers \(cleaned.map.outputCount) of \(text.count) bytes")
        for piece in cleaned.map.pieces {
            precondition(piece.original.lowerBound >= 0 && piece.original.upperBound <= original.count, "a piece maps outside the original")
            if piece.copied {
                precondition(original[piece.original].elementsEqual(text[piece.output ..< piece.output + piece.length]), "a copied piece differs from its original")
            }
        }
        for part in cleaned.removed {
            precondition(part.original.upperBound <= original.count, "a removed part lies outside the original")
        }
        _ = cleaner.cleanSubject(String(body.prefix(2000)))
    }
}
