import DNSWire
import Logging
import MailAuth
import NIOCore
import NIOPosix
import Synchronization

/// Counters of what a ``NIODNSResolver`` did, for tests, metrics and benchmarks.
public struct DNSResolverStatistics: Sendable, Hashable {
    /// Lookups answered from the cache.
    public var cacheHits = 0
    /// Lookups that waited for an identical lookup already under way instead of asking.
    public var coalesced = 0
    /// Queries sent over UDP.
    public var udpQueries = 0
    /// Queries sent over TCP (after a truncated UDP answer).
    public var tcpQueries = 0
    /// Tries that ended without an answer in time.
    public var timeouts = 0
    /// Datagrams dropped because their source, ID or question did not match a query.
    public var strayResponses = 0
    public init() {}
}

/// The daemon's ``DNSResolver``: asks recursive name servers over UDP (TCP when an answer is
/// truncated), with a bounded TTL cache and coalescing of identical concurrent lookups.
///
/// - Every UDP try uses a new socket bound to port 0 (the kernel picks a random source port) and a
///   random 16-bit ID; an answer counts only when it comes from the server asked, with that ID,
///   as a response, to the same question. Anything else is dropped and counted.
/// - A try that times out, or answers SERVFAIL or REFUSED, moves on to the next server;
///   ``DNSResolverConfiguration/attempts`` rounds over all servers are made. The last failure is
///   thrown as a ``DNSError`` with the matching code (`.timeout`, `.serverFailure`, `.refused`).
/// - FORMERR to a query with EDNS(0) is retried once without it (RFC 6891 section 6.2.2).
/// - Answers are cached for their TTL (the least TTL of the records used, CNAMEs included),
///   clamped to the configured bounds; NXDOMAIN and no-data answers for the SOA's negative TTL
///   (RFC 2308), and not at all without an SOA. Errors are not cached.
/// - CNAME chains are followed, inside one answer and by asking again, within
///   ``DNSResolverConfiguration/maxCNAMEChain`` steps; a loop is `.serverFailure`.
///
/// Creates no unstructured tasks: every socket lives inside the lookup that opened it.
/// ``shutdown()`` closes the sockets of lookups still under way (they fail with `.network`) and
/// makes later lookups fail the same way.
public final class NIODNSResolver: DNSResolver, Sendable {
    public let configuration: DNSResolverConfiguration
    private let group: any EventLoopGroup
    private let servers: [SocketAddress]
    private let logger: Logger
    private let state: Mutex<State>

    private struct State {
        var cache: DNSCache
        var inFlight: [DNSCache.Key: [CheckedContinuation<Result<DNSLookupResult, DNSError>?, Never>]] = [:]
        var channels: [ObjectIdentifier: any Channel] = [:]
        var statistics = DNSResolverStatistics()
        var nextServer = 0
        var isShutDown = false
    }

    /// A resolver asking `configuration.servers` on `eventLoopGroup`, logging at debug level to
    /// `logger`.
    public init(
        configuration: DNSResolverConfiguration = DNSResolverConfiguration(),
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger = Logger(label: "spamward.dns")
    ) {
        self.configuration = configuration
        self.group = eventLoopGroup
        self.servers = configuration.servers.compactMap { try? SocketAddress(ipAddress: $0.host, port: $0.port) }
        self.logger = logger
        self.state = Mutex(State(cache: DNSCache(maxEntries: configuration.cacheMaxEntries)))
    }

    /// What the resolver has done so far.
    public var statistics: DNSResolverStatistics { state.withLock { $0.statistics } }

    /// How many answers the cache holds.
    public var cachedEntries: Int { state.withLock { $0.cache.count } }

    /// Empties the cache.
    public func clearCache() { state.withLock { $0.cache.removeAll() } }

    /// Closes the sockets of lookups under way and fails every later lookup with `.network`.
    public func shutdown() async {
        let channels = state.withLock { s in
            s.isShutDown = true
            return Array(s.channels.values)
        }
        for c in channels { try? await c.close() }
    }

    public func lookup(_ name: String, _ type: DNSRecordType) async throws(DNSError) -> DNSLookupResult {
        guard DNSName.isQueryable(name), let qname = DomainName(name)?.lowercased else {
            throw DNSError(code: .invalidName, name: name, type: type)
        }
        let key = DNSCache.Key(name: DNSName.normalized(name), type: type.rawValue)
        // Served from the cache, joined to an identical lookup under way, or ours to make.
        let joined: Result<DNSLookupResult, DNSError>? = await withCheckedContinuation { continuation in
            let immediate: Result<DNSLookupResult, DNSError>?? = state.withLock { s in
                if s.isShutDown {
                    return .some(.failure(DNSError(code: .network, name: name, type: type, detail: "resolver shut down")))
                }
                if let hit = s.cache.get(key, now: .now) {
                    s.statistics.cacheHits += 1
                    return .some(.success(hit.0))
                }
                if s.inFlight[key] != nil {
                    s.inFlight[key, default: []].append(continuation)
                    s.statistics.coalesced += 1
                    return .none
                }
                s.inFlight[key] = []
                return .some(nil)
            }
            if let immediate { continuation.resume(returning: immediate) }
        }
        if let joined { return try joined.get() }

        let outcome: Result<(DNSLookupResult, UInt32?), DNSError>
        do throws(DNSError) {
            outcome = .success(try await resolve(qname, type, originalName: name))
        } catch {
            outcome = .failure(error)
        }
        let result = outcome.map(\.0)
        let waiters = state.withLock { s in
            if case .success(let (answer, ttl?)) = outcome {
                s.cache.put(key, answer, ttl: cacheLifetime(ttl, negative: answer.isVoid), now: .now)
            }
            return s.inFlight.removeValue(forKey: key) ?? []
        }
        for w in waiters { w.resume(returning: result) }
        return try result.get()
    }

    private func cacheLifetime(_ ttl: UInt32, negative: Bool) -> Duration {
        var seconds = max(Int(ttl), configuration.minTTLSeconds)
        seconds = min(seconds, negative ? configuration.maxNegativeTTLSeconds : configuration.maxTTLSeconds)
        return .seconds(max(0, seconds))
    }

    /// Asks until the chain ends in an answer.
    private func resolve(
        _ qname: DomainName, _ type: DNSRecordType, originalName: String
    ) async throws(DNSError) -> (DNSLookupResult, UInt32?) {
        var current = qname
        var steps = 0
        var chainTTL = UInt32.max
        while true {
            let response = try await exchange(current, type, originalName: originalName)
            switch DNSAnswer.interpret(
                response, name: current, type: type, maxCNAMEChain: configuration.maxCNAMEChain - steps)
            {
            case .result(let result, let ttl):
                return (result, ttl.map { min($0, chainTTL) })
            case .follow(let target, let n, let ttl):
                steps += n
                chainTTL = min(chainTTL, ttl)
                guard steps <= configuration.maxCNAMEChain, !target.equalsIgnoringCase(qname) else {
                    throw DNSError(code: .serverFailure, name: originalName, type: type, detail: "CNAME chain too long")
                }
                current = target
            case .failure(let code, let detail):
                throw DNSError(code: code, name: originalName, type: type, detail: detail)
            }
        }
    }

    /// One question to the servers in turn until one answers with something other than
    /// SERVFAIL or REFUSED.
    private func exchange(_ qname: DomainName, _ type: DNSRecordType, originalName: String) async throws(DNSError) -> DNSMessage {
        guard !servers.isEmpty else {
            throw DNSError(code: .network, name: originalName, type: type, detail: "no name servers configured")
        }
        let first = state.withLock { s in
            defer { s.nextServer &+= 1 }
            return s.nextServer
        }
        var lastError = DNSError(code: .timeout, name: originalName, type: type)
        let rounds = max(1, configuration.attempts)
        for round in 0..<rounds {
            for i in 0..<servers.count {
                let server = servers[(first &+ i) % servers.count]
                if Task.isCancelled {
                    throw DNSError(code: .other, name: originalName, type: type, detail: "cancelled")
                }
                if state.withLock({ $0.isShutDown }) {
                    throw DNSError(code: .network, name: originalName, type: type, detail: "resolver shut down")
                }
                do throws(DNSError) {
                    let response = try await ask(server, qname, type, originalName: originalName)
                    switch response.flags.responseCode {
                    case .serverFailure, .refused:
                        lastError = DNSError(
                            code: response.flags.responseCode == .refused ? .refused : .serverFailure, name: originalName,
                            type: type, detail: "\(response.flags.responseCode) from \(server)")
                        continue
                    default:
                        return response
                    }
                } catch {
                    lastError = error
                    logger.debug(
                        "dns try failed",
                        metadata: [
                            "dns.name": "\(originalName)", "dns.type": "\(type)", "dns.server": "\(server)",
                            "dns.round": "\(round)", "dns.error": "\(error.code)",
                        ])
                }
            }
        }
        throw lastError
    }

    /// One try with one server: UDP, then TCP when truncated; FORMERR with EDNS retried without.
    private func ask(
        _ server: SocketAddress, _ qname: DomainName, _ type: DNSRecordType, originalName: String
    ) async throws(DNSError) -> DNSMessage {
        let edns = configuration.ednsUDPPayloadBytes
        var payload: UInt16? = edns >= 512 ? UInt16(clamping: edns) : nil
        while true {
            let query = DNSMessage.query(
                id: UInt16.random(in: 0...UInt16.max), name: qname, type: ResourceRecordType(rawValue: type.rawValue),
                ednsUDPPayloadBytes: payload)
            var response = try await send(query, to: server, tcp: false, originalName: originalName, type: type)
            if response.flags.truncated {
                response = try await send(query, to: server, tcp: true, originalName: originalName, type: type)
            }
            if response.flags.responseCode == .formatError && payload != nil {
                payload = nil
                continue
            }
            logger.debug(
                "dns answer",
                metadata: [
                    "dns.name": "\(qname)", "dns.type": "\(type)", "dns.server": "\(server)",
                    "dns.rcode": "\(response.flags.responseCode)", "dns.answers": "\(response.answers.count)",
                ])
            return response
        }
    }

    private func send(
        _ query: DNSMessage, to server: SocketAddress, tcp: Bool, originalName: String, type: DNSRecordType
    ) async throws(DNSError) -> DNSMessage {
        let bytes: [UInt8]
        do { bytes = try query.encoded() } catch {
            throw DNSError(code: .invalidName, name: originalName, type: type, detail: error.description)
        }
        let timeout = TimeAmount.milliseconds(Int64(max(1, configuration.timeoutMilliseconds)))
        let eventLoop = group.next()
        let promise = eventLoop.makePromise(of: DNSMessage.self)
        state.withLock { s in
            if tcp { s.statistics.tcpQueries += 1 } else { s.statistics.udpQueries += 1 }
        }
        var channel: (any Channel)?
        do {
            if tcp {
                let c = try await ClientBootstrap(group: eventLoop)
                    .connectTimeout(timeout)
                    .channelInitializer { ch in
                        ch.eventLoop.makeCompletedFuture {
                            try ch.pipeline.syncOperations.addHandler(
                                TCPAnswerHandler(query: query, promise: promise, timeout: timeout))
                        }
                    }
                    .connect(to: server).get()
                channel = c
                register(c)
                var frame = c.allocator.buffer(capacity: bytes.count + 2)
                frame.writeInteger(UInt16(bytes.count))
                frame.writeBytes(bytes)
                c.writeAndFlush(frame, promise: nil)
            } else {
                let onStray: @Sendable () -> Void = { self.state.withLock { $0.statistics.strayResponses += 1 } }
                let c = try await DatagramBootstrap(group: eventLoop)
                    .channelInitializer { ch in
                        ch.eventLoop.makeCompletedFuture {
                            try ch.pipeline.syncOperations.addHandler(
                                UDPAnswerHandler(
                                    server: server, query: query, promise: promise, timeout: timeout, onStray: onStray))
                        }
                    }
                    .bind(host: server.protocol == .inet6 ? "::" : "0.0.0.0", port: 0).get()
                channel = c
                register(c)
                let datagram = AddressedEnvelope(remoteAddress: server, data: c.allocator.buffer(bytes: bytes))
                c.writeAndFlush(datagram, promise: nil)
            }
            let answer = try await withTaskCancellationHandler {
                try await promise.futureResult.get()
            } onCancel: {
                promise.fail(CancellationError())
            }
            if let channel { await close(channel) }
            return answer
        } catch {
            promise.fail(error)
            if let channel { await close(channel) }
            throw mapFailure(error, originalName: originalName, type: type, server: server, tcp: tcp)
        }
    }

    private func register(_ channel: any Channel) {
        let shutDown = state.withLock { s in
            if !s.isShutDown { s.channels[ObjectIdentifier(channel)] = channel }
            return s.isShutDown
        }
        if shutDown { channel.close(promise: nil) }
    }

    private func close(_ channel: any Channel) async {
        _ = state.withLock { $0.channels.removeValue(forKey: ObjectIdentifier(channel)) }
        try? await channel.close()
    }

    private func mapFailure(_ error: any Error, originalName: String, type: DNSRecordType, server: SocketAddress, tcp: Bool) -> DNSError {
        let via = tcp ? "tcp" : "udp"
        switch error {
        case DNSExchangeFailure.timeout:
            state.withLock { $0.statistics.timeouts += 1 }
            return DNSError(code: .timeout, name: originalName, type: type, detail: "no answer from \(server) over \(via)")
        case DNSExchangeFailure.malformed(let why):
            return DNSError(code: .malformedResponse, name: originalName, type: type, detail: "\(why) from \(server)")
        case DNSExchangeFailure.closed:
            return DNSError(code: .network, name: originalName, type: type, detail: "\(via) socket closed")
        case is CancellationError:
            return DNSError(code: .other, name: originalName, type: type, detail: "cancelled")
        case ChannelError.connectTimeout:
            state.withLock { $0.statistics.timeouts += 1 }
            return DNSError(code: .timeout, name: originalName, type: type, detail: "TCP connect to \(server) timed out")
        default:
            return DNSError(code: .network, name: originalName, type: type, detail: "\(via) \(server): \(error)")
        }
    }
}
