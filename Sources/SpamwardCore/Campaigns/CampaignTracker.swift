import MailAuth

/// Spam / unsure / ham verdict counts.
public struct VerdictMix: Sendable, Hashable, Codable {
    public var spam = 0
    public var unsure = 0
    public var ham = 0
    public init() {}
    public var total: Int { spam + unsure + ham }
    mutating func add(_ a: Action) {
        switch a {
        case .spam: spam += 1
        case .unsure: unsure += 1
        case .ham: ham += 1
        }
    }
}

/// True labels (from learning, or a labelled corpus).
public struct LabelMix: Sendable, Hashable, Codable {
    public var spam = 0
    public var ham = 0
    public init() {}
    public var total: Int { spam + ham }
    /// Both labels present.
    public var isMixed: Bool { spam > 0 && ham > 0 }
    mutating func add(_ l: Label) { if l == .spam { spam += 1 } else { ham += 1 } }
}

/// A group of near-identical messages: one mailing, however lightly varied.
public struct Campaign: Sendable, Hashable, Codable {
    public var id: UInt64
    /// Seconds since 1970 (the observation times given to the tracker).
    public var firstSeen: Int64
    public var lastSeen: Int64
    public var messages: Int
    /// Distinct sending addresses (exact up to a cap, then estimated).
    public var ips: DistinctCounter
    /// Distinct sending /24s (IPv4) and /48s (IPv6).
    public var subnets: DistinctCounter
    /// Domains of the From addresses.
    public var senderDomains: BoundedCounts
    /// Registrable domains of the URLs.
    public var urlDomains: BoundedCounts
    /// The first few distinct subjects.
    public var subjects: [String]
    public var verdicts: VerdictMix
    public var labels: LabelMix

    /// A spam campaign: no message labelled ham, and either labelled spam or mostly judged spam.
    public var isSpam: Bool {
        labels.ham == 0 && (labels.spam > 0 || (verdicts.total > 0 && verdicts.spam * 2 > verdicts.total))
    }

    public var hexID: String { "c" + String(id, radix: 16) }
}

/// What the tracker is told about one message.
public struct CampaignObservation: Sendable {
    public var fingerprint: MessageFingerprint
    public var sender: IPAddress?
    public var senderDomain: String?
    public var subject: String
    public var verdict: Action?
    public var label: Label?
    /// Seconds since 1970.
    public var time: Int64
    public init(fingerprint: MessageFingerprint, sender: IPAddress?, senderDomain: String?, subject: String,
                verdict: Action?, label: Label?, time: Int64) {
        self.fingerprint = fingerprint
        self.sender = sender
        self.senderDomain = senderDomain
        self.subject = subject
        self.verdict = verdict
        self.label = label
        self.time = time
    }
}

/// Where a message went.
public struct CampaignAssignment: Sendable, Hashable {
    public var campaignID: UInt64
    /// Similarity to the nearest member (1 for a new campaign).
    public var similarity: Double
    public var isNew: Bool
    /// The campaign's message count including this message.
    public var messages: Int
}

/// What one sending address has carried.
public struct SenderRecord: Sendable, Hashable, Codable {
    public var address: String
    public var subnet: String
    /// Campaigns (most recent last, at most ``CampaignTracker/Configuration/maxCampaignsPerSender``).
    public var campaigns: [UInt64]
    public var messages: Int
    public var verdicts: VerdictMix
    public var labels: LabelMix
    public var firstSeen: Int64
    public var lastSeen: Int64
    /// Times of the latest messages (sorted, bounded), for burstiness.
    public var recentTimes: [Int64]
}

/// Online clustering of messages into campaigns: a message joins the campaign of its most
/// similar indexed neighbour (MinHash LSH) when that similarity reaches ``Configuration/joinThreshold``,
/// else starts a campaign. Bounded memory: at most ``Configuration/maxCampaigns`` campaigns (the
/// least recently seen go first), campaigns idle for ``Configuration/maxIdleSeconds`` expire,
/// each indexes at most ``Configuration/maxRepresentatives`` member signatures, and at most
/// ``Configuration/maxSenders`` sending addresses are tracked.
public struct CampaignTracker: Sendable {
    public struct Configuration: Sendable, Hashable, Codable {
        public var joinThreshold: Double = 0.5
        public var maxCampaigns: Int = 20_000
        /// Member signatures indexed per campaign (variants that drift from the first message).
        public var maxRepresentatives: Int = 4
        /// A member less similar than this to every indexed member becomes a representative.
        public var representativeBelow: Double = 0.8
        /// nil: campaigns never expire by age (only the count bound applies).
        public var maxIdleSeconds: Int64? = 7 * 86_400
        public var maxIPsExact: Int = 256
        public var maxSubjects: Int = 5
        public var maxDomains: Int = 16
        public var maxSenders: Int = 100_000
        public var maxCampaignsPerSender: Int = 64
        public var recentTimesPerSender: Int = 16
        public init() {}
    }

    public let configuration: Configuration
    private var lsh: MinHashLSH
    private var campaignOfEntry: [UInt64: UInt64] = [:]
    private var entriesOfCampaign: [UInt64: [UInt64]] = [:]
    public private(set) var campaigns: [UInt64: Campaign] = [:]
    private var recency = RecencyQueue<UInt64>()
    public private(set) var senders: [IPAddress: SenderRecord] = [:]
    private var senderRecency = RecencyQueue<IPAddress>()
    private var nextCampaign: UInt64 = 1
    private var nextEntry: UInt64 = 1
    /// The latest observation time (expiry is measured against it).
    public private(set) var clock: Int64 = 0
    /// Campaigns dropped by the count bound or by age.
    public private(set) var evicted = 0

    public init(configuration: Configuration = Configuration(), fingerprint: FingerprintConfiguration = .default) {
        self.configuration = configuration
        self.lsh = MinHashLSH(bands: fingerprint.bands, rows: fingerprint.rows)
    }

    /// Indexed member signatures (bounded by campaigns × representatives).
    public var indexedSignatures: Int { lsh.count }

    /// Records a message; nil when it has no text signature to cluster on.
    @discardableResult
    public mutating func observe(_ o: CampaignObservation) -> CampaignAssignment? {
        clock = max(clock, o.time)
        expire()
        guard o.fingerprint.hasText else { return nil }
        let sig = o.fingerprint.minHash
        var assignment: CampaignAssignment
        if let near = lsh.nearest(sig, threshold: configuration.joinThreshold), let cid = campaignOfEntry[near.id],
            campaigns[cid] != nil {
            assignment = CampaignAssignment(campaignID: cid, similarity: near.similarity, isNew: false, messages: 0)
            if near.similarity < configuration.representativeBelow,
                entriesOfCampaign[cid, default: []].count < configuration.maxRepresentatives {
                addEntry(sig, campaign: cid)
            }
        } else {
            let cid = nextCampaign
            nextCampaign += 1
            campaigns[cid] = Campaign(
                id: cid, firstSeen: o.time, lastSeen: o.time, messages: 0,
                ips: DistinctCounter(cap: configuration.maxIPsExact), subnets: DistinctCounter(cap: configuration.maxIPsExact),
                senderDomains: BoundedCounts(cap: configuration.maxDomains), urlDomains: BoundedCounts(cap: configuration.maxDomains),
                subjects: [], verdicts: VerdictMix(), labels: LabelMix())
            addEntry(sig, campaign: cid)
            assignment = CampaignAssignment(campaignID: cid, similarity: 1, isNew: true, messages: 0)
            while campaigns.count > max(1, configuration.maxCampaigns), let old = recency.oldest(), old != cid {
                drop(old)
            }
        }
        let cid = assignment.campaignID
        recency.touch(cid)
        guard let index = campaigns.index(forKey: cid) else { return assignment }
        // Updated in place: a copy taken out of the dictionary made each of the campaign's sets
        // and counters copy itself on its first change.
        Self.record(o, in: &campaigns.values[index], maxSubjects: configuration.maxSubjects)
        assignment.messages = campaigns.values[index].messages
        if let ip = o.sender { recordSender(ip, campaign: cid, o) }
        return assignment
    }

    private static func record(_ o: CampaignObservation, in c: inout Campaign, maxSubjects: Int) {
        c.messages += 1
        c.firstSeen = min(c.firstSeen, o.time)
        c.lastSeen = max(c.lastSeen, o.time)
        if let ip = o.sender {
            c.ips.insert(ip.description)
            c.subnets.insert(SendingAddress.subnet(of: ip))
        }
        if let d = o.senderDomain, !d.isEmpty { c.senderDomains.add(d.lowercased()) }
        for d in o.fingerprint.urlDomains { c.urlDomains.add(d) }
        if c.subjects.count < maxSubjects {
            let subject = String(o.subject.prefix(120))
            if !c.subjects.contains(subject) { c.subjects.append(subject) }
        }
        if let v = o.verdict { c.verdicts.add(v) }
        if let l = o.label { c.labels.add(l) }
    }

    /// Adds a true label to the campaign a message belongs to (learning a message that was
    /// scanned before); returns the campaign, or nil when the message matches none.
    @discardableResult
    public mutating func label(_ fingerprint: MessageFingerprint, as label: Label, sender: IPAddress?) -> UInt64? {
        guard fingerprint.hasText, let near = lsh.nearest(fingerprint.minHash, threshold: configuration.joinThreshold),
            let cid = campaignOfEntry[near.id], var c = campaigns[cid] else { return nil }
        c.labels.add(label)
        campaigns[cid] = c
        if let ip = sender, var s = senders[ip] {
            s.labels.add(label)
            senders[ip] = s
        }
        return cid
    }

    /// Campaigns by decreasing size.
    public func largest(_ limit: Int = .max) -> [Campaign] {
        Array(campaigns.values.sorted { $0.messages != $1.messages ? $0.messages > $1.messages : $0.id < $1.id }.prefix(limit))
    }

    private mutating func addEntry(_ sig: [UInt32], campaign cid: UInt64) {
        let e = nextEntry
        nextEntry += 1
        lsh.insert(e, signature: sig)
        campaignOfEntry[e] = cid
        entriesOfCampaign[cid, default: []].append(e)
    }

    private mutating func drop(_ cid: UInt64) {
        for e in entriesOfCampaign.removeValue(forKey: cid) ?? [] {
            lsh.remove(e)
            campaignOfEntry[e] = nil
        }
        campaigns[cid] = nil
        recency.remove(cid)
        evicted += 1
    }

    private mutating func expire() {
        guard let idle = configuration.maxIdleSeconds else { return }
        while let old = recency.oldest(), let c = campaigns[old], clock - c.lastSeen > idle { drop(old) }
    }

    private mutating func recordSender(_ ip: IPAddress, campaign cid: UInt64, _ o: CampaignObservation) {
        if senders[ip] == nil {
            senders[ip] = SenderRecord(
                address: ip.description, subnet: SendingAddress.subnet(of: ip), campaigns: [], messages: 0,
                verdicts: VerdictMix(), labels: LabelMix(), firstSeen: o.time, lastSeen: o.time, recentTimes: [])
        }
        // In place, as for campaigns.
        Self.record(o, campaign: cid, in: &senders[ip]!, configuration: configuration)
        senderRecency.touch(ip)
        while senders.count > max(1, configuration.maxSenders), let old = senderRecency.oldest() {
            senders[old] = nil
            senderRecency.remove(old)
        }
    }

    private static func record(_ o: CampaignObservation, campaign cid: UInt64, in s: inout SenderRecord, configuration: Configuration) {
        s.messages += 1
        s.firstSeen = min(s.firstSeen, o.time)
        s.lastSeen = max(s.lastSeen, o.time)
        if let i = s.campaigns.firstIndex(of: cid) { s.campaigns.remove(at: i) }
        s.campaigns.append(cid)
        if s.campaigns.count > configuration.maxCampaignsPerSender { s.campaigns.removeFirst() }
        if let v = o.verdict { s.verdicts.add(v) }
        if let l = o.label { s.labels.add(l) }
        let at = s.recentTimes.firstIndex { $0 > o.time } ?? s.recentTimes.endIndex
        s.recentTimes.insert(o.time, at: at)
        if s.recentTimes.count > configuration.recentTimesPerSender { s.recentTimes.removeFirst() }
    }
}
