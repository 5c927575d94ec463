import Foundation

/// Runs programs (dig, rbldnsd, …) from async tests without blocking the cooperative pool: the
/// blocking `Process` calls run on a Dispatch thread and the test awaits the result.
public enum ProcessRunner {
    /// Runs `executable` with `arguments` to completion; returns its standard output (standard
    /// error is discarded).
    public static func run(_ executable: String, _ arguments: [String]) async throws -> String {
        try await withCheckedThrowingContinuation { (c: CheckedContinuation<String, any Error>) in
            DispatchQueue.global().async {
                let p = Process()
                p.executableURL = URL(fileURLWithPath: executable)
                p.arguments = arguments
                let out = Pipe()
                p.standardOutput = out
                p.standardError = FileHandle.nullDevice
                do {
                    try p.run()
                    let data = out.fileHandleForReading.readDataToEndOfFile()
                    p.waitUntilExit()
                    c.resume(returning: String(decoding: data, as: UTF8.self))
                } catch {
                    c.resume(throwing: error)
                }
            }
        }
    }

    /// The first of `candidates` that is an executable file (nil: none is installed).
    public static func find(_ candidates: [String]) -> String? {
        candidates.first { FileManager.default.isExecutableFile(atPath: $0) }
    }
}
