import Foundation
import HTTPTypes
import HummingbirdCore
import Logging
import NIOCore
import TriageCore
import TriageModel

/// Answers `POST /messages` from the connection's bytes, in front of the HTTP codec, for as long
/// as a connection sends nothing else.
///
/// Why: with `MessagesFastPath` answering inside the pipeline, perf still put NIO's HTTP/1
/// decoding, the conversions to and from HTTP types, Hummingbird's connection state handler and
/// the response encoder at about 19 % of the event loops' CPU on a logged `POST /messages`: as
/// much as the weight kernel and the vectorizer together. Here a request in the subset that
/// `FastPathRequest` accepts is answered with one buffer written straight to the socket.
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
final class MessagesFastPath: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = IOData
    typealias OutboundOut = IOData

    private let endpoint: MessagesEndpoint
    private let rules: ConnectionRules
    /// The full stack's codec: the connection state handler goes after it at the hand-off.
    private let codec: HTTP1ServerCodec
    private let serverName: String?
    private let logger: Logger
    private var idleTimeout: TimeAmount? { rules.idleTimeout }

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
    /// Graceful shutdown asked for: close once the waiting answer, and the whole requests read
    /// behind it, are written.
    private var closeAfterAnswer = false
    private var lastActive = NIODeadline.now()
    private var idleTask: Scheduled<Void>?
    private var dates = HTTPDate()
    private var left = false

    init(endpoint: MessagesEndpoint, rules: ConnectionRules, codec: HTTP1ServerCodec, serverName: String?, logger: Logger) {
        self.endpoint = endpoint
        self.rules = rules
        self.codec = codec
        self.serverName = serverName
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
            let parsed = bytes.withUnsafeReadableBytes { FastPathRequest.parse($0, maxHead: rules.maxHeadBytes, maxBody: rules.limits.maxBodyBytes) }
            switch parsed {
            case .declined:
                return handOn(context: context)
            case .incomplete:
                // Wait for the rest within this read cycle; otherwise the full stack reads it.
                return reading && !closeAfterAnswer ? () : handOn(context: context)
            case let .complete(headLength, bodyLength):
                let received = Date(), started = ContinuousClock.now
                lastActive = .now()
                let request = bytes.readerIndex
                bytes.moveReaderIndex(forwardBy: headLength)
                guard let body = bytes.readBytes(length: bodyLength), let messages = try? endpoint.decode(body) else {
                    // The route answers the error, with its message: the request goes on whole.
                    bytes.moveReaderIndex(to: request)
                    buffered = bytes
                    return handOn(context: context)
                }
                buffered = bytes.readableBytes > 0 ? bytes : nil
                answer(messages, received: received, started: started, context: context)
            }
        }
    }

    /// What `process` cannot answer goes to the full stack — except while shutting down, when
    /// only whole requests already read are still answered and the rest closes the connection.
    private func handOn(context: ChannelHandlerContext) {
        closeAfterAnswer ? context.close(promise: nil) : leave(context: context)
    }

    /// The endpoint's answer, written when it comes: at once without a log (`process` then goes
    /// on with what is buffered), after the commit with one (meanwhile reads are held back and
    /// what arrives waits; `resume` takes it up).
    private func answer(_ messages: [Message], received: Date, started: ContinuousClock.Instant, context: ChannelHandlerContext) {
        let waits = endpoint.log != nil
        if waits { answering = true }
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        endpoint.answer(messages, receivedAt: received, started: started) { answer in
            let (handler, context) = bound.value
            handler.answering = false
            handler.respond(answer, context: context)
            if waits { handler.resume(context: context) }
        }
    }

    /// After a waiting answer is written: what arrived meanwhile.
    private func resume(context: ChannelHandlerContext) {
        guard context.channel.isActive, !left else { return }
        if closeAfterAnswer {
            // Graceful shutdown: the requests already read behind the one just answered
            // (pipelined) are answered too, then the connection closes; nothing more is read.
            if held.isEmpty { process(context: context) }
            if !answering, !left { context.close(promise: nil) }
            return
        }
        if !held.isEmpty { return leave(context: context) }
        process(context: context)
        if !answering, !left, pendingRead {
            pendingRead = false
            context.read()
        }
    }

    private func respond(_ answer: MessagesEndpoint.Answer, context: ChannelHandlerContext) {
        let status = answer.status, body = answer.body
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
            try context.pipeline.syncOperations.addHandler(rules.connectionStateHandler(logger: logger), position: .after(codec))
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
