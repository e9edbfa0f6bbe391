import HTTPTypes
import NIOCore
import NIOHTTP1
import NIOHTTPTypes
import NIOHTTPTypesHTTP1
import TriageCore

/// Translates NIO's HTTP/1 parts into the version-independent HTTP types Hummingbird works on,
/// and back, keeping what that translation otherwise loses: whether the client wants the
/// connection kept open.
///
/// Why not swift-nio-extras' `HTTP1ToHTTPServerCodec`, which Hummingbird installs: HTTP types
/// have no version, so an HTTP/1.0 request without `Connection: keep-alive` reached the router as
/// if it were HTTP/1.1, and got an answer on a connection left open until the idle timeout. An
/// HTTP/1.0 client that reads its response to the end of input (RFC 9112 §9.3: 1.0 closes by
/// default) then hung for the whole timeout. Hummingbird also closes only on a `Connection`
/// value of exactly `close`, so `Close` or `close, TE` from an HTTP/1.1 client were ignored.
///
/// What this codec does on top of the translation (RFC 9112 §9.3, NIO's `isKeepAlive`):
/// - a request that does not keep the connection alive (HTTP/1.0 without the `keep-alive`
///   option; any version with the `close` option, in any case) reaches Hummingbird with
///   `Connection: close` exactly, so Hummingbird closes after its response, and that response
///   says `Connection: close`;
/// - an HTTP/1.0 request that asks for keep-alive gets `Connection: keep-alive` on its response,
///   which HTTP/1.0 clients wait for before they reuse the connection.
/// Responses are HTTP/1.1 for every request, as RFC 9110 §6.2 recommends (the highest version
/// the server supports, with the request's major version). Every response here has a
/// `Content-Length`, so no HTTP/1.0 client gets a chunked body.
///
/// It replaces the stock codec in the same place rather than adding a handler beside it, so the
/// request path gains no pipeline hop.
final class HTTP1ServerCodec: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    /// What a response must add to keep the connection semantics of its request.
    enum ConnectionOption: Equatable {
        case unchanged
        case close
        case keepAlive
    }

    /// One entry per request whose final response has not been written yet, oldest first
    /// (HTTP/1.1 pipelining: several requests can be read before the first is answered).
    private var pending = CircularBuffer<ConnectionOption>(initialCapacity: 4)
    /// A final response head was written and its end not yet.
    private var responding = false
    /// A response said `Connection: close`: the connection ends after it, and bytes that follow
    /// are not a request to answer.
    private var closing = false
    /// Counts what this codec answers itself (requests the parser refuses, heads too slow).
    private let metrics: ServerMetrics?
    /// How long a request head may take from its first byte (`ConnectionRules`); nil: no limit.
    private let headTimeout: TimeAmount?
    /// The head deadline of the request whose head is being read.
    private var headDeadline: Scheduled<Void>?

    init(metrics: ServerMetrics? = nil, headTimeout: TimeAmount? = nil) {
        self.metrics = metrics
        self.headTimeout = headTimeout
    }

    /// Sent by `HeadBytes` (before NIO's decoder) after every read it passes on: when the read
    /// left no request open, it began a head that is not complete yet, whose deadline starts
    /// now. (A read holding a whole head opens its request first: no timer for it.)
    struct BytesArrived {}

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard event is BytesArrived else { return context.fireUserInboundEventTriggered(event) }
        // Bytes while no request is open start a head (bytes while one is open are its body,
        // or a pipelined head, bounded by the idle timeout once the open one is answered).
        guard let headTimeout, headDeadline == nil, pending.isEmpty, !responding else { return }
        headDeadline = context.eventLoop.assumeIsolated().scheduleTask(in: headTimeout) { [self] in
            headDeadline = nil
            guard pending.isEmpty, !responding, context.channel.isActive else { return }
            metrics?.request(route: ServerMetrics.unparsedRoute, status: 408, seconds: Double(headTimeout.nanoseconds) / 1e9)
            answerAndClose(context: context, status: .requestTimeout,
                           APIError(408, "the request head took longer than \(Double(headTimeout.nanoseconds) / 1e9) s to arrive"))
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        headDeadline?.cancel()
        headDeadline = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        headDeadline?.cancel()
        headDeadline = nil
        context.fireChannelInactive()
    }

    /// The option a request's response needs, from its version and `Connection` header.
    static func option(for head: HTTPRequestHead) -> ConnectionOption {
        if !head.isKeepAlive { return .close }
        return head.version.major == 1 && head.version.minor == 0 ? .keepAlive : .unchanged
    }

    /// The HTTP types request of an HTTP/1 head: the same value as swift-nio-extras'
    /// `HTTPRequest(head, secure: false, splitCookie: false)`, without its URL parse for a target
    /// in origin form (`/path?query`, every request a client sends to a server that is not a
    /// proxy). That conversion parses every target with `URLComponents` to take the path out of
    /// an absolute-form one (`http://host/path`); a target that starts with "/" has no scheme and
    /// comes back unchanged, and the parse was 1.4 % of the event loops' CPU. Anything else (an
    /// absolute form, `*`) still goes through it.
    static func request(_ head: HTTPRequestHead) throws -> HTTPRequest {
        guard head.uri.utf8.first == UInt8(ascii: "/") else { return try HTTPRequest(head, secure: false, splitCookie: false) }
        return HTTPRequest(method: try HTTPRequest.Method(head.method), scheme: "http", authority: head.headers["Host"].first,
                           path: head.uri, headerFields: HTTPFields(head.headers, splitCookie: false))
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            headDeadline?.cancel()
            headDeadline = nil
            let option = Self.option(for: head)
            do {
                var request = try Self.request(head)
                if option == .close { request.headerFields[.connection] = "close" }
                pending.append(option)
                context.fireChannelRead(wrapInboundOut(.head(request)))
            } catch {
                context.fireErrorCaught(error)
            }
        case .body(let body):
            context.fireChannelRead(wrapInboundOut(.body(body)))
        case .end(let trailers):
            context.fireChannelRead(wrapInboundOut(.end(trailers.map { HTTPFields($0, splitCookie: false) })))
        }
    }

    /// A request the HTTP parser refuses between requests (a bad request line, a field it does not
    /// accept) is answered here with the server's JSON error and the connection closed: the
    /// stack above would answer it with an empty 400. One refused inside a request, whose head
    /// was passed on, goes on to the route reading its body, which answers it the same way.
    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // Bytes after a `Connection: close` exchange (the parser's "data received after completed
        // connection: close message") are dropped: the connection is closing, whether or not they
        // arrived before it closed.
        if error is HTTPParserError, closing { return }
        guard error is HTTPParserError, pending.isEmpty, !responding else { return context.fireErrorCaught(error) }
        metrics?.request(route: ServerMetrics.unparsedRoute, status: 400, seconds: 0)
        answerAndClose(context: context, status: .badRequest, APIError(400, "the request is not valid HTTP/1.1: \(Self.describe(error))"))
    }

    /// What NIO's parser refused, in its words; llhttp codes NIO has no case for come as
    /// `.unknown` ("unknown (http_parser error)"): in a request, an invalid `Transfer-Encoding`
    /// or a line not ended by CRLF, which is said instead.
    static func describe(_ error: any Error) -> String {
        if let error = error as? HTTPParserError, error == .unknown {
            return "the parser refused its framing (an invalid Transfer-Encoding, or a line not ended by CRLF)"
        }
        return String(reflecting: error)
    }

    /// The server's JSON error, `Connection: close`, then the connection closed: for what is
    /// answered before any route has a request.
    private func answerAndClose(context: ChannelHandlerContext, status: HTTPResponseStatus, _ failure: APIError) {
        var body = context.channel.allocator.buffer(capacity: 160)
        body.writeBytes(JSONWriter.bytes(failure.json))
        let head = HTTPResponseHead(version: .http1_1, status: status,
                                    headers: ["Content-Type": "application/json", "Content-Length": String(body.readableBytes), "Connection": "close"])
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in channel.close(promise: nil) }
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head(let response):
            var head = HTTPResponseHead(response)
            // An interim response (1xx but 101, which ends the request) precedes the final one of
            // the same request.
            let interim = response.status.kind == .informational && response.status.code != 101
            if !interim { responding = true }
            if !interim, head.headers[canonicalForm: "connection"].contains(where: { $0.lowercased() == "close" }) { closing = true }
            if !interim, let option = pending.popFirst() {
                switch option {
                case .unchanged: break
                case .close:
                    head.headers.replaceOrAdd(name: "Connection", value: "close")
                    closing = true
                case .keepAlive: head.headers.replaceOrAdd(name: "Connection", value: "keep-alive")
                }
            }
            context.write(wrapOutboundOut(.head(head)), promise: promise)
        case .body(let body):
            context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: promise)
        case .end(let trailers):
            responding = false
            context.write(wrapOutboundOut(.end(trailers.map(HTTPHeaders.init))), promise: promise)
        }
    }
}

/// Placed before NIO's HTTP/1 decoder: tells `HTTP1ServerCodec` that bytes arrived, once the
/// decoder has read them, so that an incomplete head's deadline runs from its first read.
final class HeadBytes: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        context.fireChannelRead(data)
        context.fireUserInboundEventTriggered(HTTP1ServerCodec.BytesArrived())
    }
}
