import Logging
import MailAuth
import NIOCore
import SpamwardCore
import SpamwardDNSServer
import Synchronization

extension ServerConfiguration {
    /// The campaign monitor's settings from `[campaigns]` and `[botnet]`.
    public var campaignMonitorConfiguration: CampaignMonitor.Configuration {
        var c = CampaignMonitor.Configuration()
        c.botnet.listThreshold = botnet.listThreshold
        c.botnetScore = botnet.footprintScore
        c.listedScore = botnet.listedScore
        c.listRefreshSeconds = Double(botnet.refreshSeconds)
        return c
    }

    /// The campaign monitor `[campaigns]` asks for (nil when off), persisting fuzzy entries in `store`.
    public func campaignMonitor(store: any FuzzyStore) -> CampaignMonitor? {
        guard campaigns.enabled else { return nil }
        return CampaignMonitor(configuration: campaignMonitorConfiguration, store: store,
                               trustedNetworks: campaigns.trustedNetworks)
    }

    /// The symbol of a URIBL zone: `URIBL_` and the zone in upper case, dots and dashes as `_`
    /// (`multi.uribl.com` gives `URIBL_MULTI_URIBL_COM`).
    public static func uriblSymbol(zone: String) -> String {
        "URIBL_" + String(zone.uppercased().map { $0 == "." || $0 == "-" ? "_" : $0 })
    }

    /// The URIBL stage `[uribl]` asks for, on `resolver`; nil when no list is configured.
    /// Sentinel replies are logged as warnings, at most once a minute per list.
    public func uriblStage(resolver: any DNSResolver, logger: Logger) -> URIBLStage? {
        guard !uribl.lists.isEmpty else { return nil }
        let zones = uribl.lists.map {
            URIBLChecker.Zone(name: $0, symbol: Self.uriblSymbol(zone: $0), score: uribl.score)
        }
        var checker = URIBLChecker(zones: zones, resolver: resolver, maxLookups: uribl.maxLookups)
        checker.sentinels = uribl.sentinels
        checker.builtinSentinels = uribl.defaultSentinels
        let throttle = WarningThrottle(intervalSeconds: 60)
        return URIBLStage(checker: checker) { warnings in
            for w in warnings where throttle.shouldLog(w.zone) {
                logger.warning("URIBL refused the query: its replies are ignored; use a local resolver the list accepts", metadata: [
                    "uribl.zone": "\(w.zone)", "uribl.reply": "\(w.reply)", "dns.query": "\(w.query)",
                ])
            }
        }
    }

    /// The DNSBL responder for the botnet list (`[botnet] dns_listen`); nil when it is off or
    /// campaigns are off.
    public func botnetDNSServer(monitor: CampaignMonitor?, logger: Logger,
                                onBound: @escaping @Sendable (String, SocketAddress) -> Void = { _, _ in }) -> DNSBLServer? {
        guard let listen = botnet.dnsListen, let monitor,
            let responder = DNSBLResponder(zone: botnet.zone, ttlSeconds: UInt32(botnet.ttlSeconds))
        else { return nil }
        var dnsLogger = logger
        dnsLogger[metadataKey: "frontend"] = "dnsbl"
        return DNSBLServer(
            configuration: .init(host: listen.host, port: listen.port), responder: responder, logger: dnsLogger,
            lookup: { address in
                guard let e = monitor.currentBotnetList().lookup(address) else { return nil }
                return DNSBLListing(code: e.code, text: e.text) ?? DNSBLListing(code: 0x7F00_0002, text: e.text)
            },
            onBound: { udp, _ in onBound("dnsbl", udp) })
    }
}

/// Lets one warning per key through per interval (a blocked resolver would otherwise log once
/// per message).
final class WarningThrottle: Sendable {
    private let last = Mutex<[String: ContinuousClock.Instant]>([:])
    let interval: Duration

    init(intervalSeconds: Int64) { interval = .seconds(intervalSeconds) }

    func shouldLog(_ key: String) -> Bool {
        let now = ContinuousClock.now
        return last.withLock { m in
            if let t = m[key], now - t < interval { return false }
            if m.count > 1000 { m.removeAll() }
            m[key] = now
            return true
        }
    }
}
