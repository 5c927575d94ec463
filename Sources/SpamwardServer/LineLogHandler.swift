#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Logging
import Synchronization

/// The daemon's log handler: the same lines as swift-log's `StreamLogHandler`
/// (`2026-11-30T02:18:01+0000 info spamward: frontend=http scan.action=ham [SpamwardHTTP] scanned`,
/// metadata sorted by key), made for one line per scanned message:
///
/// - metadata set on a logger (`frontend`, `hb.request.id`, `spamd.conn_id`, ...) is kept as
///   it is and only rendered when a line is written (`StreamLogHandler` sorts and joins all of
///   it again each time one key is set: per request, even when nothing is logged);
/// - the timestamp is formatted once per second, not with `localtime` and `strftime` per line;
/// - the line is built as bytes and written with one `write(2)`, under a lock so that lines
///   from different threads never interleave.
///
/// Under load at one line per message (perf, `/checkv2`, c=50) building the line went from about
/// 2.2% of the daemon's CPU to 1.3%; the `write(2)` itself (about 1.4%) is the same as before
/// (docs/loadbench.md, 30 Nov, early morning).
public struct LineLogHandler: LogHandler {
    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    private let label: String
    private let output: Output

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    /// A handler writing to standard error.
    public static func standardError(label: String, level: Logger.Level = .info) -> LineLogHandler {
        LineLogHandler(label: label, level: level, output: .standardError)
    }

    /// A handler writing to `output` (tests give an ``Output/capture()`` one).
    public init(label: String, level: Logger.Level = .info, output: Output,
                metadataProvider: Logger.MetadataProvider? = LoggingSystem.metadataProvider) {
        self.label = label
        self.logLevel = level
        self.output = output
        self.metadataProvider = metadataProvider
    }

    public func log(event: LogEvent) {
        // Metadata, later sources overriding earlier ones: the logger's, the provider's, the event's.
        var pairs: [(key: String, value: Logger.MetadataValue)] = []
        let provided = metadataProvider?.get() ?? [:]
        let explicit = event.metadata ?? [:]
        pairs.reserveCapacity(metadata.count + provided.count + explicit.count + 2)
        for (k, v) in metadata where provided[k] == nil && explicit[k] == nil { pairs.append((k, v)) }
        for (k, v) in provided where explicit[k] == nil { pairs.append((k, v)) }
        for (k, v) in explicit { pairs.append((k, v)) }
        if let error = event.error {
            pairs.removeAll { $0.key == "error.message" || $0.key == "error.type" }
            pairs.append(("error.message", "\(error)"))
            pairs.append(("error.type", "\(String(reflecting: type(of: error)))"))
        }
        pairs.sort { $0.key < $1.key }

        var line: [UInt8] = []
        line.reserveCapacity(160 + pairs.count * 24)
        output.timestamp.append(to: &line)
        line.append(UInt8(ascii: " "))
        line.append(contentsOf: event.level.rawValue.utf8)
        if !label.isEmpty {
            line.append(UInt8(ascii: " "))
            line.append(contentsOf: label.utf8)
        }
        line.append(UInt8(ascii: ":"))
        for (k, v) in pairs {
            line.append(UInt8(ascii: " "))
            line.append(contentsOf: k.utf8)
            line.append(UInt8(ascii: "="))
            Self.append(v, to: &line)
        }
        line.append(contentsOf: " [".utf8)
        line.append(contentsOf: event.source.utf8)
        line.append(contentsOf: "] ".utf8)
        line.append(contentsOf: event.message.description.utf8)
        line.append(UInt8(ascii: "\n"))
        output.write(line)
    }

    /// A value as `StreamLogHandler` prints it (`MetadataValue.description`), without the
    /// detour through `description` for plain strings.
    private static func append(_ value: Logger.MetadataValue, to line: inout [UInt8]) {
        switch value {
        case .string(let s): line.append(contentsOf: s.utf8)
        case .stringConvertible(let c): line.append(contentsOf: c.description.utf8)
        default: line.append(contentsOf: value.description.utf8)
        }
    }

    /// Where the lines go, with the per-second timestamp cache.
    public final class Output: Sendable {
        fileprivate let timestamp = TimestampCache()
        private let fd: Int32?
        private let lock = Mutex<[UInt8]>([])

        private init(fd: Int32?) { self.fd = fd }

        /// Standard error (file descriptor 2).
        public static let standardError = Output(fd: 2)

        /// Keeps the lines in memory (``captured``), for tests.
        public static func capture() -> Output { Output(fd: nil) }

        /// What a capturing output has received (empty for a file descriptor).
        public var captured: String { lock.withLock { String(decoding: $0, as: UTF8.self) } }

        fileprivate func write(_ line: [UInt8]) {
            lock.withLock { kept in
                guard let fd else {
                    // Bounded: a test's capture keeps at most 1 MB.
                    if kept.count + line.count <= 1 << 20 { kept.append(contentsOf: line) }
                    return
                }
                line.withUnsafeBytes { raw in
                    guard var p = raw.baseAddress else { return }
                    var left = raw.count
                    // Partial writes are continued; EINTR retried; any other error drops the
                    // rest of the line (as stdio would, logging must not stop the daemon).
                    while left > 0 {
                        let n = systemWrite(fd, p, left)
                        if n > 0 {
                            p += n
                            left -= n
                        } else if n < 0 && errno == EINTR {
                            continue
                        } else {
                            return
                        }
                    }
                }
            }
        }
    }
}

/// write(2), under a name that does not clash with ``LineLogHandler/Output/write(_:)``.
private func systemWrite(_ fd: Int32, _ p: UnsafeRawPointer, _ n: Int) -> Int {
    write(fd, p, n)
}

/// `%Y-%m-%dT%H:%M:%S%z` in local time, formatted again only when the second changes.
final class TimestampCache: Sendable {
    private let cached = Mutex<(second: Int, text: [UInt8])>((-1, []))

    func append(to line: inout [UInt8]) {
        var now = time(nil)
        let second = Int(now)
        let text: [UInt8] = cached.withLock { c in
            if c.second == second { return c.text }
            var t = tm()
            var buffer = [Int8](repeating: 0, count: 64)
            var formatted: [UInt8] = Array("<unknown>".utf8)
            if localtime_r(&now, &t) != nil {
                let n = strftime(&buffer, buffer.count, "%Y-%m-%dT%H:%M:%S%z", &t)
                formatted = buffer.prefix(n).map { UInt8(bitPattern: $0) }
            }
            c = (second, formatted)
            return formatted
        }
        line.append(contentsOf: text)
    }
}
