import NIOSSL

/// STARTTLS's server context, from ``EdgeConfiguration/tlsCertificatePath`` and
/// ``EdgeConfiguration/tlsKeyPath`` (PEM files). TLS 1.2 at least.
public enum EdgeTLS {
    /// A certificate or key that cannot be used, with the file and the reason.
    public struct LoadError: Error, CustomStringConvertible {
        public var description: String
    }

    /// The context, or nil when no certificate is configured.
    public static func context(for configuration: EdgeConfiguration) throws(LoadError) -> NIOSSLContext? {
        guard let certificatePath = configuration.tlsCertificatePath, let keyPath = configuration.tlsKeyPath else {
            return nil
        }
        let chain: [NIOSSLCertificate]
        do {
            chain = try NIOSSLCertificate.fromPEMFile(certificatePath)
        } catch {
            throw LoadError(description: "edge TLS certificate \(certificatePath) cannot be read as PEM: \(error)")
        }
        guard !chain.isEmpty else { throw LoadError(description: "edge TLS certificate \(certificatePath) holds no certificate") }
        let key: NIOSSLPrivateKey
        do {
            key = try NIOSSLPrivateKey(file: keyPath, format: .pem)
        } catch {
            throw LoadError(description: "edge TLS key \(keyPath) cannot be read as a PEM private key: \(error)")
        }
        var tls = TLSConfiguration.makeServerConfiguration(certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        tls.minimumTLSVersion = .tlsv12
        do {
            return try NIOSSLContext(configuration: tls)
        } catch {
            throw LoadError(description: "edge TLS certificate \(certificatePath) and key \(keyPath) do not make a TLS context: \(error)")
        }
    }
}
