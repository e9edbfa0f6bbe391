/// The `text` step: the text an analyzer sees for a message — the talk's subject weighting
/// (`text.subject_weight`): the subject repeated `subjectWeight` times, then the body, joined
/// by newlines. Weight 0 uses the body only; an empty subject adds nothing. A newline is
/// whitespace for every analyzer, so no token spans two parts.
public struct TextComposer: Hashable, Sendable, Codable {
    public var subjectWeight: Int

    public init(subjectWeight: Int = 1) {
        self.subjectWeight = subjectWeight
    }

    enum CodingKeys: String, CodingKey { case subjectWeight = "subject_weight" }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        subjectWeight = try c.decodeIfPresent(Int.self, forKey: .subjectWeight) ?? 1
    }

    /// The text an analyzer sees for one message.
    public func compose(subject: String?, body: String) -> String {
        guard let subject, !subject.isEmpty, subjectWeight > 0 else { return body }
        var parts = Array(repeating: subject, count: subjectWeight)
        if !body.isEmpty { parts.append(body) }
        return parts.joined(separator: "\n")
    }

    public func validate() throws(TextFeatureError) {
        if subjectWeight < 0 {
            throw .invalidSubjectWeight(subjectWeight)
        }
    }
}
