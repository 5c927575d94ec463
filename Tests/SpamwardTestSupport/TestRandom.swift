/// SplitMix64 (Steele, Lea and Flood 2014): a small seeded generator for tests that need the
/// same "random" input for the same seed in every run and on every platform (the standard
/// library has no seeded generator). SpamwardCore has its own, internal one for bootstrap
/// intervals; this one is for the test targets that cannot see it.
public struct TestRandom: RandomNumberGenerator, Sendable {
    public var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A string of `count` characters drawn from `alphabet`.
    public mutating func string(from alphabet: [Character], count: Int) -> String {
        String((0..<count).map { _ in alphabet[Int(next() % UInt64(alphabet.count))] })
    }
}
