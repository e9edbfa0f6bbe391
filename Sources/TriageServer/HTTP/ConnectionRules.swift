import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1

/// The rules every HTTP/1 connection of `triage serve` is held to, in one place, with their
/// values (from `ServerConfiguration`):
///
/// - **Start and hand-off.** A connection starts on `MessagesFastPath`, which answers from the
///   bytes the strict subset of `POST /messages` that `FastPathRequest` accepts. At the first
///   byte it does not answer (another route, another framing, a request split over two reads,
///   an error, end of input) it moves the connection for good to the full stack — NIO's HTTP/1
///   parser (llhttp), `HTTP1ServerCodec`, Hummingbird's connection state handler and router —
///   with every byte not yet answered. It never moves back. With the fast path off, connections
///   start on the full stack.
/// - **Idle timeout** (`idleTimeout`, `--idle-timeout`): a connection that reads no request and
///   writes no answer for this long is closed. On the fast path it counts from the last request
///   read or answer written (an answer waiting for the log is not idleness); on the full stack,
///   Hummingbird's `HTTPConnectionStateHandler` keeps it.
/// - **Head timeout and size** (`headTimeout`, `--head-timeout`): a request head must be complete
///   within the head timeout of its first byte — `HeadBytes`, before NIO's decoder, tells
///   `HTTP1ServerCodec`, which answers a late head with the JSON 408 and closes. Bytes of an
///   incomplete head are not activity either, so the idle timeout bounds it too (from the
///   connection's start, its last answer or its hand-off, whichever is later). The fast path
///   answers only a head that came whole, so every slow head is the full stack's. Its size:
///   `maxHeadBytes` on the fast path (longer: declined) and the parser's `decoderLimits`
///   (80 KiB of fields) on the full stack (longer: 400).
/// - **Body timeout and size** (`bodyTimeoutSeconds`, `maxBodyBytes`): a routed body must arrive
///   within the timeout of its head — a timer, so a stalled body gets its 408 on time, and the
///   connection is closed after it — and within the size (413, also when announced by
///   `Content-Length`). The fast path answers only a body that came with its head.
/// - **Keep-alive**: HTTP/1.1 keeps the connection unless the request says `close` (in any
///   case, in any list); HTTP/1.0 closes unless it says `keep-alive` (`HTTP1ServerCodec`, which
///   also answers a request the parser refuses between requests with the JSON 400 and closes).
///   The fast path declines anything but `Connection: keep-alive` or no `Connection`.
/// - **Graceful shutdown** (SIGTERM, SIGINT): no new connection; each connection finishes the
///   request it is answering (on the fast path: an answer waiting for the log is written) and
///   closes.
struct ConnectionRules: Sendable {
    let fastPath: Bool
    let idleTimeout: TimeAmount?
    let headTimeout: TimeAmount?
    let limits: RequestLimits
    /// The longest request head the fast path reads; a longer one goes to the parser.
    let maxHeadBytes = 8 << 10
    /// NIO's HTTP/1 parser's limits (Hummingbird's defaults: 80 KiB per field and for all).
    let decoderLimits = NIOHTTPDecoderLimitConfiguration()

    init(_ configuration: ServerConfiguration) {
        // The fast path does not read Authorization: with prediction tokens, the router answers.
        fastPath = configuration.messagesFastPath && configuration.predictTokens == nil
        idleTimeout = .milliseconds(Int64(configuration.idleTimeoutSeconds * 1000))
        headTimeout = .milliseconds(Int64(configuration.headTimeoutSeconds * 1000))
        limits = configuration.limits
    }

    /// The full stack's keeper of the idle timeout, keep-alive and graceful shutdown.
    func connectionStateHandler(logger: Logger) -> HTTPConnectionStateHandler {
        HTTPConnectionStateHandler(idleTimeout: idleTimeout.map { Duration.nanoseconds($0.nanoseconds) }, logger: logger)
    }
}
