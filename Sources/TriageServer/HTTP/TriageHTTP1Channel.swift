import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1
import NIOHTTPTypes

/// The HTTP/1.1 child channel of `triage serve`: the pipeline of `ConnectionRules`, built here
/// rather than by rewiring Hummingbird's. From the socket:
///
///     MessagesFastPath (until it hands the connection on; then HTTPConnectionStateHandler,
///       placed after the codec)
///     HeadBytes                                                       (starts a head's deadline)
///     HTTPResponseEncoder, ByteToMessageHandler(HTTPRequestDecoder)   (NIO's HTTP/1)
///     HTTP1ServerCodec                                                (NIO's parts ↔ HTTP types)
///     NIOAsyncChannel → Hummingbird's router                          (`handle`)
///
/// With the fast path off, the state handler is there from the start.
struct TriageHTTP1Channel: ServerChildChannel {
    typealias Value = NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>

    let responder: HTTPChannelHandler.Responder
    let rules: ConnectionRules
    let messages: MessagesEndpoint
    let serverName: String?

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        channel.eventLoop.makeCompletedFuture {
            let operations = channel.pipeline.syncOperations
            try operations.configureHTTPServerPipeline(
                withPipeliningAssistance: false,  // the async channel keeps requests in order
                withErrorHandling: false,  // HTTP1ServerCodec answers what the parser refuses
                withOutboundHeaderValidation: false,  // HTTP types validate fields already
                withEncoderConfiguration: .init(),
                withDecoderLimitConfiguration: rules.decoderLimits
            )
            let codec = HTTP1ServerCodec(metrics: messages.metrics, headTimeout: rules.headTimeout)
            try operations.addHandler(codec)
            try operations.addHandler(HeadBytes(), position: .first)
            if rules.fastPath {
                let fast = MessagesFastPath(endpoint: messages, rules: rules, codec: codec, serverName: serverName, logger: logger)
                try operations.addHandler(fast, position: .first)
            } else {
                try operations.addHandler(rules.connectionStateHandler(logger: logger))
            }
            return try Value(wrappingChannelSynchronously: channel, configuration: .init(isOutboundHalfClosureEnabled: true))
        }
    }

    func handle(value: Value, logger: Logger) async {
        await HTTP1Channel(responder: responder).handle(value: value, logger: logger)
    }
}
