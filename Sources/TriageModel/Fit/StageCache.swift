import Foundation
import TriageCore

/// The stages of a pipeline fit that a `StageCache` can share (scikit-learn's
/// `Pipeline(memory=…)`, in memory and for one run).
public enum FitStage: String, Sendable, CaseIterable, Codable {
    /// A block's texts analysed into tokens (all messages, whatever the rows).
    case tokens
    /// A block's vectorizer fitted on the training rows: count matrices.
    case counts
    /// A block's TF-IDF fitted on those counts.
    case tfidf
    /// The blocks side by side, weighted: the classifier's input.
    case features
    /// The classifier's preparation of its input (trees: binning).
    case preparation
}

/// Values of fit stages by key, computed once — concurrent askers wait for the first — and, when
/// the expected uses of each key are given, freed after the last use is released.
///
/// Keys come from `PipelineFit.keys`: a SHA-256 of everything that determines the stage's value
/// (the rows, the encoded settings of the step and of every step before it), so two fits share a
/// value exactly when they would compute the same one.
public final class StageCache: @unchecked Sendable {
    private enum State {
        case computing
        case ready(any Sendable)
        case failed(String)
    }

    private let condition = NSCondition()
    private var states: [String: State] = [:]
    private var remaining: [String: Int]?
    private var computed: [FitStage: Int] = [:]

    /// A cache that frees a key's value after `uses[key]` releases (keys absent from `uses` are
    /// freed after one); with nil, values are kept until the cache goes.
    public init(uses: [String: Int]? = nil) { remaining = uses }

    struct Failure: Error, CustomStringConvertible { let description: String }

    /// The value of `key`: cached, being computed by another thread (waits), or computed now.
    /// A failed computation is remembered: later askers get its error without computing again.
    func value<V: Sendable>(_ stage: FitStage, key: String, compute: () throws -> V) throws -> V {
        condition.lock()
        while true {
            switch states[key] {
            case let .ready(value)?:
                condition.unlock()
                guard let typed = value as? V else { throw Failure(description: "internal: stage \(stage) cached another type") }
                return typed
            case let .failed(message)?:
                condition.unlock()
                throw Failure(description: message)
            case .computing?:
                condition.wait()
            case nil:
                states[key] = .computing
                computed[stage, default: 0] += 1
                condition.unlock()
                let outcome: State
                var result: V?
                do {
                    let value = try compute()
                    result = value
                    outcome = .ready(value)
                } catch { outcome = .failed("\(error)") }
                condition.lock()
                states[key] = outcome
                condition.broadcast()
                condition.unlock()
                if let result { return result }
                if case let .failed(message) = outcome { throw Failure(description: message) }
                throw Failure(description: "internal: stage \(stage) still computing")
            }
        }
    }

    /// One use of `key` is over; its value is freed after its last expected use.
    public func release(_ key: String) {
        condition.lock()
        defer { condition.unlock() }
        guard remaining != nil else { return }
        let left = (remaining?[key] ?? 1) - 1
        remaining?[key] = left
        if left <= 0 { states[key] = nil }
    }

    /// How many values of each stage were computed (not found).
    public var computations: [FitStage: Int] {
        condition.lock()
        defer { condition.unlock() }
        return computed
    }
}
