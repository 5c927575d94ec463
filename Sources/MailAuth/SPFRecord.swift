/// A syntax error in an SPF record (RFC 7208 section 4.6, 5, 6, 7): `permerror`.
public struct SPFRecordError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What went wrong; extensible without breaking callers.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Base: String, Sendable, Hashable {
            case notSPFRecord, nonASCII, unknownMechanism, invalidModifierName, duplicateModifier,
                invalidDomainSpec, invalidMacro, invalidIPAddress, invalidCIDRLength, unexpectedArgument,
                missingArgument
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// The text does not start with `v=spf1` followed by a space or its end.
        public static let notSPFRecord = Code(.notSPFRecord)
        /// A byte outside 7-bit ASCII.
        public static let nonASCII = Code(.nonASCII)
        /// A term that is neither a known mechanism nor a modifier (`moo`, `redirect:x`).
        public static let unknownMechanism = Code(.unknownMechanism)
        /// A modifier whose name is empty or does not start with a letter (`=all`, `1up=x`).
        public static let invalidModifierName = Code(.invalidModifierName)
        /// `redirect=` or `exp=` given twice.
        public static let duplicateModifier = Code(.duplicateModifier)
        /// A domain-spec that is empty or does not end in a macro or `.toplabel`.
        public static let invalidDomainSpec = Code(.invalidDomainSpec)
        /// A `%` not starting a valid macro, or a letter not allowed here.
        public static let invalidMacro = Code(.invalidMacro)
        /// An `ip4:`/`ip6:` network that is not an address.
        public static let invalidIPAddress = Code(.invalidIPAddress)
        /// A CIDR length out of range, with leading zeros, or where none is allowed.
        public static let invalidCIDRLength = Code(.invalidCIDRLength)
        /// An argument to a mechanism that takes none (`all:x`, `all/8`).
        public static let unexpectedArgument = Code(.unexpectedArgument)
        /// A mechanism without its required argument (`include`, `ip4`, `exists`).
        public static let missingArgument = Code(.missingArgument)

        public var description: String { base.rawValue }
    }

    public var code: Code
    /// The offending term (or record), as written.
    public var term: String
    /// A short explanation.
    public var detail: String

    public init(_ code: Code, term: String, detail: String = "") {
        self.code = code
        self.term = term
        self.detail = detail
    }

    public var description: String {
        "\(code) in '\(term)'" + (detail.isEmpty ? "" : ": \(detail)")
    }
}

/// The qualifier before a mechanism: the result when it matches.
public enum SPFQualifier: Character, Sendable, Hashable {
    case pass = "+"
    case fail = "-"
    case softfail = "~"
    case neutral = "?"

    /// The check result this qualifier gives.
    public var result: SPFResult.Code {
        switch self {
        case .pass: .pass
        case .fail: .fail
        case .softfail: .softfail
        case .neutral: .neutral
        }
    }
}

/// A mechanism (RFC 7208 section 5) with its arguments.
public enum SPFMechanism: Sendable, Hashable {
    case all
    case include(SPFMacroString)
    /// `a[:domain][/ipv4-cidr][//ipv6-cidr]`; a nil domain is the current domain.
    case a(domain: SPFMacroString?, ipv4Prefix: Int, ipv6Prefix: Int)
    /// `mx[:domain][/ipv4-cidr][//ipv6-cidr]`.
    case mx(domain: SPFMacroString?, ipv4Prefix: Int, ipv6Prefix: Int)
    /// `ptr[:domain]`.
    case ptr(SPFMacroString?)
    case ip4(IPv4Address, prefixLength: Int)
    case ip6(IPv6Address, prefixLength: Int)
    case exists(SPFMacroString)

    /// Whether evaluating it counts against the limit of 10 DNS-querying terms.
    public var countsAgainstLookupLimit: Bool {
        switch self {
        case .all, .ip4, .ip6: false
        default: true
        }
    }
}

/// A qualifier and a mechanism.
public struct SPFDirective: Sendable, Hashable, CustomStringConvertible {
    public var qualifier: SPFQualifier
    public var mechanism: SPFMechanism
    /// The term as written in the record.
    public var text: String

    public init(qualifier: SPFQualifier, mechanism: SPFMechanism, text: String) {
        self.qualifier = qualifier
        self.mechanism = mechanism
        self.text = text
    }

    public var description: String { text }
}

/// A parsed SPF record (RFC 7208 section 4.5, 4.6, 12): its directives in order and its
/// modifiers.
///
/// Parsing checks the whole record, so a syntax error anywhere gives `permerror` even when an
/// earlier mechanism would match.
public struct SPFRecord: Sendable, Hashable, CustomStringConvertible {
    /// The record text.
    public var text: String
    /// The mechanisms, in order.
    public var directives: [SPFDirective]
    /// `redirect=`'s domain-spec.
    public var redirect: SPFMacroString?
    /// `exp=`'s domain-spec.
    public var explanation: SPFMacroString?
    /// Other modifiers (`name=value`), ignored by evaluation.
    public var unknownModifiers: [(name: String, value: SPFMacroString)] {
        get { otherModifiers.map { ($0.name, $0.value) } }
        set { otherModifiers = newValue.map { Modifier(name: $0.name, value: $0.value) } }
    }

    private struct Modifier: Sendable, Hashable {
        var name: String
        var value: SPFMacroString
    }
    private var otherModifiers: [Modifier] = []

    public var description: String { text }

    /// Whether a TXT record's data is an SPF version 1 record: `v=spf1` (any case) followed by
    /// a space or the end (RFC 7208 section 4.5). Records that are not are ignored.
    public static func isSPFRecord(_ data: [UInt8]) -> Bool {
        let version = Array("v=spf1".utf8)
        guard data.count >= version.count else { return false }
        for (c, v) in zip(data, version) where (c >= 0x41 && c <= 0x5A ? c + 32 : c) != v { return false }
        return data.count == version.count || data[version.count] == 0x20
    }

    /// Parses the record from TXT data (strings already joined).
    public init(parsing data: [UInt8]) throws(SPFRecordError) {
        let text = String(decoding: data, as: UTF8.self)
        guard Self.isSPFRecord(data) else { throw SPFRecordError(.notSPFRecord, term: text) }
        guard data.allSatisfy({ $0 < 0x80 }) else {
            throw SPFRecordError(.nonASCII, term: text, detail: "SPF records are 7-bit ASCII")
        }
        self.text = text
        directives = []
        let terms = data.dropFirst(6).split(separator: 0x20, omittingEmptySubsequences: true)
        for term in terms {
            try parseTerm(String(decoding: term, as: UTF8.self))
        }
    }

    /// Parses the record text.
    public init(parsing text: String) throws(SPFRecordError) {
        try self.init(parsing: Array(text.utf8))
    }

    private mutating func parseTerm(_ term: String) throws(SPFRecordError) {
        let b = Array(term.utf8)
        // A modifier is `name=…` where '=' comes before any ':' or '/'.
        if let k = b.firstIndex(where: { $0 == UInt8(ascii: "=") || $0 == UInt8(ascii: ":") || $0 == UInt8(ascii: "/") }
        ),
            b[k] == UInt8(ascii: "=")
        {
            let name = Array(b[..<k])
            let value = String(decoding: b[(k + 1)...], as: UTF8.self)
            guard let first = name.first, Self.isAlpha(first),
                name.allSatisfy({
                    Self.isAlpha($0) || Self.isDigit($0) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_")
                        || $0 == UInt8(ascii: ".")
                })
            else { throw SPFRecordError(.invalidModifierName, term: term) }
            switch String(decoding: name, as: UTF8.self).lowercased() {
            case "redirect":
                guard redirect == nil else { throw SPFRecordError(.duplicateModifier, term: term) }
                redirect = try SPFMacroString(value, usage: .domainSpec)
            case "exp":
                guard explanation == nil else { throw SPFRecordError(.duplicateModifier, term: term) }
                explanation = try SPFMacroString(value, usage: .domainSpec)
            default:
                otherModifiers.append(
                    Modifier(
                        name: String(decoding: name, as: UTF8.self),
                        value: try SPFMacroString(value, usage: .modifierValue)))
            }
            return
        }

        var rest = b[...]
        var qualifier = SPFQualifier.pass
        if let q = rest.first, let parsed = SPFQualifier(rawValue: Character(Unicode.Scalar(q))) {
            qualifier = parsed
            rest = rest.dropFirst()
        }
        let nameEnd = rest.firstIndex(where: { $0 == UInt8(ascii: ":") || $0 == UInt8(ascii: "/") }) ?? rest.endIndex
        let name = String(decoding: rest[..<nameEnd], as: UTF8.self).lowercased()
        let args = rest[nameEnd...]
        // The text after "name:", when the arguments start with ':'.
        var domainText: String? {
            args.first == UInt8(ascii: ":") ? String(decoding: args.dropFirst(), as: UTF8.self) : nil
        }

        let mechanism: SPFMechanism
        switch name {
        case "all":
            guard args.isEmpty else { throw SPFRecordError(.unexpectedArgument, term: term) }
            mechanism = .all
        case "include", "exists":
            guard let d = domainText else { throw SPFRecordError(.missingArgument, term: term) }
            let spec = try SPFMacroString(d, usage: .domainSpec)
            mechanism = name == "include" ? .include(spec) : .exists(spec)
        case "a", "mx":
            var body = args
            var v4 = 32
            var v6 = 128
            // dual-cidr-length = [ ip4-cidr-length ] [ "/" ip6-cidr-length ], at the very end.
            if let (prefix, length) = try Self.trailingCIDR(body, doubleSlash: true, term: term) {
                guard length <= 128 else { throw SPFRecordError(.invalidCIDRLength, term: term) }
                v6 = length
                body = prefix
            }
            if let (prefix, length) = try Self.trailingCIDR(body, doubleSlash: false, term: term) {
                guard length <= 32 else { throw SPFRecordError(.invalidCIDRLength, term: term) }
                v4 = length
                body = prefix
            }
            var spec: SPFMacroString? = nil
            if body.first == UInt8(ascii: ":") {
                spec = try SPFMacroString(String(decoding: body.dropFirst(), as: UTF8.self), usage: .domainSpec)
            } else if !body.isEmpty {
                throw SPFRecordError(.invalidCIDRLength, term: term)
            }
            mechanism =
                name == "a"
                ? .a(domain: spec, ipv4Prefix: v4, ipv6Prefix: v6) : .mx(domain: spec, ipv4Prefix: v4, ipv6Prefix: v6)
        case "ptr":
            if args.isEmpty {
                mechanism = .ptr(nil)
            } else if let d = domainText {
                mechanism = .ptr(try SPFMacroString(d, usage: .domainSpec))
            } else {
                throw SPFRecordError(.unexpectedArgument, term: term)
            }
        case "ip4", "ip6":
            guard args.first == UInt8(ascii: ":") else { throw SPFRecordError(.missingArgument, term: term) }
            var network = args.dropFirst()
            var length = name == "ip4" ? 32 : 128
            if let slash = network.firstIndex(of: UInt8(ascii: "/")) {
                guard let l = parseCIDRLength(String(decoding: network[(slash + 1)...], as: UTF8.self)), l <= length
                else {
                    throw SPFRecordError(.invalidCIDRLength, term: term)
                }
                length = l
                network = network[..<slash]
            }
            let addressText = String(decoding: network, as: UTF8.self)
            if name == "ip4" {
                guard let a = IPv4Address(addressText) else { throw SPFRecordError(.invalidIPAddress, term: term) }
                mechanism = .ip4(a, prefixLength: length)
            } else {
                guard let a = IPv6Address(addressText) else { throw SPFRecordError(.invalidIPAddress, term: term) }
                mechanism = .ip6(a, prefixLength: length)
            }
        default:
            throw SPFRecordError(.unknownMechanism, term: term)
        }
        directives.append(SPFDirective(qualifier: qualifier, mechanism: mechanism, text: term))
    }

    /// Splits a trailing `/digits` (or `//digits`) off `s`; nil when `s` does not end in one.
    /// Digits with a leading zero are an error.
    private static func trailingCIDR(_ s: ArraySlice<UInt8>, doubleSlash: Bool, term: String) throws(SPFRecordError)
        -> (ArraySlice<UInt8>, Int)?
    {
        guard let slash = s.lastIndex(of: UInt8(ascii: "/")) else { return nil }
        let digits = s[(slash + 1)...]
        guard !digits.isEmpty, digits.allSatisfy(isDigit) else { return nil }
        var prefixEnd = slash
        if doubleSlash {
            guard slash > s.startIndex, s[slash - 1] == UInt8(ascii: "/") else { return nil }
            prefixEnd = slash - 1
        }
        guard let length = parseCIDRLength(String(decoding: digits, as: UTF8.self)) else {
            throw SPFRecordError(.invalidCIDRLength, term: term)
        }
        return (s[..<prefixEnd], length)
    }

    private static func isAlpha(_ c: UInt8) -> Bool {
        (c | 0x20) >= UInt8(ascii: "a") && (c | 0x20) <= UInt8(ascii: "z")
    }
    private static func isDigit(_ c: UInt8) -> Bool { c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9") }

    public static func == (lhs: SPFRecord, rhs: SPFRecord) -> Bool { lhs.text == rhs.text }
    public func hash(into hasher: inout Hasher) { hasher.combine(text) }
}
