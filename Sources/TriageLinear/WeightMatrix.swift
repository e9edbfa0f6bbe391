import TriageCore

#if _endian(big)
#error("model files store little-endian numbers; a big-endian host needs byte swapping here")
#endif

/// How a weight matrix is stored in a model file (models/FORMAT.md, payload version 3).
///
/// - `float32`: IEEE 754 binary32, exactly the weights in memory.
/// - `float16`: IEEE 754 binary16 (±65504, 11 significant bits): half the bytes.
/// - `int8`: a signed byte per weight and a 32-bit scale per column: weight = q × scale[column],
///   q in −127…127, scale = (largest |weight| of the column) / 127. A quarter of the bytes.
///
/// Naive Bayes columns are stored relative to a per-feature offset before `float16`/`int8`
/// rounding: the midpoint of the feature's log-probabilities over the member's classes is
/// subtracted. That shift is the same for every class of the member, so its probabilities (a
/// softmax) are unchanged, while the values to round shrink from about −15…−5 to about ±5.
public enum WeightEncoding: String, Sendable, Codable, CaseIterable, Hashable {
    case float32, float16, int8

    /// Bytes per weight in the file.
    public var bytesPerWeight: Int {
        switch self {
        case .float32: return 4
        case .float16: return 2
        case .int8: return 1
        }
    }

    /// The largest magnitude `float16` holds.
    static let float16Max: Float = 65504
}

/// Why stored weights could not be read.
public struct WeightMatrixError: Error, Equatable, Sendable, CustomStringConvertible {
    public let reason: String
    public init(_ reason: String) { self.reason = reason }
    public var description: String { reason }
}

/// A feature-major matrix of 32-bit weights, `values[row * columns + column]` (a row per
/// feature, a column per score), read-only once built and shared by every model that reads its
/// columns from it: a soft vote of linear models keeps one matrix whose columns are its members'
/// scores side by side, so the weights are held once, in the layout scoring reads.
///
/// `encoding` says how the values were rounded and how a model file stores them; the values are
/// always exactly what that encoding gives back, so saving and loading keep every bit.
public final class WeightMatrix: Sendable, Equatable, CustomStringConvertible {
    public let rows: Int
    public let columns: Int
    public let values: [Float]
    public let encoding: WeightEncoding
    /// `int8` only: the scale of each column (weight = q × scale); empty otherwise.
    public let scales: [Float]

    /// Float32 weights as they are (`values.count == rows × columns`).
    public init(rows: Int, columns: Int, values: [Float]) {
        precondition(values.count == rows * columns, "\(values.count) weights for \(rows) × \(columns)")
        self.rows = rows
        self.columns = columns
        self.values = values
        encoding = .float32
        scales = []
    }

    private init(rows: Int, columns: Int, values: [Float], encoding: WeightEncoding, scales: [Float]) {
        self.rows = rows
        self.columns = columns
        self.values = values
        self.encoding = encoding
        self.scales = scales
    }

    public static func == (a: WeightMatrix, b: WeightMatrix) -> Bool {
        a === b || (a.rows == b.rows && a.columns == b.columns && a.encoding == b.encoding && a.scales == b.scales && a.values == b.values)
    }

    public var description: String { "\(rows) × \(columns) \(encoding.rawValue)" }

    /// Bytes of the stored form (`sectionBytes`).
    public var storedByteCount: Int { rows * columns * encoding.bytesPerWeight }

    /// Bytes held in memory.
    public var memoryByteCount: Int { values.count * 4 }

    // MARK: Rounding

    /// The matrix as `encoding` stores it: the weights rounded to what the file will give back.
    /// `centered` lists column ranges (naive Bayes members) to shift per feature by the midpoint
    /// of their values before rounding (not for `float32`, which keeps every value). A matrix
    /// already in `encoding` is returned as it is, so rounding twice changes nothing.
    ///
    /// `float16` keeps a matrix whose weights do not all fit in ±65504 as `float32`.
    public func encoded(as encoding: WeightEncoding, centered: [Range<Int>] = []) -> WeightMatrix {
        if encoding == self.encoding || encoding == .float32 { return self }
        var v = values
        centre(&v, ranges: centered)
        switch encoding {
        case .float32:
            return self
        case .float16:
            guard v.allSatisfy({ abs($0) <= WeightEncoding.float16Max }) else { return self }
            for i in v.indices { v[i] = Float(Float16(v[i])) }
            return WeightMatrix(rows: rows, columns: columns, values: v, encoding: .float16, scales: [])
        case .int8:
            var scales = [Float](repeating: 0, count: columns)
            for r in 0 ..< rows {
                for c in 0 ..< columns { scales[c] = max(scales[c], abs(v[r * columns + c])) }
            }
            for c in 0 ..< columns { scales[c] = scales[c] > 0 ? scales[c] / 127 : 1 }
            for r in 0 ..< rows {
                for c in 0 ..< columns {
                    let i = r * columns + c
                    v[i] = Float(Self.quantize(v[i], scale: scales[c])) * scales[c]
                }
            }
            return WeightMatrix(rows: rows, columns: columns, values: v, encoding: .int8, scales: scales)
        }
    }

    /// Subtracts, in each row, the midpoint of the values in each range of columns (a naive
    /// Bayes member's): the per-feature shift that leaves a softmax over those columns unchanged.
    private func centre(_ v: inout [Float], ranges: [Range<Int>]) {
        for range in ranges where !range.isEmpty {
            precondition(range.lowerBound >= 0 && range.upperBound <= columns, "centered columns outside the matrix")
            for r in 0 ..< rows {
                let base = r * columns
                var lo = v[base + range.lowerBound], hi = lo
                for c in range { lo = min(lo, v[base + c]); hi = max(hi, v[base + c]) }
                let mid = lo / 2 + hi / 2
                for c in range { v[base + c] -= mid }
            }
        }
    }

    @inline(__always)
    static func quantize(_ w: Float, scale: Float) -> Int8 {
        let q = (w / scale).rounded(.toNearestOrEven)
        return Int8(max(-127, min(127, q)))
    }

    /// A new matrix of columns taken from several (matrix, first column, count) parts, side by
    /// side in order. It keeps the parts' encoding when they all have the same one (and their
    /// scales, for `int8`); otherwise it is `float32`, which holds any of them exactly.
    public static func joining(_ parts: [(matrix: WeightMatrix, column: Int, count: Int)]) -> WeightMatrix {
        precondition(!parts.isEmpty && parts.allSatisfy { $0.matrix.rows == parts[0].matrix.rows })
        let rows = parts[0].matrix.rows
        let columns = parts.reduce(0) { $0 + $1.count }
        let values = [Float](unsafeUninitializedCapacity: rows * columns) { out, n in
            var at = 0
            for part in parts {
                part.matrix.values.withUnsafeBufferPointer { w in
                    for r in 0 ..< rows {
                        for k in 0 ..< part.count { out[r * columns + at + k] = w[r * part.matrix.columns + part.column + k] }
                    }
                }
                at += part.count
            }
            n = rows * columns
        }
        let encoding = parts[0].matrix.encoding
        guard parts.allSatisfy({ $0.matrix.encoding == encoding }) else { return WeightMatrix(rows: rows, columns: columns, values: values) }
        let scales = encoding == .int8 ? parts.flatMap { Array($0.matrix.scales[$0.column ..< $0.column + $0.count]) } : []
        return WeightMatrix(rows: rows, columns: columns, values: values, encoding: encoding, scales: scales)
    }

    /// The rows listed (ascending), in order: a model over fewer features. Keeps the encoding
    /// and the scales (every value stays one the encoding holds).
    public func keepingRows(_ kept: [Int]) -> WeightMatrix {
        let values = [Float](unsafeUninitializedCapacity: kept.count * columns) { out, n in
            self.values.withUnsafeBufferPointer { w in
                for (i, r) in kept.enumerated() {
                    for c in 0 ..< columns { out[i * columns + c] = w[r * columns + c] }
                }
            }
            n = kept.count * columns
        }
        return WeightMatrix(rows: kept.count, columns: columns, values: values, encoding: encoding, scales: scales)
    }

    /// For each row, the largest |weight| relative to its column's largest, over the columns:
    /// how much the feature matters anywhere. `centered` ranges (naive Bayes members) are
    /// measured after the per-feature shift that leaves their probabilities unchanged.
    public func relativeRowMagnitudes(centered: [Range<Int>] = []) -> [Float] {
        var v = values
        centre(&v, ranges: centered)
        var largest = [Float](repeating: 0, count: columns)
        for r in 0 ..< rows { for c in 0 ..< columns { largest[c] = max(largest[c], abs(v[r * columns + c])) } }
        return (0 ..< rows).map { r in
            var m: Float = 0
            for c in 0 ..< columns where largest[c] > 0 { m = max(m, abs(v[r * columns + c]) / largest[c]) }
            return m
        }
    }

    // MARK: Stored form

    /// The stored bytes, row-major like `values`: little-endian binary32 or binary16, or one
    /// two's-complement byte per weight (`int8`, the scales are stored apart).
    public func sectionBytes() -> [UInt8] {
        switch encoding {
        case .float32:
            return values.withUnsafeBytes { Array($0) }
        case .float16:
            var out = [UInt8](repeating: 0, count: values.count * 2)
            for (i, w) in values.enumerated() {
                let bits = Float16(w).bitPattern
                out[2 * i] = UInt8(bits & 0xFF)
                out[2 * i + 1] = UInt8(bits >> 8)
            }
            return out
        case .int8:
            var out = [UInt8](repeating: 0, count: values.count)
            for i in values.indices {
                let q = Self.quantize(values[i], scale: scales[i % columns])
                precondition(Float(q) * scales[i % columns] == values[i], "an int8 matrix holds a value it cannot store")
                out[i] = UInt8(bitPattern: q)
            }
            return out
        }
    }

    /// Where `decode` gets the stored bytes from. `read` fills a buffer of exactly the stored
    /// size; `stream` hands the stored bytes over in order, in chunks (its `Int` is the chunk's
    /// offset). Each checks what it read (e.g. its digest) before it returns, and throws if it
    /// does not match: the matrix is then discarded unused.
    public struct Source {
        public var read: (UnsafeMutableRawBufferPointer) throws -> Void
        public var stream: (_ body: (UnsafeRawBufferPointer, Int) -> Void) throws -> Void

        public init(read: @escaping (UnsafeMutableRawBufferPointer) throws -> Void,
                    stream: @escaping (_ body: (UnsafeRawBufferPointer, Int) -> Void) throws -> Void) {
            self.read = read
            self.stream = stream
        }

        /// Bytes in memory.
        public init(bytes: [UInt8]) {
            read = { buffer in
                guard buffer.count == bytes.count else { throw WeightMatrixError("\(bytes.count) stored bytes, \(buffer.count) expected") }
                bytes.withUnsafeBytes { buffer.copyMemory(from: $0) }
            }
            stream = { body in bytes.withUnsafeBytes { body($0, 0) } }
        }
    }

    /// Reads a matrix from its stored form, straight into its final memory: `float32` bytes are
    /// read in place; `float16` and `int8` are widened chunk by chunk as they stream in, so no
    /// second copy of the matrix is ever held. Every weight must be finite; `int8` scales finite
    /// and > 0, and q in −127…127.
    public static func decode(rows: Int, columns: Int, encoding: WeightEncoding, scales: [Float], from source: Source) throws -> WeightMatrix {
        let (count, overflow) = rows.multipliedReportingOverflow(by: columns)
        guard rows >= 0, columns >= 1, !overflow, count <= Int(Int32.max) * 64 else {
            throw WeightMatrixError("\(rows) × \(columns) is not a weight matrix's shape")
        }
        if encoding == .int8 {
            guard scales.count == columns else { throw WeightMatrixError("\(scales.count) scales for \(columns) columns") }
            if let bad = scales.firstIndex(where: { !($0 > 0) || !$0.isFinite }) {
                throw WeightMatrixError("scale \(bad) is \(scales[bad]); a scale is finite and > 0")
            }
        } else if !scales.isEmpty {
            throw WeightMatrixError("only int8 has scales")
        }
        var minus128: Int?
        let values: [Float] = try [Float](unsafeUninitializedCapacity: count) { out, n in
            switch encoding {
            case .float32:
                try source.read(UnsafeMutableRawBufferPointer(out))
            case .float16:
                var pending: UInt8?  // a chunk may end inside a 2-byte weight
                var at = 0
                try source.stream { chunk, _ in
                    for b in chunk {
                        if let low = pending {
                            if at < count { out[at] = Float(Float16(bitPattern: UInt16(low) | UInt16(b) << 8)) }
                            at += 1
                            pending = nil
                        } else {
                            pending = b
                        }
                    }
                }
                guard at == count, pending == nil else { throw WeightMatrixError("\(2 * at + (pending == nil ? 0 : 1)) stored bytes for \(count) float16 weights") }
            case .int8:
                var at = 0, column = 0
                try scales.withUnsafeBufferPointer { s in
                    try source.stream { chunk, _ in
                        for b in chunk {
                            if at < count {
                                if b == 0x80 && minus128 == nil { minus128 = at }
                                out[at] = Float(Int8(bitPattern: b)) * s[column]
                            }
                            at += 1
                            column += 1
                            if column == columns { column = 0 }
                        }
                    }
                }
                guard at == count else { throw WeightMatrixError("\(at) stored bytes for \(count) int8 weights") }
            }
            n = count
        }
        if let bad = minus128 { throw WeightMatrixError("weight \(bad) is −128; int8 weights are −127…127") }
        if let bad = values.firstIndex(where: { !$0.isFinite }) {
            throw WeightMatrixError("weight \(bad) (row \(bad / columns), column \(bad % columns)) is not finite")
        }
        return WeightMatrix(rows: rows, columns: columns, values: values, encoding: encoding, scales: scales)
    }
}
