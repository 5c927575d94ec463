import GRDB

/// The SMTP edge's persistent state: passed clients and greylisting triplets (tables
/// `edge_passed` and `edge_greylist`). The edge module's protocols are implemented on top of
/// these by the server module, so this module does not depend on the edge.
extension SQLiteModelStore {
    /// A greylisting triplet as stored.
    public struct EdgeGreylistRow: Sendable, Hashable {
        public var triplet: String
        public var firstSeen: Int64
        public var lastSeen: Int64
        public var passed: Bool
        public init(triplet: String, firstSeen: Int64, lastSeen: Int64, passed: Bool) {
            self.triplet = triplet
            self.firstSeen = firstSeen
            self.lastSeen = lastSeen
            self.passed = passed
        }
    }

    /// Passed clients whose entry has not expired at `now`: (address text, expiry).
    public func edgePassedClients(now: Int64) async throws -> [(address: String, expires: Int64)] {
        try await writer.read { db in
            try Row.fetchAll(db, sql: "SELECT address, expires_at FROM edge_passed WHERE expires_at > ?", arguments: [now])
                .map { (address: $0["address"], expires: $0["expires_at"]) }
        }
    }

    /// Records that `address` passed, until `expires` (an existing later expiry is kept).
    public func recordEdgePassed(address: String, expires: Int64) async throws {
        try await writer.write { db in
            try db.execute(
                sql: """
                    INSERT INTO edge_passed (address, expires_at) VALUES (?, ?)
                    ON CONFLICT (address) DO UPDATE SET expires_at = max(expires_at, excluded.expires_at)
                    """,
                arguments: [address, expires])
        }
    }

    /// Deletes passed clients expired at `now`; returns how many.
    @discardableResult
    public func purgeEdgePassed(now: Int64) async throws -> Int {
        try await writer.write { db in
            try db.execute(sql: "DELETE FROM edge_passed WHERE expires_at <= ?", arguments: [now])
            return db.changesCount
        }
    }

    /// Greylisting triplets last seen after `since`.
    public func edgeGreylist(since: Int64) async throws -> [EdgeGreylistRow] {
        try await writer.read { db in
            try Row.fetchAll(
                db, sql: "SELECT triplet, first_seen, last_seen, passed FROM edge_greylist WHERE last_seen > ?", arguments: [since]
            ).map { EdgeGreylistRow(triplet: $0["triplet"], firstSeen: $0["first_seen"], lastSeen: $0["last_seen"], passed: $0["passed"]) }
        }
    }

    /// Inserts or replaces one triplet.
    public func saveEdgeGreylist(_ row: EdgeGreylistRow) async throws {
        try await writer.write { db in
            try db.execute(
                sql: """
                    INSERT INTO edge_greylist (triplet, first_seen, last_seen, passed) VALUES (?, ?, ?, ?)
                    ON CONFLICT (triplet) DO UPDATE SET first_seen = excluded.first_seen, last_seen = excluded.last_seen,
                        passed = excluded.passed
                    """,
                arguments: [row.triplet, row.firstSeen, row.lastSeen, row.passed ? 1 : 0])
        }
    }

    /// Deletes triplets last seen at or before `before`; returns how many.
    @discardableResult
    public func purgeEdgeGreylist(before: Int64) async throws -> Int {
        try await writer.write { db in
            try db.execute(sql: "DELETE FROM edge_greylist WHERE last_seen <= ?", arguments: [before])
            return db.changesCount
        }
    }
}
