/// An error of ``SQLiteModelStore`` itself (SQLite's own errors pass through as GRDB's
/// `DatabaseError`).
public struct SQLiteModelStoreError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What went wrong; extensible without breaking callers.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Base: String, Sendable, Hashable {
            case cannotCreateDirectory, newerSchema, corruptRow
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// The folder of the database file could not be created.
        public static let cannotCreateDirectory = Code(.cannotCreateDirectory)
        /// The file was written by a newer Spamward, with migrations this one does not know.
        public static let newerSchema = Code(.newerSchema)
        /// A row holds a value that the schema should have prevented.
        public static let corruptRow = Code(.corruptRow)

        public var description: String { base.rawValue }
    }

    public var code: Code
    /// A short, human-readable context (a path or a column), never a payload.
    public var detail: String

    public init(code: Code, detail: String) {
        self.code = code
        self.detail = detail
    }

    public var description: String { "SQLiteModelStoreError.\(code): \(detail)" }
}
