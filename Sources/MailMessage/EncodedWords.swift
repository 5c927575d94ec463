// STUB: to be replaced by the full RFC 2047 implementation.
public enum EncodedWords {
    public static func decode(_ value: String) -> DecodedText { DecodedText(text: value, charset: "us-ascii") }
}
