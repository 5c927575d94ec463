import Foundation

/// Locates ../shared (the corpora beside the checkout); tests that need it skip when absent.
enum SharedData {
    static let root: URL? = {
        var dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        for _ in 0..<6 {
            let candidate = dir.appendingPathComponent("shared/corpora")
            if FileManager.default.fileExists(atPath: candidate.path) { return candidate.deletingLastPathComponent() }
            let sibling = dir.deletingLastPathComponent().appendingPathComponent("shared/corpora")
            if FileManager.default.fileExists(atPath: sibling.path) { return sibling.deletingLastPathComponent() }
            dir = dir.deletingLastPathComponent()
        }
        return nil
    }()

    static var available: Bool { root != nil }

    static func files(under relative: String) -> [URL] {
        guard let root else { return [] }
        let base = root.appendingPathComponent(relative)
        guard let e = FileManager.default.enumerator(at: base, includingPropertiesForKeys: [.isRegularFileKey]) else { return [] }
        var out: [URL] = []
        for case let u as URL in e where (try? u.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true {
            if u.lastPathComponent == "README.md" { continue }
            out.append(u)
        }
        return out.sorted { $0.path < $1.path }
    }
}

enum Fixture {
    static func bytes(_ name: String) throws -> [UInt8] {
        guard let url = Bundle.module.url(forResource: "Fixtures/" + name, withExtension: nil) else {
            throw FixtureError(name: name)
        }
        return [UInt8](try Data(contentsOf: url))
    }
    struct FixtureError: Error { var name: String }
}
