import Foundation
import TriageCore

/// How mail input is labelled and bounded.
public struct MailOptions: Equatable, Sendable {
    /// The header holding each message's label (e.g. `X-Queue`).
    public var labelHeader: String?
    /// A CSV keyed by message id (column `id`) with the label in `labelColumn`; its label wins over
    /// the header's (relabelled messages).
    public var labelsFile: String?
    public var labelColumn: String
    /// The largest message read; a larger one is an error naming it.
    public var maxMessageBytes: Int

    public init(labelHeader: String? = nil, labelsFile: String? = nil, labelColumn: String = "label", maxMessageBytes: Int = 256 << 20) {
        self.labelHeader = labelHeader
        self.labelsFile = labelsFile
        self.labelColumn = labelColumn
        self.maxMessageBytes = maxMessageBytes
    }
}

/// The kinds of mail input `--data` accepts besides CSV and JSON Lines.
public enum MailFormat: String, Sendable {
    /// One RFC 5322 message (`.eml`).
    case eml
    /// Messages one after another behind `From ` lines (mboxo / mboxrd, RFC 4155).
    case mbox
    /// A directory: every `.eml` file below it (and every message of a Maildir), in path order.
    case directory
}

extension MessageReader {
    /// Which mail format `path` holds, or nil for CSV / JSON Lines: a directory; a name ending in
    /// `.eml`, `.mbox` or `.mbx` (optionally `.gz`); or a file whose first line starts with `From `.
    public static func mailFormat(path: String) -> MailFormat? {
        guard path != "-" else { return nil }
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else { return nil }
        if isDir.boolValue { return .directory }
        var lower = path.lowercased()
        if lower.hasSuffix(".gz") { lower.removeLast(3) }
        if lower.hasSuffix(".eml") { return .eml }
        if lower.hasSuffix(".mbox") || lower.hasSuffix(".mbx") { return .mbox }
        if lower.hasSuffix(".csv") || lower.hasSuffix(".jsonl") || lower.hasSuffix(".ndjson") { return nil }
        guard let source = try? openByteSource(path: path) else { return nil }
        let head = UnsafeMutableRawBufferPointer.allocate(byteCount: 5, alignment: 1)
        defer { head.deallocate() }
        var got = 0
        while got < 5, let n = try? source.read(into: UnsafeMutableRawBufferPointer(rebasing: head[got...])), n > 0 { got += n }
        return got == 5 && Array(head) == Array("From ".utf8) ? .mbox : nil
    }

    /// Reads labelled messages from mail: an `.eml` file, a directory of them, or an mbox.
    ///
    /// Each message's id is its Message-ID, or `mail-` and 16 hex digits of the SHA-256 of its bytes;
    /// its subject and body come from `MailParser`. Labels come from `options.labelHeader` or
    /// `options.labelsFile` (which wins when both have one). A message that cannot be read, or (when `requireLabels`) has no label,
    /// is an error naming the file, the message number and its byte offset — or, with `skipInvalid`,
    /// skipped and listed. Fallbacks the parser took are listed in `notes`.
    public static func readMail(path: String, format: MailFormat, options: MailOptions = MailOptions(), requireLabels: Bool = true,
                                skipInvalid: Bool = false) throws(DataSourceError) -> MessageBatch {
        if requireLabels && options.labelHeader == nil && options.labelsFile == nil {
            throw DataSourceError(file: path, line: nil, .invalidValue("mail carries no label column: name the header that holds each message's label with --label-header (e.g. --label-header X-Queue), or give --labels FILE (a CSV of id,label keyed by Message-ID)"))
        }
        let labels = try options.labelsFile.map { (file) throws(DataSourceError) in try readLabels(path: file, column: options.labelColumn) }
        var batch = MessageBatch(messages: [], skipped: [], source: path)
        batch.unit = "message"
        var requested: [String] = []
        if let h = options.labelHeader { requested.append(h.lowercased()) }
        var number = 0

        /// `location`: where in `file` ("message 3 (byte 5120)" in an mbox), nil for a file of its own.
        func take(_ bytes: UnsafeBufferPointer<UInt8>, base: Int, file: String, location: String?) throws(DataSourceError) {
            number += 1
            func fail(_ kind: DataSourceError.Kind) throws(DataSourceError) {
                let error = location.map { DataSourceError(file: file, location: $0, kind) } ?? DataSourceError(file: file, line: nil, kind)
                guard skipInvalid else { throw error }
                batch.skipped.append(SkippedRow(number: number, place: location ?? file, reason: error.problem))
            }
            if bytes.isEmpty {
                try fail(.invalidMail("an empty message"))
                return
            }
            if bytes.count > options.maxMessageBytes {
                try fail(.invalidMail("a message of \(sizeText(bytes.count)); the limit is \(sizeText(options.maxMessageBytes))"))
                return
            }
            let mail: ParsedMail
            do { mail = try MailParser.parse(bytes, base: base, headers: requested) } catch {
                try fail(.invalidMail("\(error.problem) (byte \(error.offset))"))
                return
            }
            // The sidecar's label first (it may correct the header's), then the header's.
            var label = labels?.byID[mail.id]
            if label == nil, let h = options.labelHeader {
                label = mail.requestedHeaders[h.lowercased()]?.trimmingCharacters(in: .whitespaces)
                if label?.isEmpty ?? true { label = nil }
            }
            let missing = [options.labelHeader.map { "no \($0) header" }, options.labelsFile.map { "no row for id \"\(mail.id)\" in \($0)" }]
                .compactMap { $0 }.joined(separator: " and ")
            if requireLabels, label == nil {
                try fail(.invalidMail("no label: \(missing); every message needs one (or use --skip-invalid)"))
                return
            }
            for n in mail.notes { batch.notes.append("\(location.map { "\(file): \($0)" } ?? file): \(n)") }
            batch.messages.append(LabeledMessage(id: mail.id, subject: mail.subject, body: mail.body, label: label, line: number))
        }

        switch format {
        case .eml:
            let bytes = try MappedBytes(path: path, limit: options.maxMessageBytes)
            try bytes.withBuffer { (b) throws(DataSourceError) in try take(b, base: 0, file: path, location: nil) }
        case .directory:
            for file in try emlFiles(under: path, notes: &batch.notes) {
                // One unreadable or oversized file is one bad message, like a bad message in an mbox.
                let bytes: MappedBytes
                do { bytes = try MappedBytes(path: file, limit: options.maxMessageBytes) } catch {
                    number += 1
                    guard skipInvalid else { throw error }
                    batch.skipped.append(SkippedRow(number: number, place: file, reason: error.problem))
                    continue
                }
                try bytes.withBuffer { (b) throws(DataSourceError) in try take(b, base: 0, file: file, location: nil) }
            }
        case .mbox:
            let bytes = try MappedBytes(path: path, limit: nil)
            try bytes.withBuffer { (b) throws(DataSourceError) in
                var splitter = MboxSplitter(bytes: b)
                while true {
                    let next: MboxSplitter.Message?
                    do throws(MboxSplitter.Broken) { next = try splitter.next() } catch {
                        // A broken From line: the message it starts is refused; the others go on.
                        let location = "message \(number + 1) (byte \(error.offset))"
                        let failure = DataSourceError(file: path, location: location, .invalidMail(error.problem))
                        guard skipInvalid, error.recoverable else { throw failure }
                        number += 1
                        batch.skipped.append(SkippedRow(number: number, place: location, reason: failure.problem))
                        continue
                    }
                    guard let message = next else { break }
                    let location = "message \(number + 1) (byte \(message.separator))"
                    if message.unescaped.isEmpty {
                        try take(UnsafeBufferPointer(rebasing: b[message.range]), base: message.range.lowerBound, file: path, location: location)
                    } else {
                        try message.unescaped.withUnsafeBufferPointer { (u) throws(DataSourceError) in
                            try take(u, base: message.range.lowerBound, file: path, location: location)
                        }
                    }
                }
            }
        }
        // With a label header as well, ids the sidecar lacks are expected (it corrects some messages).
        if let labels, let file = options.labelsFile, options.labelHeader == nil {
            let seen = Set(batch.messages.map(\.id))
            let unused = labels.order.filter { !seen.contains($0) }
            if !unused.isEmpty {
                batch.notes.append("\(file): \(unused.count) id(s) match no message read (first: \(unused.prefix(3).map { "\"\($0)\"" }.joined(separator: ", ")))")
            }
        }
        if batch.messages.isEmpty && batch.skipped.isEmpty {
            throw DataSourceError(file: path, line: nil, .invalidMail("the file is empty: no messages"))
        }
        return batch
    }

    /// `.eml` files below `root`, and the files of Maildir `cur/` and `new/` folders, sorted by
    /// path; other files are counted in `notes`.
    static func emlFiles(under root: String, notes: inout [String]) throws(DataSourceError) -> [String] {
        guard let walker = FileManager.default.enumerator(atPath: root) else {
            throw DataSourceError(file: root, line: nil, .unreadable("cannot list the directory"))
        }
        var files: [String] = []
        var others = 0
        while let relative = walker.nextObject() as? String {
            let name = (relative as NSString).lastPathComponent
            if name.hasPrefix(".") { continue }
            let full = (root as NSString).appendingPathComponent(relative)
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: full, isDirectory: &isDir), !isDir.boolValue else { continue }
            let lower = name.lowercased()
            // Maildir (Dovecot, mutt, offlineimap): one message per file in cur/ and new/, no extension.
            let parent = ((relative as NSString).deletingLastPathComponent as NSString).lastPathComponent
            if lower.hasSuffix(".eml") || lower.hasSuffix(".eml.gz") || parent == "cur" || parent == "new" { files.append(full) } else { others += 1 }
        }
        if others > 0 { notes.append("\(root): \(others) file(s) not ending in .eml left out") }
        if files.isEmpty { throw DataSourceError(file: root, line: nil, .invalidValue("the directory holds no .eml files (nor a Maildir's cur/ or new/)")) }
        return files.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
    }

    /// Labels keyed by message id, from a CSV with columns `id` and `column`.
    static func readLabels(path: String, column: String) throws(DataSourceError) -> (byID: [String: String], order: [String]) {
        let reader = try CSVReader(path: path)
        guard let header = try reader.next() else { throw DataSourceError(file: path, line: nil, .emptyFile) }
        guard let idIndex = header.fields.firstIndex(of: "id") else { throw DataSourceError(file: path, line: header.line, .missingColumn("id", available: header.fields)) }
        guard let labelIndex = header.fields.firstIndex(of: column) else {
            throw DataSourceError(file: path, line: header.line, .missingColumn(column, available: header.fields))
        }
        var byID: [String: String] = [:]
        var firstLine: [String: Int] = [:]
        var order: [String] = []
        while let record = try reader.next() {
            guard record.fields.count == header.fields.count else {
                throw DataSourceError(file: path, line: record.line, .wrongFieldCount(expected: header.fields.count, got: record.fields.count))
            }
            if record.hasInvalidUTF8 { throw DataSourceError(file: path, line: record.line, .invalidUTF8) }
            let id = record.fields[idIndex]
            let label = record.fields[labelIndex]
            if label.isEmpty { throw DataSourceError(file: path, line: record.line, .emptyValue(column: "label (column \"\(column)\")")) }
            if let first = firstLine[id] { throw DataSourceError(file: path, line: record.line, .duplicateID(id, firstLine: first)) }
            firstLine[id] = record.line
            byID[id] = label
            order.append(id)
        }
        return (byID, order)
    }
}

/// The messages of an mbox (RFC 4155): each starts after a `From ` line that begins the file or
/// follows an empty line, and ends before the empty line that precedes the next. Body lines that
/// start with `>From `, `>>From `, … lose one `>` (mboxrd; for mboxo this reverses its `>From`).
public struct MboxSplitter {
    public struct Message: Sendable {
        /// The message's bytes in the file, without its `From ` line and the final empty line.
        public var range: Range<Int>
        /// Where its `From ` line starts.
        public var separator: Int
        /// The message with `>From` quoting removed, when it had any (else empty: use `range`).
        public var unescaped: [UInt8]
    }

    public struct Broken: Error, Sendable {
        public var problem: String
        public var offset: Int
        /// False when the whole file is not an mbox.
        public var recoverable: Bool
    }

    let bytes: UnsafeBufferPointer<UInt8>
    var position = 0

    public init(bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

    /// The next message, nil at the end, or the broken `From ` line that starts it (the splitter
    /// has moved past that message: calling `next()` again goes on with the one after).
    public mutating func next() throws(Broken) -> Message? {
        let end = bytes.count
        guard position < end else { return nil }
        let from = position
        let fromLine = Array("From ".utf8)
        if from == 0 {
            guard end >= 5, Array(bytes[0 ..< 5]) == fromLine else {
                position = end
                throw Broken(problem: "not an mbox: its first line should be a From line (\"From sender date\"), as every message in an mbox starts", offset: 0, recoverable: false)
            }
        }
        let (separatorEnd, start) = MailScan.line(bytes, from: from, end: end)
        // The next separator: a "From " line whose previous line is empty.
        var messageEnd = end
        var nextSeparator = end
        var search = start
        let needle = [0x0A] + fromLine
        while let hit = MailScan.find(bytes, needle, from: search, end: end) {
            search = hit + 1
            let emptyLine = hit > start && bytes[hit - 1] == 0x0D ? hit - 1 : hit
            guard emptyLine == start || bytes[emptyLine - 1] == 0x0A else { continue }
            messageEnd = emptyLine
            nextSeparator = hit + 1
            break
        }
        position = nextSeparator
        if !Self.isSeparator(UnsafeBufferPointer(rebasing: bytes[from ..< separatorEnd])) {
            let shown = String(decoding: bytes[from ..< min(separatorEnd, from + 60)], as: UTF8.self)
            throw Broken(problem: "a broken mbox From line \"\(shown)\": a separator needs a sender and a date (\"From sender Mon Jan  1 00:00:00 2024\"); a body line starting with \"From \" must be written \">From \"", offset: from, recoverable: true)
        }
        if nextSeparator == end {
            // The empty line that ends the last message.
            if messageEnd - start >= 2, bytes[messageEnd - 1] == 0x0A, bytes[messageEnd - 2] == 0x0A {
                messageEnd -= 1
            } else if messageEnd - start >= 4, bytes[messageEnd - 1] == 0x0A, bytes[messageEnd - 2] == 0x0D, bytes[messageEnd - 3] == 0x0A {
                messageEnd -= 2
            }
        }
        let range = start ..< messageEnd
        return Message(range: range, separator: from, unescaped: unescape(range))
    }

    /// `From ` + a sender + white space + something with a time (`hh:mm`) in it, as every mbox
    /// writer puts there (asctime, RFC 4155). A body line "From what I can tell…" has none.
    static func isSeparator(_ line: UnsafeBufferPointer<UInt8>) -> Bool {
        var i = 5
        let n = line.count
        while i < n, line[i] == 0x20 { i += 1 }
        let sender = i
        while i < n, line[i] != 0x20, line[i] != 0x09 { i += 1 }
        guard i > sender, i < n else { return false }
        var k = i
        while k + 3 < n {
            if isDigit(line[k]), line[k + 1] == UInt8(ascii: ":"), isDigit(line[k + 2]), isDigit(line[k + 3]) { return true }
            k += 1
        }
        return false
    }

    @inline(__always) static func isDigit(_ c: UInt8) -> Bool { c >= 0x30 && c <= 0x39 }

    /// The message without `>From` quoting, or empty when it has none.
    func unescape(_ range: Range<Int>) -> [UInt8] {
        var found = Self.isQuotedFrom(bytes, range.lowerBound, range.upperBound)
        var p = range.lowerBound
        while !found, let hit = MailScan.find(bytes, [0x0A, UInt8(ascii: ">")], from: p, end: range.upperBound) {
            found = Self.isQuotedFrom(bytes, hit + 1, range.upperBound)
            p = hit + 1
        }
        guard found else { return [] }
        var out = [UInt8]()
        out.reserveCapacity(range.count)
        var lineStart = range.lowerBound
        while lineStart < range.upperBound {
            let (_, next) = MailScan.line(bytes, from: lineStart, end: range.upperBound)
            let from = Self.isQuotedFrom(bytes, lineStart, range.upperBound) ? lineStart + 1 : lineStart
            out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[from ..< next]))
            lineStart = next
        }
        return out
    }

    /// `>`+ then `From ` at `p`.
    static func isQuotedFrom(_ b: UnsafeBufferPointer<UInt8>, _ p: Int, _ end: Int) -> Bool {
        var i = p
        while i < end, b[i] == UInt8(ascii: ">") { i += 1 }
        guard i > p, end - i >= 5 else { return false }
        return b[i] == UInt8(ascii: "F") && b[i + 1] == UInt8(ascii: "r") && b[i + 2] == UInt8(ascii: "o") && b[i + 3] == UInt8(ascii: "m") && b[i + 4] == 0x20
    }
}

/// "300 MiB", or "2000 bytes" below a mebibyte.
func sizeText(_ bytes: Int) -> String { bytes >= 1 << 20 ? "\(bytes >> 20) MiB" : "\(bytes) bytes" }

/// A file's bytes: mapped when it is a plain file, decompressed into memory when gzipped.
final class MappedBytes {
    private var mapped: UnsafeRawPointer?
    private var length = 0
    private var memory: [UInt8] = []

    init(path: String, limit: Int?) throws(DataSourceError) {
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDir), isDir.boolValue {
            throw DataSourceError(file: path, line: nil, .unreadable("it is a directory"))
        }
        let fd = open(path, O_RDONLY)
        if fd < 0 { throw DataSourceError(file: path, line: nil, .unreadable(String(cString: strerror(errno)))) }
        defer { close(fd) }
        var head = [UInt8](repeating: 0, count: 2)
        let got = pread(fd, &head, 2, 0)
        if got == 2 && head[0] == 0x1F && head[1] == 0x8B {
            let source = try openByteSource(path: path)
            let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 1)
            defer { chunk.deallocate() }
            while true {
                let n = try source.read(into: chunk)
                if n == 0 { break }
                memory.append(contentsOf: UnsafeRawBufferPointer(rebasing: chunk[0 ..< n]))
                if let limit, memory.count > limit {
                    throw DataSourceError(file: path, line: nil, .invalidMail("a message of more than \(sizeText(limit)) once decompressed, the limit"))
                }
            }
            return
        }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw DataSourceError(file: path, line: nil, .unreadable(String(cString: strerror(errno)))) }
        length = Int(info.st_size)
        if let limit, length > limit { throw DataSourceError(file: path, line: nil, .invalidMail("a message of \(sizeText(length)); the limit is \(sizeText(limit))")) }
        guard length > 0 else { return }
        guard let p = mmap(nil, length, PROT_READ, MAP_PRIVATE, fd, 0), p != MAP_FAILED else {
            throw DataSourceError(file: path, line: nil, .unreadable(String(cString: strerror(errno))))
        }
        madvise(p, length, MADV_SEQUENTIAL)
        mapped = UnsafeRawPointer(p)
    }

    deinit { if let mapped { munmap(UnsafeMutableRawPointer(mutating: mapped), length) } }

    func withBuffer<R>(_ body: (UnsafeBufferPointer<UInt8>) throws(DataSourceError) -> R) throws(DataSourceError) -> R {
        if let mapped { return try body(UnsafeBufferPointer(start: mapped.assumingMemoryBound(to: UInt8.self), count: length)) }
        return try memory.withUnsafeBufferPointer { (b) throws(DataSourceError) -> R in try body(b) }
    }
}
