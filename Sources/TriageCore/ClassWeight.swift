import Foundation

/// How rows are weighted by class.
public enum ClassWeight: Hashable, Sendable, Codable {
    /// Every row weighs 1.
    case none
    /// Class c weighs n / (K · n_c), as scikit-learn's `class_weight="balanced"`.
    case balanced
    /// An explicit weight per class label (classes not listed weigh 1).
    case weights([String: Double])

    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() {
            self = .none
        } else if let text = try? c.decode(String.self) {
            guard text == "balanced" else {
                throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath,
                    debugDescription: "class_weight is null, \"balanced\" or an object of label → weight, not \"\(text)\""))
            }
            self = .balanced
        } else {
            self = .weights(try c.decode([String: Double].self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .none: try c.encodeNil()
        case .balanced: try c.encode("balanced")
        case let .weights(w): try c.encode(w)
        }
    }
}

extension ClassWeight {
    /// The weight of each row, for row labels `labels` (indices into `classNames`): 1 for
    /// `.none`; n / (K · n_c) for `.balanced`; the map's value (1 when absent) otherwise.
    /// Returns the first label of the map that is not a class as the failure.
    public func rowWeights(labels: [Int], classNames: [String]) -> Result<[Double], UnknownClassWeightLabel> {
        classWeights(labels: labels, classNames: classNames).map { perClass in labels.map { perClass[$0] } }
    }

    /// The weight of each class: 1 for `.none`; n / (K · n_c) for `.balanced` (1 for a class with
    /// no rows); the map's value (1 when absent) otherwise.
    public func classWeights(labels: [Int], classNames: [String]) -> Result<[Double], UnknownClassWeightLabel> {
        switch self {
        case .none: return .success([Double](repeating: 1, count: classNames.count))
        case .balanced:
            var counts = [Int](repeating: 0, count: classNames.count)
            for y in labels { counts[y] += 1 }
            let n = Double(labels.count), k = Double(classNames.count)
            return .success(counts.map { $0 == 0 ? 1 : n / (k * Double($0)) })
        case let .weights(map):
            if let unknown = map.keys.sorted().first(where: { !classNames.contains($0) }) {
                return .failure(UnknownClassWeightLabel(label: unknown))
            }
            return .success(classNames.map { map[$0] ?? 1 })
        }
    }

    /// The first invalid weight of an explicit map, as (label, weight).
    public var firstInvalidWeight: (String, Double)? {
        guard case let .weights(w) = self else { return nil }
        return w.sorted { $0.key < $1.key }.first { !($0.value > 0 && $0.value.isFinite) }.map { ($0.key, $0.value) }
    }
}

/// A `class_weight` map that names a label the training data does not have.
public struct UnknownClassWeightLabel: Error, Equatable, Sendable {
    public let label: String
}
