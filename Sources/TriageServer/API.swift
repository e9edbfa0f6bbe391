import Foundation
import TriageCore
import TriageData
import TriageModel

/// An error answered as `{"error": {"status", "message", "field"?}}`.
public struct APIError: Error, Sendable, Equatable {
    public var status: Int
    public var message: String
    /// The request field at fault, e.g. `messages[2].body`.
    public var field: String?
    /// Extra headers (e.g. `Allow` on 405).
    public var headers: [(String, String)] = []

    public init(_ status: Int, _ message: String, field: String? = nil, headers: [(String, String)] = []) {
        self.status = status
        self.message = message
        self.field = field
        self.headers = headers
    }

    public static func == (a: APIError, b: APIError) -> Bool { a.status == b.status && a.message == b.message && a.field == b.field }

    public var json: JSONValue {
        var e = JSONObject()
        e["status"] = .number(JSONNumber(status))
        e["message"] = .string(message)
        if let field { e["field"] = .string(field) }
        return ["error": .object(e)]
    }
}

/// Limits on requests; every one is configurable (`triage serve --help`).
public struct RequestLimits: Sendable {
    /// Largest request body, in bytes (413 above).
    public var maxBodyBytes = 1 << 20
    /// Most messages in one POST /messages (422 above).
    public var maxMessages = 256
    /// Longest message: subject plus body, in UTF-8 bytes (422 above).
    public var maxMessageBytes = 64 << 10
    /// Longest message id, in UTF-8 bytes (422 above).
    public var maxIDBytes = 256
    /// Longest `"raw"` message (a whole RFC 5322 message), in UTF-8 bytes (422 above). Its subject
    /// and body are bounded by it, so `maxMessageBytes` does not apply to them.
    public var maxRawBytes = 256 << 10
    /// A request body must arrive within this many seconds of the request (408 otherwise).
    public var bodyTimeoutSeconds = 10.0

    public init() {}
}

/// Parsing and validating request bodies (pure functions: unit-tested without a socket).
public enum RequestParsing {
    /// The messages of a `POST /messages` body. Unknown members are ignored (clients may send
    /// metadata); known ones must have the documented types.
    public static func messages(_ body: [UInt8], limits: RequestLimits) throws(APIError) -> [Message] {
        let root = try parse(body, limits: limits)
        guard case let .object(o) = root else { throw APIError(400, "the body must be a JSON object {\"messages\": [...]}", field: "$") }
        guard let list = o["messages"] else { throw APIError(400, "missing field \"messages\": a list of {\"id\", \"subject\", \"body\"}", field: "messages") }
        guard case let .array(items) = list else { throw APIError(400, "\"messages\" must be a list", field: "messages") }
        guard !items.isEmpty else { throw APIError(400, "\"messages\" is empty: send at least one message", field: "messages") }
        guard items.count <= limits.maxMessages else {
            throw APIError(422, "\(items.count) messages in one request; the limit is \(limits.maxMessages): split the batch", field: "messages")
        }
        var out: [Message] = []
        out.reserveCapacity(items.count)
        for (i, item) in items.enumerated() {
            // Only an error names the message: no string is built for a good one.
            func at() -> String { "messages[\(i)]" }
            guard case let .object(m) = item else { throw APIError(400, "\(at()) must be an object {\"id\", \"subject\", \"body\"}", field: at()) }
            // A whole e-mail: subject and body come from it, and the id from its Message-ID when
            // the request gives none.
            var mail: ParsedMail?
            if let raw = m["raw"], raw != .null {
                guard case let .string(text) = raw else {
                    throw APIError(400, "\(at()).raw must be a string holding a whole RFC 5322 message (headers, a blank line, the body)", field: "\(at()).raw")
                }
                let given = ["subject", "body"].filter { m[$0] != nil && m[$0] != .null }
                if let other = given.first {
                    throw APIError(400, "\(at()) has \"raw\" and \"\(other)\": give the whole message in \"raw\", or \"subject\" and \"body\", not both", field: "\(at()).raw")
                }
                let bytes = Array(text.utf8)
                guard bytes.count <= limits.maxRawBytes else {
                    throw APIError(422, "\(at()).raw is \(bytes.count) bytes; the limit is \(limits.maxRawBytes)", field: "\(at()).raw")
                }
                do { mail = try MailParser.parse(bytes, textIsUnicode: true) } catch {
                    throw APIError(400, "\(at()).raw is not a readable e-mail: \(error.problem) (byte \(error.offset))", field: "\(at()).raw")
                }
            }
            let id: String
            switch m["id"] {
            case let .string(s)?: id = s
            case nil:
                guard let mail else { throw APIError(400, "\(at()) has no \"id\"", field: "\(at()).id") }
                // The id the e-mail brought: a too-long one is the raw message's problem, and
                // the client's way out is to give an "id".
                guard mail.id.utf8.count <= limits.maxIDBytes else {
                    throw APIError(422, "\(at()).raw has a Message-ID of \(mail.id.utf8.count) bytes, longer than the id limit of \(limits.maxIDBytes): give the message an \"id\"", field: "\(at()).raw")
                }
                id = mail.id
            // A number is refused, not converted: ids are echoed, logged and used in
            // /messages/{id}/label as strings, and the OpenAPI document says string.
            case let .number(n)?: throw APIError(400, "\(at()).id must be a string (write \"\(n.literal)\" for the number \(n.literal))", field: "\(at()).id")
            default: throw APIError(400, "\(at()).id must be a string", field: "\(at()).id")
            }
            guard !id.isEmpty else { throw APIError(400, "\(at()).id is empty", field: "\(at()).id") }
            guard id.utf8.count <= limits.maxIDBytes else { throw APIError(422, "\(at()).id is longer than \(limits.maxIDBytes) bytes", field: "\(at()).id") }
            if let mail {
                out.append(Message(id: id, subject: mail.subject, body: mail.body))
                continue
            }
            var subject = ""
            switch m["subject"] {
            case let .string(s)?: subject = s
            case nil, .null?: break
            default: throw APIError(400, "\(at()).subject must be a string", field: "\(at()).subject")
            }
            guard case let .string(body)? = m["body"] else {
                throw APIError(400, m["body"] == nil ? "\(at()) has no \"body\" (nor \"raw\")" : "\(at()).body must be a string", field: "\(at()).body")
            }
            guard subject.utf8.count + body.utf8.count <= limits.maxMessageBytes else {
                throw APIError(422, "\(at()) is \(subject.utf8.count + body.utf8.count) bytes; the limit is \(limits.maxMessageBytes) (subject + body)", field: "\(at()).body")
            }
            out.append(Message(id: id, subject: subject, body: body))
        }
        return out
    }

    /// A `POST /messages/{id}/label` body: the label, optionally who set it and the head it is
    /// for (a model of several heads; default: the first).
    public static func label(_ body: [UInt8], limits: RequestLimits) throws(APIError) -> (label: String, agent: String?, head: String?) {
        let root = try parse(body, limits: limits)
        guard case let .object(o) = root else { throw APIError(400, "the body must be a JSON object {\"label\": ...}", field: "$") }
        guard let value = o["label"] else { throw APIError(400, "missing field \"label\"", field: "label") }
        guard case let .string(label) = value, !label.isEmpty else { throw APIError(400, "\"label\" must be a non-empty string", field: "label") }
        var agent: String?
        switch o["agent"] {
        case let .string(s)?: agent = s
        case nil, .null?: break
        default: throw APIError(400, "\"agent\" must be a string", field: "agent")
        }
        var head: String?
        switch o["head"] {
        case let .string(s)?: head = s
        case nil, .null?: break
        default: throw APIError(400, "\"head\" must be a string (a head of the model, GET /model)", field: "head")
        }
        return (label, agent, head)
    }

    static func parse(_ body: [UInt8], limits: RequestLimits) throws(APIError) -> JSONValue {
        guard !body.isEmpty else { throw APIError(400, "the body is empty; send JSON", field: "$") }
        do { return try JSONParser.parse(body, limits: JSONLimits(maxDepth: 16, maxBytes: limits.maxBodyBytes)) } catch {
            throw APIError(400, "malformed JSON at line \(error.line), column \(error.column): \(error.what)", field: error.path == "$" ? nil : error.path)
        }
    }
}

/// Response bodies.
public enum ResponseJSON {
    /// The `POST /messages` answer, written straight to bytes (it is on every request's path; a
    /// `JSONValue` tree cost more than the rest of the answer): the canonical form `JSONWriter`
    /// gives the same document, keys sorted, `{"model": {"id", "version"}, "predictions":
    /// [{"by", "category", "id", "probability", "reason", "top": [{"category", "probability"}…],
    /// "unsure"}…]}`; `reason` is null for a routed message, else why it is unsure; `by` is
    /// "model", or "rule:NAME" for an override rule's decision.
    public static func predictions(_ predictions: [Prediction], modelID: String, version: String,
                                   heads: (names: [String], answers: [[Prediction]])? = nil) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(160 + predictions.count * (160 + 60 * (predictions.first?.top.count ?? 0)))
        func key(_ k: StaticString) {
            k.withUTF8Buffer { out.append(contentsOf: $0) }
        }
        func number(_ x: Double) {
            if let n = JSONNumber(x) { out.append(contentsOf: n.literal.utf8) } else { key("null") }
        }
        key(#"{"model":{"id":"#)
        JSONWriter.writeString(modelID, into: &out)
        key(#","version":"#)
        JSONWriter.writeString(version, into: &out)
        key(#"},"predictions":["#)
        // Keys sorted: by, category, heads, id, probability, reason, top, unsure.
        func answer(_ p: Prediction, id: String?, heads: (names: [String], answers: [Prediction])?) {
            key(#"{"by":"#)
            if let rule = p.rule { JSONWriter.writeString("rule:" + rule, into: &out) } else { key(#""model""#) }
            key(#","category":"#)
            JSONWriter.writeString(p.label, into: &out)
            if let heads {
                // Every head (the first too), by name, names sorted as canonical JSON sorts keys.
                key(#","heads":{"#)
                let order = heads.names.indices.sorted { Array(heads.names[$0].utf8).lexicographicallyPrecedes(Array(heads.names[$1].utf8)) }
                for (n, k) in order.enumerated() {
                    if n > 0 { key(",") }
                    JSONWriter.writeString(heads.names[k], into: &out)
                    key(":")
                    answer(heads.answers[k], id: nil, heads: nil)
                }
                key("}")
            }
            if let id {
                key(#","id":"#)
                JSONWriter.writeString(id, into: &out)
            }
            key(#","probability":"#)
            number(p.probability)
            if let reason = p.reason {
                key(#","reason":""#)
                out.append(contentsOf: reason.rawValue.utf8)
                key(#"","top":["#)
            } else {
                key(#","reason":null,"top":["#)
            }
            for (j, t) in p.top.enumerated() {
                key(j == 0 ? #"{"category":"# : #",{"category":"#)
                JSONWriter.writeString(t.label, into: &out)
                key(#","probability":"#)
                number(t.probability)
                key("}")
            }
            key(p.unsure ? #"],"unsure":true}"# : #"],"unsure":false}"#)
        }
        for (i, p) in predictions.enumerated() {
            if i > 0 { key(",") }
            answer(p, id: p.id, heads: heads.map { ($0.names, $0.answers[i]) })
        }
        key("]}")
        return out
    }

    static func model(_ model: ServedModel, threshold: Double) -> JSONValue {
        let l = model.loaded
        var o = JSONObject()
        o["id"] = .string(l.id)
        o["key_id"] = .string(l.keyId)
        o["path"] = .string(model.path)
        o["format_version"] = .number(JSONNumber(l.formatVersion))
        o["created"] = l.created.map { .string($0) } ?? .null
        o["labels"] = .array(l.pipeline.labels.map { .string($0) })
        o["parameters"] = (try? JSONValueEncoder().encode(l.pipeline.settings)) ?? .null
        o["metrics"] = .object(JSONObject(l.provenance.metrics.sorted { $0.key < $1.key }.map { ($0.key, JSONValue.double($0.value) ?? .null) }))
        o["provenance"] = (try? JSONValueEncoder().encode(l.provenance)) ?? .null
        o["unsure_threshold"] = JSONValue.double(threshold) ?? .null
        // The policy as served (a --unsure-threshold override replaces its threshold), and what
        // it was chosen for on the training data's out-of-fold predictions.
        o["confidence_policy"] = (try? JSONValueEncoder().encode(l.pipeline.effectivePolicy(threshold: threshold))) ?? .null
        o["vocabulary"] = .number(JSONNumber(l.pipeline.featureCount))
        o["classifier"] = .string(l.pipeline.classifier.typeName)
        o["head"] = .string(l.pipeline.head)
        o["heads"] = .array(l.heads.heads.map { h in
            ["name": .string(h.head), "labels": .array(h.labels.map { .string($0) }), "classifier": .string(h.classifier.typeName)]
        })
        // The routing rules signed in the model (null without).
        o["rules"] = l.pipeline.routing.flatMap { try? JSONValueEncoder().encode($0.set) } ?? .null
        let formatter = ISO8601DateFormatter()
        o["loaded_at"] = .string(formatter.string(from: model.loadedAt))
        return .object(o)
    }
}
