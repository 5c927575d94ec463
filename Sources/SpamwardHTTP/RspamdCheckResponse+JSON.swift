import HTTPTypes
import Hummingbird
import NIOCore

extension RspamdCheckResponse: ResponseGenerator {
    /// The same JSON as the `Encodable` conformance gives (keys and values; key order differs),
    /// written directly: this reply is built once per scanned message.
    func response(from request: Request, context: some RequestContext) throws -> Response {
        Response(status: .ok, headers: [.contentType: "application/json; charset=utf-8"], body: .init(byteBuffer: json))
    }

    /// The reply's JSON.
    var json: ByteBuffer {
        var w = JSONWriter(capacity: 512 + symbols.count * 128)
        w.beginObject()
        w.key("is_skipped")
        w.bool(is_skipped)
        w.key("score")
        w.number(score)
        w.key("required_score")
        w.number(required_score)
        w.key("action")
        w.string(action)
        w.key("thresholds")
        w.beginObject()
        for (k, v) in thresholds {
            w.key(k)
            w.number(v)
        }
        w.endObject()
        w.key("symbols")
        w.beginObject()
        for (k, s) in symbols {
            w.key(k)
            w.beginObject()
            w.key("name")
            w.string(s.name)
            w.key("score")
            w.number(s.score)
            w.key("metric_score")
            w.number(s.metric_score)
            w.key("description")
            w.string(s.description)
            if let options = s.options {
                w.key("options")
                w.beginArray()
                for o in options { w.string(o) }
                w.endArray()
            }
            w.endObject()
        }
        w.endObject()
        w.key("messages")
        w.beginObject()
        for (k, v) in messages {
            w.key(k)
            w.string(v)
        }
        w.endObject()
        w.key("milter")
        w.beginObject()
        w.key("add_headers")
        w.beginObject()
        for (k, h) in milter.add_headers {
            w.key(k)
            w.beginObject()
            w.key("value")
            w.string(h.value)
            w.key("order")
            w.number(h.order)
            w.endObject()
        }
        w.endObject()
        w.key("remove_headers")
        w.beginObject()
        for (k, v) in milter.remove_headers {
            w.key(k)
            w.number(v)
        }
        w.endObject()
        w.endObject()
        if let message_id {
            w.key("message-id")
            w.string(message_id)
        }
        w.key("time_real")
        w.number(time_real)
        w.key("scan_time")
        w.number(scan_time)
        w.endObject()
        return w.buffer
    }
}
