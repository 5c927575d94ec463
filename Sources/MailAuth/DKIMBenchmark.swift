#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// DKIM verification speed: signs one typical message, then verifies it repeatedly with the key
/// record answered from memory (a warm DNS cache). Used by `spamward dkim bench` and the
/// `dkim-bench` executable (which builds in release mode without the server's dependencies).
public enum DKIMBenchmark {
    public struct Result: Sendable, Hashable {
        public var algorithm: DKIMAlgorithm
        public var messageBytes: Int
        public var verifications: Int
        /// Best round, process CPU time (user + system): the loop is sequential, so this is one
        /// core's time even on a loaded machine.
        public var cpuSeconds: Double
        /// Best round, wall-clock time.
        public var wallSeconds: Double
        public var perCPUSecond: Double { Double(verifications) / cpuSeconds }
        public var perWallSecond: Double { Double(verifications) / wallSeconds }

        public var json: String {
            "{\"algorithm\":\"\(algorithm)\",\"messageBytes\":\(messageBytes),\"verifications\":\(verifications),"
                + "\"cpuSeconds\":\(cpuSeconds),\"wallSeconds\":\(wallSeconds),"
                + "\"verificationsPerCPUSecond\":\(Int(perCPUSecond)),\"verificationsPerWallSecond\":\(Int(perWallSecond))}"
        }

        public var text: String {
            "dkim \(algorithm): \(Int(perCPUSecond)) verifications per CPU second (one core), "
                + "\(Int(perWallSecond)) per wall-clock second; \(verifications) verifications, message \(messageBytes) bytes"
        }
    }

    /// A benchmark run that did not verify.
    public struct Failure: Error, Sendable, CustomStringConvertible {
        public var description: String
    }

    /// The message verified: eight header fields and a 2.4 KB body.
    public static func message() -> [UInt8] {
        let body = String(repeating: "A line of an ordinary message body, with some words in it.\r\n", count: 40)
        return Array(
            ("Received: from mx.example.net by mx.example.org; Sun, 29 Nov 2026 12:00:00 +0000\r\n"
                + "From: Joe Sender <joe@example.com>\r\nTo: Ann Receiver <ann@example.org>\r\n"
                + "Subject: A typical message for the benchmark\r\nDate: Sun, 29 Nov 2026 12:00:00 +0000\r\n"
                + "Message-ID: <bench@example.com>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
                + body).utf8)
    }

    static func cpuSeconds() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    /// `count` verifications per round, `repeats` rounds, the best kept.
    public static func run(algorithm: DKIMAlgorithm = .rsaSHA256, count: Int = 20_000, repeats: Int = 3) async throws -> Result {
        let key = try DKIMSigningKey.generate(algorithm)
        let signed = try DKIMSigner(domain: "example.com", selector: "bench", key: key).sign(message())
        let resolver = StaticResolver(["bench._domainkey.example.com": [.txt(TXTRecord(key.keyRecord))]])
        let verifier = DKIMVerifier(resolver: resolver)
        guard await verifier.verify(message: signed).first?.code == .pass else {
            throw Failure(description: "the benchmark signature does not verify")
        }
        let n = max(1, count)
        let clock = ContinuousClock()
        var result = Result(
            algorithm: algorithm, messageBytes: signed.count, verifications: n, cpuSeconds: .infinity, wallSeconds: .infinity)
        for _ in 0..<max(1, repeats) {
            let t0 = clock.now
            let c0 = cpuSeconds()
            var passed = 0
            for _ in 0..<n where await verifier.verify(message: signed).first?.code == .pass { passed += 1 }
            let elapsed = clock.now - t0
            let cpu = cpuSeconds() - c0
            guard passed == n else { throw Failure(description: "verification failed during the run") }
            result.cpuSeconds = min(result.cpuSeconds, cpu)
            result.wallSeconds = min(
                result.wallSeconds, Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
        }
        return result
    }
}
