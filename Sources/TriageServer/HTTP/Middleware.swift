import Hummingbird
import HTTPTypes
import Logging
import NIOCore
import TriageCore

extension APIError {
    /// The error as a response: its status, its JSON, its extra headers.
    var response: Response {
        var r = TriageServer.json(json, status: HTTPResponse.Status(code: status))
        for (name, value) in headers {
            if let field = HTTPField.Name(name) { r.headers[field] = value }
        }
        return r
    }
}

/// Turns every error into the JSON error shape; an unexpected error is a 500 that is logged.
struct ErrorMiddleware: RouterMiddleware {
    typealias Context = ServerContext
    let logger: Logger

    func handle(_ request: Request, context: ServerContext, next: (Request, ServerContext) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as APIError {
            return error.response
        } catch let error as HTTPError {
            let message = error.body ?? (error.status == .notFound ? "no route \(request.method.rawValue) \(request.uri.path); see GET /openapi.json" : error.status.reasonPhrase)
            return APIError(error.status.code, message).response
        } catch is NIOTooManyBytesError {
            return APIError(413, "the body exceeds the size limit").response
        } catch {
            logger.error("unexpected error", metadata: ["error": "\(error)", "path": "\(request.uri.path)"])
            return APIError(500, "internal error").response
        }
    }
}

/// Counts requests by route and status, with latency.
struct MetricsMiddleware: RouterMiddleware {
    typealias Context = ServerContext
    let metrics: ServerMetrics

    func handle(_ request: Request, context: ServerContext, next: (Request, ServerContext) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        let response = try await next(request, context)
        let d = ContinuousClock.now - start
        let route = context.endpointPath ?? "unmatched"
        // `POST /messages` is counted by its endpoint, whichever path answered it.
        if request.method != .post || route != MessagesEndpoint.route {
            metrics.request(route: route, status: response.status.code, seconds: d.seconds)
        }
        return response
    }
}
