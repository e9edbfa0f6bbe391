import Foundation
import Hummingbird
import HummingbirdCore
import NIOCore
import TriageArtifact

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
    /// Seconds a connection may stay idle (no request read, no answer written) before it is closed.
    public var idleTimeoutSeconds = 30.0
    /// Seconds a request head may take from its first byte (408, then the connection closed).
    public var headTimeoutSeconds = 10.0
    /// Reload the model on SIGHUP.
    public var reloadOnSIGHUP = true
    /// Run request handlers on SwiftNIO's event-loop threads instead of Swift's global pool
    /// (fewer thread hops per request; see `EventLoopTaskExecutor`).
    public var tasksOnEventLoops = true
    /// Answer `POST /messages` from the connection's bytes, before the HTTP codec, while a
    /// connection sends nothing else (same responses as the router; see `MessagesFastPath`).
    public var messagesFastPath = true
    /// Who may write (`POST /messages/{id}/label`, `/admin/*`, `GET /review`): with tokens, a
    /// request must present one (401 otherwise) from any address; without, writes are open and
    /// the admin routes loopback-only.
    public var writeTokens: AccessTokens?
    /// Who may ask for predictions: nil, anyone.
    public var predictTokens: AccessTokens?
    /// Listen beyond loopback without write tokens (the operator's explicit choice).
    public var openWrites = false

    public init(modelPath: String, trustedKeys: [VerifyingKey]) {
        self.modelPath = modelPath
        self.trustedKeys = trustedKeys
    }
}

extension ServerConfiguration {
    /// Whether `host` only accepts connections from this machine.
    public static func isLoopback(host: String) -> Bool {
        let h = host.lowercased()
        return h == "localhost" || h == "::1" || h == "[::1]" || h.hasPrefix("127.")
    }

    /// A server reachable from other machines must not take writes from anyone: refused unless
    /// it has write tokens or the operator said `openWrites`.
    public func checkWriteAccess() throws(ServerStartError) {
        if writeTokens == nil && !openWrites && !Self.isLoopback(host: host) {
            throw .openWrites(host: host)
        }
    }
}

public enum ServerStartError: Error, CustomStringConvertible {
    case openWrites(host: String)

    public var description: String {
        switch self {
        case let .openWrites(host):
            return "listening on \(host) reaches beyond this machine, and relabels and /admin would be open to anyone who can connect: "
                + "give --token-file FILE (name:token lines, mode 0600), or --open-writes to accept that"
        }
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
