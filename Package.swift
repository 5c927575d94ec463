// swift-tools-version: 6.1
import PackageDescription

let settings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

// Code layout of the scan path (release builds on Linux; docs/scan-profile.md, "Code layout"):
// each function of the scan's modules in a section of its own, and the executables that scan
// linked by lld in the order of scripts/scan-order/scan-path.order (the functions a scan with rules
// and fingerprints runs, hottest first; scripts/scan-order/generate.sh makes it from a profile).
// The scan's code then sits together instead of among the cold code of its modules: fewer
// instruction-cache lines and pages fetched again for each message.
let packageDirectory = String(#filePath.dropLast("/Package.swift".count))
let scanPathSettings: [SwiftSetting] = settings + [
    .unsafeFlags(["-Xfrontend", "-function-sections"], .when(platforms: [.linux], configuration: .release))
]
let scanPathLinking: [LinkerSetting] = [
    .unsafeFlags(
        [
            "-use-ld=lld", "-Xlinker", "--symbol-ordering-file=\(packageDirectory)/scripts/scan-order/scan-path.order",
            "-Xlinker", "--no-warn-symbol-ordering",
        ], .when(platforms: [.linux], configuration: .release))
]

let package = Package(
    name: "Spamward",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "spamward", targets: ["spamward"]),
        .executable(name: "spamward-edge-sim", targets: ["EdgeSim"]),
        .executable(name: "dkim-bench", targets: ["dkim-bench"]),
        .executable(name: "spamward-loadgen", targets: ["spamward-loadgen"]),
        .executable(name: "scan-bench", targets: ["scan-bench"]),
        .library(name: "MailMessage", targets: ["MailMessage"]),
        .library(name: "SpamwardCore", targets: ["SpamwardCore"]),
        .library(name: "MailAuth", targets: ["MailAuth"]),
        .library(name: "MilterProtocol", targets: ["MilterProtocol"]),
        .library(name: "SpamdProtocol", targets: ["SpamdProtocol"]),
        .library(name: "SMTPProtocol", targets: ["SMTPProtocol"]),
        .library(name: "SpamwardEdge", targets: ["SpamwardEdge"]),
        .library(name: "DNSWire", targets: ["DNSWire"]),
        .library(name: "SpamwardDNS", targets: ["SpamwardDNS"]),
        .library(name: "SpamwardDNSServer", targets: ["SpamwardDNSServer"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.5.0"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.0.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.0"),
        .package(url: "https://github.com/LebJe/TOMLKit.git", from: "0.6.0"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.0"),
        .package(url: "https://github.com/adam-fowler/compress-nio.git", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.0.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.0"),
    ],
    targets: [
        // bytes -> Message. Standard library (and the C library's iconv) only.
        .target(name: "MailMessage", swiftSettings: scanPathSettings),
        // SPF / DKIM / DMARC / ARC -> AuthResults. Defines `DNSResolver`; no I/O of its own.
        .target(
            name: "MailAuth",
            dependencies: [
                "MailMessage", .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
            ],
            swiftSettings: scanPathSettings),
        // DNS messages <-> bytes (RFC 1035, EDNS0). Standard library only.
        .target(name: "DNSWire", swiftSettings: settings),
        // The daemon's DNS resolver (UDP/TCP, cache) implementing MailAuth's `DNSResolver`.
        .target(
            name: "SpamwardDNS",
            dependencies: [
                "DNSWire", "MailAuth", .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"), .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: settings),
        // A small authoritative DNS server for one DNSBL zone (the botnet list) on SwiftNIO.
        .target(
            name: "SpamwardDNSServer",
            dependencies: [
                "DNSWire", .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"), .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: settings),
        // Message -> features -> verdict; learner, explanations, evaluation, store protocol.
        // PCRE2 (Debian libpcre2-dev) for the rule engine's regular expressions.
        // <sys/epoll.h> for spamward-loadgen (not exported by Swift's Glibc module).
        .systemLibrary(name: "CEpoll"),
        .systemLibrary(name: "CPCRE2", pkgConfig: "libpcre2-8", providers: [.apt(["libpcre2-dev"])]),
        // The body literal search's vector candidate filter (AVX2, chosen at run time; C for the
        // byte shuffles that baseline x86-64 Swift cannot emit).
        .target(
            name: "CLiteralScan",
            cSettings: [.unsafeFlags(["-ffunction-sections"], .when(platforms: [.linux], configuration: .release))]),
        .target(
            name: "SpamwardCore", dependencies: ["MailMessage", "MailAuth", "CPCRE2", "CLiteralScan"],
            swiftSettings: scanPathSettings),
        // Rule files (TOML) -> rule definitions for SpamwardCore's rule engine.
        .target(
            name: "SpamwardRuleFile",
            dependencies: ["SpamwardCore", .product(name: "TOMLKit", package: "TOMLKit")],
            swiftSettings: settings),
        // The shipped starter model (a resource) and its loader.
        .target(
            name: "SpamwardStarterModel",
            dependencies: ["SpamwardCore"],
            resources: [.copy("Resources/starter.swmodel")],
            swiftSettings: settings
        ),
        // Embedded default store: SQLite through GRDB.
        .target(
            name: "SpamwardStoreSQLite",
            dependencies: ["SpamwardCore", .product(name: "GRDB", package: "GRDB.swift")],
            swiftSettings: settings
        ),
        // Wire protocols: codecs and state machines that know nothing of spam.
        .target(
            name: "MilterProtocol",
            dependencies: [.product(name: "NIOCore", package: "swift-nio"), .product(name: "Logging", package: "swift-log")],
            swiftSettings: settings),
        .target(
            name: "SpamdProtocol",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "Logging", package: "swift-log"),
                .product(name: "CompressNIO", package: "compress-nio"),
            ],
            swiftSettings: settings),
        .target(
            name: "SMTPProtocol",
            dependencies: [.product(name: "NIOCore", package: "swift-nio"), .product(name: "Logging", package: "swift-log")],
            swiftSettings: settings),
        // The SMTP edge: screens clients before DATA and relays the rest to the MTA. No Hummingbird.
        // NIOSSL (BoringSSL) for STARTTLS: a dependency of the edge only, never of the core.
        .target(
            name: "SpamwardEdge",
            dependencies: [
                "SMTPProtocol", "SpamwardCore", "MailAuth",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: settings),
        // A bounded loopback simulation of the edge against a real backend (docs/edge.md).
        .executableTarget(
            name: "EdgeSim",
            dependencies: [
                "SpamwardEdge", "SMTPProtocol", "SpamwardCore", "MailAuth",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            swiftSettings: settings),
        // HTTP front ends: own JSON API, Rspamd's protocol, metrics (Hummingbird), and the Rspamd
        // worker listener (`/checkv2` on NIO's HTTP/1 pipeline).
        .target(
            name: "SpamwardHTTP",
            dependencies: [
                "SpamwardCore", "MailMessage", "MailAuth",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: settings),
        // Where the domain meets the wire: services, configuration, the service group.
        .target(
            name: "SpamwardServer",
            dependencies: [
                "SpamwardCore", "SpamwardStoreSQLite", "SpamwardStarterModel", "SpamwardHTTP",
                "MilterProtocol", "SpamdProtocol", "MailAuth", "SpamwardDNS", "SpamwardDNSServer", "SpamwardEdge",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "TOMLKit", package: "TOMLKit"),
            ],
            swiftSettings: settings),
        .executableTarget(
            name: "spamward",
            dependencies: [
                "SpamwardCore", "SpamwardStoreSQLite", "SpamwardStarterModel", "SpamwardServer", "MailMessage",
                "SpamwardEdge", "MailAuth", "SpamwardRuleFile", "SpamwardDNS",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: settings,
            linkerSettings: scanPathLinking
        ),
        // DKIM verification benchmark with MailAuth's dependencies only (quick to build in release).
        .executableTarget(name: "dkim-bench", dependencies: ["MailAuth"], swiftSettings: settings),
        // The lean closed-loop load generator behind scripts/loadbench (epoll, no packages: quick to build).
        .executableTarget(
            name: "spamward-loadgen",
            dependencies: ["CEpoll"],
            swiftSettings: settings),
        // Scan-path harness: core scan, rules and fingerprints against it, feature and rule-hit
        // digests; SpamwardCore only (quick release build, valgrind).
        .executableTarget(
            name: "scan-bench", dependencies: ["SpamwardCore", "MailMessage"], swiftSettings: settings,
            linkerSettings: scanPathLinking),
        .testTarget(
            name: "MailMessageTests", dependencies: ["MailMessage", "SpamwardTestSupport"],
            resources: [.copy("Fixtures")], swiftSettings: settings),
        // Helpers the test targets share (running programs off the cooperative pool, the test DNS
        // server's probe): a regular target under Tests/, depended on by test targets only.
        .target(
            name: "SpamwardTestSupport",
            dependencies: [.product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio")],
            path: "Tests/SpamwardTestSupport", swiftSettings: settings),
        .testTarget(
            name: "SpamwardCoreTests", dependencies: ["SpamwardCore", "MailMessage", "MailAuth", "SpamwardTestSupport"],
            swiftSettings: settings),
        .testTarget(name: "DNSWireTests", dependencies: ["DNSWire"], swiftSettings: settings),
        .testTarget(
            name: "SpamwardDNSTests",
            dependencies: [
                "SpamwardDNS", "DNSWire", "MailAuth", "MailMessage", "SpamwardTestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"), .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: settings),
        .testTarget(
            name: "SpamwardDNSServerTests",
            dependencies: [
                "SpamwardDNSServer", "SpamwardDNS", "DNSWire", "MailAuth", "SpamwardTestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"), .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: settings),
        .testTarget(
            name: "SpamwardRuleFileTests", dependencies: ["SpamwardRuleFile", "SpamwardCore"], swiftSettings: settings),
        .testTarget(
            name: "SpamwardStoreSQLiteTests", dependencies: ["SpamwardStoreSQLite", "SpamwardCore"],
            swiftSettings: settings),
        .testTarget(
            name: "MailAuthTests",
            dependencies: [
                "MailAuth", "MailMessage", "SpamwardTestSupport", .product(name: "Yams", package: "Yams"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
            ],
            swiftSettings: settings),
        .testTarget(
            name: "MilterProtocolTests",
            dependencies: [
                "MilterProtocol", .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOTestUtils", package: "swift-nio"),
            ],
            swiftSettings: settings),
        .testTarget(
            name: "SpamdProtocolTests",
            dependencies: [
                "SpamdProtocol", .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOTestUtils", package: "swift-nio"),
            ],
            swiftSettings: settings),
        .testTarget(
            name: "SMTPProtocolTests",
            dependencies: [
                "SMTPProtocol", .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOTestUtils", package: "swift-nio"),
            ],
            swiftSettings: settings),
        .testTarget(
            name: "SpamwardEdgeTests",
            dependencies: [
                "SpamwardEdge", "SMTPProtocol", "SpamwardCore", "MailAuth", "SpamwardDNS", "SpamwardTestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: settings),
        .testTarget(
            name: "SpamwardServerTests",
            dependencies: [
                "SpamwardServer", "SpamwardHTTP", "SpamwardCore", "MailMessage", "MailAuth", "SpamwardDNS", "SpamwardEdge",
                "SpamwardStoreSQLite", "SpamwardTestSupport",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: settings),
        .testTarget(
            name: "SpamwardCLITests", dependencies: ["spamward"], swiftSettings: settings),
    ]
)
