import NIOCore
import NIOEmbedded
import NIOHTTP1
import TriageServer

/// The differential fuzz target of the server's fast path (`TRIAGE_FUZZ_MODE=http`): the input
/// is the start of a connection's bytes, read by `FastPathRequest.parse` and by NIO's HTTP/1
/// decoder (llhttp), the parser every request the fast path declines goes to.
///
/// The invariant: whenever the fast path accepts a request (`complete`), NIO's decoder accepts
/// the same bytes as a request with the same method, target, version, header fields (names and
/// values, in order) and body. Values are compared without the optional whitespace around them
/// (RFC 9110 §5.5: it is not part of the value), which NIO keeps at the end of a value and the
/// fast path does not. Declining (or waiting for more bytes) is always allowed: NIO's
/// decoder then reads the bytes as it would have anyway. The fast path never answers an error
/// itself (a body its endpoint cannot decode is handed on too), so "it answers 4xx only where NIO
/// refuses" holds by construction. A violation stops the fuzzer (`fatalError`): it is a finding.
public enum HTTPDifferential {
    static let maxHead = 8 << 10
    static let maxBody = 1 << 20

    /// Stops the process on a disagreement (the fuzzer's entry point).
    static func check(_ bytes: [UInt8]) {
        if let disagreement = disagreement(bytes) {
            fatalError("HTTP differential: \(disagreement)\ninput: \(String(decoding: bytes, as: UTF8.self).debugDescription)")
        }
    }

    /// What the two parsers disagree on for `bytes`, or nil when the invariant holds (the fast
    /// path declined, waited for more bytes, or read the request as NIO does).
    public static func disagreement(_ bytes: [UInt8]) -> String? {
        var fields: [(String, String)] = []
        let verdict = bytes.withUnsafeBytes { raw in
            FastPathRequest.parse(raw, maxHead: maxHead, maxBody: maxBody) { name, value in
                fields.append((String(decoding: name, as: UTF8.self), String(decoding: value, as: UTF8.self)))
            }
        }
        guard case let .complete(headLength, bodyLength) = verdict else { return nil }
        guard let request = nioRequest(bytes) else {
            return "the fast path accepted a request NIO's decoder refuses"
        }
        if request.method != .POST || request.uri != "/messages" || request.version != .http1_1 {
            return "request line: NIO read \(request.method) \(request.uri) \(request.version)"
        }
        let nioFields = request.headers.map { ($0.name, trimmingOWS($0.value)) }
        if nioFields.count != fields.count || zip(nioFields, fields).contains(where: { $0.0 != $1.0 || $0.1 != $1.1 }) {
            return "fields: NIO read \(nioFields), the fast path \(fields)"
        }
        if request.body != Array(bytes[headLength ..< headLength + bodyLength]) {
            return "body: NIO read \(request.body.count) bytes, the fast path \(bodyLength)"
        }
        return nil
    }

    /// Whether the fast path reads `bytes` as a complete request (for tests: a case that
    /// declines checks nothing).
    public static func fastPathAccepts(_ bytes: [UInt8]) -> Bool {
        let verdict = bytes.withUnsafeBytes { raw in
            FastPathRequest.parse(raw, maxHead: maxHead, maxBody: maxBody) { _, _ in }
        }
        if case .complete = verdict { return true }
        return false
    }

    struct Request {
        var method: HTTPMethod
        var uri: String
        var version: HTTPVersion
        var headers: HTTPHeaders
        var body: [UInt8] = []
    }

    /// The first request NIO's decoder reads from `bytes`, complete with its body; nil when it
    /// refuses the bytes or they end before the request does. Bytes after the first request may
    /// be anything (the fast path reads one request at a time): an error NIO reports on them
    /// does not count against the first.
    static func nioRequest(_ bytes: [UInt8]) -> Request? {
        let channel = EmbeddedChannel()
        defer { _ = try? channel.finish() }
        guard (try? channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(HTTPRequestDecoder(leftOverBytesStrategy: .forwardBytes)))) != nil else {
            return nil
        }
        var buffer = channel.allocator.buffer(capacity: bytes.count)
        buffer.writeBytes(bytes)
        _ = try? channel.writeInbound(buffer)
        var request: Request?
        while let part = try? channel.readInbound(as: HTTPServerRequestPart.self) {
            switch part {
            case let .head(head): request = Request(method: head.method, uri: head.uri, version: head.version, headers: head.headers)
            case var .body(chunk): request?.body += chunk.readBytes(length: chunk.readableBytes) ?? []
            case .end: return request
            }
        }
        return nil
    }

    static func trimmingOWS(_ value: String) -> String {
        var bytes = Array(value.utf8)
        while let last = bytes.last, last == 0x20 || last == 0x09 { bytes.removeLast() }
        let start = bytes.firstIndex { $0 != 0x20 && $0 != 0x09 } ?? bytes.endIndex
        return String(decoding: bytes[start...], as: UTF8.self)
    }
}
