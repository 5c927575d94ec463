import SpamwardCore
import Testing

/// `VerdictHeaders.format`: the score as the X-Spam-* headers and the spamd/Rspamd replies show it.
@Suite struct VerdictHeadersFormatTests {
    @Test func twoDecimalsAndSign() {
        #expect(VerdictHeaders.format(2.5) == "2.50")
        #expect(VerdictHeaders.format(-1.5) == "-1.50")
        #expect(VerdictHeaders.format(0.07) == "0.07")
        #expect(VerdictHeaders.format(-0.004) == "0.00")
        #expect(VerdictHeaders.format(.infinity) == "1000.00")
        #expect(VerdictHeaders.format(-.infinity) == "-1000.00")
    }

    /// A rule file can give any score; far beyond what a sum of rules reaches, the value shown
    /// stops at 1e15 instead of overflowing (which crashed the scan).
    @Test(arguments: [1e17, 9.3e18, 1e300, Double.greatestFiniteMagnitude])
    func hugeScoresDoNotCrash(_ x: Double) {
        #expect(VerdictHeaders.format(x) == "1000000000000000.00")
        #expect(VerdictHeaders.format(-x) == "-1000000000000000.00")
    }
}
