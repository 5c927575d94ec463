// libFuzzer entry point for the MIME parser. Built by scripts/fuzz-parser.sh together with the
// MailMessage sources (no SwiftPM target, so that ordinary builds are not instrumented).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzParser(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let limits = ParseLimits(maxMessageBytes: 1 << 20, maxDecodedBytes: 1 << 20, maxTextBytes: 256 << 10)
    let m = MessageParser.parse(bytes, limits: limits)
    // Touch what callers use, so that lazily computed values are exercised too.
    precondition(m.parts.count >= 1 && m.parts.count <= limits.maxParts)
    precondition(m.textParts.reduce(0) { $0 + $1.text.utf8.count } <= limits.maxTextBytes)
    _ = m.subject
    _ = m.from
    for f in m.headers.fields { _ = f.decodedValue }
    return 0
}
