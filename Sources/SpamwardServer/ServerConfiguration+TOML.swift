import MailAuth
import SpamwardCore
import SpamwardDNS
import SpamwardHTTP
import TOMLKit

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// An error in a configuration file: every problem found, each with where it is.
public struct ConfigurationError: Error, CustomStringConvertible {
    public var problems: [String]
    public init(problems: [String]) { self.problems = problems }
    public var description: String { problems.joined(separator: "\n") }
}

extension ServerConfiguration {
    /// The file's configuration, or the defaults when `path` is nil.
    public static func load(path: String?) throws(ConfigurationError) -> ServerConfiguration {
        guard let path else { return ServerConfiguration() }
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ConfigurationError(problems: ["cannot read \(path): \(error)"])
        }
        return try parse(toml: text)
    }

    /// Parses a TOML configuration. Unknown sections and keys are errors (a typo must not
    /// silently leave a default in place); so are values of the wrong type or out of range.
    public static func parse(toml text: String) throws(ConfigurationError) -> ServerConfiguration {
        let root: TOMLTable
        do {
            root = try TOMLTable(string: text)
        } catch let e as TOMLParseError {
            throw ConfigurationError(problems: ["TOML syntax error at line \(e.source.begin.line), column \(e.source.begin.column): \(e.description)"])
        } catch {
            throw ConfigurationError(problems: ["TOML syntax error: \(error)"])
        }
        var reader = TOMLReader()
        var c = ServerConfiguration()
        reader.section(root, "", known: ["store", "scan", "policy", "milter", "spamd", "http", "rspamd", "auth", "authentication", "dns", "log", "server", "campaigns", "botnet", "uribl", "edge"])

        if let t = reader.table(root, "store") {
            reader.section(t, "store", known: ["path"])
            c.storePath = reader.string(t, "store", "path") ?? c.storePath
        }
        if let t = reader.table(root, "scan") {
            reader.section(t, "scan", known: ["spam_threshold", "unsure_threshold", "max_message_bytes"])
            c.thresholds.spam = reader.double(t, "scan", "spam_threshold") ?? c.thresholds.spam
            c.thresholds.unsure = reader.double(t, "scan", "unsure_threshold") ?? c.thresholds.unsure
            c.maxMessageBytes = reader.int(t, "scan", "max_message_bytes", in: 1024...(1 << 30)) ?? c.maxMessageBytes
            if c.thresholds.unsure > c.thresholds.spam {
                reader.problems.append("scan.unsure_threshold must not be above scan.spam_threshold")
            }
        }
        if let t = reader.table(root, "policy") {
            reader.section(t, "policy", known: ["spam", "unsure", "ham", "reject_text", "on_fault", "oversize"])
            c.policy.spam = reader.choice(t, "policy", "spam", ActionPolicy.Disposition.self) ?? c.policy.spam
            c.policy.unsure = reader.choice(t, "policy", "unsure", ActionPolicy.Disposition.self) ?? c.policy.unsure
            c.policy.ham = reader.choice(t, "policy", "ham", ActionPolicy.Disposition.self) ?? c.policy.ham
            if let text = reader.string(t, "policy", "reject_text") {
                if text.contains(where: { $0 == "\r" || $0 == "\n" }) || text.isEmpty || text.utf8.count > 400 {
                    reader.problems.append("policy.reject_text must be one line of at most 400 bytes")
                } else {
                    c.policy.rejectText = text
                }
            }
            c.onFault = reader.choice(t, "policy", "on_fault", FaultAction.self) ?? c.onFault
            c.oversize = reader.choice(t, "policy", "oversize", OversizeAction.self) ?? c.oversize
        }
        for name in ["milter", "spamd", "http", "rspamd"] {
            guard let t = reader.table(root, name) else { continue }
            let rspamdKeys: Set<String> = name == "rspamd" ? ["scan_threads", "max_pending_scans"] : []
            reader.section(t, name, known: rspamdKeys.union(["enabled", "listen", "idle_timeout_seconds", "total_timeout_seconds", "max_connections"]))
            var f: FrontEnd
            switch name {
            case "milter": f = c.milter
            case "spamd": f = c.spamd
            case "rspamd":
                f = c.rspamd
                c.rspamdScanThreads = reader.int(t, name, "scan_threads", in: 0...256) ?? c.rspamdScanThreads
                c.rspamdMaxPendingScans = reader.int(t, name, "max_pending_scans", in: 1...100_000) ?? c.rspamdMaxPendingScans
            default: f = c.http
            }
            f.enabled = reader.bool(t, name, "enabled") ?? f.enabled
            if let text = reader.string(t, name, "listen") {
                if let a = ListenAddress(text) { f.listen = a } else { reader.problems.append("\(name).listen: \"\(text)\" is not host:port") }
            }
            f.idleTimeoutSeconds = reader.int(t, name, "idle_timeout_seconds", in: 1...86400) ?? f.idleTimeoutSeconds
            f.totalTimeoutSeconds = reader.int(t, name, "total_timeout_seconds", in: 1...86400) ?? f.totalTimeoutSeconds
            f.maxConnections = reader.int(t, name, "max_connections", in: 1...100_000) ?? f.maxConnections
            switch name {
            case "milter": c.milter = f
            case "spamd": c.spamd = f
            case "rspamd": c.rspamd = f
            default: c.http = f
            }
        }
        if let t = reader.table(root, "auth") {
            reader.section(t, "auth", known: ["password", "trusted_networks"])
            if let pw = reader.string(t, "auth", "password") {
                if pw.utf8.count < 8 { reader.problems.append("auth.password must have at least 8 characters") } else { c.access.password = pw }
            }
            if let list = reader.strings(t, "auth", "trusted_networks") {
                var nets: [IPNetwork] = []
                for s in list {
                    if let n = IPNetwork(s) { nets.append(n) } else { reader.problems.append("auth.trusted_networks: \"\(s)\" is not an address or CIDR network") }
                }
                c.access.trustedNetworks = nets
            }
        }
        if let t = reader.table(root, "authentication") {
            reader.section(t, "authentication", known: ["enabled", "authserv_id"])
            c.authentication.enabled = reader.bool(t, "authentication", "enabled") ?? c.authentication.enabled
            if let id = reader.string(t, "authentication", "authserv_id") {
                if id.isEmpty || id.contains(where: { $0 == ";" || $0 == " " || $0 == "\t" || $0 == "\r" || $0 == "\n" }) {
                    reader.problems.append("authentication.authserv_id must be a non-empty name without spaces or \";\"")
                } else {
                    c.authentication.authservID = id
                }
            }
        }
        if let t = reader.table(root, "dns") {
            reader.section(t, "dns", known: ["servers", "timeout_ms", "attempts"])
            if let list = reader.strings(t, "dns", "servers") {
                for s in list where DNSServerAddress(s) == nil {
                    reader.problems.append("dns.servers: \"\(s)\" is not an IP address or IP:port")
                }
                c.dns.servers = list
            }
            c.dns.timeoutMilliseconds = reader.int(t, "dns", "timeout_ms", in: 10...60_000) ?? c.dns.timeoutMilliseconds
            c.dns.attempts = reader.int(t, "dns", "attempts", in: 1...10) ?? c.dns.attempts
        }
        if let t = reader.table(root, "campaigns") {
            reader.section(t, "campaigns", known: ["enabled", "trusted_networks"])
            c.campaigns.enabled = reader.bool(t, "campaigns", "enabled") ?? c.campaigns.enabled
            if let nets = reader.networks(t, "campaigns", "trusted_networks") { c.campaigns.trustedNetworks = nets }
        }
        if let t = reader.table(root, "botnet") {
            reader.section(t, "botnet", known: ["score", "footprint_score", "list_threshold", "dns_listen", "zone", "ttl_seconds", "refresh_seconds"])
            c.botnet.listedScore = reader.double(t, "botnet", "score") ?? c.botnet.listedScore
            c.botnet.footprintScore = reader.double(t, "botnet", "footprint_score") ?? c.botnet.footprintScore
            if let x = reader.double(t, "botnet", "list_threshold") {
                if x > 0 { c.botnet.listThreshold = x } else { reader.problems.append("botnet.list_threshold must be above 0") }
            }
            if let text = reader.string(t, "botnet", "dns_listen") {
                if text == "off" || text.isEmpty {
                    c.botnet.dnsListen = nil
                } else if let a = ListenAddress(text), IPAddress(a.host) != nil {
                    c.botnet.dnsListen = a
                } else {
                    reader.problems.append("botnet.dns_listen: \"\(text)\" is not IP:port or off")
                }
            }
            if let zone = reader.string(t, "botnet", "zone") {
                if let z = validatedZone(zone) { c.botnet.zone = z } else { reader.problems.append("botnet.zone: \"\(zone)\" is not a domain name") }
            }
            c.botnet.ttlSeconds = reader.int(t, "botnet", "ttl_seconds", in: 0...86400) ?? c.botnet.ttlSeconds
            c.botnet.refreshSeconds = reader.int(t, "botnet", "refresh_seconds", in: 0...3600) ?? c.botnet.refreshSeconds
        }
        if let t = reader.table(root, "uribl") {
            reader.section(t, "uribl", known: ["lists", "score", "max_lookups", "sentinels", "default_sentinels"])
            if let lists = reader.strings(t, "uribl", "lists") {
                var zones: [String] = []
                for l in lists {
                    if let z = validatedZone(l) { zones.append(z) } else { reader.problems.append("uribl.lists: \"\(l)\" is not a domain name") }
                }
                c.uribl.lists = zones
            }
            c.uribl.score = reader.double(t, "uribl", "score") ?? c.uribl.score
            c.uribl.maxLookups = reader.int(t, "uribl", "max_lookups", in: 1...100) ?? c.uribl.maxLookups
            c.uribl.sentinels = reader.sentinels(t, "uribl", "sentinels") ?? c.uribl.sentinels
            c.uribl.defaultSentinels = reader.bool(t, "uribl", "default_sentinels") ?? c.uribl.defaultSentinels
        }
        if let t = reader.table(root, "edge") {
            parseEdge(t, into: &c, reader: &reader)
        }
        if let t = reader.table(root, "server") {
            reader.section(t, "server", known: ["event_loops"])
            c.eventLoops = reader.int(t, "server", "event_loops", in: 0...256) ?? c.eventLoops
        }
        if let t = reader.table(root, "log") {
            reader.section(t, "log", known: ["level"])
            if let level = reader.string(t, "log", "level") {
                if logLevels.contains(level) { c.logLevel = level } else { reader.problems.append("log.level must be one of \(logLevels.joined(separator: ", "))") }
            }
        }
        if !reader.problems.isEmpty { throw ConfigurationError(problems: reader.problems) }
        return c
    }

    /// The effective settings as TOML (what `spamward config check` prints); the password is
    /// never printed.
    public func renderTOML(storePathDefault: String) -> String {
        func q(_ s: String) -> String {
            var out = "\""
            for ch in s.unicodeScalars {
                switch ch {
                case "\"": out += "\\\""
                case "\\": out += "\\\\"
                default: out.unicodeScalars.append(ch)
                }
            }
            return out + "\""
        }
        func frontEnd(_ name: String, _ f: FrontEnd) -> String {
            """
            [\(name)]
            enabled = \(f.enabled)
            listen = \(q(f.listen.description))
            idle_timeout_seconds = \(f.idleTimeoutSeconds)
            total_timeout_seconds = \(f.totalTimeoutSeconds)
            max_connections = \(f.maxConnections)

            """
        }
        return """
            [store]
            path = \(q(storePath ?? storePathDefault))

            [scan]
            spam_threshold = \(thresholds.spam)
            unsure_threshold = \(thresholds.unsure)
            max_message_bytes = \(maxMessageBytes)

            [policy]
            spam = \(q(policy.spam.rawValue))
            unsure = \(q(policy.unsure.rawValue))
            ham = \(q(policy.ham.rawValue))
            reject_text = \(q(policy.rejectText))
            on_fault = \(q(onFault.rawValue))
            oversize = \(q(oversize.rawValue))

            \(frontEnd("milter", milter))
            \(frontEnd("spamd", spamd))
            \(frontEnd("http", http))
            \(frontEnd("rspamd", rspamd))scan_threads = \(rspamdScanThreads)\(rspamdScanThreads == 0 ? "  # one per core" : "")
            max_pending_scans = \(rspamdMaxPendingScans)

            [auth]
            # password: \(access.password == nil ? "not set (only trusted networks can learn)" : "set (not shown)")
            trusted_networks = [\(access.trustedNetworks.map { q($0.description) }.joined(separator: ", "))]

            [authentication]
            enabled = \(authentication.enabled)
            authserv_id = \(q(authentication.authservID ?? ServerConfiguration.hostName()))

            [dns]
            servers = [\(dns.servers.map { q($0) }.joined(separator: ", "))]\(dns.servers.isEmpty ? "  # from /etc/resolv.conf" : "")
            timeout_ms = \(dns.timeoutMilliseconds)
            attempts = \(dns.attempts)

            [campaigns]
            enabled = \(campaigns.enabled)
            trusted_networks = [\(campaigns.trustedNetworks.map { q($0.description) }.joined(separator: ", "))]

            [botnet]
            score = \(botnet.listedScore)
            footprint_score = \(botnet.footprintScore)
            list_threshold = \(botnet.listThreshold)
            dns_listen = \(q(botnet.dnsListen?.description ?? "off"))
            zone = \(q(botnet.zone))
            ttl_seconds = \(botnet.ttlSeconds)
            refresh_seconds = \(botnet.refreshSeconds)

            [uribl]
            lists = [\(uribl.lists.map { q($0) }.joined(separator: ", "))]
            score = \(uribl.score)
            max_lookups = \(uribl.maxLookups)
            default_sentinels = \(uribl.defaultSentinels)
            sentinels = [\(uribl.sentinels.map { q($0.configurationText) }.joined(separator: ", "))]

            [log]
            level = \(q(logLevel))

            [server]
            event_loops = \(eventLoops)

            \(renderEdgeTOML(quote: q))
            """
    }
}

/// Reads typed values from TOML tables, collecting every problem instead of stopping at the first.
struct TOMLReader {
    var problems: [String] = []

    mutating func section(_ t: TOMLTable, _ name: String, known: Set<String>) {
        for key in t.keys where !known.contains(key) {
            problems.append(name.isEmpty ? "unknown section or key \"\(key)\"" : "unknown key \"\(key)\" in [\(name)]")
        }
    }

    mutating func table(_ t: TOMLTable, _ key: String) -> TOMLTable? {
        guard let v = t[key] else { return nil }
        guard let table = v.table else {
            problems.append("\(key) must be a section ([\(key)])")
            return nil
        }
        return table
    }

    mutating func string(_ t: TOMLTable, _ section: String, _ key: String) -> String? {
        guard let v = t[key] else { return nil }
        guard let s = v.string else {
            problems.append("\(section).\(key) must be a string")
            return nil
        }
        return s
    }

    mutating func strings(_ t: TOMLTable, _ section: String, _ key: String) -> [String]? {
        guard let v = t[key] else { return nil }
        guard let a = v.array else {
            problems.append("\(section).\(key) must be an array of strings")
            return nil
        }
        var out: [String] = []
        for item in a {
            guard let s = item.string else {
                problems.append("\(section).\(key) must be an array of strings")
                return nil
            }
            out.append(s)
        }
        return out
    }

    /// An array of CIDR networks (or single addresses).
    mutating func networks(_ t: TOMLTable, _ section: String, _ key: String) -> [IPNetwork]? {
        guard let list = strings(t, section, key) else { return nil }
        var nets: [IPNetwork] = []
        for s in list {
            if let n = IPNetwork(s) { nets.append(n) } else { problems.append("\(section).\(key): \"\(s)\" is not an address or CIDR network") }
        }
        return nets
    }

    mutating func bool(_ t: TOMLTable, _ section: String, _ key: String) -> Bool? {
        guard let v = t[key] else { return nil }
        guard let b = v.bool else {
            problems.append("\(section).\(key) must be true or false")
            return nil
        }
        return b
    }

    mutating func int(_ t: TOMLTable, _ section: String, _ key: String, in range: ClosedRange<Int>) -> Int? {
        guard let v = t[key] else { return nil }
        guard let i = v.int, range.contains(i) else {
            problems.append("\(section).\(key) must be an integer in \(range.lowerBound)...\(range.upperBound)")
            return nil
        }
        return i
    }

    mutating func double(_ t: TOMLTable, _ section: String, _ key: String) -> Double? {
        guard let v = t[key] else { return nil }
        if let d = v.double, d.isFinite { return d }
        if let i = v.int { return Double(i) }
        problems.append("\(section).\(key) must be a number")
        return nil
    }

    mutating func choice<E: RawRepresentable & CaseIterable>(_ t: TOMLTable, _ section: String, _ key: String, _ type: E.Type) -> E?
    where E.RawValue == String {
        guard let s = string(t, section, key) else { return nil }
        guard let e = E(rawValue: s) else {
            problems.append("\(section).\(key) must be one of \(E.allCases.map(\.rawValue).joined(separator: ", "))")
            return nil
        }
        return e
    }
}

/// A zone name from the configuration, normalized (lower case, no trailing dot); nil when it is not
/// a queryable domain name or is a single label (`com` is nobody's list).
func validatedZone(_ text: String) -> String? {
    let z = DNSName.normalized(text)
    guard DNSName.isQueryable(z), z.contains("."), z.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "." || $0 == "_") }) else {
        return nil
    }
    return z
}
