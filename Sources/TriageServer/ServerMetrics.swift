import Prometheus
import Synchronization
import TriageModel

/// `GET /metrics`: the server's counters in Prometheus's text exposition format (0.0.4), kept and
/// written by swift-prometheus. Each server has its own `PrometheusCollectorRegistry` (no
/// process-wide state: several servers in one process, as in the tests, keep apart).
///
/// The series are made through the registry rather than through swift-metrics' `Counter` and
/// `Timer` over swift-prometheus's `PrometheusMetricsFactory`: those pass no help text (no
/// `# HELP` lines, and the registry refuses one name with two help texts), and swift-metrics'
/// `MetricsSystem` is bootstrapped once per process. On the hot path a request costs one lock to
/// find its series (each made once), an atomic increment and the histogram's own lock. The model,
/// reload and log figures, which other parts own, are copied into the registry when it is written.
public final class ServerMetrics: Sendable {
    /// Upper bounds of the latency histogram, in seconds.
    static let buckets: [Double] = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5]
    /// The route label of a request the HTTP parser refused before any route saw it.
    static let unparsedRoute = "unparsed"

    /// The registry `GET /metrics` writes out.
    let registry = PrometheusCollectorRegistry()

    private struct RouteKey: Hashable {
        let route: String
        let status: Int
    }

    private struct Series {
        var requests: [RouteKey: Prometheus.Counter] = [:]
        var latency: [String: ValueHistogram] = [:]
        var categories: [String: Prometheus.Counter] = [:]
        /// Decisions of the model's override rules, by rule name.
        var rules: [String: Prometheus.Counter] = [:]
        /// Predictions per category since start (the drift gauge's recent shares).
        var categoryCounts: [String: Int] = [:]
    }

    private let series = Mutex(Series())
    /// Unsure predictions by reason (`UnsureReason`).
    private let unsure: [UnsureReason: Prometheus.Counter]
    /// What was last copied into the registry from the store and the log (see `render`).
    private let copied = Mutex(Copied())
    /// Population stability index of the predicted categories since start against the served
    /// model's training labels (`PopulationStability`).
    private let drift: Prometheus.Gauge

    private struct Copied {
        var model: (id: String, gauge: Prometheus.Gauge)?
        var reloads = 0, refused = 0, rows = 0, commits = 0, walRestarts = 0
    }

    public init() {
        var counters: [UnsureReason: Prometheus.Counter] = [:]
        for reason in UnsureReason.allCases {
            counters[reason] = registry.makeCounter(descriptor: Self.name("unsure_predictions", "total", "Predictions the confidence policy did not route, by reason."),
                                                    labels: [("reason", reason.rawValue)])
        }
        unsure = counters
        drift = registry.makeGauge(descriptor: Self.name("prediction_drift", "psi",
                                                         "Population stability index of the categories predicted since start against the served model's training labels (0.1: moderate, 0.25: large)."))
    }

    /// `triage_<base>_<unit>`, with its help text.
    private static func name(_ base: String, _ unit: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(namespace: "triage", metricName: base, unitName: unit, helpText: help)
    }

    /// One answered request: by route and status, with its latency.
    func request(route: String, status: Int, seconds: Double) {
        let (counter, histogram) = series.withLock { series in
            let key = RouteKey(route: route, status: status)
            let counter = series.requests[key] ?? {
                let made = registry.makeCounter(descriptor: Self.name("http_requests", "total", "HTTP requests by route and status."),
                                                labels: [("route", route), ("status", String(status))])
                series.requests[key] = made
                return made
            }()
            let histogram = series.latency[route] ?? {
                let made = registry.makeValueHistogram(descriptor: Self.name("http_request_duration", "seconds", "Time from request to response, by route."),
                                                       labels: [("route", route)], buckets: Self.buckets)
                series.latency[route] = made
                return made
            }()
            return (counter, histogram)
        }
        counter.increment()
        histogram.record(seconds)
    }

    /// The categories of a batch's predictions, why those not routed were not, and the
    /// override rules that decided some of them.
    func predicted(categories names: [String], unsure reasons: [UnsureReason], rules: [String] = []) {
        let counters = series.withLock { series in
            for name in names { series.categoryCounts[name, default: 0] += 1 }
            return names.map { name in
                series.categories[name] ?? {
                    let made = registry.makeCounter(descriptor: Self.name("predictions", "total", "Predictions by category."),
                                                    labels: [("category", name)])
                    series.categories[name] = made
                    return made
                }()
            } + rules.map { rule in
                series.rules[rule] ?? {
                    let made = registry.makeCounter(descriptor: Self.name("rule_decisions", "total", "Predictions decided by an override rule of the model, by rule."),
                                                    labels: [("rule", rule)])
                    series.rules[rule] = made
                    return made
                }()
            }
        }
        for counter in counters { counter.increment() }
        for reason in reasons { unsure[reason]?.increment() }
    }

    /// The exposition text, with the store's model and reload counts and the log's counts as
    /// they are now.
    func render(_ store: ModelStore.State, log: PredictionLog?) -> String {
        copied.withLock { c in
            if c.model?.id != store.model.id {
                if let old = c.model { registry.unregisterGauge(old.gauge) }
                let labels = [("model_id", store.model.id), ("key_id", store.model.loaded.keyId), ("labels", String(store.model.labels.count))]
                let gauge = registry.makeGauge(descriptor: Self.name("model", "info", "The model being served."), labels: labels)
                gauge.set(1.0)
                c.model = (store.model.id, gauge)
            }
            // Counters owned elsewhere: each copied as its increase since the last copy.
            func copy(_ base: String, _ labels: [(String, String)], _ help: String, _ now: Int, _ last: inout Int) {
                let counter = registry.makeCounter(descriptor: Self.name(base, "total", help), labels: labels)
                if now > last { counter.increment(by: Int64(now - last)) }
                last = max(last, now)
            }
            let reloads = "Model reloads by result."
            copy("model_reloads", [("result", "ok")], reloads, store.reloads, &c.reloads)
            copy("model_reloads", [("result", "refused")], reloads, store.refusedReloads, &c.refused)
            if let log {
                copy("log_rows", [], "Predictions committed to the SQLite log.", log.committedRows, &c.rows)
                copy("log_commits", [], "Transactions committed to the SQLite log (rows per commit: the group size).",
                     log.commits, &c.commits)
                copy("log_wal_restarts", [], "Times the log's write-ahead log started over (it grows until it does).",
                     log.walRestarts, &c.walRestarts)
            }
        }
        let counts = series.withLock { $0.categoryCounts }
        drift.set(PopulationStability(expected: store.model.loaded.provenance.labelCounts, actual: counts).value)
        return registry.emitToString()
    }
}
