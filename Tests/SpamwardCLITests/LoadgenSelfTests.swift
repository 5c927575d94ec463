import Foundation
import SpamwardTestSupport
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
    static let python = ProcessRunner.find(["/usr/bin/python3", "/usr/local/bin/python3"])

    @Test(.enabled(if: python != nil, "needs python3"))
    func fakeServers() async throws {
        let loadgen = try CLI.findExecutable(named: "spamward-loadgen")
        // About 45 s: ProcessRunner waits on a Dispatch thread, so the suite's other async tests
        // keep the cooperative pool's threads.
        let (status, text) = try await ProcessRunner.runWithStatus(Self.python!, [Self.script.path, loadgen.path],
                                                                  standardError: true)
        #expect(status == 0, "\(text.split(separator: "\n").filter { !$0.hasPrefix("ok ") }.joined(separator: "\n"))")
        #expect(text.contains("all scenarios passed"))
    }
}
