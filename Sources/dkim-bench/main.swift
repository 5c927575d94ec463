// DKIM verification benchmark without the server's dependencies, so that a release build is quick:
//   swift build -c release --product dkim-bench && .build/release/dkim-bench [COUNT] [rsa-sha256|ed25519-sha256]
// `spamward dkim bench` runs the same code.
import MailAuth

let arguments = CommandLine.arguments.dropFirst()
let count = arguments.first.flatMap { Int($0) } ?? 20_000
let algorithm = arguments.dropFirst().first.flatMap(DKIMAlgorithm.init(rawValue:)) ?? .rsaSHA256
let result = try await DKIMBenchmark.run(algorithm: algorithm, count: count, repeats: 3)
print(result.text)
print(result.json)
