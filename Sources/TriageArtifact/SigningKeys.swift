import Crypto
import TriageCore
import Foundation

/// An Ed25519 private key that signs model artifacts. Stored as standard PKCS#8 PEM
/// (RFC 8410), readable by OpenSSL (`openssl pkey -in key.pem -noout -text`).
public struct SigningKey: Sendable {
    let key: Curve25519.Signing.PrivateKey

    /// A new random key.
    public init() { key = Curve25519.Signing.PrivateKey() }

    public init(rawSeed: [UInt8]) throws(KeyError) {
        guard rawSeed.count == 32 else { throw .malformed("an Ed25519 private key is 32 bytes, got \(rawSeed.count)") }
        do { key = try Curve25519.Signing.PrivateKey(rawRepresentation: rawSeed) } catch { throw .malformed("\(error)") }
    }

    public var verifyingKey: VerifyingKey { VerifyingKey(key: key.publicKey) }

    /// PKCS#8 PEM.
    public var pem: String { PEM.encode(label: "PRIVATE KEY", der: PEM.pkcs8Prefix + Array(key.rawRepresentation)) }

    public init(pem text: String) throws(KeyError) {
        let der = try PEM.decode(text, label: "PRIVATE KEY")
        guard der.count == PEM.pkcs8Prefix.count + 32, Array(der.prefix(PEM.pkcs8Prefix.count)) == PEM.pkcs8Prefix else {
            throw .malformed("not an Ed25519 private key (PKCS#8, RFC 8410)")
        }
        try self.init(rawSeed: Array(der.suffix(32)))
    }

    /// Reads a private key file, refusing one that other users can read (as OpenSSH does).
    public init(path: String) throws(KeyError) {
        var info = stat()
        guard stat(path, &info) == 0 else { throw .unreadable(path: path, reason: String(cString: strerror(errno))) }
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw .unreadable(path: path, reason: (error as NSError).localizedDescription)
        }
        // A public key where the private one belongs is the likelier mistake than its mode.
        if text.contains("-----BEGIN PUBLIC KEY-----") { throw .wrongHalf(path: path, expected: "private") }
        if info.st_mode & 0o077 != 0 {
            throw .tooOpen(path: path, mode: String(info.st_mode & 0o777, radix: 8))
        }
        do { try self.init(pem: text) } catch { throw error.at(path) }
    }

    func signature(for bytes: [UInt8]) throws(KeyError) -> [UInt8] {
        do { return Array(try key.signature(for: bytes)) } catch { throw .malformed("signing failed: \(error)") }
    }
}

/// An Ed25519 public key that a server pins to verify model artifacts. Stored as standard
/// SPKI PEM (RFC 8410). Its id is the SHA-256 of its 32 raw bytes, in hex.
public struct VerifyingKey: Sendable, Hashable {
    let key: Curve25519.Signing.PublicKey
    public let id: String

    init(key: Curve25519.Signing.PublicKey) {
        self.key = key
        id = Hex.encode(Array(SHA256.hash(data: key.rawRepresentation)))
    }

    public static func == (a: VerifyingKey, b: VerifyingKey) -> Bool { a.id == b.id }
    public func hash(into hasher: inout Hasher) { hasher.combine(id) }

    public init(raw: [UInt8]) throws(KeyError) {
        guard raw.count == 32 else { throw .malformed("an Ed25519 public key is 32 bytes, got \(raw.count)") }
        do { self.init(key: try Curve25519.Signing.PublicKey(rawRepresentation: raw)) } catch { throw .malformed("\(error)") }
    }

    public var pem: String { PEM.encode(label: "PUBLIC KEY", der: PEM.spkiPrefix + Array(key.rawRepresentation)) }

    public init(pem text: String) throws(KeyError) {
        let der = try PEM.decode(text, label: "PUBLIC KEY")
        guard der.count == PEM.spkiPrefix.count + 32, Array(der.prefix(PEM.spkiPrefix.count)) == PEM.spkiPrefix else {
            throw .malformed("not an Ed25519 public key (SPKI, RFC 8410)")
        }
        try self.init(raw: Array(der.suffix(32)))
    }

    public init(path: String) throws(KeyError) {
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw .unreadable(path: path, reason: (error as NSError).localizedDescription)
        }
        if text.contains("-----BEGIN PRIVATE KEY-----") { throw .wrongHalf(path: path, expected: "public") }
        do { try self.init(pem: text) } catch { throw error.at(path) }
    }

    func isValidSignature(_ signature: [UInt8], for bytes: [UInt8]) -> Bool {
        signature.count == 64 && key.isValidSignature(signature, for: bytes)
    }
}

/// Why a key could not be used.
public enum KeyError: Error, Equatable, Sendable, CustomStringConvertible {
    case unreadable(path: String, reason: String)
    case malformed(String)
    case malformedFile(path: String, reason: String)
    case tooOpen(path: String, mode: String)
    case exists(path: String)
    /// A public key given where the private one belongs (`expected: "private"`), or the other way.
    case wrongHalf(path: String, expected: String)

    func at(_ path: String) -> KeyError {
        if case let .malformed(why) = self { return .malformedFile(path: path, reason: why) }
        return self
    }

    public var description: String {
        switch self {
        case let .unreadable(path, reason): return "cannot read key \(path): \(reason)"
        case let .malformed(why): return "invalid key: \(why)"
        case let .malformedFile(path, why): return "invalid key in \(path): \(why)"
        case let .tooOpen(path, mode):
            return "private key \(path) has mode \(mode), readable by other users; run chmod 600 \(path)"
        case let .exists(path): return "\(path) exists; remove it or choose another directory (keys are never overwritten)"
        case .wrongHalf(_, "private"):
            return "a public key; signing needs the private key (private.pem from triage keygen), the public one is for --trusted-key"
        case .wrongHalf:
            return "a private key; pin the public key (public.pem from triage keygen) and keep the private one on the training machine"
        }
    }
}

/// Writes a new key pair: `private.pem` (mode 0600) and `public.pem` in `directory`.
/// Refuses to overwrite existing files. Returns the key.
public func generateKeyPair(in directory: String) throws(KeyError) -> (privatePath: String, publicPath: String, key: SigningKey) {
    do {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    } catch {
        throw .unreadable(path: directory, reason: (error as NSError).localizedDescription)
    }
    let key = SigningKey()
    let privatePath = (directory as NSString).appendingPathComponent("private.pem")
    let publicPath = (directory as NSString).appendingPathComponent("public.pem")
    for path in [privatePath, publicPath] where FileManager.default.fileExists(atPath: path) { throw .exists(path: path) }
    try writeNew(privatePath, Array(key.pem.utf8), mode: 0o600)
    try writeNew(publicPath, Array(key.verifyingKey.pem.utf8), mode: 0o644)
    return (privatePath, publicPath, key)
}

/// Creates `path` exclusively with `mode` (never replacing a file) and writes `bytes`.
private func writeNew(_ path: String, _ bytes: [UInt8], mode: mode_t) throws(KeyError) {
    let fd = open(path, O_WRONLY | O_CREAT | O_EXCL, mode)
    guard fd >= 0 else {
        if errno == EEXIST { throw .exists(path: path) }
        throw .unreadable(path: path, reason: String(cString: strerror(errno)))
    }
    defer { close(fd) }
    fchmod(fd, mode)   // the umask may have narrowed it; this states it exactly
    let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    guard written == bytes.count, fsync(fd) == 0 else { throw .unreadable(path: path, reason: String(cString: strerror(errno))) }
}

/// PEM framing and the fixed DER prefixes of Ed25519 keys (RFC 8410).
enum PEM {
    /// SEQUENCE { INTEGER 0, SEQUENCE { OID 1.3.101.112 }, OCTET STRING { OCTET STRING (32) } }
    static let pkcs8Prefix: [UInt8] = [0x30, 0x2E, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2B, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20]
    /// SEQUENCE { SEQUENCE { OID 1.3.101.112 }, BIT STRING (0 unused bits, 32 bytes) }
    static let spkiPrefix: [UInt8] = [0x30, 0x2A, 0x30, 0x05, 0x06, 0x03, 0x2B, 0x65, 0x70, 0x03, 0x21, 0x00]

    static func encode(label: String, der: [UInt8]) -> String {
        let body = Base64.encode(der)
        var lines = ["-----BEGIN \(label)-----"]
        var index = body.startIndex
        while index < body.endIndex {
            let end = body.index(index, offsetBy: 64, limitedBy: body.endIndex) ?? body.endIndex
            lines.append(String(body[index ..< end]))
            index = end
        }
        lines.append("-----END \(label)-----")
        return lines.joined(separator: "\n") + "\n"
    }

    static func decode(_ text: String, label: String) throws(KeyError) -> [UInt8] {
        let lines = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        guard lines.first == "-----BEGIN \(label)-----", lines.last == "-----END \(label)-----", lines.count >= 3 else {
            throw .malformed("expected a PEM block \"-----BEGIN \(label)-----\"")
        }
        guard let der = Base64.decode(lines.dropFirst().dropLast().joined()) else { throw .malformed("invalid base64 in the PEM block") }
        return der
    }
}
