import NIOCore

/// Frames spamd requests from a byte stream: the request line, header lines up to an empty line, then the body.
///
/// Body framing follows spamd: exactly `Content-length` bytes when the header is present; otherwise everything
/// up to the client's half-close (EOF), which needs the channel option `allowRemoteHalfClosure` so the reply can
/// still be written. PING and SKIP carry no body; protocol versions before 1.5 send no header block for them, and
/// versions up to 1.0 send none for any method. `Compress: zlib` bodies are inflated.
///
/// Nothing is consumed until a whole request is available. Every limit of ``SpamdConfiguration`` is checked as
/// soon as it can be, and violations throw a ``SpamdError`` whose ``SpamdError/response`` is spamd's answer.
/// Requests are decoded back to back; a spamd connection carries one, and ``SpamdConnection`` reads just one.
public struct SpamdRequestDecoder: NIOSingleStepByteToMessageDecoder {
    public typealias InboundOut = SpamdRequest

    private let configuration: SpamdConfiguration
    private var state = State.head(PartialHead())
    private var decodedRequests = 0

    /// Creates a decoder enforcing `configuration`'s limits.
    public init(configuration: SpamdConfiguration = .default) {
        self.configuration = configuration
    }

    private enum State {
        case head(PartialHead)
        case body(CompleteHead, headLength: Int, framing: BodyFraming)
    }

    private enum BodyFraming {
        case none
        case length(Int)
        case untilEOF
    }

    /// What has been parsed of the head so far; `nextLineOffset` is relative to the buffer's reader index.
    private struct PartialHead {
        var requestLine: (method: SpamdMethod, version: SpamdProtocolVersion)?
        var headers = SpamdHeaders()
        var nextLineOffset = 0
        var contentLength: Int?
        var compressed = false
    }

    private struct CompleteHead {
        var method: SpamdMethod
        var version: SpamdProtocolVersion
        var headers: SpamdHeaders
        var compressed: Bool
    }

    public mutating func decode(buffer: inout ByteBuffer) throws -> SpamdRequest? {
        try self.step(buffer: &buffer, seenEOF: false)
    }

    public mutating func decodeLast(buffer: inout ByteBuffer, seenEOF: Bool) throws -> SpamdRequest? {
        try self.step(buffer: &buffer, seenEOF: seenEOF)
    }

    // MARK: - State machine

    private mutating func step(buffer: inout ByteBuffer, seenEOF: Bool) throws(SpamdError) -> SpamdRequest? {
        if case .head(var partial) = self.state {
            let outcome = try self.parseHead(&partial, buffer: buffer, seenEOF: seenEOF)
            switch outcome {
            case .needMoreData:
                self.state = .head(partial)
                if seenEOF {
                    if buffer.readableBytes == 0 {
                        guard self.decodedRequests == 0 else { return nil }
                        throw SpamdError.protocolError(.closedBeforeRequest, "(closed before headers)")
                    }
                    throw SpamdError.protocolError(.eofDuringHeaders, "(EOF during headers)")
                }
                return nil
            case .complete(let head, let headLength, let framing):
                self.state = .body(head, headLength: headLength, framing: framing)
            }
        }

        guard case .body(let head, let headLength, let framing) = self.state else { return nil }
        let available = buffer.readableBytes - headLength
        let bodyLength: Int
        switch framing {
        case .none:
            bodyLength = 0
        case .length(let expected):
            if available < expected {
                guard seenEOF else { return nil }
                throw SpamdError.protocolError(
                    .contentLengthMismatch,
                    "(Content-Length mismatch: Expected \(expected) bytes, got \(max(0, available)) bytes)")
            }
            bodyLength = expected
        case .untilEOF:
            if available > self.configuration.maximumBodyBytes {
                throw SpamdError.bodyTooLarge(limit: self.configuration.maximumBodyBytes)
            }
            guard seenEOF else { return nil }
            bodyLength = available
        }

        guard let rawBody = buffer.getSlice(at: buffer.readerIndex + headLength, length: bodyLength) else {
            return nil  // cannot happen: the lengths were checked above
        }
        let body: [UInt8]
        if head.compressed {
            body = try SpamdZlib.inflate(rawBody, limit: self.configuration.maximumBodyBytes)
        } else {
            body = Array(rawBody.readableBytesView)
        }
        buffer.moveReaderIndex(forwardBy: headLength + bodyLength)
        self.state = .head(PartialHead())
        self.decodedRequests += 1
        return SpamdRequest(
            method: head.method, version: head.version, headers: head.headers, body: body,
            wasCompressed: head.compressed)
    }

    private enum HeadOutcome {
        case needMoreData
        case complete(CompleteHead, headLength: Int, framing: BodyFraming)
    }

    private func parseHead(
        _ partial: inout PartialHead, buffer: ByteBuffer, seenEOF: Bool
    ) throws(SpamdError) -> HeadOutcome {
        let view = buffer.readableBytesView
        let limit = self.configuration.maximumHeaderBytes
        while true {
            let lineStart = view.startIndex + partial.nextLineOffset
            let lineEnd: Int  // index after the line terminator
            var contentEnd: Int
            if let newline = view[lineStart...].firstIndex(of: UInt8(ascii: "\n")) {
                lineEnd = newline + 1
                contentEnd = newline
            } else if seenEOF && lineStart < view.endIndex {
                // spamd reads a last unterminated line at EOF as a line.
                lineEnd = view.endIndex
                contentEnd = view.endIndex
            } else {
                if view.count > limit {
                    throw SpamdError.protocolError(
                        .headerBlockTooLarge, "(header section exceeds \(limit) bytes)")
                }
                return .needMoreData
            }
            if lineEnd - view.startIndex > limit {
                throw SpamdError.protocolError(.headerBlockTooLarge, "(header section exceeds \(limit) bytes)")
            }
            if contentEnd > lineStart && view[contentEnd - 1] == UInt8(ascii: "\r") {
                contentEnd -= 1
            }
            let line = view[lineStart..<contentEnd]
            partial.nextLineOffset = lineEnd - view.startIndex

            if partial.requestLine == nil {
                let parsed = try Self.parseRequestLine(line)
                partial.requestLine = parsed
                if !Self.expectsHeaders(method: parsed.method, version: parsed.version) {
                    return try self.finishHead(partial, headLength: partial.nextLineOffset)
                }
                continue
            }
            if line.isEmpty {
                return try self.finishHead(partial, headLength: partial.nextLineOffset)
            }
            if partial.headers.count >= self.configuration.maximumHeaderCount {
                throw SpamdError.protocolError(.tooManyHeaders, "(too many headers)")
            }
            try self.addHeader(line, to: &partial)
        }
    }

    /// spamd reads headers for check methods from protocol 1.1 on, always for TELL, and for PING/SKIP from 1.5 on.
    private static func expectsHeaders(method: SpamdMethod, version: SpamdProtocolVersion) -> Bool {
        switch method {
        case .tell: return true
        case .ping, .skip: return version >= .v1_5
        case .check, .symbols, .report, .reportIfSpam, .process, .headers: return version > .v1_0
        }
    }

    private static func parseRequestLine(
        _ line: ByteBufferView.SubSequence
    ) throws(SpamdError) -> (method: SpamdMethod, version: SpamdProtocolVersion) {
        // Built only when thrown: the error's text is sanitized, which the good path need not pay for.
        var bad: SpamdError { SpamdError.protocolError(.badRequestLine, String(decoding: line, as: UTF8.self)) }
        guard let space = line.firstIndex(of: UInt8(ascii: " ")) else { throw bad }
        guard let method = SpamdMethod(rawValue: String(decoding: line[line.startIndex..<space], as: UTF8.self))
        else { throw bad }
        var rest = line[(space + 1)...]
        while let last = rest.last, last == UInt8(ascii: " ") || last == UInt8(ascii: "\t") { rest = rest.dropLast() }
        let prefix = Array("SPAMC/".utf8)
        guard rest.count > prefix.count, rest.prefix(prefix.count).elementsEqual(prefix),
            let version = SpamdProtocolVersion(String(decoding: rest.dropFirst(prefix.count), as: UTF8.self))
        else { throw bad }
        return (method, version)
    }

    private func addHeader(_ line: ByteBufferView.SubSequence, to partial: inout PartialHead) throws(SpamdError) {
        guard let colon = line.firstIndex(of: UInt8(ascii: ":")), colon > line.startIndex else {
            throw SpamdError.protocolError(.badHeaderLine, "(header not in 'Name: value' format)")
        }
        let name = String(decoding: line[line.startIndex..<colon], as: UTF8.self)
        var valueBytes = line[(colon + 1)...]
        while let first = valueBytes.first, first == UInt8(ascii: " ") || first == UInt8(ascii: "\t") {
            valueBytes = valueBytes.dropFirst()
        }
        while let last = valueBytes.last, last == UInt8(ascii: " ") || last == UInt8(ascii: "\t") {
            valueBytes = valueBytes.dropLast()
        }
        let value = String(decoding: valueBytes, as: UTF8.self)

        if SpamdHeaders.namesMatch(name, "Content-length") {
            let length = try self.parseContentLength(valueBytes)
            if let previous = partial.contentLength, previous != length {
                throw SpamdError.protocolError(.badContentLength, "(conflicting Content-length headers)")
            }
            partial.contentLength = length
        } else if SpamdHeaders.namesMatch(name, "Compress") {
            guard value.lowercased().contains("zlib") else {
                throw SpamdError.protocolError(.unsupportedCompression, "(compression type not supported: \(value))")
            }
            partial.compressed = true
        } else if SpamdHeaders.namesMatch(name, "User") {
            guard valueBytes.allSatisfy({ $0 >= 0x20 }) else {
                throw SpamdError.protocolError(.badUser, "(User header contains control chars)")
            }
        } else if SpamdHeaders.namesMatch(name, "Message-class") {
            guard SpamdMessageClass(rawValue: value.lowercased()) != nil else {
                throw SpamdError.protocolError(.badMessageClass, "(Message-class header contains invalid class)")
            }
        }
        partial.headers.add(name: name, value: value)
    }

    private func parseContentLength(_ bytes: ByteBufferView.SubSequence) throws(SpamdError) -> Int {
        guard !bytes.isEmpty, bytes.allSatisfy(isDigit) else {
            throw SpamdError.protocolError(.badContentLength, "(Content-Length contains non-numeric bytes)")
        }
        var value = 0
        for digit in bytes {
            let (times10, o1) = value.multipliedReportingOverflow(by: 10)
            let (sum, o2) = times10.addingReportingOverflow(Int(digit - UInt8(ascii: "0")))
            if o1 || o2 || sum > self.configuration.maximumBodyBytes {
                throw SpamdError.bodyTooLarge(limit: self.configuration.maximumBodyBytes)
            }
            value = sum
        }
        return value
    }

    private func finishHead(_ partial: PartialHead, headLength: Int) throws(SpamdError) -> HeadOutcome {
        guard let requestLine = partial.requestLine else { return .needMoreData }
        let (method, version) = (requestLine.method, requestLine.version)
        let head = CompleteHead(
            method: method, version: version, headers: partial.headers, compressed: partial.compressed)
        if method == .tell {
            let request = SpamdRequest(method: method, version: version, headers: partial.headers)
            let set = request.setTargets
            let remove = request.removeTargets
            if set.contains(.local) && remove.contains(.local) {
                throw SpamdError.protocolError(
                    .conflictingTellActions, "Unable to set local and remove local in the same operation.")
            }
            if set.contains(.remote) && remove.contains(.remote) {
                throw SpamdError.protocolError(
                    .conflictingTellActions, "Unable to set remote and remove remote in the same operation.")
            }
        }
        let framing: BodyFraming
        switch method {
        case .ping, .skip:
            framing = .none
        case .tell, .check, .symbols, .report, .reportIfSpam, .process, .headers:
            if let length = partial.contentLength {
                framing = .length(length)
            } else if partial.compressed {
                throw SpamdError.unavailable(
                    "Compress requires Content-length header", code: .compressionRequiresContentLength)
            } else {
                framing = .untilEOF
            }
        }
        return .complete(head, headLength: headLength, framing: framing)
    }
}
