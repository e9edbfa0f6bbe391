/// One CSV record: its fields and the (1-based) line where it starts.
public struct CSVRecord: Equatable, Sendable {
    public var fields: [String]
    public var line: Int
    /// True when a field was not valid UTF-8 (its bad bytes are replaced by U+FFFD); callers
    /// refuse or skip such a record.
    public var hasInvalidUTF8 = false
}

/// A streaming RFC 4180 reader.
///
/// Accepted: fields quoted with `"` (containing commas, quotes written `""`, and newlines),
/// CRLF or LF line ends (a lone CR too), a UTF-8 byte order mark at the start, blank lines
/// (skipped), a missing final newline, a `"` inside an unquoted field (kept literally, as
/// Python's csv does). Refused, with the line: a quoted field that never closes, text between
/// a closing quote and the next comma, and a field over `maxFieldBytes` (a runaway quote would
/// otherwise swallow the rest of the file). Invalid UTF-8 is flagged on the record
/// (`hasInvalidUTF8`), so a caller can refuse it or skip it and read on.
///
/// Memory: one read buffer and the current record. - Complexity: O(bytes).
public final class CSVReader {
    public var name: String { parser.name }
    public var maxFieldBytes: Int { parser.maxFieldBytes }
    private var parser: CSVParser
    private let storage: UnsafeMutableRawBufferPointer

    /// Reads `path` (gzip detected by content; `-` is standard input).
    public convenience init(path: String, maxFieldBytes: Int = 64 << 20) throws(DataSourceError) {
        self.init(source: try openByteSource(path: path), name: path, maxFieldBytes: maxFieldBytes)
    }

    public init(source: ByteSource, name: String, maxFieldBytes: Int = 64 << 20) {
        storage = .allocate(byteCount: 1 << 20, alignment: 8)
        parser = CSVParser(source: source, name: name, maxFieldBytes: maxFieldBytes, buffer: storage)
    }

    deinit { storage.deallocate() }

    /// The next record, or nil at the end of the input.
    public func next() throws(DataSourceError) -> CSVRecord? {
        try parser.next()
    }

    /// Every remaining record.
    public func readAll() throws(DataSourceError) -> [CSVRecord] {
        var records: [CSVRecord] = []
        while let r = try next() { records.append(r) }
        return records
    }
}

/// The parsing state, a value mutated in place (one exclusivity check per record, not per byte).
/// `buffer` is owned by the enclosing `CSVReader`, which outlives it.
private struct CSVParser {
    let source: ByteSource
    let name: String
    let maxFieldBytes: Int
    let buffer: UnsafeMutableRawBufferPointer
    var position = 0
    var end = 0
    var exhausted = false
    var line = 1
    var atFileStart = true
    var field: [UInt8] = []
    var invalidUTF8 = false

    init(source: ByteSource, name: String, maxFieldBytes: Int, buffer: UnsafeMutableRawBufferPointer) {
        self.source = source
        self.name = name
        self.maxFieldBytes = maxFieldBytes
        self.buffer = buffer
    }

    private mutating func fill() throws(DataSourceError) -> Bool {
        if exhausted { return false }
        let n = try source.read(into: buffer)
        position = 0
        end = n
        if n == 0 { exhausted = true }
        return n > 0
    }

    @inline(__always)
    private mutating func nextByte() throws(DataSourceError) -> UInt8? {
        if position == end, !(try fill()) { return nil }
        let b = buffer[position]
        position += 1
        return b
    }

    @inline(__always)
    private mutating func peekByte() throws(DataSourceError) -> UInt8? {
        if position == end, !(try fill()) { return nil }
        return buffer[position]
    }

    private enum State { case fieldStart, unquoted, quoted, quoteInQuoted }

    private mutating func finishField(into fields: inout [String]) {
        if let text = String(validating: field, as: UTF8.self) {
            fields.append(text)
        } else {
            invalidUTF8 = true
            fields.append(String(decoding: field, as: UTF8.self))
        }
        field.removeAll(keepingCapacity: true)
    }

    private mutating func record(_ fields: [String], _ line: Int) -> CSVRecord {
        defer { invalidUTF8 = false }
        return CSVRecord(fields: fields, line: line, hasInvalidUTF8: invalidUTF8)
    }

    mutating func next() throws(DataSourceError) -> CSVRecord? {
        if atFileStart {
            atFileStart = false
            if try peekByte() == 0xEF {
                let saved = position
                if position + 3 <= end, buffer[position + 1] == 0xBB, buffer[position + 2] == 0xBF {
                    position += 3
                } else {
                    position = saved
                }
            }
        }
        record: while true {
            var fields: [String] = []
            var state = State.fieldStart
            let recordLine = line
            var fieldLine = line
            var sawAnything = false
            field.removeAll(keepingCapacity: true)
            while true {
                guard let b = try nextByte() else {
                    switch state {
                    case .quoted:
                        throw DataSourceError(file: name, line: fieldLine, .unterminatedQuote)
                    case .fieldStart where !sawAnything:
                        return nil
                    default:
                        finishField(into: &fields)
                        return record(fields, recordLine)
                    }
                }
                switch state {
                case .fieldStart, .unquoted:
                    switch b {
                    case UInt8(ascii: ","):
                        sawAnything = true
                        finishField(into: &fields)
                        state = .fieldStart
                        fieldLine = line
                    case UInt8(ascii: "\n"), UInt8(ascii: "\r"):
                        if b == UInt8(ascii: "\r"), try peekByte() == UInt8(ascii: "\n") { position += 1 }
                        line += 1
                        if !sawAnything { continue record }  // a blank line: skipped
                        finishField(into: &fields)
                        return record(fields, recordLine)
                    case UInt8(ascii: "\"") where state == .fieldStart:
                        sawAnything = true
                        state = .quoted
                    default:
                        sawAnything = true
                        field.append(b)
                        state = .unquoted
                    }
                case .quoted:
                    if b == UInt8(ascii: "\"") {
                        state = .quoteInQuoted
                    } else {
                        if b == UInt8(ascii: "\n") { line += 1 }
                        field.append(b)
                        if field.count > maxFieldBytes {
                            throw DataSourceError(file: name, line: fieldLine, .fieldTooLarge(limit: maxFieldBytes))
                        }
                    }
                case .quoteInQuoted:
                    switch b {
                    case UInt8(ascii: "\""):
                        field.append(b)
                        state = .quoted
                    case UInt8(ascii: ","):
                        finishField(into: &fields)
                        state = .fieldStart
                        fieldLine = line
                    case UInt8(ascii: "\n"), UInt8(ascii: "\r"):
                        if b == UInt8(ascii: "\r"), try peekByte() == UInt8(ascii: "\n") { position += 1 }
                        line += 1
                        finishField(into: &fields)
                        return record(fields, recordLine)
                    default:
                        let shown = b >= 0x20 && b < 0x7F ? "'\(Character(UnicodeScalar(b)))'" : "byte 0x\(String(b, radix: 16))"
                        throw DataSourceError(file: name, line: line, .unexpectedAfterQuote(shown))
                    }
                }
            }
        }
    }
}
