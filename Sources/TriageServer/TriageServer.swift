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
        try configuration.checkWriteAccess()
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

    /// `POST /messages`, for the router and the fast path alike.
    var messagesEndpoint: MessagesEndpoint {
        MessagesEndpoint(store: store, log: log, metrics: metrics, configuration: configuration, logger: logger)
    }

    /// The `Server` header of every response.
    static let serverName = "triage"
    /// HTTP/1.1 with the connection rules of `ConnectionRules` (`TriageHTTP1Channel`).
    private func serverBuilder() -> HTTPServerBuilder {
        let rules = ConnectionRules(configuration)
        let endpoint = messagesEndpoint
        return HTTPServerBuilder { (responder: @escaping HTTPChannelHandler.Responder) in
            TriageHTTP1Channel(responder: responder, rules: rules, messages: endpoint, serverName: TriageServer.serverName)
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
