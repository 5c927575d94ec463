import Foundation
import Testing

/// The load generator behind scripts/loadbench must count exactly what loadbench.py counts: its
/// self-test runs the built `spamward-loadgen` against fake spamd and HTTP servers (good, split,
/// chunked, closing, malformed, oversized and silent replies; the request bytes on the wire) and
/// fails when a bad reply counts as a success or a good one as an error.
@Suite("spamward-loadgen self-test")
struct LoadgenSelfTests {
    static let script: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("scripts/loadbench/loadgen_selftest.py")
    static let python: String? = ["/usr/bin/python3", "/usr/local/bin/python3"].first {
        FileManager.default.isExecutableFile(atPath: $0)
    }

    @Test(.enabled(if: python != nil, "needs python3"))
    func fakeServers() async throws {
        let loadgen = try CLI.findExecutable(named: "spamward-loadgen")
        let (status, text) = try await Self.run(Self.python!, [Self.script.path, loadgen.path])
        #expect(status == 0, "\(text.split(separator: "\n").filter { !$0.hasPrefix("ok ") }.joined(separator: "\n"))")
        #expect(text.contains("all scenarios passed"))
    }

    /// Runs the self-test (about 45 s) on a Dispatch thread: waiting for it on the cooperative
    /// pool would hold one of its two threads here, and stall the suite's other async tests.
    static func run(_ executable: String, _ arguments: [String]) async throws -> (Int32, String) {
        try await withCheckedThrowingContinuation { (c: CheckedContinuation<(Int32, String), any Error>) in
            DispatchQueue.global().async {
                let p = Process()
                p.executableURL = URL(fileURLWithPath: executable)
                p.arguments = arguments
                let out = Pipe()
                p.standardOutput = out
                p.standardError = out
                do {
                    try p.run()
                    let data = out.fileHandleForReading.readDataToEndOfFile()
                    p.waitUntilExit()
                    c.resume(returning: (p.terminationStatus, String(decoding: data, as: UTF8.self)))
                } catch {
                    c.resume(throwing: error)
                }
            }
        }
    }
}
