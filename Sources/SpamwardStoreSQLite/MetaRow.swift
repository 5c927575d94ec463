import GRDB

/// A row of table `meta`: facts about the store file itself, such as its schema version.
struct MetaRow: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "meta"
    var key: String
    var value: String?

    /// Keys of the rows the migrations write.
    enum Key {
        /// The name of the last migration applied.
        static let schemaVersion = "schema_version"
        /// Which program created the file ("spamward").
        static let application = "application"
    }
}
