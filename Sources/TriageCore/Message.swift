/// A message to classify: what a chat app or an inbox hands over.
public struct Message: Hashable, Sendable, Codable {
    public var id: String
    public var subject: String
    public var body: String

    public init(id: String = "", subject: String = "", body: String) {
        self.id = id
        self.subject = subject
        self.body = body
    }
}

/// A message with its label, as read from training or evaluation data.
public struct LabeledMessage: Equatable, Sendable {
    public var id: String
    public var subject: String
    public var body: String
    /// Nil when the source has no label column and labels were not required.
    public var label: String?
    /// Line (CSV) or row number where the message starts, for error messages.
    public var line: Int
    /// With several label heads (issue 31): the labels of the heads after the first, in the
    /// order of the label columns (nil: the row has no label for that head). Empty with one head.
    public var otherLabels: [String?]

    public init(id: String, subject: String, body: String, label: String?, line: Int, otherLabels: [String?] = []) {
        self.id = id
        self.subject = subject
        self.body = body
        self.label = label
        self.line = line
        self.otherLabels = otherLabels
    }

    /// The message without its label.
    public var message: Message { Message(id: id, subject: subject, body: body) }
}
