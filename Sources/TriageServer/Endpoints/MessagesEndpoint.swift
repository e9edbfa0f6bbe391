import Foundation
import HTTPTypes
import Hummingbird
import Logging
import TriageCore
import TriageModel

/// `POST /messages`, however the request arrived — through the router, or read from the
/// connection's bytes by `MessagesFastPath`: decode the body → predict → log → answer → count.
/// The one place that decides a messages request's answer and counts it in `/metrics`.
struct MessagesEndpoint: Sendable {
    let store: ModelStore
    let log: PredictionLog?
    let metrics: ServerMetrics
    let configuration: ServerConfiguration
    let logger: Logger

    /// The route, and its label in `/metrics`.
    static let route = "/messages"

    /// An answer: its status and JSON body.
    struct Answer: Sendable {
        let status: HTTPResponse.Status
        let body: [UInt8]
    }

    /// The messages of a request body (errors name the field at fault).
    func decode(_ body: [UInt8]) throws(APIError) -> [Message] {
        try RequestParsing.messages(body, limits: configuration.limits)
    }

    /// Predicts, logs and answers decoded messages, and counts the request. `done` gets the
    /// answer once the log has committed its predictions (on the caller's event loop, see
    /// `PredictionLog.record(_:then:)`), at once without a log: 200 with the predictions, or the
    /// 503 of a failed write — a prediction that was not recorded is not answered.
    func answer(_ messages: [Message], receivedAt: Date, started: ContinuousClock.Instant, done: @escaping @Sendable (Answer) -> Void) {
        let model = store.current
        let top = configuration.top
        let predictions: [Prediction]
        // A model of several heads: every head from one feature row; the first head's answer is
        // the top level, as for a one-head model.
        var headAnswers: [[Prediction]]?
        if model.hasSeveralHeads {
            let rules = model.headRules(threshold: configuration.threshold)
            let all = model.withHeadsPredictor { predictor in messages.map { predictor.predict($0, top: top, rules: rules) } }
            predictions = all.map { $0[0] }
            headAnswers = all
        } else {
            let rules = model.rules(threshold: configuration.threshold)
            predictions = model.withPredictor { predictor in messages.map { predictor.predict($0, top: top, rules: rules) } }
        }
        let answered = headAnswers
        // (Built only for a model of several heads: this is every request's path.)
        let names = answered == nil ? [] : model.loaded.heads.names
        let finish: @Sendable ((any Error)?) -> Void = { [metrics, logger] error in
            let answer: Answer
            if let error {
                logger.error("prediction log write failed", metadata: ["error": "\(error)"])
                answer = Answer(status: .serviceUnavailable, body: JSONWriter.bytes(Self.logFailure(error).json))
            } else {
                metrics.predicted(categories: predictions.map(\.label), unsure: predictions.compactMap(\.reason), rules: predictions.compactMap(\.rule))
                answer = Answer(status: .ok, body: ResponseJSON.predictions(predictions, modelID: model.id, version: model.version,
                                                                            heads: answered.map { (names, $0) }))
            }
            metrics.request(route: Self.route, status: answer.status.code, seconds: (ContinuousClock.now - started).seconds)
            done(answer)
        }
        guard let log else { return finish(nil) }
        let milliseconds = (ContinuousClock.now - started).milliseconds / Double(messages.count)
        let storeText = configuration.storeText
        let rows = messages.indices.map { i in
            let m = messages[i], p = predictions[i]
            return LoggedPrediction(messageID: m.id, receivedAt: receivedAt.timeIntervalSince1970, modelID: model.id,
                             subject: storeText ? m.subject : nil, body: storeText ? m.body : nil,
                             textSHA256: StableHash.hex(utf8Of: m.subject, "\n", m.body),
                             category: p.label, probability: p.probability, top: p.top.map { ($0.label, $0.probability) },
                             unsure: p.unsure, unsureReason: p.reason?.rawValue, latencyMilliseconds: milliseconds, margin: p.margin,
                             decidedBy: p.decidedBy,
                             heads: (answered?[i] ?? []).dropFirst().enumerated().map { k, h in
                                 LoggedHead(head: names[k + 1], category: h.label, probability: h.probability, top: h.top.map { ($0.label, $0.probability) },
                                            unsure: h.unsure, unsureReason: h.reason?.rawValue, margin: h.margin, decidedBy: h.decidedBy)
                             })
        }
        log.record(rows, then: finish)
    }

    /// The 503 of a failed log write.
    static func logFailure(_ error: any Error) -> APIError {
        APIError(503, "the prediction log cannot be written (\(error)); the prediction was not recorded, retry later")
    }

    /// The router's handler: the body read within its limits, decoded, answered. Every failure
    /// is answered here as its JSON error, and counted like the rest.
    func respond(to request: Request) async -> Response {
        let received = Date(), started = ContinuousClock.now
        do throws(APIError) {
            let messages = try decode(try await RequestBody.read(request, limits: configuration.limits))
            let answer = await withCheckedContinuation { continuation in
                self.answer(messages, receivedAt: received, started: started) { continuation.resume(returning: $0) }
            }
            return Response(status: answer.status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: answer.body)))
        } catch {
            metrics.request(route: Self.route, status: error.status, seconds: (ContinuousClock.now - started).seconds)
            return error.response
        }
    }
}
