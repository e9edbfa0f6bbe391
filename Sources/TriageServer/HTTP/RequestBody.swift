import Foundation
import Hummingbird

/// Reading request bodies, and the content-type rule every JSON route and the fast path share.
enum RequestBody {
    /// The body of a request, read within the size and time limits: 415 without a JSON
    /// content type, 413 over `maxBodyBytes` (announced or read), 408 after `bodyTimeoutSeconds`,
    /// 400 for a framing the HTTP parser refuses after the head.
    static func read(_ request: Request, limits: RequestLimits) async throws(APIError) -> [UInt8] {
        if let type = request.headers[.contentType] {
            guard isJSON(type) else {
                throw APIError(415, "Content-Type is \(type); send application/json")
            }
        } else {
            throw APIError(415, "no Content-Type; send application/json")
        }
        if let length = request.headers[.contentLength].flatMap({ Int($0) }), length > limits.maxBodyBytes {
            throw APIError(413, "the body is \(length) bytes; the limit is \(limits.maxBodyBytes)")
        }
        // The deadline is a timer, not a check made when bytes arrive: a body that stalls
        // after its head gets its 408 on time too. The reading is cancelled at the deadline,
        // which ends the request's stream, so the connection closes after the answer.
        let body = request.body, maxBytes = limits.maxBodyBytes, seconds = limits.bodyTimeoutSeconds
        do {
            return try await withThrowingTaskGroup(of: [UInt8]?.self) { group in
                group.addTask {
                    var bytes: [UInt8] = []
                    for try await chunk in body {
                        if bytes.count + chunk.readableBytes > maxBytes {
                            throw APIError(413, "the body exceeds the limit of \(maxBytes) bytes")
                        }
                        bytes.append(contentsOf: chunk.readableBytesView)
                    }
                    return bytes
                }
                group.addTask {
                    try await Task.sleep(for: .milliseconds(Int64(seconds * 1000)))
                    return nil
                }
                let first = try await group.next() ?? nil
                group.cancelAll()
                guard let bytes = first else { throw APIError(408, "the body took longer than \(seconds) s to arrive") }
                return bytes
            }
        } catch let error as APIError {
            throw error
        } catch {
            // The HTTP parser refused what followed the head (a framing it does not accept, such
            // as `Transfer-Encoding` without `chunked`): the client's error, not the server's.
            throw APIError(400, "the request body cannot be read as HTTP/1.1: \(HTTP1ServerCodec.describe(error))")
        }
    }

    /// `application/json` or `…+json`, any case, parameters (`; charset=utf-8`) and spaces
    /// around the type ignored. On bytes: this runs for every request.
    static func isJSON(_ value: String) -> Bool {
        var media = Array(value.utf8.prefix { $0 != UInt8(ascii: ";") })
        while let last = media.last, last == 0x20 || last == 0x09 { media.removeLast() }
        let start = media.firstIndex { $0 != 0x20 && $0 != 0x09 } ?? media.endIndex
        let lower = media[start...].map { (0x41 ... 0x5A).contains($0) ? $0 | 0x20 : $0 }
        return lower.elementsEqual("application/json".utf8) || (lower.count > 5 && lower.suffix(5).elementsEqual("+json".utf8))
    }
}
