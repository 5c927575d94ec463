/// The spamc/spamd protocol (SPAMC/SPAMD 1.x), as SpamAssassin's `spamd` speaks it and `spamc` expects it.
///
/// The target is a codec and a connection runner that know nothing about spam scoring:
///
/// - ``SpamdRequestDecoder`` frames one ``SpamdRequest`` (request line, header lines, body; zlib bodies are
///   inflated) from the byte stream, bounded by ``SpamdConfiguration``.
/// - ``SpamdResponse`` renders the reply spamd would send for a request, from a ``SpamdVerdict`` or a
///   ``SpamdTellResult`` that the daemon fills with domain values; ``SpamdResponseEncoder`` writes it.
/// - ``SpamdConnection`` runs one connection (one request, one reply, close) against a ``SpamdRequestHandler``.
public enum Spamd {
    /// The protocol version this implementation speaks as a client (what spamc 3.x/4.x sends: `SPAMC/1.5`).
    public static let clientProtocolVersion = SpamdProtocolVersion(major: 1, minor: 5)

    /// The TCP port spamd listens on by default.
    public static let defaultPort = 783
}
