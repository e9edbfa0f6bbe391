import Foundation
import TriageCore

/// Bearer tokens (`--token-file`, `--predict-token-file`): one `name:token` per line, `#`
/// comments and blank lines ignored; the file must be readable by its owner only (mode 0600, as
/// a private key). A request presents `Authorization: Bearer <token>`; the name of the token
/// it matches is who made the request (a relabel's agent).
///
/// Only SHA-256 digests of the tokens are kept, and a presented token is compared with every
/// one of them, byte by byte without stopping at the first difference: the time taken says
/// nothing about how much of a token was right.
public struct AccessTokens: Sendable {
    struct Entry: Sendable {
        var name: String
        var digest: [UInt8]
    }

    let entries: [Entry]
    /// Where they came from, for messages.
    public let source: String

    /// Shortest token accepted: 16 characters (e.g. `openssl rand -hex 16` gives 32).
    public static let minimumLength = 16

    public init(path: String) throws(TokenFileError) {
        var info = stat()
        guard stat(path, &info) == 0 else { throw .unreadable(path: path, reason: String(cString: strerror(errno))) }
        guard info.st_mode & 0o077 == 0 else { throw .tooOpen(path: path, mode: String(info.st_mode & 0o777, radix: 8)) }
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw .unreadable(path: path, reason: (error as NSError).localizedDescription)
        }
        try self.init(text: text, source: path)
    }

    /// Parses the file's text; `source` names it in errors.
    public init(text: String, source: String) throws(TokenFileError) {
        var entries: [Entry] = []
        var names: Set<String> = [], digests: Set<[UInt8]> = []
        // "\r\n" is one Character, a newline like "\n".
        for (i, raw) in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            let number = i + 1
            guard let colon = line.firstIndex(of: ":") else { throw .malformed(path: source, line: number, "write name:token") }
            let name = line[..<colon].trimmingCharacters(in: .whitespaces)
            let token = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            guard !name.isEmpty else { throw .malformed(path: source, line: number, "the name before ':' is empty") }
            guard token.count >= Self.minimumLength else {
                throw .malformed(path: source, line: number, "the token of \"\(name)\" has \(token.count) characters; use at least \(Self.minimumLength) (openssl rand -hex 16)")
            }
            guard !token.contains(where: \.isWhitespace) else { throw .malformed(path: source, line: number, "the token of \"\(name)\" contains a space") }
            let digest = Self.digest(token)
            guard names.insert(name).inserted else { throw .malformed(path: source, line: number, "\"\(name)\" is named twice") }
            guard digests.insert(digest).inserted else { throw .malformed(path: source, line: number, "the token of \"\(name)\" is also another name's") }
            entries.append(Entry(name: name, digest: digest))
        }
        guard !entries.isEmpty else { throw .empty(path: source) }
        self.entries = entries
        self.source = source
    }

    static func digest(_ token: some StringProtocol) -> [UInt8] { Array(StableHash.hex(Array(token.utf8)).utf8) }

    /// The name of the token an `Authorization` header value presents (`Bearer <token>`, the
    /// scheme in any case); nil when there is none or it matches no token.
    public func name(authorization: String?) -> String? {
        guard let authorization else { return nil }
        let parts = authorization.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { return nil }
        return name(token: parts[1].trimmingCharacters(in: .whitespaces))
    }

    /// The name of `token`; nil when it matches none. Every entry is compared in full.
    public func name(token: String) -> String? {
        let presented = Self.digest(token)
        var found: String?
        for entry in entries {
            var difference: UInt8 = 0
            for (a, b) in zip(presented, entry.digest) { difference |= a ^ b }
            if difference == 0 && found == nil { found = entry.name }
        }
        return found
    }
}

public enum TokenFileError: Error, Equatable, CustomStringConvertible {
    case unreadable(path: String, reason: String)
    case tooOpen(path: String, mode: String)
    case malformed(path: String, line: Int, String)
    case empty(path: String)

    public var description: String {
        switch self {
        case let .unreadable(path, reason): return "\(path): cannot read the token file: \(reason)"
        case let .tooOpen(path, mode):
            return "\(path): the token file has mode \(mode); other users must not read it: chmod 600 \(path)"
        case let .malformed(path, line, why): return "\(path):\(line): \(why)"
        case let .empty(path): return "\(path): no token in the file (one name:token per line)"
        }
    }
}
