import Foundation
import HTTPTypes
import Hummingbird
import TriageCore

extension TriageServer {
    static let allMethods: [HTTPRequest.Method] = [.get, .head, .post, .put, .delete, .patch, .options]

    /// Every route, and a 405 with `Allow` for every other method on its path.
    func addRoutes(_ router: Router<ServerContext>) {
        func only(_ path: RouterPath, _ allowed: [HTTPRequest.Method]) {
            let allow = allowed.map(\.rawValue).joined(separator: ", ")
            for m in Self.allMethods where !allowed.contains(m) {
                router.on(path, method: m) { _, _ -> Response in
                    throw APIError(405, "\(m.rawValue) is not allowed here; use \(allow)", headers: [("Allow", allow)])
                }
            }
        }
        let messages = messagesEndpoint
        let predictTokens = configuration.predictTokens
        router.post("messages") { request, _ in
            if let predictTokens { _ = try Self.authorized(request, by: predictTokens, to: "ask for predictions") }
            return await messages.respond(to: request)
        }
        only("messages", [.post])
        router.post("messages/:id/label") { [self] request, context in try await self.postLabel(request, context) }
        only("messages/:id/label", [.post])
        router.get("health") { _, _ in Self.json(["status": "alive"]) }
        only("health", [.get, .head])
        router.get("ready") { [self] _, _ in self.ready() }
        only("ready", [.get, .head])
        router.get("model") { [self] _, _ in Self.json(ResponseJSON.model(self.store.current, threshold: self.threshold)) }
        only("model", [.get, .head])
        router.get("metrics") { [self] _, _ in
            let text = self.metrics.render(self.store.snapshot, log: self.log)
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                            body: .init(byteBuffer: ByteBuffer(string: text)))
        }
        only("metrics", [.get, .head])
        router.get("openapi.json") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: OpenAPI.document)))
        }
        only("openapi.json", [.get, .head])
        router.get("review") { [self] request, context in try await self.review(request, context) }
        only("review", [.get, .head])
        router.post("admin/reload") { [self] request, context in try await self.adminReload(request, context) }
        only("admin/reload", [.post])
    }

    static func json(_ value: JSONValue, status: HTTPResponse.Status = .ok) -> Response {
        var buffer = ByteBuffer()
        buffer.writeBytes(JSONWriter.bytes(value))
        return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: buffer))
    }

    /// `GET /ready`: the model's self-test passed and the log is writable.
    func ready() -> Response {
        let model = store.current
        var o = JSONObject()
        o["model"] = .string(model.id)
        o["self_test"] = .string("passed: \(model.loaded.probes.count) golden probes re-predicted, max difference \(model.loaded.probeMaxDifference)")
        if let error = log?.lastError {
            o["status"] = "not ready"
            o["log"] = .string(error)
            return Self.json(.object(o), status: .serviceUnavailable)
        }
        o["status"] = "ready"
        return Self.json(.object(o))
    }

    /// The name of the token `request` presents; a 401 naming what needs one when it presents none
    /// that `tokens` holds.
    static func authorized(_ request: Request, by tokens: AccessTokens, to action: String) throws -> String {
        let header = request.headers[.authorization]
        guard let name = tokens.name(authorization: header) else {
            throw APIError(401, header == nil ? "a bearer token is needed to \(action) (Authorization: Bearer <token>)" : "the bearer token is not one this server knows",
                           headers: [("WWW-Authenticate", "Bearer")])
        }
        return name
    }

    /// Who may write or administer: with write tokens, a request presenting one (its name
    /// returned); without, anyone from loopback (`loopbackOnly`) or anyone at all.
    func writer(_ request: Request, _ context: ServerContext, to action: String, loopbackOnly: Bool) throws -> String? {
        if let tokens = configuration.writeTokens { return try Self.authorized(request, by: tokens, to: action) }
        if loopbackOnly && !context.isLoopback { throw APIError(403, "\(action) is allowed from loopback only (or with a token: triage serve --token-file)") }
        return nil
    }

    /// `POST /admin/reload` (a write token, or loopback without tokens): the model reloaded as on SIGHUP.
    func adminReload(_ request: Request, _ context: ServerContext) async throws -> Response {
        _ = try writer(request, context, to: "reload the model", loopbackOnly: true)
        switch await reloadModel(because: "admin") {
        case let .success(model): return Self.json(["status": "reloaded", "model": .string(model.id)])
        case let .failure(error): throw APIError(422, "reload refused, the old model keeps serving: \(error)")
        }
    }
}
