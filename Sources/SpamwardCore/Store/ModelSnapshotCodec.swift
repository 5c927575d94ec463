/// Placeholder: replaced by the real codec.
public enum ModelSnapshotCodec {
    public struct DecodeError: Error {}
    public static func decode(_ bytes: [UInt8]) throws -> ModelSnapshot { throw DecodeError() }
}
