import ArgumentParser
import Foundation
import MailAuth
import MailMessage
import SpamwardCore
import SpamwardDNS

// MARK: - The resolver the authentication commands use

/// The one place that turns `--dns` / `--zone` into a resolver. `--zone FILE` answers from zone
/// text (see `StaticResolver(zoneText:)`); `--dns ADDR` asks that server with the daemon's
/// resolver; with neither, the servers of /etc/resolv.conf are asked.
func makeAuthResolver(dns: String?, zone: String?) throws -> any DNSResolver {
    if let zone {
        let text: String
        do { text = try String(contentsOfFile: zone, encoding: .utf8) } catch {
            throw CLIError("cannot read zone file \(zone)", code: .noInput)
        }
        do { return try StaticResolver(zoneText: text) } catch {
            throw CLIError("\(zone): \(error)", code: .dataError)
        }
    }
    if let dns {
        guard let server = DNSServerAddress(dns) else {
            throw CLIError("--dns \(dns): give an IP address, IP:port or [IPv6]:port", code: .usage)
        }
        return NIODNSResolver(configuration: DNSResolverConfiguration(servers: [server]))
    }
    // Neither: the system's name servers (/etc/resolv.conf).
    return NIODNSResolver(configuration: DNSResolverConfiguration())
}

extension Symbol {
    /// An authentication symbol as a verdict symbol.
    init(_ s: AuthSymbol) {
        self.init(name: s.name, score: s.score, description: s.description, options: s.options)
    }
}

func readInput(_ path: String) throws -> [UInt8] {
    if path == "-" { return Array(FileHandle.standardInput.readDataToEndOfFile()) }
    guard let data = FileManager.default.contents(atPath: path) else {
        throw CLIError("cannot read \(path)", code: .noInput)
    }
    return Array(data)
}

// MARK: - spamward auth

extension Spamward {
    struct Auth: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check SPF, DKIM, DMARC and ARC for a message and print every result with its reason.",
            discussion: """
                Results use the words of RFC 8601 (pass, fail, softfail, neutral, none, temperror,
                permerror, policy). Exit code 0 whatever the results; 64 usage, 65 bad zone data,
                66 unreadable input.
                """)

        @Argument(help: "The message file (- for standard input).") var file: String
        @Option(help: "The connecting client's IP address (SPF is skipped without it).") var ip: String?
        @Option(help: "The HELO/EHLO name.") var helo: String?
        @Option(name: .customLong("mail-from"), help: "The MAIL FROM address (empty for <>).") var mailFrom: String?
        @Option(help: "A DNS server address (reserved for the network resolver).") var dns: String?
        @Option(help: "Answer DNS questions from this zone file instead of the network.") var zone: String?
        @Option(name: .customLong("authserv-id"), help: "The authserv-id of the Authentication-Results line.")
        var authservID = "localhost"
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            do { try await runAuth() } catch let e as CLIError {
                printError(e.description)
                throw e.exit
            }
        }

        func runAuth() async throws {
            let resolver = try makeAuthResolver(dns: dns, zone: zone)
            var clientIP: IPAddress?
            if let ip {
                guard let parsed = IPAddress(ip) else { throw CLIError("--ip \(ip) is not an IP address", code: .usage) }
                clientIP = parsed
            }
            guard let psl = PublicSuffixList.system else {
                throw CLIError("no Public Suffix List at \(PublicSuffixList.systemPath) (apt-get install publicsuffix)", code: .noInput)
            }
            let message = MessageParser.parse(try readInput(file))
            let r = await MessageAuthenticator(resolver: resolver, publicSuffixList: psl)
                .authenticate(message, clientIP: clientIP, helo: helo, mailFrom: mailFrom)
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
                FileHandle.standardOutput.write(try encoder.encode(AuthJSON(r, authservID: authservID)))
                print()
                return
            }
            print(Self.text(r, authservID: authservID), terminator: "")
        }

        static func text(_ r: AuthenticationResults, authservID: String) -> String {
            var out = ""
            if let spf = r.spf {
                out += "spf: \(spf.code) (\(spf.identity.rawValue) \(spf.domain)): \(spf.reason)\n"
            } else {
                out += "spf: not checked (no --ip)\n"
            }
            if r.dkim.isEmpty { out += "dkim: none (no signatures)\n" }
            for (i, d) in r.dkim.enumerated() {
                out += "dkim[\(i)]: \(d.code) d=\(d.domain) s=\(d.selector)"
                if let a = d.algorithm { out += " a=\(a)" }
                if let reason = d.reason { out += ": \(reason)\(d.detail.isEmpty ? "" : " (\(d.detail))")" }
                out += "\n"
            }
            out += "dmarc: \(r.dmarc.code) header.from=\(r.dmarc.fromDomain)"
            if let p = r.dmarc.requestedPolicy { out += " p=\(p) disposition=\(r.dmarc.disposition)" }
            out += ": \(r.dmarc.reason)\n"
            out += "arc: \(r.arc.code)"
            if let o = r.arc.oldestPass { out += " oldest-pass=\(o)" }
            out += ": \(r.arc.reason)\n"
            for s in r.symbols {
                out += "symbol: \(s.name) \(s.score)" + (s.options.isEmpty ? "" : " [\(s.options.joined(separator: ", "))]") + "\n"
            }
            out += "Authentication-Results: \(r.headerValue(authservID: authservID, separator: ";\n\t"))\n"
            return out
        }
    }

    struct AuthJSON: Encodable {
        struct SPF: Encodable {
            var result: String, identity: String, domain: String, reason: String, mechanism: String?
        }
        struct DKIM: Encodable {
            var result: String, reason: String?, detail: String, domain: String, selector: String, algorithm: String?
        }
        struct DMARC: Encodable {
            var result: String, fromDomain: String, policyDomain: String?, policy: String?, disposition: String
            var spfAligned: Bool, dkimAligned: Bool, reason: String
        }
        struct ARC: Encodable {
            var result: String, reason: String, instances: Int, oldestPass: Int?
        }
        var spf: SPF
        var dkim: [DKIM]
        var dmarc: DMARC
        var arc: ARC
        var symbols: [Symbol]
        var authenticationResults: String

        init(_ r: AuthenticationResults, authservID: String) {
            spf = r.spf.map {
                SPF(result: $0.code.rawValue, identity: $0.identity.rawValue, domain: $0.domain, reason: $0.reason, mechanism: $0.mechanism)
            } ?? SPF(result: "none", identity: "", domain: "", reason: "not checked: no client IP", mechanism: nil)
            dkim = r.dkim.map {
                DKIM(result: $0.code.rawValue, reason: $0.reason?.description, detail: $0.detail, domain: $0.domain,
                     selector: $0.selector, algorithm: $0.algorithm?.rawValue)
            }
            dmarc = DMARC(
                result: r.dmarc.code.rawValue, fromDomain: r.dmarc.fromDomain, policyDomain: r.dmarc.policyDomain,
                policy: r.dmarc.requestedPolicy?.rawValue, disposition: r.dmarc.disposition.rawValue,
                spfAligned: r.dmarc.spfAligned, dkimAligned: r.dmarc.dkimAligned, reason: r.dmarc.reason)
            arc = ARC(result: r.arc.code.rawValue, reason: r.arc.reason, instances: r.arc.instances, oldestPass: r.arc.oldestPass)
            symbols = r.symbols.map(Symbol.init)
            authenticationResults = r.headerValue(authservID: authservID)
        }
    }
}

// MARK: - spamward dkim sign | keygen | bench

extension Spamward {
    struct DKIM: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "dkim", abstract: "Sign messages with DKIM, make keys, measure verification speed.",
            subcommands: [Sign.self, Keygen.self, Bench.self])
    }
}

extension DKIMAlgorithm: ExpressibleByArgument {
    public init?(argument: String) { self.init(rawValue: argument) }
}

extension Spamward.DKIM {
    struct Sign: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Sign a message and write it, with its DKIM-Signature field, to standard output.")

        @Option(help: "The signing domain (d=).") var domain: String
        @Option(help: "The selector (s=).") var selector: String
        @Option(help: "The private key: PEM (RSA PKCS#1/PKCS#8, Ed25519 PKCS#8) or a base64 Ed25519 seed.")
        var key: String
        @Option(help: "rsa-sha256 or ed25519-sha256; must match the key (default: the key's).")
        var algorithm: DKIMAlgorithm?
        @Option(help: "Header/body canonicalization: simple or relaxed, e.g. relaxed/simple.")
        var canonicalization = "relaxed/relaxed"
        @Option(help: "Header fields to sign, colon-separated (default: From, To, Subject, Date, Message-ID, MIME and list fields).")
        var headers: String?
        @Flag(help: "Add l= (the signed body length).") var bodyLength = false
        @Flag(help: "Add t= (now).") var timestamp = false
        @Option(help: "Add x=, this many seconds after t= (implies --timestamp).") var expireAfter: Int64?
        @Argument(help: "The message file (- for standard input).") var file: String

        func run() async throws {
            do {
                let keyText: String
                do { keyText = try String(contentsOfFile: key, encoding: .utf8) } catch {
                    throw CLIError("cannot read key \(key)", code: .noInput)
                }
                let signingKey = try DKIMSigningKey(pem: keyText)
                if let algorithm, algorithm != signingKey.algorithm {
                    throw CLIError("--algorithm \(algorithm) does not match the \(signingKey.algorithm) key", code: .usage)
                }
                var options = DKIMSigner.Options()
                let c = canonicalization.split(separator: "/").map(String.init)
                guard (1...2).contains(c.count), let hc = DKIMCanonicalization(rawValue: c[0]),
                    let bc = DKIMCanonicalization(rawValue: c.count == 2 ? c[1] : "simple")
                else { throw CLIError("--canonicalization: simple or relaxed, e.g. relaxed/relaxed", code: .usage) }
                options.headerCanonicalization = hc
                options.bodyCanonicalization = bc
                if let headers { options.signedHeaders = headers.split(separator: ":").map(String.init) }
                options.includeBodyLength = bodyLength
                if timestamp || expireAfter != nil { options.timestamp = nowSeconds() }
                options.expirationSeconds = expireAfter
                let signer = try DKIMSigner(domain: domain, selector: selector, key: signingKey, options: options)
                FileHandle.standardOutput.write(Data(try signer.sign(try readInput(file))))
            } catch let e as CLIError {
                printError(e.description)
                throw e.exit
            } catch let e as DKIMSigningError {
                printError(e.description)
                throw ExitCode(CLIError.Code.dataError.rawValue)
            }
        }
    }

    struct Keygen: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Make a signing key: the private key (PEM) to a file, the DNS TXT record to standard output.")

        @Option(help: "rsa-sha256 or ed25519-sha256.") var algorithm: DKIMAlgorithm = .rsaSHA256
        @Option(help: "RSA key size: 2048, 3072 or 4096.") var bits = 2048
        @Option(help: "Where to write the private key (PEM, mode 0600).") var out: String
        @Option(help: "With --domain, print the record as a zone line for SELECTOR._domainkey.DOMAIN.") var selector: String?
        @Option(help: "The signing domain.") var domain: String?

        func run() async throws {
            do {
                let key = try DKIMSigningKey.generate(algorithm, rsaBits: bits)
                guard FileManager.default.createFile(
                    atPath: out, contents: Data(key.pemRepresentation.utf8), attributes: [.posixPermissions: 0o600])
                else { throw CLIError("cannot write \(out)", code: .ioError) }
                let quoted = Self.quoted(key.keyRecord)
                if let selector, let domain {
                    print("\(selector)._domainkey.\(domain) TXT \(quoted)")
                } else {
                    print(quoted)
                }
            } catch let e as CLIError {
                printError(e.description)
                throw e.exit
            } catch let e as DKIMSigningError {
                printError(e.description)
                throw ExitCode(CLIError.Code.usage.rawValue)
            }
        }

        /// The record as quoted strings of at most 255 bytes (zone-file form).
        static func quoted(_ record: String) -> String {
            let u = Array(record.utf8)
            var parts: [String] = []
            var i = 0
            while i < u.count {
                parts.append("\"" + String(decoding: u[i..<min(i + 255, u.count)], as: UTF8.self) + "\"")
                i += 255
            }
            return parts.joined(separator: " ")
        }
    }

    struct Bench: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Measure DKIM verifications per second on one core (rsa-sha256 2048-bit by default).",
            discussion: """
                Signs one typical message, then verifies it repeatedly with the key record answered from
                memory (a warm DNS cache). Rates are per CPU second of the process (the loop is
                sequential: one core) and per wall-clock second. Build with -c release.
                """)

        @Option(help: "How many verifications per round.") var count = 20_000
        @Option(help: "Rounds; the best is kept.") var repeats = 3
        @Option(help: "rsa-sha256 or ed25519-sha256.") var algorithm: DKIMAlgorithm = .rsaSHA256
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            do {
                let r = try await DKIMBenchmark.run(algorithm: algorithm, count: count, repeats: repeats)
                print(json ? r.json : r.text)
            } catch {
                printError("\(error)")
                throw ExitCode(CLIError.Code.software.rawValue)
            }
        }
    }
}
