import Crypto
import Foundation
import TriageCore
import TriageLinear

/// The binary layout of payload version 3 (models/FORMAT.md): a fixed prefix, a small signed
/// header listing each section's name, length and SHA-256, the signature, then the sections back
/// to back.
///
///     offset    size  content
///     0         8     magic 89 54 52 49 41 47 45 0A ("\x89TRIAGE\n")
///     8         4     payload format version, unsigned 32-bit little-endian (3)
///     12        32    key id: SHA-256 of the signer's raw 32-byte Ed25519 public key
///     44        4     header length H, unsigned 32-bit little-endian, 2 ≤ H ≤ 1 MiB
///     48        H     header: canonical JSON {"sections":[{"length":…,"name":…,"sha256":…},…]}
///     48+H      64    Ed25519 signature of bytes 0 ..< 48+H
///     112+H     …     the sections in header order, no padding; the file ends after the last
///
/// The signature covers the prefix and the header, and the header holds every section's digest,
/// so it covers every byte. A loader reads 48 bytes, selects the pinned key, reads and verifies the
/// header, and only then parses it; each section is read into its final buffer through SHA-256 and
/// used only once its digest matches.
enum ModelFile {
    static let magic: [UInt8] = [0x89, 0x54, 0x52, 0x49, 0x41, 0x47, 0x45, 0x0A]
    static let prefixLength = 48
    static let signatureLength = 64
    static let maxHeaderBytes = 1 << 20

    struct Section: Codable, Equatable {
        var name: String
        var length: Int
        var sha256: String
    }

    struct Header: Codable {
        var sections: [Section]
    }

    /// The file bytes of `sections` (the first must be the payload), signed with `key`.
    static func write(version: Int, sections: [(name: String, bytes: [UInt8])], signingKey key: SigningKey) throws(ArtifactError) -> [UInt8] {
        let header = Header(sections: sections.map { Section(name: $0.name, length: $0.bytes.count, sha256: StableHash.hex($0.bytes)) })
        let headerBytes: [UInt8]
        do { headerBytes = try JSONValueEncoder().canonicalBytes(header) } catch { throw .invalid(path: error.path, reason: error.reason) }
        guard headerBytes.count <= maxHeaderBytes else { throw .invalid(path: "header", reason: "\(headerBytes.count) bytes; at most \(maxHeaderBytes)") }
        var out = magic
        out += littleEndian(UInt32(version))
        guard let keyId = Hex.decode(key.verifyingKey.id), keyId.count == 32 else { throw .invalid(path: "keyId", reason: "not a SHA-256") }
        out += keyId
        out += littleEndian(UInt32(headerBytes.count))
        out += headerBytes
        do { out += try key.signature(for: out) } catch { throw .key(error) }
        out.reserveCapacity(out.count + sections.reduce(0) { $0 + $1.bytes.count })
        for section in sections { out += section.bytes }
        return out
    }

    static func littleEndian(_ v: UInt32) -> [UInt8] { [UInt8(v & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v >> 16 & 0xFF), UInt8(v >> 24)] }

    static func readUInt32(_ bytes: [UInt8], at i: Int) -> Int {
        Int(bytes[i]) | Int(bytes[i + 1]) << 8 | Int(bytes[i + 2]) << 16 | Int(bytes[i + 3]) << 24
    }

    /// Whether `prefix` (the file's first bytes) starts like a version-3 file.
    static func hasMagic(_ prefix: [UInt8]) -> Bool { prefix.count >= magic.count && Array(prefix.prefix(magic.count)) == magic }
}

/// Where a model file's bytes come from: the file itself (read with `pread`, so nothing is held
/// twice) or bytes already in memory (tests, the fuzzer).
protocol ArtifactBytes {
    var count: Int { get }
    /// Fills `buffer` with the bytes at `offset ..< offset + buffer.count` (within `count`).
    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int) throws(ArtifactError)
}

extension ArtifactBytes {
    func bytes(at offset: Int, count n: Int) throws(ArtifactError) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: n)
        var failure: ArtifactError?
        out.withUnsafeMutableBytes { b in
            do throws(ArtifactError) { try read(into: b, at: offset) } catch { failure = error }
        }
        if let failure { throw failure }
        return out
    }
}

struct MemoryBytes: ArtifactBytes {
    let storage: [UInt8]
    var count: Int { storage.count }
    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int) throws(ArtifactError) {
        precondition(offset >= 0 && offset + buffer.count <= storage.count)
        storage.withUnsafeBytes { buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[offset ..< offset + buffer.count])) }
    }
}

final class FileBytes: ArtifactBytes {
    let path: String
    let fd: Int32
    let count: Int

    init(path: String, maxBytes: Int) throws(ArtifactError) {
        self.path = path
        fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .unreadable(path: path, reason: String(cString: strerror(errno))) }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw .unreadable(path: path, reason: reason)
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            close(fd)
            throw .unreadable(path: path, reason: "not a regular file")
        }
        count = Int(info.st_size)
        guard count <= maxBytes else {
            close(fd)
            throw .tooLarge(bytes: count, limit: maxBytes)
        }
    }

    deinit { close(fd) }

    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int) throws(ArtifactError) {
        guard let base = buffer.baseAddress else { return }  // nothing to read
        var done = 0
        while done < buffer.count {
            let n = pread(fd, base + done, buffer.count - done, off_t(offset + done))
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else {
                throw .unreadable(path: path, reason: n == 0 ? "the file ended early (it changed while being read?)" : String(cString: strerror(errno)))
            }
            done += n
        }
    }
}

/// The sections of a verified version-3 file: each read on demand, into its final buffer,
/// through SHA-256, and handed out only when its digest matches the signed header.
final class SectionReader {
    let source: any ArtifactBytes
    let sections: [ModelFile.Section]
    let offsets: [Int]
    private(set) var read: Set<String> = []

    /// Checks the header's sections: unique, well-formed names, and lengths that add up to the
    /// rest of the file exactly (so no length can overflow or point outside it).
    init(source: any ArtifactBytes, header: ModelFile.Header, dataOffset: Int) throws(ArtifactError) {
        self.source = source
        sections = header.sections
        var offsets: [Int] = []
        var at = dataOffset
        var names = Set<String>()
        for (i, s) in header.sections.enumerated() {
            let path = "header.sections[\(i)]"
            guard !s.name.isEmpty, s.name.utf8.count <= 256 else { throw .invalid(path: path + ".name", reason: "a section name has 1 to 256 bytes") }
            guard names.insert(s.name).inserted else { throw .invalid(path: path + ".name", reason: "section \"\(s.name)\" appears twice") }
            guard s.length >= 0, s.length <= source.count - at else {
                throw .invalid(path: path + ".length", reason: "\(s.length) bytes at offset \(at) run past the end of the \(source.count)-byte file")
            }
            guard s.sha256.utf8.count == 64, Hex.decode(s.sha256) != nil, s.sha256 == s.sha256.lowercased() else {
                throw .invalid(path: path + ".sha256", reason: "not a lower-case hex SHA-256")
            }
            offsets.append(at)
            at += s.length
        }
        guard at == source.count else {
            throw .invalid(path: "header.sections", reason: "the sections end at byte \(at) but the file has \(source.count)")
        }
        guard header.sections.first?.name == "payload" else { throw .invalid(path: "header.sections[0].name", reason: "the first section must be \"payload\"") }
        self.offsets = offsets
    }

    func index(of name: String) throws(ArtifactError) -> Int {
        guard let i = sections.firstIndex(where: { $0.name == name }) else { throw .invalid(path: "section \"\(name)\"", reason: "not in the header") }
        return i
    }

    func length(of name: String) throws(ArtifactError) -> Int { sections[try index(of: name)].length }

    /// Reads section `name` into `buffer` (exactly its length), hashing as it goes; throws unless
    /// the digest matches. The caller must not use the buffer's content if this throws.
    func read(_ name: String, into buffer: UnsafeMutableRawBufferPointer) throws(ArtifactError) {
        let i = try index(of: name)
        let section = sections[i]
        guard buffer.count == section.length else {
            throw .invalid(path: "section \"\(name)\"", reason: "\(section.length) bytes, but the payload needs \(buffer.count)")
        }
        var hasher = SHA256()
        let chunk = 1 << 20
        var done = 0
        while done < buffer.count {
            let n = min(chunk, buffer.count - done)
            let part = UnsafeMutableRawBufferPointer(rebasing: buffer[done ..< done + n])
            try source.read(into: part, at: offsets[i] + done)
            hasher.update(bufferPointer: UnsafeRawBufferPointer(part))
            done += n
        }
        guard Hex.encode(Array(hasher.finalize())) == section.sha256 else { throw .sectionDigest(name: name) }
        read.insert(name)
    }

    /// Hands section `name` to `body` in order, in chunks of at most 1 MiB, hashing as it goes;
    /// throws at the end unless the digest matches (then whatever `body` built must be dropped).
    func stream(_ name: String, _ body: (UnsafeRawBufferPointer, Int) -> Void) throws(ArtifactError) {
        let i = try index(of: name)
        let section = sections[i]
        var hasher = SHA256()
        let chunk = min(1 << 20, max(section.length, 1))
        let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: chunk, alignment: 8)
        defer { scratch.deallocate() }
        var done = 0
        while done < section.length {
            let n = min(chunk, section.length - done)
            let part = UnsafeMutableRawBufferPointer(rebasing: scratch[0 ..< n])
            try source.read(into: part, at: offsets[i] + done)
            hasher.update(bufferPointer: UnsafeRawBufferPointer(part))
            body(UnsafeRawBufferPointer(part), done)
            done += n
        }
        guard Hex.encode(Array(hasher.finalize())) == section.sha256 else { throw .sectionDigest(name: name) }
        read.insert(name)
    }

    /// Section `name` as the source of a weight matrix.
    func matrixSource(_ name: String) -> WeightMatrix.Source {
        WeightMatrix.Source(read: { buffer in try self.read(name, into: buffer) }, stream: { body in try self.stream(name, body) })
    }

    /// Section `name`'s bytes, verified.
    func bytes(_ name: String) throws(ArtifactError) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: try length(of: name))
        var failure: ArtifactError?
        out.withUnsafeMutableBytes { b in
            do throws(ArtifactError) { try read(name, into: b) } catch { failure = error }
        }
        if let failure { throw failure }
        return out
    }

    /// A section no part of the payload read: refused, so that every byte of a file means something.
    func checkAllRead() throws(ArtifactError) {
        if let unused = sections.first(where: { !read.contains($0.name) }) {
            throw .invalid(path: "section \"\(unused.name)\"", reason: "not used by the payload")
        }
    }
}

/// Binary forms of the feature blocks' vocabularies and idf (payload version 3).
enum SectionCoding {
    /// Each term as its UTF-8 length (unsigned LEB128) then its bytes.
    static func vocabulary(_ terms: [String]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(terms.reduce(0) { $0 + $1.utf8.count + 1 })
        for term in terms {
            var n = term.utf8.count
            repeat {
                let low = UInt8(n & 0x7F)
                n >>= 7
                out.append(n == 0 ? low : low | 0x80)
            } while n != 0
            out += term.utf8
        }
        return out
    }

    static func vocabulary(_ bytes: [UInt8], count: Int) throws(SectionDecodingError) -> [String] {
        var terms: [String] = []
        terms.reserveCapacity(min(count, bytes.count))
        var i = 0
        while i < bytes.count {
            guard terms.count < count else { throw SectionDecodingError("more than the \(count) terms declared (byte \(i))") }
            var n = 0, shift = 0
            while true {
                guard i < bytes.count else { throw SectionDecodingError("term \(terms.count): the length runs past the end") }
                let b = bytes[i]
                i += 1
                guard shift < 35 else { throw SectionDecodingError("term \(terms.count): the length is too long") }
                n |= Int(b & 0x7F) << shift
                shift += 7
                if b & 0x80 == 0 { break }
            }
            guard n <= bytes.count - i else { throw SectionDecodingError("term \(terms.count): \(n) bytes run past the end") }
            guard let term = String(validating: bytes[i ..< i + n], as: UTF8.self) else {
                throw SectionDecodingError("term \(terms.count) is not valid UTF-8")
            }
            terms.append(term)
            i += n
        }
        guard terms.count == count else { throw SectionDecodingError("\(terms.count) terms, but \(count) declared") }
        return terms
    }

    /// Little-endian binary64 values.
    static func doubles(_ values: [Double]) -> [UInt8] { values.withUnsafeBytes { Array($0) } }

    static func doubles(_ bytes: [UInt8], count: Int) throws(SectionDecodingError) -> [Double] {
        guard bytes.count == count * 8 else { throw SectionDecodingError("\(bytes.count) bytes for \(count) 8-byte values") }
        return [Double](unsafeUninitializedCapacity: count) { out, n in
            bytes.withUnsafeBytes { raw in _ = UnsafeMutableRawBufferPointer(out).initializeMemory(as: UInt8.self, from: raw) }
            n = count
        }
    }
}

struct SectionDecodingError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// The sections a version-3 payload refers to, handed to the payload's decoding through
/// `userInfo` (vocabularies and idf are read when their feature block is decoded), and collected
/// when encoding. A failure to read keeps its `ArtifactError`, rethrown after the decoder's.
final class PayloadSections: @unchecked Sendable {
    static let userInfoKey = CodingUserInfoKey(rawValue: "triage.payloadSections")!

    /// Decoding: the verified file.
    let reader: SectionReader?
    private(set) var failure: ArtifactError?
    /// Encoding: the sections written so far, in order.
    private(set) var written: [(name: String, bytes: [UInt8])] = []

    init(reader: SectionReader?) { self.reader = reader }

    func add(_ name: String, _ bytes: [UInt8]) { written.append((name, bytes)) }

    private func fail(_ error: ArtifactError) -> ArtifactError {
        if failure == nil { failure = error }
        return error
    }

    func bytes(_ name: String) throws(ArtifactError) -> [UInt8] {
        guard let reader else { throw fail(.invalid(path: "section \"\(name)\"", reason: "no file to read it from")) }
        do { return try reader.bytes(name) } catch { throw fail(error) }
    }

    func vocabulary(_ name: String, count: Int) throws(ArtifactError) -> [String] {
        let raw = try bytes(name)
        do { return try SectionCoding.vocabulary(raw, count: count) } catch {
            throw fail(.invalid(path: "section \"\(name)\"", reason: error.description))
        }
    }

    func doubles(_ name: String, count: Int) throws(ArtifactError) -> [Double] {
        let raw = try bytes(name)
        do { return try SectionCoding.doubles(raw, count: count) } catch {
            throw fail(.invalid(path: "section \"\(name)\"", reason: error.description))
        }
    }
}

/// A weight matrix as the payload describes it (payload version 3, `$.matrices[i]`).
struct MatrixDescriptor: Codable, Equatable {
    var section: String
    var rows: Int
    var columns: Int
    var encoding: WeightEncoding
    /// `int8` only: one per column.
    var scales: [Float]?

    init(section: String, matrix: WeightMatrix) {
        self.section = section
        rows = matrix.rows
        columns = matrix.columns
        encoding = matrix.encoding
        scales = matrix.encoding == .int8 ? matrix.scales : nil
    }
}
