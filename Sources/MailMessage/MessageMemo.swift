import Synchronization

/// What readers of a parsed message derive from it and would otherwise each compute again (the
/// feature extractor, the rules and the fingerprint all read the same URLs): made on first use,
/// kept with the message, shared by its copies.
///
/// Only functions of the message's own content are kept here (and values keyed by what else they
/// depend on, such as a Public Suffix List), so a kept value is the one a reader would compute.
/// The parser fills a message before anyone reads it, and nothing changes it after: the memo
/// never goes stale. Filled under a lock, as a message may be read by several tasks; nothing is
/// computed while the lock is held (a computation may read the memo itself). Two readers racing
/// may both compute; the longer (or later) answer is kept, and both are the same.
final class MessageMemo: Sendable {
    struct State: Sendable {
        /// `ParsedURL.parse` of the first `parsedURLs.count` URLs.
        var parsedURLs: [ParsedURL?] = []
        /// Values of other modules, one per type.
        var values: [(type: ObjectIdentifier, value: any AnyObject & Sendable)] = []
    }

    let state = Mutex(State())
}

extension Message {
    /// ``ParsedURL/parse(_:)`` of each of the first `count` ``urls`` (nil for one that does not
    /// parse), in order. Each URL is parsed once per message: the rules, the feature extractor
    /// (``knownParsedURLs(_:)``) and the copies of the message share the parsed forms.
    public func parsedURLs(_ count: Int) -> [ParsedURL?] {
        let n = max(0, min(count, urls.count))
        guard let memo else { return urls.prefix(n).map { ParsedURL.parse($0) } }
        var known = memo.state.withLock { s -> [ParsedURL?] in s.parsedURLs }
        guard known.count < n else { return known.count == n ? known : Array(known.prefix(n)) }
        // Parsed outside the lock; the longer list is kept.
        known.reserveCapacity(n)
        for i in known.count..<n { known.append(ParsedURL.parse(urls[i])) }
        memo.state.withLock { s in
            if s.parsedURLs.count < known.count { s.parsedURLs = known }
        }
        return known
    }

    /// ``parsedURLs(_:)`` when every one of them was parsed already (by an earlier reader), else
    /// nil: for a reader that parses its URLs one at a time without keeping them when it is first.
    public func knownParsedURLs(_ count: Int) -> ArraySlice<ParsedURL?>? {
        let n = max(0, min(count, urls.count))
        guard n > 0, let memo else { return n == 0 ? [] : nil }
        let known = memo.state.withLock { s -> [ParsedURL?] in s.parsedURLs }
        return known.count >= n ? known.prefix(n) : nil
    }

    /// The value of type `T` kept with this message (``memoize(_:)``), if any.
    @inlinable public func memoized<T: AnyObject & Sendable>(_ type: T.Type) -> T? {
        memoized(ObjectIdentifier(type)) as? T
    }

    /// Keeps `value` with this message (and its copies), replacing an earlier value of its type.
    /// For values derived from the message alone (or keyed by what else they depend on), so that
    /// a reader that finds one may use it instead of computing its own. A message without URLs
    /// keeps nothing.
    @inlinable public func memoize<T: AnyObject & Sendable>(_ value: T) {
        memoize(value, as: ObjectIdentifier(T.self))
    }

    /// The value kept under `key` (the `ObjectIdentifier` of its type), if any.
    public func memoized(_ key: ObjectIdentifier) -> (any AnyObject & Sendable)? {
        guard let memo else { return nil }
        return memo.state.withLock { s -> (any AnyObject & Sendable)? in
            for entry in s.values where entry.type == key { return entry.value }
            return nil
        }
    }

    /// Keeps `value` under `key` (the `ObjectIdentifier` of its type), replacing an earlier value.
    public func memoize(_ value: any AnyObject & Sendable, as key: ObjectIdentifier) {
        guard let memo else { return }
        memo.state.withLock { s in
            if let i = s.values.firstIndex(where: { $0.type == key }) {
                s.values[i].value = value
            } else {
                s.values.append((key, value))
            }
        }
    }
}
