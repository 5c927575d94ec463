import Logging
import Synchronization
import Testing

@testable import SpamwardServer

/// The daemon's log handler writes the lines swift-log's `StreamLogHandler` writes (timestamp
/// aside, which both take from the clock).
@Suite struct LineLogHandlerTests {
    /// A `TextOutputStream` keeping what `StreamLogHandler` writes.
    final class Captured: TextOutputStream, Sendable {
        let text = Mutex("")
        func write(_ string: String) { text.withLock { $0 += string } }
    }

    /// The line without its leading timestamp (`2026-11-30T02:18:01+0000 `).
    static func dropTimestamp(_ line: Substring) -> Substring {
        line.drop { $0 != " " }.dropFirst()
    }

    /// Logs the same events through both handlers and returns both outputs' lines.
    static func both(_ body: (inout Logger) -> Void) -> (ours: [Substring], stream: [Substring], raw: String) {
        let output = LineLogHandler.Output.capture()
        let captured = Captured()
        var ours = Logger(label: "spamward") { label in LineLogHandler(label: label, level: .debug, output: output, metadataProvider: nil) }
        var theirs = Logger(label: "spamward") { label in
            var h = StreamLogHandler(label: label, stream: captured, metadataProvider: nil)
            h.logLevel = .debug
            return h
        }
        body(&ours)
        body(&theirs)
        let a = output.captured.split(separator: "\n").map(dropTimestamp)
        let b = captured.text.withLock { $0 }.split(separator: "\n").map(dropTimestamp)
        return (a, b, output.captured)
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String { "it failed" }
    }

    @Test func sameLinesAsStreamLogHandler() {
        let (ours, stream, _) = Self.both { logger in
            logger[metadataKey: "frontend"] = "http"
            logger[metadataKey: "hb.request.id"] = .stringConvertible(42)
            logger.info("scanned", metadata: [
                "scan.action": "spam", "scan.score": "7.25", "frontend": "rspamd", "a.list": ["x", "y"],
                "a.map": ["k": "v"],
            ])
            logger.debug("plain")
            logger.trace("below the level: not written")
            logger.notice("no metadata of its own")
            logger[metadataKey: "frontend"] = nil
            logger.error("failed", error: Failure(), metadata: ["error.message": "replaced by the error"])
            logger.warning("unicode: é 漢字", metadata: ["k": "v\nw"])
        }
        #expect(ours.count == 6)
        #expect(ours == stream)
    }

    @Test func lineShape() throws {
        let (ours, _, raw) = Self.both { logger in
            logger[metadataKey: "b"] = "2"
            logger.info("hello", metadata: ["a": "1"])
        }
        #expect(ours == ["info spamward: a=1 b=2 [SpamwardServerTests] hello"])
        // The timestamp: 2026-11-30T02:18:01+0000
        let stamp = try #require(raw.split(separator: " ").first)
        #expect(stamp.count == 24, "\(stamp)")
        #expect(stamp.dropFirst(4).first == "-" && stamp.dropFirst(10).first == "T", "\(stamp)")
    }
}
