/// Macros received from the MTA, in order, with the command code they were sent for.
///
/// Lookups accept names with or without braces: `macros["i"]`, `macros["{i}"]`,
/// `macros["auth_authen"]` and `macros["{auth_authen}"]` all work. When a name was defined more
/// than once, the latest definition wins (as with libmilter's `smfi_getsymval`).
public struct MilterMacros: Sendable, Hashable {
    /// One stored macro.
    public struct Entry: Sendable, Hashable {
        /// The command code of the `SMFIC_MACRO` that carried it.
        public var commandCode: UInt8
        /// The name as received (with or without braces).
        public var name: String
        /// The value.
        public var value: String
        /// The normalised name used for lookups (braces removed).
        public var key: Substring { MilterMacros.normalize(self.name) }

        /// Creates an entry.
        public init(commandCode: UInt8, name: String, value: String) {
            self.commandCode = commandCode
            self.name = name
            self.value = value
        }
    }

    /// All entries, oldest first.
    public private(set) var entries: [Entry]

    /// Creates a collection from entries.
    public init(entries: [Entry] = []) {
        self.entries = entries
    }

    /// Whether no macro is stored.
    public var isEmpty: Bool { self.entries.isEmpty }

    /// The latest value of the named macro, `nil` if it was never sent.
    public subscript(name: String) -> String? {
        let key = Self.normalize(name)
        return self.entries.last(where: { $0.key == key })?.value
    }

    /// A dictionary of normalised names to their latest values.
    public var dictionary: [String: String] {
        var result: [String: String] = [:]
        for entry in self.entries {
            result[String(entry.key)] = entry.value
        }
        return result
    }

    /// Removes braces around a macro name: `{auth_authen}` → `auth_authen`; `i` stays `i`.
    public static func normalize(_ name: String) -> Substring {
        var name = Substring(name)
        if name.count >= 2, name.first == "{", name.last == "}" {
            name = name.dropFirst().dropLast()
        }
        return name
    }

    /// Replaces every macro previously received for `commandCode` with `macros` (libmilter semantics:
    /// one set per command stage, which also keeps memory bounded).
    public mutating func replace(commandCode: UInt8, with macros: [MilterMacro]) {
        self.entries.removeAll(where: { $0.commandCode == commandCode })
        for macro in macros {
            self.entries.append(Entry(commandCode: commandCode, name: macro.name, value: macro.value))
        }
    }

    /// Appends all entries of `other` after the entries of `self` (so `other` wins on lookups).
    public func merging(_ other: MilterMacros) -> MilterMacros {
        MilterMacros(entries: self.entries + other.entries)
    }

    /// Removes all entries.
    public mutating func removeAll() {
        self.entries.removeAll()
    }
}
