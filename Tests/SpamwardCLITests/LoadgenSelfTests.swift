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
    func fakeServers() throws {
        let loadgen = try CLI.findExecutable(named: "spamward-loadgen")
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Self.python!)
        p.arguments = [Self.script.path, loadgen.path]
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("loadgen-selftest-\(UUID().uuidString).txt")
        _ = FileManager.default.createFile(atPath: out.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: out) }
        let handle = try FileHandle(forWritingTo: out)
        p.standardOutput = handle
        p.standardError = handle
        try p.run()
        p.waitUntilExit()
        try handle.close()
        let text = (try? String(contentsOf: out, encoding: .utf8)) ?? ""
        #expect(p.terminationStatus == 0, "\(text.split(separator: "\n").filter { !$0.hasPrefix("ok ") }.joined(separator: "\n"))")
        #expect(text.contains("all scenarios passed"))
    }
}
