import CZlib
import Foundation

/// Why an input file could not be read, and where: `file:line: problem`. Every message says what
/// is wrong in terms of the file, so a user can open it at that line.
public struct DataSourceError: Error, Equatable, Sendable, CustomStringConvertible {
    public enum Kind: Equatable, Sendable {
        case unreadable(String)
        case corruptGzip(String)
        case emptyFile
        case unterminatedQuote
        case unexpectedAfterQuote(String)
        case invalidUTF8
        case wrongFieldCount(expected: Int, got: Int)
        case missingColumn(String, available: [String])
        case duplicateColumn(String)
        case emptyValue(column: String)
        case invalidJSON(String)
        case invalidValue(String)
        case fieldTooLarge(limit: Int)
        case duplicateID(String, firstLine: Int)
        case noResultColumns
        /// A mail message that cannot be read (MIME, headers, mbox framing).
        case invalidMail(String)
        case duplicateMessageID(String, first: String)
    }

    public let file: String
    public let line: Int?
    public let kind: Kind
    /// Where in the file, when it is not a line: "message 3 (byte 5120)" in an mbox.
    public let location: String?

    public init(file: String, line: Int?, _ kind: Kind) {
        self.file = file
        self.line = line
        self.kind = kind
        location = nil
    }

    public init(file: String, location: String, _ kind: Kind) {
        self.file = file
        line = nil
        self.kind = kind
        self.location = location
    }

    /// `file:line`, `file: message 3 (byte 5120)`, or just the file.
    public var place: String {
        if let location { return "\(file): \(location)" }
        return line.map { "\(file):\($0)" } ?? file
    }

    public var description: String { "\(place): \(problem)" }

    /// What is wrong and what to do, without the place.
    public var problem: String {
        switch kind {
        case let .unreadable(why): return "cannot read: \(why)"
        case let .corruptGzip(why): return "corrupt gzip data (\(why)); re-create or re-download the file"
        case .emptyFile: return "the file is empty; expected a CSV header line or JSON Lines"
        case .unterminatedQuote: return "a quoted field starts here and is never closed; add the closing \" (double any \" inside it)"
        case let .unexpectedAfterQuote(c): return "unexpected \(c) after a closing quote; a quoted field must end at a comma or line end (write \"\" for a quote inside quotes)"
        case .invalidUTF8: return "text is not valid UTF-8; re-save the file as UTF-8"
        case let .wrongFieldCount(expected, got): return "\(got) fields, but the header has \(expected); quote fields that contain commas"
        case let .missingColumn(name, available): return "no column \"\(name)\" (columns: \(available.joined(separator: ", "))); name it with the column options"
        case let .duplicateColumn(name): return "column \"\(name)\" appears twice in the header"
        case let .emptyValue(column): return "empty \(column); every row needs one (or use --skip-invalid)"
        case let .invalidJSON(why): return why
        case let .invalidValue(why): return why
        case let .fieldTooLarge(limit): return "a field longer than \(limit) bytes; is the quoting broken?"
        case let .duplicateID(id, first): return "id \"\(id)\" again (first at line \(first)); ids must be unique: fix them, or --skip-invalid keeps the first"
        case let .invalidMail(why): return why
        case let .duplicateMessageID(id, first): return "id \"\(id)\" again (first: \(first)); ids (Message-IDs) must be unique: fix them, or --skip-invalid keeps the first"
        case .noResultColumns: return "the statement returned no result columns; --sql needs a query that returns rows (SELECT …)"
        }
    }
}

/// A forward-only stream of bytes.
public protocol ByteSource: AnyObject {
    /// Reads up to `count` bytes into `buffer` at `offset`; returns 0 at the end.
    func read(into buffer: UnsafeMutableRawBufferPointer) throws(DataSourceError) -> Int
}

/// A file read with `read(2)`.
public final class FileByteSource: ByteSource {
    private let fd: Int32
    public let path: String

    private let owned: Bool

    /// Reads an already open descriptor (not closed at the end), e.g. standard input.
    public init(descriptor: Int32, name: String) {
        fd = descriptor
        path = name
        owned = false
    }

    public init(path: String) throws(DataSourceError) {
        self.path = path
        owned = true
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDir), isDir.boolValue {
            throw DataSourceError(file: path, line: nil, .unreadable("it is a directory"))
        }
        fd = open(path, O_RDONLY)
        if fd < 0 { throw DataSourceError(file: path, line: nil, .unreadable(String(cString: strerror(errno)))) }
    }

    deinit { if owned { close(fd) } }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(DataSourceError) -> Int {
        while true {
            let n = Foundation.read(fd, buffer.baseAddress, buffer.count)
            if n >= 0 { return n }
            if errno == EINTR { continue }
            throw DataSourceError(file: path, line: nil, .unreadable(String(cString: strerror(errno))))
        }
    }
}

/// Bytes already in memory.
public final class MemoryByteSource: ByteSource {
    private let bytes: [UInt8]
    private var position = 0

    public init(_ bytes: [UInt8]) { self.bytes = bytes }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(DataSourceError) -> Int {
        let n = min(buffer.count, bytes.count - position)
        if n > 0 {
            bytes.withUnsafeBytes { all in
                buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: all[position ..< position + n]))
            }
            position += n
        }
        return n
    }
}

/// Decompresses a gzip (or zlib) stream with zlib, member after member (concatenated `.gz`
/// files are one stream, as `gzip -dc` reads them).
public final class GzipByteSource: ByteSource {
    private let inner: ByteSource
    private let name: String
    private var stream = z_stream()
    private static let inputCapacity = 1 << 16
    // A stable allocation: zlib keeps `next_in` pointing into it between calls.
    private let input = UnsafeMutablePointer<UInt8>.allocate(capacity: GzipByteSource.inputCapacity)
    private var inputEnd = false
    private var finished = false

    public init(_ inner: ByteSource, name: String) throws(DataSourceError) {
        self.inner = inner
        self.name = name
        // 15 + 32: maximum window, detect gzip or zlib headers automatically.
        let status = inflateInit2_(&stream, 15 + 32, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
        if status != Z_OK { throw DataSourceError(file: name, line: nil, .corruptGzip("inflateInit2 failed: \(status)")) }
    }

    deinit {
        inflateEnd(&stream)
        input.deallocate()
    }

    /// Refills the input when zlib has consumed it; false at the end of the compressed file.
    private func refill() throws(DataSourceError) -> Bool {
        if stream.avail_in > 0 { return true }
        if inputEnd { return false }
        let n = try inner.read(into: UnsafeMutableRawBufferPointer(start: input, count: Self.inputCapacity))
        if n == 0 {
            inputEnd = true
            return false
        }
        stream.next_in = input
        stream.avail_in = uInt(n)
        return true
    }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(DataSourceError) -> Int {
        guard !finished, buffer.count > 0, let out = buffer.baseAddress?.assumingMemoryBound(to: Bytef.self) else { return 0 }
        stream.next_out = out
        stream.avail_out = uInt(buffer.count)
        while stream.avail_out > 0 {
            let hasInput = try refill()
            let status = inflate(&stream, Z_NO_FLUSH)
            switch status {
            case Z_STREAM_END:
                // Another member may follow.
                if try refill() {
                    inflateReset(&stream)
                } else {
                    finished = true
                    return buffer.count - Int(stream.avail_out)
                }
            case Z_OK:
                continue
            case Z_BUF_ERROR where hasInput:
                continue
            case Z_BUF_ERROR:
                throw DataSourceError(file: name, line: nil, .corruptGzip("the compressed data ends early (truncated file)"))
            default:
                let why = stream.msg.map { String(cString: $0) } ?? "zlib error \(status)"
                throw DataSourceError(file: name, line: nil, .corruptGzip(why))
            }
        }
        return buffer.count - Int(stream.avail_out)
    }
}

/// A source that yields some already-read bytes before the rest of another source.
final class PrefixedByteSource: ByteSource {
    private var prefix: [UInt8]
    private let inner: ByteSource

    init(prefix: [UInt8], _ inner: ByteSource) {
        self.prefix = prefix
        self.inner = inner
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws(DataSourceError) -> Int {
        if prefix.isEmpty { return try inner.read(into: buffer) }
        let n = min(buffer.count, prefix.count)
        prefix.withUnsafeBytes { buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[0 ..< n])) }
        prefix.removeFirst(n)
        return n
    }
}

/// Opens a file (`-` is standard input), decompressing it when it starts with the gzip magic
/// bytes, whatever its name.
public func openByteSource(path: String) throws(DataSourceError) -> ByteSource {
    let file: ByteSource = path == "-" ? FileByteSource(descriptor: 0, name: "<stdin>") : try FileByteSource(path: path)
    let head = UnsafeMutableRawBufferPointer.allocate(byteCount: 2, alignment: 1)
    defer { head.deallocate() }
    var got = 0
    while got < 2 {
        let n = try file.read(into: UnsafeMutableRawBufferPointer(rebasing: head[got...]))
        if n == 0 { break }
        got += n
    }
    let source = PrefixedByteSource(prefix: Array(head[0 ..< got]), file)
    if got == 2 && head[0] == 0x1F && head[1] == 0x8B { return try GzipByteSource(source, name: path) }
    return source
}
