import Foundation
import SpamwardCore

/// The model shipped with Spamward, trained on public mail (see docs/starter-model.md).
public enum StarterModel {
    /// The serialized snapshot, or `nil` when the package was built without one.
    public static func load() -> ModelSnapshot? {
        guard let url = Bundle.module.url(forResource: "starter", withExtension: "swmodel"),
              let data = try? Data(contentsOf: url), !data.isEmpty
        else { return nil }
        return try? ModelSnapshotCodec.decode([UInt8](data))
    }
}
