// swift-tools-version: 6.1
import PackageDescription

let settings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "Spamward",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "spamward", targets: ["spamward"]),
        .library(name: "MailMessage", targets: ["MailMessage"]),
        .library(name: "SpamwardCore", targets: ["SpamwardCore"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.5.0"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.0.0"),
    ],
    targets: [
        // bytes -> Message. Standard library (and the C library's iconv) only.
        .target(name: "MailMessage", swiftSettings: settings),
        // Message -> features -> verdict; learner, explanations, evaluation, store protocol.
        .target(name: "SpamwardCore", dependencies: ["MailMessage"], swiftSettings: settings),
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
        .executableTarget(
            name: "spamward",
            dependencies: [
                "SpamwardCore", "SpamwardStoreSQLite", "SpamwardStarterModel",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: settings
        ),
        .testTarget(
            name: "MailMessageTests", dependencies: ["MailMessage"],
            resources: [.copy("Fixtures")], swiftSettings: settings),
        .testTarget(name: "SpamwardCoreTests", dependencies: ["SpamwardCore", "MailMessage"], swiftSettings: settings),
        .testTarget(
            name: "SpamwardStoreSQLiteTests", dependencies: ["SpamwardStoreSQLite", "SpamwardCore"],
            swiftSettings: settings),
        .testTarget(
            name: "SpamwardCLITests", dependencies: ["spamward"], swiftSettings: settings),
    ]
)
