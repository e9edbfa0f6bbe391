import Foundation
import Hummingbird
import TriageCore

extension TriageServer {
    /// `POST /messages/{id}/label`: a human re-classification of the latest prediction of a
    /// message, recorded in the log (422 for a label the model does not know, 404 for a message
    /// it never predicted, 503 without a log; 401 before anything is read when the server has
    /// write tokens and the request presents none of them, the token's name being the agent).
    func postLabel(_ request: Request, _ context: ServerContext) async throws -> Response {
        // Before the body is read: a refused write never reaches the log.
        let tokenName = try writer(request, context, to: "relabel a message", loopbackOnly: false)
        guard let id = context.parameters.get("id"), !id.isEmpty else { throw APIError(400, "missing message id in the path") }
        let (label, bodyAgent, headName) = try RequestParsing.label(try await RequestBody.read(request, limits: configuration.limits), limits: configuration.limits)
        // The token says who: its name is the agent.
        let agent = tokenName ?? bodyAgent
        let model = store.current
        // The head the label is for: the first unless the body names another (a later head is
        // logged by name; the first as NULL, as every relabel before heads).
        let heads = model.loaded.heads
        guard let head = headName.map({ heads[$0] }) ?? heads.primary else {
            throw APIError(422, "unknown head \"\(headName ?? "")\"; the model's heads are: \(heads.names.joined(separator: ", "))", field: "head")
        }
        let loggedHead = head.head == heads.primary.head ? nil : head.head
        guard head.labels.contains(label) else {
            let some = head.labels.prefix(10).joined(separator: ", ")
            throw APIError(422, "unknown label \"\(label)\"; the labels of head \"\(head.head)\" are: \(some)\(head.labels.count > 10 ? ", … (GET /model)" : "")", field: "label")
        }
        guard let log else { throw APIError(503, "the server runs without a prediction log (start it with --db): nothing to relabel") }
        let outcome: RelabelOutcome
        do { outcome = try await log.relabel(messageID: id, label: label, agent: agent, modelID: model.id, head: loggedHead) } catch {
            throw APIError(503, "the prediction log cannot be written (\(error)); retry later")
        }
        switch outcome {
        case .unknownMessage: throw APIError(404, "no prediction was logged for message id \"\(id)\"")
        case let .recorded(seq):
            return Self.json(["id": .string(id), "label": .string(label), "head": .string(head.head), "prediction": .number(JSONNumber(Int(seq)))])
        }
    }
}
