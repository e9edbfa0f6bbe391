import Foundation
import TriageArtifact
import TriageModel

/// A verified model ready to serve, with a pool of single-message predictors (a predictor keeps
/// per-thread caches and is not thread-safe; the pool hands each request its own).
public final class ServedModel: @unchecked Sendable {
    public let loaded: ModelArtifact.Loaded
    public let path: String
    public let loadedAt: Date
    private let lock = NSLock()
    private var pool: [FittedPipeline.Predictor] = []

    public var id: String { loaded.id }
    /// The model's version as answered with predictions: its creation time, else its id's first 12 characters.
    public var version: String { loaded.created ?? String(loaded.id.prefix(12)) }
    public var labels: [String] { loaded.pipeline.labels }
    public let labelSet: Set<String>

    init(loaded: ModelArtifact.Loaded, path: String) {
        self.loaded = loaded
        self.path = path
        loadedAt = Date()
        labelSet = Set(loaded.pipeline.labels)
    }

    /// Runs `body` with a predictor of this model.
    public func withPredictor<T>(_ body: (FittedPipeline.Predictor) throws -> T) rethrows -> T {
        lock.lock()
        let predictor = pool.popLast() ?? loaded.pipeline.makePredictor()
        lock.unlock()
        defer {
            lock.lock()
            if pool.count < 64 { pool.append(predictor) }
            lock.unlock()
        }
        return try body(predictor)
    }
}

/// The model being served, swapped atomically on reload. Requests take the current model once
/// and finish with it even if a reload happens meanwhile.
public final class ModelStore: @unchecked Sendable {
    private let lock = NSLock()
    private var model: ServedModel
    private let reloadLock = NSLock()
    public let path: String
    public let trusted: [VerifyingKey]
    public let options: ModelArtifact.LoadOptions
    /// Reloads done and refused since start.
    public private(set) var reloads = 0
    public private(set) var refusedReloads = 0
    public private(set) var lastReloadError: String?

    public init(path: String, trusted: [VerifyingKey], options: ModelArtifact.LoadOptions = .init()) throws(ArtifactError) {
        self.path = path
        self.trusted = trusted
        self.options = options
        model = ServedModel(loaded: try ModelArtifact.load(path: path, trusted: trusted, options: options), path: path)
    }

    public var current: ServedModel {
        lock.lock()
        defer { lock.unlock() }
        return model
    }

    /// Loads the artifact again — signature, schema and golden probes — and swaps it in; a model
    /// that fails any check is refused and the old one keeps serving. Reloads are serialised.
    @discardableResult
    public func reload() throws(ArtifactError) -> ServedModel {
        reloadLock.lock()
        defer { reloadLock.unlock() }
        let loaded: ModelArtifact.Loaded
        do { loaded = try ModelArtifact.load(path: path, trusted: trusted, options: options) } catch {
            lock.lock()
            refusedReloads += 1
            lastReloadError = error.description
            lock.unlock()
            throw error
        }
        let fresh = ServedModel(loaded: loaded, path: path)
        lock.lock()
        model = fresh
        reloads += 1
        lastReloadError = nil
        lock.unlock()
        return fresh
    }
}
