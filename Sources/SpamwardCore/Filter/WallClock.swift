#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Wall-clock time for learn records and model timestamps (seconds since the Unix epoch).
public enum WallClock {
    public static func nowSeconds() -> Int64 { Int64(time(nil)) }
}
