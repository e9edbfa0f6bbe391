import Foundation

/// Counters for `GET /metrics` (Prometheus text exposition format 0.0.4).
public final class ServerMetrics: @unchecked Sendable {
    /// Upper bounds of the latency histogram, in seconds.
    static let buckets: [Double] = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5]

    private struct RouteKey: Hashable {
        let route: String
        let status: Int
    }

    private struct Histogram {
        var counts = [Int](repeating: 0, count: ServerMetrics.buckets.count + 1)
        var sum = 0.0
        var total = 0

        mutating func record(bucket: Int, seconds: Double) {
            counts[bucket] += 1
            sum += seconds
            total += 1
        }
    }

    /// The route label of a request the HTTP parser refused before any route saw it.
    static let unparsedRoute = "unparsed"

    private let lock = NSLock()
    private var requests: [RouteKey: Int] = [:]
    private var latency: [String: Histogram] = [:]
    private var predictions: [String: Int] = [:]
    private var unsure = 0

    public init() {}

    func request(route: String, status: Int, seconds: Double) {
        let bucket = Self.buckets.firstIndex { seconds <= $0 } ?? Self.buckets.count
        lock.lock()
        requests[RouteKey(route: route, status: status), default: 0] += 1
        // Mutated in place (a copy out and back would copy the bucket array every request).
        latency[route, default: Histogram()].record(bucket: bucket, seconds: seconds)
        lock.unlock()
    }

    func predicted(categories: [String], unsure count: Int) {
        lock.lock()
        for c in categories { predictions[c, default: 0] += 1 }
        unsure += count
        lock.unlock()
    }

    /// The exposition text.
    func render(_ store: ModelStore.State, log: PredictionLog?) -> String {
        let model = store.model
        lock.lock()
        let requests = self.requests, latency = self.latency, predictions = self.predictions, unsure = self.unsure
        lock.unlock()
        func label(_ s: String) -> String {
            s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"").replacingOccurrences(of: "\n", with: "\\n")
        }
        var out = ""
        out += "# HELP triage_http_requests_total HTTP requests by route and status.\n# TYPE triage_http_requests_total counter\n"
        for (k, v) in requests.sorted(by: { ($0.key.route, $0.key.status) < ($1.key.route, $1.key.status) }) {
            out += "triage_http_requests_total{route=\"\(label(k.route))\",status=\"\(k.status)\"} \(v)\n"
        }
        out += "# HELP triage_http_request_duration_seconds Time from request to response, by route.\n# TYPE triage_http_request_duration_seconds histogram\n"
        for (route, h) in latency.sorted(by: { $0.key < $1.key }) {
            var cumulative = 0
            for (i, bound) in Self.buckets.enumerated() {
                cumulative += h.counts[i]
                out += "triage_http_request_duration_seconds_bucket{route=\"\(label(route))\",le=\"\(bound)\"} \(cumulative)\n"
            }
            out += "triage_http_request_duration_seconds_bucket{route=\"\(label(route))\",le=\"+Inf\"} \(h.total)\n"
            out += "triage_http_request_duration_seconds_sum{route=\"\(label(route))\"} \(h.sum)\n"
            out += "triage_http_request_duration_seconds_count{route=\"\(label(route))\"} \(h.total)\n"
        }
        out += "# HELP triage_predictions_total Predictions by category.\n# TYPE triage_predictions_total counter\n"
        for (c, v) in predictions.sorted(by: { $0.key < $1.key }) { out += "triage_predictions_total{category=\"\(label(c))\"} \(v)\n" }
        out += "# HELP triage_unsure_predictions_total Predictions below the unsure threshold.\n# TYPE triage_unsure_predictions_total counter\n"
        out += "triage_unsure_predictions_total \(unsure)\n"
        out += "# HELP triage_model_info The model being served.\n# TYPE triage_model_info gauge\n"
        out += "triage_model_info{model_id=\"\(model.id)\",key_id=\"\(model.loaded.keyId)\",labels=\"\(model.labels.count)\"} 1\n"
        out += "# HELP triage_model_reloads_total Model reloads by result.\n# TYPE triage_model_reloads_total counter\n"
        out += "triage_model_reloads_total{result=\"ok\"} \(store.reloads)\n"
        out += "triage_model_reloads_total{result=\"refused\"} \(store.refusedReloads)\n"
        if let log {
            out += "# HELP triage_log_rows_total Predictions committed to the SQLite log.\n# TYPE triage_log_rows_total counter\n"
            out += "triage_log_rows_total \(log.committedRows)\n"
            out += "# HELP triage_log_commits_total Transactions committed to the SQLite log (rows per commit: the group size).\n# TYPE triage_log_commits_total counter\n"
            out += "triage_log_commits_total \(log.commits)\n"
            out += "# HELP triage_log_wal_restarts_total Times the log's write-ahead log started over (it grows until it does).\n# TYPE triage_log_wal_restarts_total counter\n"
            out += "triage_log_wal_restarts_total \(log.walRestarts)\n"
        }
        return out
    }
}
