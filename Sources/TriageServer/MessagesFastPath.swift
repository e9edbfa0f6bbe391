import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTPTypes
import TriageCore
import TriageModel

/// Answers `POST /messages` inside the connection's channel pipeline, on its event loop, without
/// the Swift task, router and middleware Hummingbird runs for every other request.
///
/// Why: a request that goes through Hummingbird's async channel costs its inbound stream, a task
/// resumption, the router, two middleware and the async writer on top of the HTTP codec; perf
/// put that at about as much CPU as the prediction itself. This handler sits between
/// Hummingbird's `HTTPConnectionStateHandler` (idle timeout, keep-alive, graceful shutdown: it
/// still sees every request and response) and the async channel, and takes only what it can
/// answer exactly as the route would: a `POST /messages` whose head and whole body arrive in one
/// read, with a JSON content type, within the body limit, without `Expect` or
/// `Connection: close`, and whose body parses. Everything else (errors included) goes on to
/// Hummingbird untouched, so every status code and message is the route's own.
///
/// Order on a connection is kept: the handler answers only when no request handed to Hummingbird
/// is still unanswered, and while its own answer waits for the log's commit it holds the parts
/// that arrive after it (pipelined requests) and replays them once the answer is written.
/// The response is the route's byte for byte, headers included (`Date` and `Server` as
/// Hummingbird sets them); a logged prediction is answered only after its commit.
final class MessagesFastPath: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private enum State {
        /// Waiting for a request head.
        case idle
        /// A candidate request: its head, the body so far, when its head was read.
        case collecting(HTTPRequest, ByteBuffer, Date, ContinuousClock.Instant)
        /// Passing the rest of a request on to Hummingbird.
        case forwarding
        /// An answer waits for its log commit; inbound parts are held in `held`.
        case answering
    }

    private let server: TriageServer
    private let serverName: String?
    private var state = State.idle
    /// What arrived while an answer waited, in order: request parts, and the end of input or a
    /// decoder error, which must not reach Hummingbird before the answer is written (it would
    /// close the connection, or answer the error first).
    private enum Held {
        case part(HTTPRequestPart)
        case event(Any)
        case error(any Error)
    }
    private var held = CircularBuffer<Held>()
    private var replaying = false
    /// Parts were passed on since the last `channelReadComplete` passed on: Hummingbird's async
    /// channel delivers what it buffered only on a read-complete.
    private var unflushedReads = false
    /// A `read()` held back while pipelined parts wait (backpressure: the held buffer stays
    /// within one read).
    private var pendingRead = false
    /// Requests handed to Hummingbird whose response end has not been written yet.
    private var forwarded = 0
    private var dates = HTTPDate()

    init(server: TriageServer, serverName: String?) {
        self.server = server
        self.serverName = serverName
    }

    // MARK: Inbound

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = unwrapInboundIn(data)
        if case .answering = state {
            held.append(.part(part))
        } else {
            handle(part, context: context)
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if isHolding { held.append(.event(event)) } else { context.fireUserInboundEventTriggered(event) }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if isHolding { return held.append(.error(error)) }
        // A request refused by the HTTP parser after its head (a framing it does not accept)
        // goes to the route first, which answers the error as it reads the body: as after a
        // replayed error.
        flushForwarded(context: context)
        context.fireErrorCaught(error)
    }

    private var isHolding: Bool {
        if case .answering = state { return true }
        return !held.isEmpty
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        // A body that did not arrive with its head (a slow or large upload): Hummingbird reads
        // the rest, with its body timeout.
        if case let .collecting(head, body, _, _) = state { spill(head, body, context: context) }
        unflushedReads = false
        context.fireChannelReadComplete()
    }

    private func forward(_ part: HTTPRequestPart, context: ChannelHandlerContext) {
        unflushedReads = true
        context.fireChannelRead(wrapInboundOut(part))
    }

    private func handle(_ part: HTTPRequestPart, context: ChannelHandlerContext) {
        switch state {
        case .idle:
            guard case let .head(head) = part else { return forward(part, context: context) }
            if forwarded == 0, let capacity = candidateBodyCapacity(head) {
                state = .collecting(head, context.channel.allocator.buffer(capacity: capacity), Date(), .now)
            } else {
                forwarded += 1
                state = .forwarding
                forward(part, context: context)
            }
        case .forwarding:
            if case .end = part { state = .idle }
            forward(part, context: context)
        case .collecting(let head, var body, let received, let started):
            switch part {
            case var .body(chunk):
                if body.readableBytes + chunk.readableBytes > server.configuration.limits.maxBodyBytes {
                    spill(head, body, context: context)
                    forward(part, context: context)
                } else {
                    state = .idle  // no second reference to the body while it grows
                    body.writeBuffer(&chunk)
                    state = .collecting(head, body, received, started)
                }
            case .end:
                state = .idle
                answer(head, body, received: received, started: started, context: context)
            case .head:
                // The decoder never sends a head inside a request; hand both on if it did.
                spill(head, body, context: context)
                state = .idle
                handle(part, context: context)
            }
        case .answering:
            held.append(.part(part))
        }
    }

    /// Before an event, or at the end of a replay: a request whose body is still on its way goes
    /// to Hummingbird, which reads the rest; what was passed on is delivered.
    private func flushForwarded(context: ChannelHandlerContext) {
        if case let .collecting(head, body, _, _) = state { spill(head, body, context: context) }
        if unflushedReads {
            unflushedReads = false
            context.fireChannelReadComplete()
        }
    }

    /// Hands a candidate request read so far to Hummingbird; the rest of it follows.
    private func spill(_ head: HTTPRequest, _ body: ByteBuffer, context: ChannelHandlerContext) {
        forwarded += 1
        state = .forwarding
        forward(.head(head), context: context)
        if body.readableBytes > 0 { forward(.body(body), context: context) }
    }

    /// The route's preconditions that can be read from the head (`TriageServer.body`): nil when
    /// they do not hold, else the body buffer's capacity (its `Content-Length`, or 512 without
    /// one). Read in the same pass: `headerFields[.contentLength]` joins the values into a new
    /// string, 1.2 % of the event loops' CPU when it ran again for the capacity.
    private func candidateBodyCapacity(_ head: HTTPRequest) -> Int? {
        guard head.method == .post, head.path == "/messages" else { return nil }
        // One pass over the fields (HTTPFields' subscript searches them once per name and joins
        // the values into a new string). A repeated Content-Type or Content-Length is the route's
        // to judge, as a joined value would be.
        var sawType = false
        var length: Int?
        for field in head.headerFields {
            let name = field.name
            if name == .contentType {
                guard !sawType, TriageServer.isJSONMediaType(field.value) else { return nil }
                sawType = true
            } else if name == .contentLength {
                guard length == nil, let n = Int(field.value), n <= server.configuration.limits.maxBodyBytes else { return nil }
                length = n
            } else if name == .expect {
                return nil
            } else if name == .connection, field.value == "close" {
                // `HTTP1ServerCodec` decided: a request that does not keep the connection alive
                // carries exactly this one value (the one Hummingbird closes on), whatever the
                // client wrote.
                return nil
            }
        }
        return sawType ? length ?? 512 : nil
    }

    private func answer(_ head: HTTPRequest, _ body: ByteBuffer, received: Date, started: ContinuousClock.Instant,
                        context: ChannelHandlerContext) {
        let messages: [Message]
        do {
            messages = try RequestParsing.messages(Array(body.readableBytesView), limits: server.configuration.limits)
        } catch {
            // Hummingbird's route answers the error, with the same message.
            spill(head, body, context: context)
            forward(.end(nil), context: context)
            state = .idle
            return
        }
        let batch = server.predict(messages, receivedAt: received, since: started)
        guard let log = server.log else {
            let (status, body) = server.messagesAnswer(batch, logError: nil)
            return respond(status, body, started: started, context: context)
        }
        state = .answering
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        log.record(batch.rows) { error in
            let (handler, context) = bound.value
            let (status, body) = handler.server.messagesAnswer(batch, logError: error)
            handler.respond(status, body, started: started, context: context)
        }
    }

    private func respond(_ status: HTTPResponse.Status, _ bytes: [UInt8], started: ContinuousClock.Instant, context: ChannelHandlerContext) {
        // Appended, not set by subscript: the setter searches the fields for the name first.
        var fields = HTTPFields()
        fields.reserveCapacity(4)
        fields.append(HTTPField(name: .contentType, value: "application/json"))
        fields.append(HTTPField(name: .contentLength, value: String(bytes.count)))
        fields.append(HTTPField(name: .date, value: dates.now()))
        if let serverName { fields.append(HTTPField(name: .server, value: serverName)) }
        var buffer = context.channel.allocator.buffer(capacity: bytes.count)
        buffer.writeBytes(bytes)
        context.write(wrapOutboundOut(.head(HTTPResponse(status: status, headerFields: fields))), promise: nil)
        context.write(wrapOutboundOut(.body(buffer)), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        server.metrics.request(route: TriageServer.messagesRoute, status: status.code, seconds: (ContinuousClock.now - started).seconds)
        state = .idle
        replay(context: context)
    }

    /// Handles the parts held while an answer waited, until one waits again.
    private func replay(context: ChannelHandlerContext) {
        guard !replaying else { return }
        replaying = true
        defer { replaying = false }
        while !held.isEmpty {
            if case .answering = state { break }
            switch held.removeFirst() {
            case let .part(part):
                handle(part, context: context)
            case let .event(event):
                flushForwarded(context: context)
                context.fireUserInboundEventTriggered(event)
            case let .error(error):
                flushForwarded(context: context)
                context.fireErrorCaught(error)
            }
        }
        if case .answering = state { return flushForwarded(context: context) }
        flushForwarded(context: context)
        if pendingRead {
            pendingRead = false
            context.read()
        }
    }

    // MARK: Outbound (Hummingbird's responses)

    func read(context: ChannelHandlerContext) {
        if case .answering = state, !held.isEmpty {
            pendingRead = true
        } else {
            context.read()
        }
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data), forwarded > 0 { forwarded -= 1 }
        context.write(data, promise: promise)
    }
}

/// The `Date` header value (RFC 9110 IMF-fixdate, `Sun, 06 Nov 1994 08:49:37 GMT`), formatted
/// once per second.
struct HTTPDate {
    private var second = -1
    private var value = ""

    mutating func now() -> String {
        var t = time(nil)
        if t == second { return value }
        var tm = tm()
        gmtime_r(&t, &tm)
        second = t
        value = Self.format(tm)
        return value
    }

    static func format(_ tm: tm) -> String {
        let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        func two(_ n: Int32) -> String { n < 10 ? "0\(n)" : "\(n)" }
        return "\(days[Int(tm.tm_wday)]), \(two(tm.tm_mday)) \(months[Int(tm.tm_mon)]) \(1900 + tm.tm_year) "
            + "\(two(tm.tm_hour)):\(two(tm.tm_min)):\(two(tm.tm_sec)) GMT"
    }
}

/// Hummingbird's HTTP/1.1 child channel with our HTTP/1 codec in place of the stock one (see
/// `HTTP1ServerCodec`) and, unless turned off, the two fast paths of `POST /messages`:
/// `RawMessagesFastPath` in front of the codec, where every connection starts (it takes the
/// connection state handler's place until it hands the connection on), and `MessagesFastPath`
/// after the connection state handler, just before the async channel that feeds the router.
struct TriageHTTP1Channel: ServerChildChannel {
    typealias Value = HTTP1Channel.Value
    let base: HTTP1Channel
    let server: TriageServer
    let serverName: String?
    let fastPath: Bool
    let rawFastPath: Bool

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        base.setup(channel: channel, logger: logger).flatMapThrowing { [server, serverName, fastPath, rawFastPath, base] value in
            let operations = channel.pipeline.syncOperations
            try operations.replaceHTTP1Codec()
            guard fastPath else { return value }
            let state = try operations.handler(type: HTTPConnectionStateHandler.self)
            try operations.addHandler(MessagesFastPath(server: server, serverName: serverName), position: .after(state))
            guard rawFastPath else { return value }
            operations.removeHandler(state, promise: nil)
            let raw = RawMessagesFastPath(server: server, serverName: serverName,
                                          idleTimeout: base.configuration.idleTimeout, logger: logger)
            try operations.addHandler(raw, position: .first)
            return value
        }
    }

    func handle(value: Value, logger: Logger) async {
        await base.handle(value: value, logger: logger)
    }
}
