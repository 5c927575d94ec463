import GRDB

extension SQLiteModelStore {
    /// The schema, as named migrations that are only ever appended to: a shipped migration is
    /// never edited, since files in the wild have already applied it.
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()

        migrator.registerMigration("v1") { db in
            // The model is one row; the payload is the classifier's opaque serialization.
            try db.execute(
                sql: """
                    CREATE TABLE model (
                        id INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
                        tokenizer_version INTEGER NOT NULL,
                        hash_seed INTEGER NOT NULL,
                        feature_bits INTEGER NOT NULL,
                        learned_spam INTEGER NOT NULL,
                        learned_ham INTEGER NOT NULL,
                        updated_at INTEGER NOT NULL,
                        payload BLOB NOT NULL
                    ) STRICT;

                    CREATE TABLE learned (
                        digest BLOB PRIMARY KEY NOT NULL CHECK (length(digest) = 16),
                        label TEXT NOT NULL CHECK (label IN ('spam', 'ham')),
                        magnitude REAL NOT NULL,
                        learned_at INTEGER NOT NULL
                    ) STRICT, WITHOUT ROWID;

                    CREATE TABLE meta (
                        key TEXT PRIMARY KEY NOT NULL,
                        value TEXT
                    ) STRICT;
                    """)
            try MetaRow(key: MetaRow.Key.application, value: "spamward").upsert(db)
            try MetaRow(key: MetaRow.Key.schemaVersion, value: "v1").upsert(db)
        }

        // Learned fuzzy fingerprints (``FuzzyStore``): one row per FuzzyRecord.
        migrator.registerMigration("fuzzy-v1") { db in
            try db.execute(
                sql: """
                    CREATE TABLE fuzzy (
                        id INTEGER PRIMARY KEY NOT NULL,
                        label TEXT NOT NULL CHECK (label IN ('spam', 'ham')),
                        signature BLOB NOT NULL,
                        added_at INTEGER NOT NULL,
                        count INTEGER NOT NULL CHECK (count >= 1)
                    ) STRICT;
                    """)
        }

        // The SMTP edge's memory across restarts: clients that passed its tests (postscreen's
        // cache) and greylisting triplets (postgrey's database). Times are Unix seconds.
        migrator.registerMigration("edge-v1") { db in
            try db.execute(
                sql: """
                    CREATE TABLE edge_passed (
                        address TEXT PRIMARY KEY NOT NULL,
                        expires_at INTEGER NOT NULL
                    ) STRICT, WITHOUT ROWID;
                    CREATE INDEX edge_passed_expires ON edge_passed (expires_at);

                    CREATE TABLE edge_greylist (
                        triplet TEXT PRIMARY KEY NOT NULL,
                        first_seen INTEGER NOT NULL,
                        last_seen INTEGER NOT NULL CHECK (last_seen >= first_seen),
                        passed INTEGER NOT NULL CHECK (passed IN (0, 1))
                    ) STRICT, WITHOUT ROWID;
                    CREATE INDEX edge_greylist_last_seen ON edge_greylist (last_seen);
                    """)
        }

        // The fingerprint version of each learned fingerprint (``FuzzyRecord/version``): rows
        // stored before it are version 0, which no index accepts; restoring deletes them.
        migrator.registerMigration("fuzzy-v2") { db in
            try db.execute(sql: "ALTER TABLE fuzzy ADD COLUMN version INTEGER NOT NULL DEFAULT 0")
        }

        // Next: registerMigration("v2") { ...; try MetaRow(key: MetaRow.Key.schemaVersion, value: "v2").upsert(db) }
        return migrator
    }
}
