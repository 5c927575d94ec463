extension DNSMessage {
    /// Decodes one message (as carried by UDP, or a TCP frame without its length prefix).
    ///
    /// Every length and count is checked against the bytes present; compression pointers must
    /// point backwards and at most ``DNSWireLimits/maxPointerHops`` are followed per name, so
    /// hostile input ends in a ``DNSWireError`` with the offset of the problem, never a crash or a
    /// loop. Bytes after the last record are an error unless `allowTrailingBytes` is true.
    public init(decoding bytes: [UInt8], allowTrailingBytes: Bool = false) throws(DNSWireError) {
        guard bytes.count <= DNSWireLimits.maxMessageBytes else {
            throw DNSWireError(code: .messageTooLong, offset: DNSWireLimits.maxMessageBytes)
        }
        var r = DNSReader(bytes: bytes)
        let id = try r.readUInt16()
        let flags = DNSHeaderFlags(rawValue: try r.readUInt16())
        let qd = Int(try r.readUInt16())
        let an = Int(try r.readUInt16())
        let ns = Int(try r.readUInt16())
        let ar = Int(try r.readUInt16())
        guard qd + an + ns + ar <= DNSWireLimits.maxRecords else {
            throw DNSWireError(code: .tooManyRecords, offset: 4)
        }
        var questions: [DNSQuestion] = []
        for _ in 0..<qd {
            let name = try r.readName()
            let type = ResourceRecordType(rawValue: try r.readUInt16())
            let qClass = ResourceRecordClass(rawValue: try r.readUInt16())
            questions.append(DNSQuestion(name: name, type: type, qClass: qClass))
        }
        var sections: [[ResourceRecord]] = [[], [], []]
        for (i, count) in [an, ns, ar].enumerated() {
            for _ in 0..<count { sections[i].append(try r.readRecord()) }
        }
        if !allowTrailingBytes && r.offset != bytes.count {
            throw DNSWireError(code: .trailingBytes, offset: r.offset)
        }
        self.init(
            id: id, flags: flags, questions: questions, answers: sections[0], authorities: sections[1],
            additionals: sections[2])
    }

    /// The ID of a message without decoding the rest; nil when shorter than a header.
    public static func peekID(_ bytes: [UInt8]) -> UInt16? {
        bytes.count >= 12 ? UInt16(bytes[0]) << 8 | UInt16(bytes[1]) : nil
    }
}

/// A bounds-checked cursor over a message.
struct DNSReader {
    let bytes: [UInt8]
    var offset = 0

    init(bytes: [UInt8]) { self.bytes = bytes }

    mutating func readUInt8() throws(DNSWireError) -> UInt8 {
        guard offset < bytes.count else { throw DNSWireError(code: .truncated, offset: offset) }
        defer { offset += 1 }
        return bytes[offset]
    }

    mutating func readUInt16() throws(DNSWireError) -> UInt16 {
        guard offset + 2 <= bytes.count else { throw DNSWireError(code: .truncated, offset: offset) }
        defer { offset += 2 }
        return UInt16(bytes[offset]) << 8 | UInt16(bytes[offset + 1])
    }

    mutating func readUInt32() throws(DNSWireError) -> UInt32 {
        guard offset + 4 <= bytes.count else { throw DNSWireError(code: .truncated, offset: offset) }
        defer { offset += 4 }
        return UInt32(bytes[offset]) << 24 | UInt32(bytes[offset + 1]) << 16 | UInt32(bytes[offset + 2]) << 8
            | UInt32(bytes[offset + 3])
    }

    mutating func readBytes(_ n: Int) throws(DNSWireError) -> [UInt8] {
        guard n >= 0, offset + n <= bytes.count else { throw DNSWireError(code: .truncated, offset: offset) }
        defer { offset += n }
        return Array(bytes[offset..<offset + n])
    }

    /// Reads a possibly compressed name at the cursor and moves past it.
    mutating func readName() throws(DNSWireError) -> DomainName {
        var labels: [[UInt8]] = []
        var wire = 1
        var pos = offset
        var hops = 0
        var resumeAt: Int? = nil
        while true {
            guard pos < bytes.count else { throw DNSWireError(code: .truncated, offset: pos) }
            let len = bytes[pos]
            switch len & 0xC0 {
            case 0x00:
                if len == 0 {
                    offset = resumeAt ?? pos + 1
                    return DomainName(uncheckedLabels: labels)
                }
                let n = Int(len)
                guard pos + 1 + n <= bytes.count else { throw DNSWireError(code: .truncated, offset: pos) }
                wire += 1 + n
                guard wire <= DNSWireLimits.maxNameBytes else { throw DNSWireError(code: .nameTooLong, offset: pos) }
                labels.append(Array(bytes[pos + 1..<pos + 1 + n]))
                pos += 1 + n
            case 0xC0:
                guard pos + 2 <= bytes.count else { throw DNSWireError(code: .truncated, offset: pos) }
                let target = Int(len & 0x3F) << 8 | Int(bytes[pos + 1])
                guard target < pos else { throw DNSWireError(code: .pointerForward, offset: pos) }
                hops += 1
                guard hops <= DNSWireLimits.maxPointerHops else { throw DNSWireError(code: .pointerLoop, offset: pos) }
                if resumeAt == nil { resumeAt = pos + 2 }
                pos = target
            default:
                throw DNSWireError(code: .badLabelType, offset: pos)
            }
        }
    }

    mutating func readRecord() throws(DNSWireError) -> ResourceRecord {
        let name = try readName()
        let type = ResourceRecordType(rawValue: try readUInt16())
        let rrClass = ResourceRecordClass(rawValue: try readUInt16())
        let ttl = try readUInt32()
        let length = Int(try readUInt16())
        let start = offset
        guard start + length <= bytes.count else { throw DNSWireError(code: .truncated, offset: start) }
        let end = start + length
        let data: RecordData
        switch type {
        case .a:
            guard length == 4 else { throw DNSWireError(code: .rdataLengthMismatch, offset: start) }
            data = .a(try readUInt32())
        case .aaaa:
            guard length == 16 else { throw DNSWireError(code: .rdataLengthMismatch, offset: start) }
            data = .aaaa(try readBytes(16))
        case .txt:
            var strings: [[UInt8]] = []
            while offset < end {
                let n = Int(try readUInt8())
                guard offset + n <= end else { throw DNSWireError(code: .rdataLengthMismatch, offset: offset - 1) }
                strings.append(try readBytes(n))
            }
            data = .txt(strings)
        case .mx:
            let preference = try readUInt16()
            data = .mx(preference: preference, exchange: try readName())
        case .ptr: data = .ptr(try readName())
        case .cname: data = .cname(try readName())
        case .ns: data = .ns(try readName())
        case .soa:
            let mname = try readName()
            let rname = try readName()
            data = .soa(
                SOAData(
                    primaryServer: mname, responsibleMailbox: rname, serial: try readUInt32(),
                    refreshSeconds: try readUInt32(), retrySeconds: try readUInt32(), expireSeconds: try readUInt32(),
                    minimumSeconds: try readUInt32()))
        case .opt:
            var options: [EDNSOption] = []
            while offset < end {
                let code = try readUInt16()
                let n = Int(try readUInt16())
                guard offset + n <= end else { throw DNSWireError(code: .rdataLengthMismatch, offset: offset - 4) }
                options.append(EDNSOption(code: code, data: try readBytes(n)))
            }
            data = .opt(options)
        default:
            data = .opaque(type: type, data: try readBytes(length))
        }
        guard offset == end else { throw DNSWireError(code: .rdataLengthMismatch, offset: start) }
        return ResourceRecord(name: name, rrClass: rrClass, ttl: ttl, data: data)
    }
}
