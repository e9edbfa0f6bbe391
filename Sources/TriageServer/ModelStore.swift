import Foundation
import Synchronization
import TriageArtifact
import TriageModel

/// A verified model ready to serve, with a pool of single-message predictors (a predictor keeps
/// per-thread caches and is not thread-safe; the pool hands each request its own).
public final class ServedModel: @unchecked Sendable {
    public let loaded: ModelArtifact.Loaded
    public let path: String
    public let loadedAt: Date
    /// Predictors are not Sendable (each is used by one thread at a time, then handed back), so
    /// the pool is guarded by a plain lock rather than a `Mutex`, whose `sending` rules would
    /// not let one leave it.
    private let lock = NSLock()
    private var pool: [FittedPipeline.Predictor] = []
    /// A model of several heads answers with these (every head from one feature row).
    private var headsPool: [FittedHeads.Predictor] = []

    public var id: String { loaded.id }
    /// The model's version as answered with predictions: its creation time, else its id's first 12 characters.
    public var version: String { loaded.created ?? String(loaded.id.prefix(12)) }
    public var labels: [String] { loaded.pipeline.labels }
    public let labelSet: Set<String>
    /// The model's own confidence rules, resolved once.
    let ownRules: ConfidenceRules

    init(loaded: ModelArtifact.Loaded, path: String) {
        self.loaded = loaded
        self.path = path
        loadedAt = Date()
        labelSet = Set(loaded.pipeline.labels)
        ownRules = loaded.pipeline.rules()
        ownHeadRules = loaded.heads.heads.map { $0.rules() }
    }

    /// The model's heads beyond the first (none for most models).
    public var hasSeveralHeads: Bool { loaded.heads.heads.count > 1 }
    /// Each head's own confidence rules, resolved once.
    let ownHeadRules: [ConfidenceRules]

    /// Every head's rules: its own, or with `threshold` replacing its thresholds.
    func headRules(threshold: Double?) -> [ConfidenceRules] {
        threshold.map { t in loaded.heads.heads.map { $0.rules(threshold: t) } } ?? ownHeadRules
    }

    /// Runs `body` with a predictor answering every head of this model.
    public func withHeadsPredictor<T>(_ body: (FittedHeads.Predictor) throws -> T) rethrows -> T {
        lock.lock()
        let predictor = headsPool.popLast() ?? loaded.heads.makePredictor()
        lock.unlock()
        defer {
            lock.lock()
            if headsPool.count < 64 { headsPool.append(predictor) }
            lock.unlock()
        }
        return try body(predictor)
    }

    /// The rules answers are decided by: the model's, or with `threshold` (the server's
    /// `--threshold`) replacing its thresholds (cheap: no per-label thresholds are left).
    func rules(threshold: Double?) -> ConfidenceRules {
        threshold.map { loaded.pipeline.rules(threshold: $0) } ?? ownRules
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
public final class ModelStore: Sendable {
    /// Everything a reload changes, changed together under one lock and read together: a
    /// reader never sees a count from one reload and a model or error from another.
    public struct State: Sendable {
        public fileprivate(set) var model: ServedModel
        /// Reloads done and refused since start.
        public fileprivate(set) var reloads = 0
        public fileprivate(set) var refusedReloads = 0
        /// Why the last reload was refused (nil after a successful one).
        public fileprivate(set) var lastReloadError: String?
    }

    private let state: Mutex<State>
    /// Serialises reloads (a load takes seconds; the state lock is never held that long).
    private let reloading = Mutex<Void>(())
    public let path: String
    public let trusted: [VerifyingKey]
    public let options: ModelArtifact.LoadOptions

    public init(path: String, trusted: [VerifyingKey], options: ModelArtifact.LoadOptions = .init()) throws(ArtifactError) {
        self.path = path
        self.trusted = trusted
        self.options = options
        let model = ServedModel(loaded: try ModelArtifact.load(path: path, trusted: trusted, options: options), path: path)
        state = Mutex(State(model: model))
    }

    /// The model to answer with.
    public var current: ServedModel { state.withLock { $0.model } }

    /// The model and the reload counts, read together.
    public var snapshot: State { state.withLock { $0 } }

    /// Loads the artifact again — signature, schema and golden probes — and swaps it in; a model
    /// that fails any check is refused and the old one keeps serving. Reloads are serialised.
    @discardableResult
    public func reload() throws(ArtifactError) -> ServedModel {
        let result: Result<ServedModel, ArtifactError> = reloading.withLock { _ in
            do throws(ArtifactError) {
                let fresh = ServedModel(loaded: try ModelArtifact.load(path: path, trusted: trusted, options: options), path: path)
                state.withLock {
                    $0.model = fresh
                    $0.reloads += 1
                    $0.lastReloadError = nil
                }
                return .success(fresh)
            } catch {
                state.withLock {
                    $0.refusedReloads += 1
                    $0.lastReloadError = error.description
                }
                return .failure(error)
            }
        }
        return try result.get()
    }
}
