import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import ServiceLifecycle
import UnixSignals
import Synchronization
import TriageArtifact
import TriageCore
import TriageModel

/// Everything `triage serve` is configured with.
public struct ServerConfiguration: Sendable {
    public var host = "127.0.0.1"
    public var port = 8080
    public var modelPath: String
    public var trustedKeys: [VerifyingKey]
    public var loadOptions = ModelArtifact.LoadOptions()
    /// SQLite log of predictions and labels; nil: no log.
    public var databasePath: String?
    public var durability: PredictionLog.Durability = .normal
    /// Longest a logged prediction waits for others to share its commit (see `PredictionLog`).
    public var commitWindow: Duration = PredictionLog.defaultCommitWindow
    /// Store subjects and bodies in the log (else only their SHA-256).
    public var storeText = true
    /// Unsure below this probability; nil: the model's own threshold.
    public var threshold: Double?
    /// Categories listed per prediction.
    public var top = 3
    public var limits = RequestLimits()
    /// Seconds a connection may stay idle (no bytes read) before it is closed.
    public var idleTimeoutSeconds = 30.0
    /// Reload the model on SIGHUP.
    public var reloadOnSIGHUP = true
    /// Run request handlers on SwiftNIO's event-loop threads instead of Swift's global pool
    /// (fewer thread hops per request; see `EventLoopTaskExecutor`).
    public var tasksOnEventLoops = true
    /// Answer well-formed `POST /messages` requests in the connection's channel pipeline rather
    /// than through Hummingbird's router (same responses; see `MessagesFastPath`).
    public var messagesFastPath = true
    /// With `messagesFastPath`: answer them from the connection's bytes, before the HTTP codec,
    /// while a connection sends nothing else (same responses; see `RawMessagesFastPath`).
    public var rawMessagesFastPath = true

    public init(modelPath: String, trustedKeys: [VerifyingKey]) {
        self.modelPath = modelPath
        self.trustedKeys = trustedKeys
    }
}

/// The request context: Hummingbird's, plus the peer address (admin routes are loopback-only).
public struct ServerContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    public let remoteAddress: SocketAddress?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
    }

    public var maxUploadSize: Int { 1 << 20 }

    var isLoopback: Bool {
        guard let remoteAddress else { return false }
        if case .unixDomainSocket = remoteAddress { return true }
        let ip = remoteAddress.ipAddress ?? ""
        return ip.hasPrefix("127.") || ip == "::1" || ip.hasPrefix("::ffff:127.")
    }
}

/// The HTTP server: routes, model store, log, metrics.
public final class TriageServer: @unchecked Sendable {
    public let configuration: ServerConfiguration
    public let store: ModelStore
    public let log: PredictionLog?
    public let metrics = ServerMetrics()
    public let logger: Logger
    private let boundPort = Mutex<Int?>(nil)
    private let running = RunningGroup()

    /// Loads and verifies the model and opens the log; throws before anything listens.
    public init(configuration: ServerConfiguration, logger: Logger = Logger(label: "triage.serve")) throws {
        self.configuration = configuration
        self.logger = logger
        store = try ModelStore(path: configuration.modelPath, trusted: configuration.trustedKeys, options: configuration.loadOptions)
        log = try configuration.databasePath.map { try PredictionLog(path: $0, durability: configuration.durability, commitWindow: configuration.commitWindow) }
    }

    /// The port the server listens on, once it does (useful with port 0).
    public var port: Int? { boundPort.withLock { $0 } }

    /// Serves until SIGTERM or SIGINT, then drains in-flight requests and closes the log.
    /// `onRunning` is called with the bound port.
    public func run(onRunning: @escaping @Sendable (Int) async -> Void = { _ in }) async throws {
        let router = Router(context: ServerContext.self)
        router.addMiddleware { MetricsMiddleware(metrics: metrics) }
        router.addMiddleware { ErrorMiddleware(logger: logger) }
        addRoutes(router)
        let app = Application(
            router: router,
            server: serverBuilder(),
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: Self.serverName),
            onServerRunning: { [self, logger, store, configuration] channel in
                let port = channel.localAddress?.port ?? configuration.port
                self.boundPort.withLock { $0 = port }
                logger.info("serving", metadata: ["host": "\(configuration.host)", "port": "\(port)", "model": "\(store.current.id)",
                                                 "log": "\(configuration.databasePath ?? "off")"])
                await onRunning(port)
            },
            logger: logger
        )
        // SIGTERM and SIGINT, or `shutdown()`: graceful shutdown, in-flight requests drained.
        var services = [ServiceGroupConfiguration.ServiceConfiguration(service: app)]
        if configuration.reloadOnSIGHUP {
            // Until the reloader traps it, a SIGHUP (default action: terminate) is ignored, so
            // that one sent as soon as the server listens cannot kill it.
            signal(SIGHUP, SIG_IGN)
            // Ends with the group's graceful shutdown; that alone must not stop the server.
            services.append(.init(service: HangupReloader(server: self), successTerminationBehavior: .ignore))
        }
        let group = ServiceGroup(configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        if running.start(group) { await group.triggerGracefulShutdown() }
        defer { running.finish() }
        do {
            if configuration.tasksOnEventLoops {
                try await withTaskExecutorPreference(EventLoopTaskExecutor()) { try await group.run() }
            } else {
                try await group.run()
            }
        } catch {
            log?.close()
            throw error
        }
        log?.close()
        logger.info("stopped: in-flight requests drained, log closed")
    }

    /// Stops a running server as SIGTERM does: stops accepting, drains in-flight requests,
    /// closes the log; `run` then returns. Before `run`, it makes `run` stop as soon as it starts.
    /// (Cancelling the task that runs the server is not a clean stop: connections accepted
    /// but not yet served are dropped, which swift-nio 2 treats as a fatal error.)
    public func shutdown() async {
        if let group = running.requestStop() { await group.triggerGracefulShutdown() }
    }

    /// Reloads the model off Swift's cooperative pool (a load verifies a signature and re-predicts
    /// the golden probes: seconds for a large model), logging the outcome.
    func reloadModel(because reason: String) async -> Result<ServedModel, ArtifactError> {
        let store = self.store
        let result: Result<ServedModel, ArtifactError> = await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                do throws(ArtifactError) { continuation.resume(returning: .success(try store.reload())) } catch {
                    continuation.resume(returning: .failure(error))
                }
            }
        }
        switch result {
        case let .success(model): logger.info("model reloaded (\(reason))", metadata: ["model": "\(model.id)"])
        case let .failure(error): logger.error("reload refused; the old model keeps serving", metadata: ["error": "\(error)"])
        }
        return result
    }

    var threshold: Double { configuration.threshold ?? store.current.loaded.unsureThreshold }

    /// The `Server` header of every response.
    static let serverName = "triage"
    /// The route label of `POST /messages` in `/metrics` (Hummingbird's `endpointPath`).
    static let messagesRoute = "/messages"

    /// HTTP/1.1 with the idle timeout, HTTP/1.0's connection rules (`HTTP1ServerCodec`), and
    /// `MessagesFastPath` unless it is turned off.
    private func serverBuilder() -> HTTPServerBuilder {
        let http1 = HTTP1Channel.Configuration(idleTimeout: .milliseconds(Int64(configuration.idleTimeoutSeconds * 1000)))
        return HTTPServerBuilder { [self] (responder: @escaping HTTPChannelHandler.Responder) in
            TriageHTTP1Channel(base: HTTP1Channel(responder: responder, configuration: http1), server: self,
                               serverName: Self.serverName, fastPath: configuration.messagesFastPath,
                               rawFastPath: configuration.rawMessagesFastPath)
        }
    }

    // MARK: Routes

    static let allMethods: [HTTPRequest.Method] = [.get, .head, .post, .put, .delete, .patch, .options]

    private func addRoutes(_ router: Router<ServerContext>) {
        func only(_ path: RouterPath, _ allowed: [HTTPRequest.Method]) {
            let allow = allowed.map(\.rawValue).joined(separator: ", ")
            for m in Self.allMethods where !allowed.contains(m) {
                router.on(path, method: m) { _, _ -> Response in
                    throw APIError(405, "\(m.rawValue) is not allowed here; use \(allow)", headers: [("Allow", allow)])
                }
            }
        }
        router.post("messages") { [self] request, context in try await self.postMessages(request, context) }
        only("messages", [.post])
        router.post("messages/:id/label") { [self] request, context in try await self.postLabel(request, context) }
        only("messages/:id/label", [.post])
        router.get("health") { _, _ in Self.json(["status": "alive"]) }
        only("health", [.get, .head])
        router.get("ready") { [self] _, _ in self.ready() }
        only("ready", [.get, .head])
        router.get("model") { [self] _, _ in Self.json(ResponseJSON.model(self.store.current, threshold: self.threshold)) }
        only("model", [.get, .head])
        router.get("metrics") { [self] _, _ in
            let text = self.metrics.render(self.store.snapshot, log: self.log)
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                            body: .init(byteBuffer: ByteBuffer(string: text)))
        }
        only("metrics", [.get, .head])
        router.get("openapi.json") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: OpenAPI.document)))
        }
        only("openapi.json", [.get, .head])
        router.post("admin/reload") { [self] _, context in try await self.adminReload(context) }
        only("admin/reload", [.post])
    }

    static func json(_ value: JSONValue, status: HTTPResponse.Status = .ok) -> Response {
        var buffer = ByteBuffer()
        buffer.writeBytes(JSONWriter.bytes(value))
        return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: buffer))
    }

    /// Reads the body within the size and time limits.
    private func body(_ request: Request) async throws -> [UInt8] {
        let limits = configuration.limits
        if let type = request.headers[.contentType] {
            guard Self.isJSONMediaType(type) else {
                throw APIError(415, "Content-Type is \(type); send application/json")
            }
        } else {
            throw APIError(415, "no Content-Type; send application/json")
        }
        if let length = request.headers[.contentLength].flatMap({ Int($0) }), length > limits.maxBodyBytes {
            throw APIError(413, "the body is \(length) bytes; the limit is \(limits.maxBodyBytes)")
        }
        let deadline = ContinuousClock.now + .milliseconds(Int64(limits.bodyTimeoutSeconds * 1000))
        var bytes: [UInt8] = []
        do {
            for try await chunk in request.body {
                if bytes.count + chunk.readableBytes > limits.maxBodyBytes {
                    throw APIError(413, "the body exceeds the limit of \(limits.maxBodyBytes) bytes")
                }
                bytes.append(contentsOf: chunk.readableBytesView)
                if ContinuousClock.now > deadline {
                    throw APIError(408, "the body took longer than \(limits.bodyTimeoutSeconds) s to arrive")
                }
            }
        } catch let error as APIError {
            throw error
        } catch {
            // The HTTP parser refused what followed the head (a framing it does not accept, such
            // as `Transfer-Encoding` without `chunked`): the client's error, not the server's.
            throw APIError(400, "the request body cannot be read as HTTP/1.1: \(error)")
        }
        return bytes
    }

    /// `application/json` or `…+json`, any case, parameters (`; charset=utf-8`) and spaces
    /// around the type ignored. On bytes: this runs for every request.
    static func isJSONMediaType(_ value: String) -> Bool {
        var media = Array(value.utf8.prefix { $0 != UInt8(ascii: ";") })
        while let last = media.last, last == 0x20 || last == 0x09 { media.removeLast() }
        let start = media.firstIndex { $0 != 0x20 && $0 != 0x09 } ?? media.endIndex
        let lower = media[start...].map { (0x41 ... 0x5A).contains($0) ? $0 | 0x20 : $0 }
        return lower.elementsEqual("application/json".utf8) || (lower.count > 5 && lower.suffix(5).elementsEqual("+json".utf8))
    }

    private func postMessages(_ request: Request, _ context: ServerContext) async throws -> Response {
        let started = Date()
        let clock = ContinuousClock.now
        let messages = try RequestParsing.messages(try await body(request), limits: configuration.limits)
        let batch = predict(messages, receivedAt: started, since: clock)
        if let log {
            do { try await log.record(batch.rows) } catch {
                throw logFailure(error)
            }
        }
        return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: responseBody(batch))))
    }

    /// What a `POST /messages` computes before its log write; shared by the route and by the
    /// channel handler that answers the route without a Swift task (`MessagesFastPath`).
    struct PredictedBatch: Sendable {
        let model: ServedModel
        let predictions: [Prediction]
        /// The rows to log (empty without a log).
        let rows: [LoggedPrediction]
    }

    func predict(_ messages: [Message], receivedAt started: Date, since clock: ContinuousClock.Instant) -> PredictedBatch {
        let model = store.current
        let threshold = self.threshold
        let top = configuration.top
        let predictions = model.withPredictor { predictor in messages.map { predictor.predict($0, top: top, threshold: threshold) } }
        guard log != nil else { return PredictedBatch(model: model, predictions: predictions, rows: []) }
        let milliseconds = (ContinuousClock.now - clock).milliseconds
        let store = configuration.storeText
        let rows = zip(messages, predictions).map { m, p in
            LoggedPrediction(messageID: m.id, receivedAt: started.timeIntervalSince1970, modelID: model.id,
                             subject: store ? m.subject : nil, body: store ? m.body : nil,
                             textSHA256: StableHash.hex(utf8Of: m.subject, "\n", m.body),
                             category: p.label, probability: p.probability, top: p.top.map { ($0.label, $0.probability) },
                             unsure: p.unsure, latencyMilliseconds: milliseconds / Double(messages.count))
        }
        return PredictedBatch(model: model, predictions: predictions, rows: rows)
    }

    /// The 503 of a failed log write (the prediction was not recorded, so it is not answered).
    func logFailure(_ error: any Error) -> APIError {
        logger.error("prediction log write failed", metadata: ["error": "\(error)"])
        return APIError(503, "the prediction log cannot be written (\(error)); the prediction was not recorded, retry later")
    }

    /// The fast paths' answer to a batch once its log write is done (at once without a log): 200
    /// with the predictions, or the 503 of a failed write.
    func messagesAnswer(_ batch: PredictedBatch, logError: (any Error)?) -> (HTTPResponse.Status, [UInt8]) {
        guard let logError else { return (.ok, responseBody(batch)) }
        return (.serviceUnavailable, JSONWriter.bytes(logFailure(logError).json))
    }

    /// Counts the batch's predictions and writes the 200 body.
    func responseBody(_ batch: PredictedBatch) -> [UInt8] {
        metrics.predicted(categories: batch.predictions.map(\.label), unsure: batch.predictions.filter(\.unsure).count)
        return ResponseJSON.predictions(batch.predictions, modelID: batch.model.id, version: batch.model.version)
    }

    private func postLabel(_ request: Request, _ context: ServerContext) async throws -> Response {
        guard let id = context.parameters.get("id"), !id.isEmpty else { throw APIError(400, "missing message id in the path") }
        let (label, agent) = try RequestParsing.label(try await body(request), limits: configuration.limits)
        let model = store.current
        guard model.labelSet.contains(label) else {
            let some = model.labels.prefix(10).joined(separator: ", ")
            throw APIError(422, "unknown label \"\(label)\"; the model's labels are: \(some)\(model.labels.count > 10 ? ", … (GET /model)" : "")", field: "label")
        }
        guard let log else { throw APIError(503, "the server runs without a prediction log (start it with --db): nothing to relabel") }
        let outcome: RelabelOutcome
        do { outcome = try await log.relabel(messageID: id, label: label, agent: agent, modelID: model.id) } catch {
            throw APIError(503, "the prediction log cannot be written (\(error)); retry later")
        }
        switch outcome {
        case .unknownMessage: throw APIError(404, "no prediction was logged for message id \"\(id)\"")
        case let .recorded(seq):
            return Self.json(["id": .string(id), "label": .string(label), "prediction": .number(JSONNumber(Int(seq)))])
        }
    }

    private func ready() -> Response {
        let model = store.current
        var o = JSONObject()
        o["model"] = .string(model.id)
        o["self_test"] = .string("passed: \(model.loaded.probes.count) golden probes re-predicted, max difference \(model.loaded.probeMaxDifference)")
        if let error = log?.lastError {
            o["status"] = "not ready"
            o["log"] = .string(error)
            return Self.json(.object(o), status: .serviceUnavailable)
        }
        o["status"] = "ready"
        return Self.json(.object(o))
    }

    private func adminReload(_ context: ServerContext) async throws -> Response {
        guard context.isLoopback else { throw APIError(403, "reload is allowed from loopback only") }
        switch await reloadModel(because: "admin") {
        case let .success(model): return Self.json(["status": "reloaded", "model": .string(model.id)])
        case let .failure(error): throw APIError(422, "reload refused, the old model keeps serving: \(error)")
        }
    }
}

/// Reloads the model on SIGHUP (ServiceLifecycle's signal sequence), until graceful shutdown.
struct HangupReloader: Service {
    let server: TriageServer

    func run() async throws {
        for await _ in await UnixSignalsSequence(trapping: .sighup).cancelOnGracefulShutdown() {
            server.logger.info("SIGHUP: reloading the model", metadata: ["path": "\(server.configuration.modelPath)"])
            _ = await server.reloadModel(because: "SIGHUP")
        }
    }
}

/// Turns every error into the JSON error shape; an unexpected error is a 500 that is logged.
struct ErrorMiddleware: RouterMiddleware {
    typealias Context = ServerContext
    let logger: Logger

    func handle(_ request: Request, context: ServerContext, next: (Request, ServerContext) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as APIError {
            return response(error)
        } catch let error as HTTPError {
            let message = error.body ?? (error.status == .notFound ? "no route \(request.method.rawValue) \(request.uri.path); see GET /openapi.json" : error.status.reasonPhrase)
            return response(APIError(error.status.code, message))
        } catch is NIOTooManyBytesError {
            return response(APIError(413, "the body exceeds the size limit"))
        } catch {
            logger.error("unexpected error", metadata: ["error": "\(error)", "path": "\(request.uri.path)"])
            return response(APIError(500, "internal error"))
        }
    }

    func response(_ error: APIError) -> Response {
        var r = TriageServer.json(error.json, status: HTTPResponse.Status(code: error.status))
        for (name, value) in error.headers {
            if let field = HTTPField.Name(name) { r.headers[field] = value }
        }
        return r
    }
}

/// Counts requests by route and status, with latency.
struct MetricsMiddleware: RouterMiddleware {
    typealias Context = ServerContext
    let metrics: ServerMetrics

    func handle(_ request: Request, context: ServerContext, next: (Request, ServerContext) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        let response = try await next(request, context)
        let d = ContinuousClock.now - start
        let route = context.endpointPath ?? "unmatched"
        metrics.request(route: route, status: response.status.code, seconds: d.seconds)
        return response
    }
}

/// The service group of a running server, and whether a stop was asked for before it existed.
final class RunningGroup: Sendable {
    private let state = Mutex<(group: ServiceGroup?, stopRequested: Bool)>((nil, false))

    /// Records the group; true when a stop was already requested.
    func start(_ group: ServiceGroup) -> Bool {
        state.withLock {
            $0.group = group
            return $0.stopRequested
        }
    }

    func finish() { state.withLock { $0.group = nil } }

    func requestStop() -> ServiceGroup? {
        state.withLock {
            $0.stopRequested = true
            return $0.group
        }
    }
}
