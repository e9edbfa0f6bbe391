import Foundation
import TriageCore
import TriageText

/// Why an artifact was refused. Every case names what is wrong and, where it applies, where.
public enum ArtifactError: Error, Equatable, Sendable, CustomStringConvertible {
    case noTrustedKeys
    case unreadable(path: String, reason: String)
    case tooLarge(bytes: Int, limit: Int)
    case notAnArtifact(String)
    case unknownKeyId(String, trusted: [String])
    case invalidBase64(String)
    case badSignature(keyId: String)
    case payloadSyntax(JSONSyntaxError)
    case payload(JSONDecodingError)
    case unsupportedVersion(Int, supported: [Int])
    case invalid(path: String, reason: String)
    case probeMismatch(index: Int, difference: Double, tolerance: Double)
    /// A probe matches other rules here than when the model was saved.
    case probeRulesMismatch(index: Int, saved: [String], now: [String])
    case sectionDigest(name: String)
    case key(KeyError)
    case write(path: String, reason: String)

    public var description: String {
        switch self {
        case .noTrustedKeys: return "no trusted public key given: pin the key that signed the model (--trusted-key)"
        case let .unreadable(path, reason): return "cannot read model \(path): \(reason)"
        case let .tooLarge(bytes, limit):
            // Rounded up, so that the value said is one that admits the file.
            let mib = (bytes + (1 << 20) - 1) >> 20
            return "model file of \(bytes) bytes exceeds the limit of \(limit) bytes; to load it, raise the limit to at least \(mib) MiB"
                + " (triage: --max-model-bytes \(mib << 20); in code: ModelArtifact.LoadOptions.maxBytes)"
        case let .notAnArtifact(why): return "not a Triage model artifact: \(why)"
        case let .unknownKeyId(id, trusted):
            return "the model was signed by key \(id), which is not among the trusted keys (\(trusted.joined(separator: ", "))); pin its public key"
        case let .invalidBase64(field): return "the envelope's \(field) is not canonical base64"
        case let .badSignature(keyId): return "signature check failed for key \(keyId): the model was altered or signed by another key"
        case let .payloadSyntax(e): return "signed payload is not valid JSON: \(e.description)"
        case let .payload(e): return "signed payload does not match the schema: \(e.description)"
        case let .unsupportedVersion(v, supported):
            return "payload format version \(v) is not supported (this Triage reads \(supported.map(String.init).joined(separator: ", "))); upgrade Triage or re-train"
        case let .invalid(path, reason): return "invalid model at \(path): \(reason)"
        case let .probeMismatch(index, difference, tolerance):
            return "golden probe \(index) predicts differently here (difference \(difference), tolerance \(tolerance)): "
                + "the stemmer, stop words or Triage version differ from the machine that trained the model"
        case let .probeRulesMismatch(index, saved, now):
            func list(_ names: [String]) -> String { names.isEmpty ? "none" : names.joined(separator: ", ") }
            return "golden probe \(index) matches other rules here (\(list(now))) than when the model was saved (\(list(saved))): "
                + "the stemmer or Triage version differ from the machine that trained the model"
        case let .sectionDigest(name):
            return "section \"\(name)\" does not match the SHA-256 in the signed header: the model was altered after it was signed"
        case let .key(e): return e.description
        case let .write(path, reason): return "cannot write \(path): \(reason)"
        }
    }
}

/// Atomic replacement of a file.
enum AtomicFile {
    static func write(_ bytes: [UInt8], to path: String) throws(ArtifactError) {
        let url = URL(fileURLWithPath: path)
        let directory = url.deletingLastPathComponent().path
        var template = Array((directory + "/." + url.lastPathComponent + ".tmp-XXXXXX").utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else { throw .write(path: path, reason: String(cString: strerror(errno))) }
        let temporary = String(decoding: template.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        var ok = false
        defer { if !ok { unlink(temporary) } }
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { raw -> Int in
                guard let base = raw.baseAddress else { return 0 }
                return Glibc.write(fd, base + offset, raw.count - offset)
            }
            guard n > 0 else {
                close(fd)
                throw .write(path: path, reason: String(cString: strerror(errno)))
            }
            offset += n
        }
        fchmod(fd, 0o644)
        guard fsync(fd) == 0 else {
            close(fd)
            throw .write(path: path, reason: String(cString: strerror(errno)))
        }
        close(fd)
        guard rename(temporary, path) == 0 else { throw .write(path: path, reason: String(cString: strerror(errno))) }
        ok = true
        let dirFD = open(directory.isEmpty ? "." : directory, O_RDONLY)
        if dirFD >= 0 {
            fsync(dirFD)
            close(dirFD)
        }
    }
}
