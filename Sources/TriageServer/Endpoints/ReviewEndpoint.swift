import Foundation
import Hummingbird
import NIOPosix
import TriageCore

extension TriageServer {
    /// `GET /review` (a write token, or loopback without tokens: it shows logged messages): the
    /// review queue of `triage review`, its filters and pages as query parameters (`since`,
    /// `until`, `category`, `unlabelled`, `limit`, `offset`); 400 naming a bad one, 404 without
    /// a log. The served model's training labels say which categories drifted up: their
    /// messages come right after the unsure ones.
    func review(_ request: Request, _ context: ServerContext) async throws -> Response {
        _ = try writer(request, context, to: "read the review queue", loopbackOnly: true)
        guard let path = configuration.databasePath else {
            throw APIError(404, "the server runs without a prediction log (start it with --db): nothing to review")
        }
        let parameters = request.uri.queryParameters
        var query = ReviewQueue.Query()
        for (name, value) in parameters {
            let name = String(name), value = String(value)
            switch name {
            case "since", "until":
                guard let instant = ReviewQueue.instant(value) else {
                    throw APIError(400, "\(name)=\(value): not an ISO 8601 date or time (2026-12-01, 2026-12-01T08:00:00Z)", field: name)
                }
                if name == "since" { query.since = instant } else { query.until = instant }
            case "category": query.category = value
            case "unlabelled":
                guard let flag = ["true": true, "1": true, "false": false, "0": false][value] else {
                    throw APIError(400, "unlabelled=\(value): write true or false", field: name)
                }
                query.unlabelledOnly = flag
            case "limit":
                guard let n = Int(value), (1 ... 10000).contains(n) else { throw APIError(400, "limit=\(value): a whole number from 1 to 10000", field: name) }
                query.limit = n
            case "offset":
                guard let n = Int(value), n >= 0 else { throw APIError(400, "offset=\(value): a whole number, 0 or more", field: name) }
                query.offset = n
            default:
                throw APIError(400, "unknown query parameter \"\(name)\" (since, until, category, unlabelled, limit, offset)", field: name)
            }
        }
        // SQLite reads block: on NIO's thread pool, not an event loop.
        let training = store.current.loaded.provenance.labelCounts
        let answer: (page: ReviewQueue.Page, query: ReviewQueue.Query)
        do {
            answer = try await NIOThreadPool.singleton.runIfActive { [query] in
                var query = query
                query.drifted = ReviewQueue.drifted(try ReviewQueue.stability(database: path, since: query.since, until: query.until, training: training))
                return (try ReviewQueue.page(database: path, query: query), query)
            }
        } catch {
            throw APIError(503, "the prediction log cannot be read (\(error)); retry later")
        }
        return Self.json(answer.page.json(query: answer.query))
    }
}
