/// Where each byte of a cleaned text came from in the original: a list of pieces, each a run of
/// output bytes and the original range it stands for. A *copied* piece is the original bytes
/// unchanged (so every byte maps to one byte); any other piece (a decoded entity, a line break
/// standing for a tag, one space for a run of whitespace) maps as a whole to its original range.
/// Offsets are UTF-8 byte offsets; `CleanedText.originalUTF16Range` converts to the UTF-16 code
/// units a browser indexes by.
public struct OffsetMap: Sendable, Hashable {
    public struct Piece: Sendable, Hashable {
        public var output: Int
        public var length: Int
        public var original: Range<Int>
        public var copied: Bool
    }

    public private(set) var pieces: [Piece] = []
    /// Output bytes mapped so far.
    public private(set) var outputCount = 0

    public init() {}

    /// The identity map of `count` bytes.
    public static func identity(_ count: Int) -> OffsetMap {
        var m = OffsetMap()
        m.copy(0 ..< count)
        return m
    }

    /// Appends output bytes that are a copy of `original`.
    mutating func copy(_ original: Range<Int>) {
        guard !original.isEmpty else { return }
        if var last = pieces.last, last.copied, last.original.upperBound == original.lowerBound {
            last.length += original.count
            last.original = last.original.lowerBound ..< original.upperBound
            pieces[pieces.count - 1] = last
        } else {
            pieces.append(Piece(output: outputCount, length: original.count, original: original, copied: true))
        }
        outputCount += original.count
    }

    /// Appends `length` output bytes that stand for `original` as a whole.
    mutating func replace(_ original: Range<Int>, length: Int) {
        guard length > 0 else { return }
        pieces.append(Piece(output: outputCount, length: length, original: original, copied: false))
        outputCount += length
    }

    /// Appends the part of `other` that maps `range` of its output.
    mutating func append(_ other: OffsetMap, range: Range<Int>) {
        guard !range.isEmpty else { return }
        var k = other.pieceIndex(containing: range.lowerBound)
        while k < other.pieces.count {
            let p = other.pieces[k]
            let lo = max(range.lowerBound, p.output), hi = min(range.upperBound, p.output + p.length)
            if lo >= range.upperBound { break }
            if lo < hi {
                if p.copied {
                    copy((p.original.lowerBound + lo - p.output) ..< (p.original.lowerBound + hi - p.output))
                } else {
                    replace(p.original, length: hi - lo)
                }
            }
            k += 1
        }
    }

    private func pieceIndex(containing offset: Int) -> Int {
        var lo = 0, hi = pieces.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if pieces[mid].output + pieces[mid].length <= offset { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }

    /// The original range that output `range` stands for (UTF-8 offsets).
    public func original(of range: Range<Int>) -> Range<Int> {
        guard !pieces.isEmpty else { return 0 ..< 0 }
        if range.isEmpty {
            let k = min(pieceIndex(containing: range.lowerBound), pieces.count - 1)
            let p = pieces[k]
            let at = p.copied ? p.original.lowerBound + max(0, min(p.length, range.lowerBound - p.output)) : p.original.lowerBound
            return at ..< at
        }
        var lower: Int?, upper = 0
        var k = pieceIndex(containing: range.lowerBound)
        while k < pieces.count {
            let p = pieces[k]
            let lo = max(range.lowerBound, p.output), hi = min(range.upperBound, p.output + p.length)
            if lo >= range.upperBound { break }
            if lo < hi {
                let a = p.copied ? p.original.lowerBound + lo - p.output : p.original.lowerBound
                let b = p.copied ? p.original.lowerBound + hi - p.output : p.original.upperBound
                lower = min(lower ?? a, a)
                upper = max(upper, b)
            }
            k += 1
        }
        return (lower ?? 0) ..< max(lower ?? 0, upper)
    }
}
