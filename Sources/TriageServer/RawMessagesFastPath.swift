import Foundation
import HTTPTypes
import HummingbirdCore
import Logging
import NIOCore
import TriageCore
import TriageModel

/// The strict subset of HTTP/1.1 that `RawMessagesFastPath` answers from the bytes: one
/// `POST /messages HTTP/1.1` request with exactly one `Content-Length` and one JSON
/// `Content-Type`, and nothing that changes how the message is framed or the connection used.
///
/// Anything outside the subset is declined, never guessed at: NIO's HTTP parser (llhttp) then
/// reads the same bytes and Hummingbird answers as it always did. So the subset only has to be
/// parsed the way llhttp parses it, not to cover what llhttp covers. In particular it declines
/// (RFC 9112 §6, §11.2: the framing that request smuggling plays on) `Transfer-Encoding`, a
/// repeated or non-decimal `Content-Length`, obsolete line folding, a bare CR or LF, control
/// bytes and bytes above 0x7E in a field, and a field name that is not a token; and it declines
/// `Expect`, `Upgrade` and any `Connection` value but `keep-alive`, which the route's handlers
/// act on.
enum RawMessagesRequest: Equatable {
    /// A whole request: its head is `headLength` bytes, its body the `bodyLength` after them.
    case complete(headLength: Int, bodyLength: Int)
    /// A prefix of a request the subset may still accept.
    case incomplete
    /// Not in the subset (or over a limit): Hummingbird's to answer.
    case declined

    static let requestLine = Array("POST /messages HTTP/1.1\r\n".utf8)

    /// Parses the start of `bytes`. `maxHead` bounds the head (request line and fields), `maxBody`
    /// the `Content-Length`.
    static func parse(_ bytes: UnsafeRawBufferPointer, maxHead: Int, maxBody: Int) -> RawMessagesRequest {
        let line = requestLine
        // The head is read within its limit: running out of bytes there is a head too long.
        let n = min(bytes.count, maxHead)
        let short: RawMessagesRequest = bytes.count >= maxHead ? .declined : .incomplete
        for i in 0 ..< min(n, line.count) where bytes[i] != line[i] { return .declined }
        guard n >= line.count else { return short }
        var i = line.count
        var length: Int?
        var sawType = false
        while true {
            guard i + 1 < n else { return short }
            if bytes[i] == cr {
                guard bytes[i + 1] == lf else { return .declined }
                i += 2
                break
            }
            // field-name ":" OWS field-value OWS CRLF
            let nameStart = i
            while i < n, isTokenByte(bytes[i]) { i += 1 }
            guard i < n else { return short }
            guard i > nameStart, bytes[i] == colon else { return .declined }
            let nameEnd = i
            i += 1
            while i < n, bytes[i] == space || bytes[i] == tab { i += 1 }
            let valueStart = i
            while i < n, bytes[i] != cr {
                let b = bytes[i]
                guard (b >= 0x20 && b < 0x7F) || b == tab else { return .declined }
                i += 1
            }
            guard i + 1 < n else { return short }
            guard bytes[i + 1] == lf else { return .declined }
            var valueEnd = i
            while valueEnd > valueStart, bytes[valueEnd - 1] == space || bytes[valueEnd - 1] == tab { valueEnd -= 1 }
            i += 2
            let name = UnsafeRawBufferPointer(rebasing: bytes[nameStart ..< nameEnd])
            let value = UnsafeRawBufferPointer(rebasing: bytes[valueStart ..< valueEnd])
            switch field(name) {
            case .contentLength:
                guard length == nil, let parsed = decimal(value), parsed <= maxBody else { return .declined }
                length = parsed
            case .contentType:
                guard !sawType, TriageServer.isJSONMediaType(String(decoding: value, as: UTF8.self)) else { return .declined }
                sawType = true
            case .connection:
                guard equalsIgnoringCase(value, "keep-alive") else { return .declined }
            case .refused:
                return .declined
            case .other:
                break
            }
        }
        guard sawType, let length else { return .declined }
        return bytes.count - i >= length ? .complete(headLength: i, bodyLength: length) : .incomplete
    }

    private enum Field { case contentLength, contentType, connection, refused, other }

    private static func field(_ name: UnsafeRawBufferPointer) -> Field {
        switch name.count {
        case 14 where equalsIgnoringCase(name, "content-length"): .contentLength
        case 12 where equalsIgnoringCase(name, "content-type"): .contentType
        case 10 where equalsIgnoringCase(name, "connection"): .connection
        case 17 where equalsIgnoringCase(name, "transfer-encoding"): .refused
        case 6 where equalsIgnoringCase(name, "expect"): .refused
        case 7 where equalsIgnoringCase(name, "upgrade"): .refused
        default: .other
        }
    }

    /// 1 to 9 decimal digits (larger is over any body limit, and declined).
    private static func decimal(_ value: UnsafeRawBufferPointer) -> Int? {
        guard (1 ... 9).contains(value.count) else { return nil }
        var n = 0
        for b in value {
            guard b >= 0x30, b <= 0x39 else { return nil }
            n = n * 10 + Int(b - 0x30)
        }
        return n
    }

    private static func equalsIgnoringCase(_ bytes: UnsafeRawBufferPointer, _ lowercase: StaticString) -> Bool {
        guard bytes.count == lowercase.utf8CodeUnitCount else { return false }
        let expected = UnsafeRawBufferPointer(start: lowercase.utf8Start, count: lowercase.utf8CodeUnitCount)
        for i in 0 ..< bytes.count {
            let b = bytes[i]
            if (b >= 0x41 && b <= 0x5A ? b | 0x20 : b) != expected[i] { return false }
        }
        return true
    }

    /// RFC 9110 §5.6.2 tchar.
    private static func isTokenByte(_ b: UInt8) -> Bool {
        switch b {
        case 0x30 ... 0x39, 0x41 ... 0x5A, 0x61 ... 0x7A: true
        case UInt8(ascii: "!"), UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: "%"), UInt8(ascii: "&"), UInt8(ascii: "'"),
             UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "^"), UInt8(ascii: "_"),
             UInt8(ascii: "`"), UInt8(ascii: "|"), UInt8(ascii: "~"): true
        default: false
        }
    }

    private static let cr = UInt8(ascii: "\r"), lf = UInt8(ascii: "\n"), colon = UInt8(ascii: ":")
    private static let space = UInt8(ascii: " "), tab = UInt8(ascii: "\t")
}

/// Answers `POST /messages` from the connection's bytes, in front of the HTTP codec, for as long
/// as a connection sends nothing else.
///
/// Why: with `MessagesFastPath` answering inside the pipeline, perf still put NIO's HTTP/1
/// decoding, the conversions to and from HTTP types, Hummingbird's connection state handler and
/// the response encoder at about 19 % of the event loops' CPU on a logged `POST /messages`: as
/// much as the weight kernel and the vectorizer together. Here a request in the subset that
/// `RawMessagesRequest` accepts is answered with one buffer written straight to the socket.
///
/// A connection starts here. The first time it sends anything else (a request outside the
/// subset, a request split over two reads, an error, end of input) it moves for good to the
/// full stack: this handler gives that stack a fresh `HTTPConnectionStateHandler` (idle timeout,
/// `Connection: close`, graceful shutdown), hands it every byte not yet answered, and leaves the
/// pipeline. It never moves back, because from then on only the HTTP parser knows where one
/// request ends and the next begins. While the connection is here the handler keeps its state
/// handler's rules itself: the idle timeout (no request read or answer written for that long,
/// and none waiting for the log) and graceful shutdown (close once the answer waiting for the
/// log is written, or at once).
///
/// The response is the route's byte for byte, headers in the route's order (`Date` and `Server`
/// as Hummingbird sets them); a logged prediction is answered only after its commit, and bytes
/// that arrive meanwhile (pipelined requests) wait, with reads held back, until it is written.
final class RawMessagesFastPath: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = IOData
    typealias OutboundOut = IOData

    /// Longest request head answered here; a longer one goes to the HTTP parser and its limits.
    static let maxHeadBytes = 8 << 10

    private let server: TriageServer
    private let serverName: String?
    private let idleTimeout: TimeAmount?
    private let logger: Logger

    /// Bytes read and not yet answered or handed on.
    private var buffered: ByteBuffer?
    /// An answer waits for its log commit.
    private var answering = false
    /// Inside `channelRead` … `channelReadComplete`: a request still incomplete may be completed
    /// by the next read of the same cycle.
    private var reading = false
    /// Events and errors that arrived while an answer waited, for the full stack, in order.
    private var held: [Held] = []
    private enum Held {
        case event(Any)
        case error(any Error)
    }
    /// A `read()` held back while an answer waits with bytes buffered (backpressure).
    private var pendingRead = false
    /// Graceful shutdown asked for: close once the waiting answer is written.
    private var closeAfterAnswer = false
    private var lastActive = NIODeadline.now()
    private var idleTask: Scheduled<Void>?
    private var dates = HTTPDate()
    private var left = false

    init(server: TriageServer, serverName: String?, idleTimeout: TimeAmount?, logger: Logger) {
        self.server = server
        self.serverName = serverName
        self.idleTimeout = idleTimeout
        self.logger = logger
    }

    // MARK: Idle timeout (HTTPConnectionStateHandler's rule, for the requests answered here)

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { scheduleIdleCheck(context: context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        lastActive = .now()
        scheduleIdleCheck(context: context)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        cancelIdleCheck()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        cancelIdleCheck()
    }

    private func scheduleIdleCheck(context: ChannelHandlerContext) {
        guard let idleTimeout, idleTask == nil else { return }
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        idleTask = context.eventLoop.scheduleTask(deadline: lastActive + idleTimeout) {
            let (handler, context) = bound.value
            handler.idleTask = nil
            handler.idleCheck(context: context)
        }
    }

    private func cancelIdleCheck() {
        idleTask?.cancel()
        idleTask = nil
    }

    private func idleCheck(context: ChannelHandlerContext) {
        guard !left, let idleTimeout, context.channel.isActive else { return }
        // An answer waiting for the log is not idleness; its write reschedules.
        if answering { return }
        if NIODeadline.now() >= lastActive + idleTimeout {
            context.close(promise: nil)
        } else {
            scheduleIdleCheck(context: context)
        }
    }

    // MARK: Inbound

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        reading = true
        if buffered == nil {
            buffered = bytes
        } else {
            buffered?.writeBuffer(&bytes)
        }
        if !answering { process(context: context) }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        reading = false
        // A request that did not arrive whole in one read (a slow client, a large upload) goes to
        // the full stack, which reads the rest under its timeouts. Until then nothing was passed
        // on, so the read-complete stops here.
        if !answering, let buffered, buffered.readableBytes > 0 { leave(context: context) }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is ChannelShouldQuiesceEvent {
            if answering { closeAfterAnswer = true } else { context.close(promise: nil) }
            return
        }
        if answering {
            held.append(.event(event))
        } else {
            leave(context: context, then: .event(event))
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if answering {
            held.append(.error(error))
        } else {
            leave(context: context, then: .error(error))
        }
    }

    /// Answers the whole requests buffered, until one waits for the log; leaves the connection to
    /// the full stack at the first byte that is not one.
    private func process(context: ChannelHandlerContext) {
        while !answering, !left, var bytes = buffered, bytes.readableBytes > 0 {
            let limits = server.configuration.limits
            let parsed = bytes.withUnsafeReadableBytes { RawMessagesRequest.parse($0, maxHead: Self.maxHeadBytes, maxBody: limits.maxBodyBytes) }
            switch parsed {
            case .declined:
                return leave(context: context)
            case .incomplete:
                // Wait for the rest within this read cycle; otherwise the full stack reads it.
                return reading ? () : leave(context: context)
            case let .complete(headLength, bodyLength):
                let received = Date(), started = ContinuousClock.now
                lastActive = .now()
                let request = bytes.readerIndex
                bytes.moveReaderIndex(forwardBy: headLength)
                guard let body = bytes.readBytes(length: bodyLength),
                      let messages = try? RequestParsing.messages(body, limits: limits)
                else {
                    // The route answers the error, with its message: the request goes on whole.
                    bytes.moveReaderIndex(to: request)
                    buffered = bytes
                    return leave(context: context)
                }
                buffered = bytes.readableBytes > 0 ? bytes : nil
                answer(messages, received: received, started: started, context: context)
            }
        }
    }

    private func answer(_ messages: [Message], received: Date, started: ContinuousClock.Instant, context: ChannelHandlerContext) {
        let batch = server.predict(messages, receivedAt: received, since: started)
        guard let log = server.log else {
            let (status, body) = server.messagesAnswer(batch, logError: nil)
            return respond(status, body, started: started, context: context)
        }
        answering = true
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        log.record(batch.rows) { error in
            let (handler, context) = bound.value
            handler.answering = false
            let (status, body) = handler.server.messagesAnswer(batch, logError: error)
            handler.respond(status, body, started: started, context: context)
            handler.resume(context: context)
        }
    }

    /// After a waiting answer is written: what arrived meanwhile.
    private func resume(context: ChannelHandlerContext) {
        guard context.channel.isActive, !left else { return }
        if closeAfterAnswer { return context.close(promise: nil) }
        if !held.isEmpty { return leave(context: context) }
        process(context: context)
        if !answering, !left, pendingRead {
            pendingRead = false
            context.read()
        }
    }

    private func respond(_ status: HTTPResponse.Status, _ body: [UInt8], started: ContinuousClock.Instant, context: ChannelHandlerContext) {
        // What HTTPResponseEncoder writes for the route's response (status line, then its fields
        // in Hummingbird's order), in one buffer.
        var out = context.channel.allocator.buffer(capacity: 160 + body.count)
        out.writeString("HTTP/1.1 \(status.code) \(status.reasonPhrase)\r\nContent-Type: application/json\r\nContent-Length: ")
        out.writeString(String(body.count))
        out.writeString("\r\nDate: ")
        out.writeString(dates.now())
        if let serverName {
            out.writeString("\r\nServer: ")
            out.writeString(serverName)
        }
        out.writeString("\r\n\r\n")
        out.writeBytes(body)
        context.writeAndFlush(wrapOutboundOut(.byteBuffer(out)), promise: nil)
        server.metrics.request(route: TriageServer.messagesRoute, status: status.code, seconds: (ContinuousClock.now - started).seconds)
        lastActive = .now()
        // The idle check that came while the answer waited did not reschedule itself.
        scheduleIdleCheck(context: context)
    }

    /// Moves the connection to the full stack for good: a fresh connection state handler, every
    /// byte, event and error not handled here (then `last`), then out of the pipeline. Everything
    /// is passed on before the handler leaves: a removed context passes nothing on.
    private func leave(context: ChannelHandlerContext, then last: Held? = nil) {
        guard !left else { return }
        left = true
        cancelIdleCheck()
        do {
            let operations = context.pipeline.syncOperations
            let codec = try operations.handler(type: HTTP1ServerCodec.self)
            let state = HTTPConnectionStateHandler(idleTimeout: idleTimeout.map { Duration.nanoseconds($0.nanoseconds) }, logger: logger)
            try operations.addHandler(state, position: .after(codec))
        } catch {
            logger.error("cannot hand the connection to the HTTP stack; closing it", metadata: ["error": "\(error)"])
            return context.close(promise: nil)
        }
        if let bytes = buffered, bytes.readableBytes > 0 {
            context.fireChannelRead(wrapInboundOut(bytes))
            // Inside a read cycle its own read-complete follows, and reaches the decoder once this
            // handler is gone; outside one, the async channel passes on what it buffered only at
            // a read-complete.
            if !reading { context.fireChannelReadComplete() }
        }
        buffered = nil
        if let last { held.append(last) }
        for item in held {
            switch item {
            case let .event(event): context.fireUserInboundEventTriggered(event)
            case let .error(error): context.fireErrorCaught(error)
            }
        }
        held = []
        if pendingRead {
            pendingRead = false
            context.read()
        }
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
    }

    // MARK: Outbound

    func read(context: ChannelHandlerContext) {
        if answering, let buffered, buffered.readableBytes > 0 {
            pendingRead = true
        } else {
            context.read()
        }
    }
}
