/// scikit-learn's `LabelEncoder`: the classes of a label column, sorted, and each label's index.
///
/// **Order**: by the UTF-8 bytes of the labels (code point order, Python's `sorted` of `str`),
/// not by Swift's `String <` (which compares canonically equivalent strings as equal and may
/// order differently). Every probability vector, confusion matrix and artifact lists classes in
/// this order; it is the one place that decides it.
public struct LabelEncoder: Sendable, Equatable {
    /// The distinct labels, sorted.
    public let classes: [String]
    private let index: [String: Int]

    /// The classes of `labels` (duplicates and order do not matter).
    public init<S: Sequence>(fitting labels: S) where S.Element == String {
        self.init(sortedClasses: Self.sorted(Set(labels)))
    }

    /// The classes of labelled messages (messages without a label add none).
    public init(fitting messages: [LabeledMessage]) {
        self.init(fitting: messages.lazy.compactMap(\.label))
    }

    /// Classes already in order (a model's labels).
    public init(classes: [String]) {
        self.init(sortedClasses: classes)
    }

    private init(sortedClasses: [String]) {
        classes = sortedClasses
        var index: [String: Int] = [:]
        for (i, label) in sortedClasses.enumerated() where index[label] == nil { index[label] = i }
        self.index = index
    }

    /// Labels in the encoder's order.
    public static func sorted<S: Sequence>(_ labels: S) -> [String] where S.Element == String {
        labels.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
    }

    /// The index of a label; nil for a label the encoder does not know.
    public func index(of label: String) -> Int? { index[label] }

    /// The indices of labelled messages; `unknown` for a message whose label is missing or not a class.
    public func encode(_ messages: [LabeledMessage], unknown: Int = -1) -> [Int] {
        messages.map { $0.label.flatMap { index[$0] } ?? unknown }
    }

    public static func == (a: LabelEncoder, b: LabelEncoder) -> Bool { a.classes == b.classes }
}
