import MailMessage

/// Punycode (RFC 3492) and the IDNA label conversions built on it (`xn--` labels).
///
/// Only the conversions: no Unicode normalization or IDNA 2008 validity tables, which a spam
/// filter does not need (it compares what a browser would resolve, and flags odd names).
public enum Punycode {
    static let base = 36, tMin = 1, tMax = 26, skew = 38, damp = 700, initialBias = 72, initialN = 0x80
    /// Labels longer than this are not decoded (DNS labels are at most 63 bytes).
    static let maxLabelBytes = 63

    static func adapt(_ delta: Int, _ numPoints: Int, _ firstTime: Bool) -> Int {
        var delta = firstTime ? delta / damp : delta / 2
        delta += delta / numPoints
        var k = 0
        while delta > ((base - tMin) * tMax) / 2 {
            delta /= base - tMin
            k += base
        }
        return k + (base - tMin + 1) * delta / (delta + skew)
    }

    static func digit(_ c: UInt8) -> Int? {
        switch c {
        case 0x30...0x39: return Int(c) - 22
        case 0x41...0x5A: return Int(c) - 0x41
        case 0x61...0x7A: return Int(c) - 0x61
        default: return nil
        }
    }

    static func character(_ d: Int) -> UInt8 { UInt8(d < 26 ? d + 0x61 : d + 22) }

    /// Decodes the part after `xn--`; nil when it is not valid Punycode.
    public static func decode(_ input: String) -> String? {
        let bytes = Array(input.utf8)
        guard bytes.count <= maxLabelBytes * 2 else { return nil }
        var output: [UInt32] = []
        var b = 0
        if let last = bytes.lastIndex(of: 0x2D) {
            for c in bytes[..<last] {
                guard c < 0x80 else { return nil }
                output.append(UInt32(c))
            }
            b = last + 1
        }
        var n = initialN, i = 0, bias = initialBias
        var idx = b
        while idx < bytes.count {
            let oldi = i
            var w = 1
            var k = base
            while true {
                guard idx < bytes.count, let d = digit(bytes[idx]) else { return nil }
                idx += 1
                let (m, o1) = d.multipliedReportingOverflow(by: w)
                let (s, o2) = i.addingReportingOverflow(m)
                guard !o1, !o2, s < 0x10FFFF * 64 else { return nil }
                i = s
                let t = k <= bias ? tMin : k >= bias + tMax ? tMax : k - bias
                if d < t { break }
                w *= base - t
                guard w < 0x10FFFF * 64 else { return nil }
                k += base
            }
            bias = adapt(i - oldi, output.count + 1, oldi == 0)
            n += i / (output.count + 1)
            guard n <= 0x10FFFF else { return nil }
            i %= output.count + 1
            output.insert(UInt32(n), at: i)
            i += 1
            guard output.count <= maxLabelBytes * 4 else { return nil }
        }
        var s = ""
        for v in output {
            guard let u = Unicode.Scalar(v) else { return nil }
            s.unicodeScalars.append(u)
        }
        return s
    }

    /// Encodes a label to Punycode (without the `xn--` prefix).
    public static func encode(_ input: String) -> String? {
        let scalars = input.unicodeScalars.map { Int($0.value) }
        guard scalars.count <= maxLabelBytes * 4 else { return nil }
        var output: [UInt8] = scalars.filter { $0 < 0x80 }.map { UInt8($0) }
        let basicCount = output.count
        var h = basicCount
        if basicCount > 0 { output.append(0x2D) }
        var n = initialN, delta = 0, bias = initialBias
        while h < scalars.count {
            guard let m = scalars.filter({ $0 >= n }).min() else { return nil }
            let (d, o) = (m - n).multipliedReportingOverflow(by: h + 1)
            guard !o else { return nil }
            delta += d
            n = m
            for c in scalars {
                if c < n { delta += 1 }
                if c == n {
                    var q = delta
                    var k = base
                    while true {
                        let t = k <= bias ? tMin : k >= bias + tMax ? tMax : k - bias
                        if q < t { break }
                        output.append(character(t + (q - t) % (base - t)))
                        q = (q - t) / (base - t)
                        k += base
                    }
                    output.append(character(q))
                    bias = adapt(delta, h + 1, h == basicCount)
                    delta = 0
                    h += 1
                }
            }
            delta += 1
            n += 1
        }
        return String(decoding: output, as: UTF8.self)
    }

    /// A host name with every `xn--` label decoded (labels that fail to decode stay as written).
    public static func toUnicode(_ host: String) -> String {
        guard host.containsBytes("xn--") else { return host }
        return host.split(separator: ".", omittingEmptySubsequences: false).map { label -> String in
            if label.hasPrefix("xn--"), let d = decode(String(label.dropFirst(4))) { return d }
            return String(label)
        }.joined(separator: ".")
    }

    /// A host name with every non-ASCII label encoded as `xn--` (lower-cased first).
    public static func toASCII(_ host: String) -> String? {
        guard host.utf8.contains(where: { $0 >= 0x80 }) else { return host }
        var labels: [String] = []
        for label in host.lowercased().split(separator: ".", omittingEmptySubsequences: false) {
            if label.utf8.allSatisfy({ $0 < 0x80 }) {
                labels.append(String(label))
            } else {
                guard let e = encode(String(label)) else { return nil }
                labels.append("xn--" + e)
            }
        }
        return labels.joined(separator: ".")
    }
}
