extension DNSMessage {
    /// The message in wire form.
    ///
    /// With `compress`, owner names and the names inside NS, CNAME, PTR, MX and SOA data reuse
    /// earlier suffixes through pointers (RFC 1035 section 4.1.4; RFC 3597 section 4 forbids it
    /// for other types). Throws ``DNSWireError/Code/messageTooLong`` past 65,535 bytes and
    /// ``DNSWireError/Code/rdataLengthMismatch`` for a TXT string over 255 bytes or record data over
    /// 65,535 bytes.
    public func encoded(compress: Bool = true) throws(DNSWireError) -> [UInt8] {
        var w = DNSWriter(compress: compress)
        w.writeUInt16(id)
        w.writeUInt16(flags.rawValue)
        for count in [questions.count, answers.count, authorities.count, additionals.count] {
            guard count <= 0xFFFF else { throw DNSWireError(code: .tooManyRecords, offset: w.bytes.count) }
            w.writeUInt16(UInt16(count))
        }
        for q in questions {
            w.writeName(q.name)
            w.writeUInt16(q.type.rawValue)
            w.writeUInt16(q.qClass.rawValue)
        }
        for record in answers + authorities + additionals { try w.writeRecord(record) }
        guard w.bytes.count <= DNSWireLimits.maxMessageBytes else {
            throw DNSWireError(code: .messageTooLong, offset: DNSWireLimits.maxMessageBytes)
        }
        return w.bytes
    }
}

struct DNSWriter {
    var bytes: [UInt8] = []
    let compress: Bool
    /// Offsets of names already written, by their lower-cased labels.
    var offsets: [[[UInt8]]: Int] = [:]

    init(compress: Bool) {
        self.compress = compress
        bytes.reserveCapacity(512)
    }

    mutating func writeUInt16(_ v: UInt16) {
        bytes.append(UInt8(truncatingIfNeeded: v >> 8))
        bytes.append(UInt8(truncatingIfNeeded: v))
    }

    mutating func writeUInt32(_ v: UInt32) {
        writeUInt16(UInt16(truncatingIfNeeded: v >> 16))
        writeUInt16(UInt16(truncatingIfNeeded: v))
    }

    mutating func writeName(_ name: DomainName, compressible: Bool = true) {
        // Suffixes are matched byte for byte (not case-folded), so every name keeps its own
        // spelling: an answer echoes the question's case exactly (resolvers using 0x20 check it).
        for i in name.labels.indices {
            let suffix = Array(name.labels[i...])
            if compress && compressible, let at = offsets[suffix] {
                writeUInt16(0xC000 | UInt16(at))
                return
            }
            if compress && bytes.count <= 0x3FFF { offsets[suffix] = bytes.count }
            bytes.append(UInt8(name.labels[i].count))
            bytes.append(contentsOf: name.labels[i])
        }
        bytes.append(0)
    }

    mutating func writeRecord(_ r: ResourceRecord) throws(DNSWireError) {
        writeName(r.name)
        writeUInt16(r.type.rawValue)
        writeUInt16(r.rrClass.rawValue)
        writeUInt32(r.ttl)
        let lengthAt = bytes.count
        writeUInt16(0)
        switch r.data {
        case .a(let v): writeUInt32(v)
        case .aaaa(let b):
            guard b.count == 16 else { throw DNSWireError(code: .rdataLengthMismatch, offset: lengthAt) }
            bytes.append(contentsOf: b)
        case .txt(let strings):
            for s in strings {
                guard s.count <= 255 else { throw DNSWireError(code: .rdataLengthMismatch, offset: bytes.count) }
                bytes.append(UInt8(s.count))
                bytes.append(contentsOf: s)
            }
        case .mx(let preference, let exchange):
            writeUInt16(preference)
            writeName(exchange)
        case .ptr(let n), .cname(let n), .ns(let n): writeName(n)
        case .soa(let s):
            writeName(s.primaryServer)
            writeName(s.responsibleMailbox)
            for v in [s.serial, s.refreshSeconds, s.retrySeconds, s.expireSeconds, s.minimumSeconds] { writeUInt32(v) }
        case .opt(let options):
            for o in options {
                guard o.data.count <= 0xFFFF else { throw DNSWireError(code: .rdataLengthMismatch, offset: bytes.count) }
                writeUInt16(o.code)
                writeUInt16(UInt16(o.data.count))
                bytes.append(contentsOf: o.data)
            }
        case .opaque(_, let data): bytes.append(contentsOf: data)
        }
        let length = bytes.count - lengthAt - 2
        guard length <= 0xFFFF else { throw DNSWireError(code: .rdataLengthMismatch, offset: lengthAt) }
        bytes[lengthAt] = UInt8(truncatingIfNeeded: length >> 8)
        bytes[lengthAt + 1] = UInt8(truncatingIfNeeded: length)
    }
}
