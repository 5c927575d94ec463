import NIOCore

/// The filter side of one milter connection, as a pure state machine: feed it decoded commands,
/// perform the returned actions. No I/O, no clocks.
///
/// ```swift
/// var sm = MilterSessionStateMachine()
/// switch sm.receive(command) {
/// case .reply(let response): write(response)
/// case .noReply: break
/// case .evaluate(let transaction): write(sm.decide(try await classify(transaction)))
/// case .close: close()
/// case .protocolError(let error): fail(error)
/// }
/// ```
///
/// One connection carries any number of messages (Postfix reuses it for the whole SMTP session):
/// ``decide(_:)`` and `SMFIC_ABORT` reset the message but keep client information and connection
/// macros; `SMFIC_QUIT_NC` resets the client information too.
public struct MilterSessionStateMachine: Sendable {
    /// What the caller must do after a command.
    public enum Action: Sendable, Hashable {
        /// Send this response.
        case reply(MilterResponse)
        /// Send nothing (macros, abort, quit-new-connection).
        case noReply
        /// End of message: decide, then send ``MilterSessionStateMachine/decide(_:)``'s responses.
        case evaluate(MilterTransaction)
        /// The MTA quit: close the connection.
        case close
        /// The command violates the protocol; answer tempfail if the command expects a reply, then close.
        case protocolError(MilterProtocolError)
    }

    private enum Phase: Int, Comparable, Sendable {
        case envelope, data, headers, endOfHeaders, body

        static func < (lhs: Phase, rhs: Phase) -> Bool { lhs.rawValue < rhs.rawValue }
    }

    private enum State: Sendable, Equatable {
        case awaitingNegotiation
        case ready
        case inMessage(Phase)
        case awaitingDecision
        case closed
    }

    /// Message data collected between `SMFIC_MAIL` and end of message, bounded in size.
    private struct MessageBuilder: Sendable {
        var sender: MilterEnvelopeAddress?
        var recipients: [MilterEnvelopeAddress] = []
        var droppedRecipients = 0
        var headers: [MilterHeaderField] = []
        var bytes: [UInt8] = []
        var size = 0
        var truncated = false
        var headerSeen = false
        var separatorWritten = false

        mutating func append(_ chunk: some Collection<UInt8>, limit: Int) {
            let count = chunk.count
            self.size += count
            guard !self.truncated else { return }
            let room = max(0, limit - self.bytes.count)
            if count <= room {
                self.bytes.append(contentsOf: chunk)
            } else {
                self.bytes.append(contentsOf: chunk.prefix(room))
                self.truncated = true
            }
        }

        mutating func writeSeparatorIfNeeded(limit: Int) {
            guard !self.separatorWritten else { return }
            self.separatorWritten = true
            self.append(MilterSessionStateMachine.crlf, limit: limit)
        }
    }

    private static let crlf: [UInt8] = [0x0D, 0x0A]

    /// The configuration (limits and negotiation wishes).
    public let configuration: MilterConfiguration
    /// The negotiated options, once `SMFIC_OPTNEG` was answered.
    public private(set) var negotiated: MilterOptions?
    /// The SMTP client as far as known.
    public private(set) var client = MilterClientInfo()
    /// How many modifications the last ``decide(_:)`` dropped because the MTA did not grant the action.
    public private(set) var droppedModifications = 0

    private var state = State.awaitingNegotiation
    private var connectReceived = false
    private var connectionMacros = MilterMacros()
    private var messageMacros = MilterMacros()
    private var message = MessageBuilder()

    /// Creates a state machine waiting for option negotiation.
    public init(configuration: MilterConfiguration = MilterConfiguration()) {
        self.configuration = configuration
    }

    /// Whether end of message was reported and ``decide(_:)`` is due.
    public var isAwaitingDecision: Bool { self.state == .awaitingDecision }

    /// Whether the session is over (quit, or a protocol error).
    public var isClosed: Bool { self.state == .closed }

    /// Whether `SMFIP_HDR_LEADSPC` was negotiated.
    public var headerLeadingSpace: Bool {
        self.negotiated?.protocolFlags.contains(.headerLeadingSpace) ?? false
    }

    /// The macros currently in effect (connection macros, then message macros).
    public var macros: MilterMacros { self.connectionMacros.merging(self.messageMacros) }

    /// Processes one command from the MTA.
    public mutating func receive(_ command: MilterCommand) -> Action {
        if self.state == .closed {
            return .protocolError(Self.unexpected(command, "after the session ended"))
        }
        if case .optionNegotiation(let offer) = command {
            return self.negotiate(offer)
        }
        if self.state == .awaitingNegotiation {
            switch command {
            case .quit:
                self.state = .closed
                return .close
            default:
                return self.fail(Self.unexpected(command, "before option negotiation"))
            }
        }
        if self.state == .awaitingDecision {
            switch command {
            case .abort:
                self.resetMessage()
                return .noReply
            case .quit:
                self.state = .closed
                return .close
            default:
                return self.fail(Self.unexpected(command, "while end of message awaits a decision"))
            }
        }

        switch command {
        case .optionNegotiation:
            return self.fail(Self.unexpected(command, "twice"))  // handled above; kept for exhaustiveness

        case .macros(let definition):
            switch definition.commandCode {
            case Milter.CommandCode.connect, Milter.CommandCode.helo:
                self.connectionMacros.replace(commandCode: definition.commandCode, with: definition.macros)
            case Milter.CommandCode.mail, Milter.CommandCode.recipient, Milter.CommandCode.data,
                Milter.CommandCode.header, Milter.CommandCode.endOfHeaders, Milter.CommandCode.body,
                Milter.CommandCode.endOfMessage, Milter.CommandCode.unknown, Milter.CommandCode.abort:
                self.messageMacros.replace(commandCode: definition.commandCode, with: definition.macros)
            default:
                break  // macros for commands that do not exist are ignored: memory stays bounded
            }
            return .noReply

        case .connect(let info):
            guard self.state == .ready, !self.connectReceived else {
                return self.fail(Self.unexpected(command, "after connect or inside a message"))
            }
            self.connectReceived = true
            self.client.hostname = info.hostname
            self.client.family = info.family
            self.client.address = info.address
            self.client.port = info.port
            return .reply(.continue)

        case .helo(let name):
            guard self.state == .ready else {
                return self.fail(Self.unexpected(command, "inside a message"))
            }
            self.client.helo = name
            return .reply(.continue)

        case .mail(let arguments):
            guard self.state == .ready else {
                return self.fail(Self.unexpected(command, "inside a message"))
            }
            self.message = MessageBuilder()
            self.message.sender = MilterEnvelopeAddress(arguments: arguments)
            self.state = .inMessage(.envelope)
            return .reply(.continue)

        case .recipient(let arguments):
            guard case .inMessage(.envelope) = self.state else {
                return self.fail(Self.unexpected(command, "outside the envelope phase"))
            }
            if self.message.recipients.count < self.configuration.maximumRecipients {
                self.message.recipients.append(MilterEnvelopeAddress(arguments: arguments))
            } else {
                self.message.droppedRecipients += 1
            }
            return .reply(.continue)

        case .data:
            guard case .inMessage(.envelope) = self.state else {
                return self.fail(Self.unexpected(command, "outside the envelope phase"))
            }
            self.state = .inMessage(.data)
            return .reply(.continue)

        case .header(let field):
            guard case .inMessage(let phase) = self.state, phase <= .headers else {
                return self.fail(Self.unexpected(command, "outside a message or after end of headers"))
            }
            self.appendHeader(field)
            self.state = .inMessage(.headers)
            return .reply(.continue)

        case .endOfHeaders:
            guard case .inMessage(let phase) = self.state, phase <= .headers else {
                return self.fail(Self.unexpected(command, "outside a message or after end of headers"))
            }
            self.message.writeSeparatorIfNeeded(limit: self.configuration.maximumMessageBytes)
            self.state = .inMessage(.endOfHeaders)
            return .reply(.continue)

        case .body(let chunk):
            guard case .inMessage = self.state else {
                return self.fail(Self.unexpected(command, "outside a message"))
            }
            self.appendBody(chunk)
            self.state = .inMessage(.body)
            if self.message.truncated, self.negotiated?.protocolFlags.contains(.skip) == true {
                return .reply(.skip)
            }
            return .reply(.continue)

        case .endOfMessage(let chunk):
            guard case .inMessage = self.state else {
                return self.fail(Self.unexpected(command, "outside a message"))
            }
            if chunk.readableBytes > 0 {
                self.appendBody(chunk)
            } else if self.message.headerSeen {
                self.message.writeSeparatorIfNeeded(limit: self.configuration.maximumMessageBytes)
            }
            self.state = .awaitingDecision
            return .evaluate(self.makeTransaction())

        case .abort:
            self.resetMessage()
            return .noReply

        case .quit:
            self.resetMessage()
            self.state = .closed
            return .close

        case .quitNewConnection:
            self.resetMessage()
            self.client = MilterClientInfo()
            self.connectionMacros.removeAll()
            self.connectReceived = false
            return .noReply

        case .unknownSMTPCommand:
            switch self.state {
            case .ready, .inMessage(.envelope), .inMessage(.data):
                return .reply(.continue)
            default:
                return self.fail(Self.unexpected(command, "inside message content"))
            }

        case .unrecognized(let code, _):
            return self.fail(
                MilterProtocolError(code: .unrecognizedCommand, message: "unrecognized command code \(code)"))
        }
    }

    /// Turns the decision for the message reported by ``Action/evaluate(_:)`` into responses:
    /// header modifications (those the MTA granted), quarantine, then the final response. Resets
    /// the message for the next one on this connection. Returns `[]` when no decision is due.
    public mutating func decide(_ decision: MilterDecision) -> [MilterResponse] {
        guard self.state == .awaitingDecision else { return [] }
        let granted = self.negotiated?.actions ?? []
        var responses: [MilterResponse] = []
        var dropped = 0
        for modification in decision.headerModifications {
            let value = self.wireHeaderValue(modification.value)
            switch modification.operation {
            case .add:
                guard granted.contains(.addHeaders) else {
                    dropped += 1
                    continue
                }
                responses.append(.addHeader(name: modification.name, value: value))
            case .insert(let index):
                guard granted.contains(.addHeaders) else {
                    dropped += 1
                    continue
                }
                responses.append(.insertHeader(index: index, name: modification.name, value: value))
            case .change(let occurrence):
                guard granted.contains(.changeHeaders) else {
                    dropped += 1
                    continue
                }
                responses.append(.changeHeader(index: occurrence, name: modification.name, value: value))
            case .delete(let occurrence):
                guard granted.contains(.changeHeaders) else {
                    dropped += 1
                    continue
                }
                responses.append(.changeHeader(index: occurrence, name: modification.name, value: ""))
            }
        }
        switch decision.action {
        case .accept:
            responses.append(.accept)
        case .continue:
            responses.append(.continue)
        case .reject(let reply):
            responses.append(reply.map { .replyCode($0) } ?? .reject)
        case .tempfail(let reply):
            responses.append(reply.map { .replyCode($0) } ?? .tempfail)
        case .discard:
            responses.append(.discard)
        case .quarantine(let reason):
            if granted.contains(.quarantine) {
                responses.append(.quarantine(reason: Self.sanitizedReason(reason)))
            } else {
                dropped += 1
            }
            responses.append(.accept)
        }
        self.droppedModifications = dropped
        self.resetMessage()
        return responses
    }

    /// Answers the pending end of message with the fault action (decision failed or timed out).
    public mutating func fault(_ action: MilterFaultAction) -> [MilterResponse] {
        self.decide(action.decision)
    }

    // MARK: - Internals

    private mutating func negotiate(_ offer: MilterOptions) -> Action {
        guard self.state == .awaitingNegotiation else {
            return self.fail(Self.unexpected(.optionNegotiation(offer), "after negotiation"))
        }
        guard offer.version >= Milter.minimumProtocolVersion else {
            return self.fail(
                MilterProtocolError(
                    code: .unsupportedVersion, message: "MTA offered milter protocol version \(offer.version)"))
        }
        let options = MilterOptions(
            version: min(offer.version, Milter.protocolVersion),
            actions: self.configuration.requestedActions.intersection(offer.actions),
            protocolFlags: self.configuration.requestedProtocolFlags
                .intersection(.supportedByStateMachine)
                .intersection(offer.protocolFlags))
        self.negotiated = options
        self.state = .ready
        return .reply(.optionNegotiation(options))
    }

    private mutating func fail(_ error: MilterProtocolError) -> Action {
        self.resetMessage()
        self.state = .closed
        return .protocolError(error)
    }

    private static func unexpected(_ command: MilterCommand, _ context: String) -> MilterProtocolError {
        MilterProtocolError(code: .unexpectedCommand, message: "\(command.name) \(context)")
    }

    private mutating func resetMessage() {
        self.message = MessageBuilder()
        self.messageMacros.removeAll()
        if self.state != .closed, self.state != .awaitingNegotiation {
            self.state = .ready
        }
    }

    private mutating func appendHeader(_ field: MilterHeaderField) {
        let limit = self.configuration.maximumMessageBytes
        self.message.headerSeen = true
        var line = field.rawName
        line.reserveCapacity(field.rawName.count + field.rawValue.count + 4)
        line.append(UInt8(ascii: ":"))
        var value = field.rawValue[...]
        if self.headerLeadingSpace {
            // The MTA kept the space after the colon: the value is verbatim.
            line.append(contentsOf: value)
            if value.first == 0x20 { value = value.dropFirst() }
        } else {
            // The MTA removed exactly one space after the colon (if there was one); put it back
            // unless the value is empty or starts with other whitespace.
            if let first = value.first, first != 0x20, first != 0x09 {
                line.append(0x20)
            }
            line.append(contentsOf: value)
        }
        let normalized = Self.crlfLineBreaks(line) + Self.crlf
        let fits = !self.message.truncated
            && normalized.count <= max(0, limit - self.message.bytes.count)
        self.message.append(normalized, limit: limit)
        if fits {
            self.message.headers.append(MilterHeaderField(rawName: field.rawName, rawValue: Array(value)))
        }
    }

    private mutating func appendBody(_ chunk: ByteBuffer) {
        let limit = self.configuration.maximumMessageBytes
        if self.message.headerSeen {
            self.message.writeSeparatorIfNeeded(limit: limit)
        }
        self.message.append(chunk.readableBytesView, limit: limit)
    }

    /// Converts bare LF (Postfix's separator inside folded header values) to CRLF.
    private static func crlfLineBreaks(_ bytes: [UInt8]) -> [UInt8] {
        guard bytes.contains(0x0A) else { return bytes }
        var result: [UInt8] = []
        result.reserveCapacity(bytes.count + 8)
        var previous: UInt8 = 0
        for byte in bytes {
            if byte == 0x0A, previous != 0x0D {
                result.append(0x0D)
            }
            result.append(byte)
            previous = byte
        }
        return result
    }

    private func wireHeaderValue(_ value: String) -> String {
        guard self.headerLeadingSpace, let first = value.utf8.first, first != 0x20, first != 0x09 else {
            return value
        }
        return " " + value
    }

    private static func sanitizedReason(_ reason: String) -> String {
        var result = ""
        for scalar in reason.unicodeScalars.prefix(1000) {
            if scalar.value < 0x20 || scalar.value == 0x7F {
                result.append(" ")
            } else {
                result.unicodeScalars.append(scalar)
            }
        }
        return result.isEmpty ? "quarantined" : result
    }

    private func makeTransaction() -> MilterTransaction {
        MilterTransaction(
            client: self.client,
            sender: self.message.sender,
            recipients: self.message.recipients,
            droppedRecipients: self.message.droppedRecipients,
            macros: self.macros,
            headers: self.message.headers,
            message: self.message.bytes,
            truncated: self.message.truncated,
            messageSize: self.message.size,
            headerLeadingSpace: self.headerLeadingSpace)
    }
}
