import Foundation
import MailAuth
import Yams

/// One test of an OpenSPF YAML suite, with its scenario's zone loaded into a ``StaticResolver``.
struct SPFSuiteCase: Sendable, CustomStringConvertible {
    var file: String
    var scenario: String
    var name: String
    var helo: String
    var host: String
    var mailFrom: String
    /// Acceptable results, the preferred one first.
    var results: [String]
    var explanation: String?
    var zone: StaticResolver

    var description: String { name }

    /// What the checker said, and whether the suite accepts it.
    struct Outcome: Sendable {
        var result: SPFResult?
        var problem: String?
        var passed: Bool { problem == nil }
    }

    func run() async -> Outcome {
        guard let ip = IPAddress(host) else { return Outcome(result: nil, problem: "unparsable host \(host)") }
        var options = SPFVerifier.Options()
        // The suites expect the default explanation to be configurable; their drivers set "DEFAULT".
        options.defaultExplanation = "DEFAULT"
        let verifier = SPFVerifier(resolver: zone, options: options)
        let r = await verifier.check(ip: ip, helo: helo, mailFrom: mailFrom)
        if !results.contains(r.code.rawValue) {
            return Outcome(
                result: r,
                problem: "\(name): got \(r.code) (\(r.reason)), expected \(results.joined(separator: " or "))")
        }
        if let explanation, r.explanation != explanation {
            return Outcome(
                result: r,
                problem: "\(name): explanation \(r.explanation.map { "'\($0)'" } ?? "nil"), expected '\(explanation)'")
        }
        return Outcome(result: r, problem: nil)
    }
}

/// Loads the OpenSPF suites from `/work/shared/testsuites/spf` (found relative to this file as
/// `../../../shared/testsuites/spf`, i.e. beside the package's checkout).
enum SPFSuite {
    static let folder: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()  // MailAuthTests
        .appendingPathComponent("../../../shared/testsuites/spf")
        .standardizedFileURL

    static var isAvailable: Bool {
        FileManager.default.fileExists(atPath: folder.appendingPathComponent("rfc7208-tests.yml").path)
    }

    static let skipMessage = "the OpenSPF test suites are not at \(folder.path)"

    static let rfc7208File = load("rfc7208-tests.yml")
    static let rfc4408File = load("rfc4408-tests.yml")
    static var rfc7208: [SPFSuiteCase] { rfc7208File.cases }
    static var rfc4408: [SPFSuiteCase] { rfc4408File.cases }

    /// A suite file's cases, or why it could not be read.
    struct Loaded: Sendable {
        var cases: [SPFSuiteCase]
        var error: String?
    }

    /// The cases of one suite file; none when the file is absent, none and an error when it is
    /// present but cannot be read or parsed (the summary tests report it).
    static func load(_ fileName: String) -> Loaded {
        let url = folder.appendingPathComponent(fileName)
        guard FileManager.default.fileExists(atPath: url.path) else { return Loaded(cases: []) }
        do {
            let text = try String(contentsOf: url, encoding: .utf8)
            var cases: [SPFSuiteCase] = []
            for document in try Yams.compose_all(yaml: text) {
                cases += try scenario(document, file: fileName)
            }
            return Loaded(cases: cases)
        } catch {
            return Loaded(cases: [], error: "cannot load \(url.path): \(error)")
        }
    }

    struct FormatError: Error, CustomStringConvertible {
        var description: String
    }

    private static func scenario(_ document: Node, file: String) throws -> [SPFSuiteCase] {
        let description = document["description"]?.scalar?.string ?? "?"
        let zone = try zoneData(document["zonedata"], scenario: description)
        guard let tests = document["tests"]?.mapping else {
            throw FormatError(description: "no tests in \(description)")
        }
        var cases: [SPFSuiteCase] = []
        for (key, test) in tests {
            guard let name = key.scalar?.string else { continue }
            func field(_ k: String) -> String? { test[k]?.scalar?.string }
            var results: [String] = []
            if let one = field("result") {
                results = [one]
            } else if let list = test["result"]?.sequence {
                results = list.compactMap { $0.scalar?.string }
            }
            guard let helo = field("helo"), let host = field("host"), let mailFrom = field("mailfrom"), !results.isEmpty
            else {
                throw FormatError(description: "incomplete test \(name)")
            }
            cases.append(
                SPFSuiteCase(
                    file: file, scenario: description, name: name, helo: helo, host: host, mailFrom: mailFrom,
                    results: results, explanation: field("explanation"), zone: zone))
        }
        return cases
    }

    /// The record types a `TIMEOUT` entry can affect.
    private static let allTypes: [DNSRecordType] = [.a, .aaaa, .mx, .txt, .ptr, .cname]

    /// Builds the zone the way the suite's reference driver (pyspf's testspf.py) reads it:
    /// - `SPF` records are also served as `TXT` unless the name lists any `TXT` entry (RFC 7208
    ///   uses only TXT; type SPF itself is never asked for), appended after the name's entries;
    /// - `TXT: NONE` serves nothing but suppresses that copying;
    /// - `TIMEOUT` makes a question time out unless a record of the asked type comes before it.
    private static func zoneData(_ node: Node?, scenario: String) throws -> StaticResolver {
        var resolver = StaticResolver()
        guard let mapping = node?.mapping else { return resolver }
        for (key, entries) in mapping {
            guard let name = key.scalar?.string else { continue }
            enum Entry {
                case record(DNSRecord)
                case timeout
            }
            var list: [Entry] = []
            var copiedSPF: [DNSRecord] = []
            var hasTXT = false
            for entry in entries.sequence ?? [] {
                if entry.scalar?.string == "TIMEOUT" {
                    list.append(.timeout)
                    continue
                }
                guard let (typeNode, value) = entry.mapping?.first, let type = typeNode.scalar?.string else {
                    throw FormatError(description: "odd zone entry at \(name) in \(scenario)")
                }
                if value.scalar?.string == "NONE" {
                    if type == "TXT" { hasTXT = true }
                    continue
                }
                switch type {
                case "TXT", "SPF":
                    let strings =
                        value.sequence.map { $0.compactMap { $0.scalar?.string } } ?? [value.scalar?.string ?? ""]
                    let record = DNSRecord.txt(TXTRecord(strings))
                    if type == "TXT" {
                        hasTXT = true
                        list.append(.record(record))
                    } else {
                        copiedSPF.append(record)  // type 99 itself is never queried
                    }
                case "A":
                    guard let a = value.scalar.flatMap({ IPv4Address($0.string) }) else {
                        throw FormatError(description: "bad A at \(name)")
                    }
                    list.append(.record(.a(a)))
                case "AAAA":
                    guard let a = value.scalar.flatMap({ IPv6Address($0.string) }) else {
                        throw FormatError(description: "bad AAAA at \(name)")
                    }
                    list.append(.record(.aaaa(a)))
                case "MX":
                    guard let pair = value.sequence, pair.count == 2,
                        let pref = pair[0].scalar.flatMap({ UInt16($0.string) }),
                        let host = pair[1].scalar?.string
                    else { throw FormatError(description: "bad MX at \(name)") }
                    list.append(.record(.mx(preference: pref, exchange: host)))
                case "PTR":
                    list.append(.record(.ptr(value.scalar?.string ?? "")))
                case "CNAME":
                    list.append(.record(.cname(value.scalar?.string ?? "")))
                default:
                    throw FormatError(description: "unknown record type \(type) at \(name)")
                }
            }
            if !hasTXT { list += copiedSPF.map { .record($0) } }
            var seenTypes: Set<DNSRecordType> = []
            for entry in list {
                switch entry {
                case .record(let r):
                    resolver.add(r, at: name)
                    seenTypes.insert(r.type)
                case .timeout:
                    let failing = Set(allTypes.filter { !seenTypes.contains($0) })
                    if !failing.isEmpty { resolver.fail(name, with: .timeout, types: failing) }
                }
            }
        }
        return resolver
    }
}
