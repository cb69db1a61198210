import Foundation

/// Which data path moves pages and diffs.
public enum TransportChoice: String, Sendable, CaseIterable {
    /// The fastest path this MPI setup supports, agreed by all ranks: `shm` when MPI itself
    /// runs over shared memory on one host (it can create RMA windows there), else `rma`,
    /// else `message`.
    case auto
    /// Ranks on one host map each other's memory: fetches are memcpy, diffs atomic XORs.
    case shm
    /// MPI_Get / MPI_Put into the homes' windows. Fails at start-up if windows cannot be created.
    case rma
    /// Request/reply to each rank's service thread over two-sided MPI (works over TCP).
    case message
}

/// Every tunable of a SwiftDSM run. Sources, lowest to highest precedence: built-in
/// defaults, environment variables `JIA_<SETTING>`, command-line flags `--jia-<setting>=<value>`.
public struct Settings: Sendable, Equatable {
    public var transport: TransportChoice = .auto
    /// Bytes of shared address space (virtual; homes and cache are the physical part).
    public var capacity: Int = 16 << 30
    /// Slots in the cache of non-home pages, per rank.
    public var cachePages: Int = 32_768
    /// Allocate the cache's memory at start-up rather than in the first faults that use it.
    public var cachePrefault: Bool = true
    /// Coherence unit in bytes: a power of two, at least the system page size.
    public var pageSize: Int = 4096
    /// Pages fetched by one read fault when the following pages are also missing.
    public var prefetchPages: Int = 16
    /// Lock ids are 0..<maxLocks.
    public var maxLocks: Int = 4096
    /// Condition-variable ids are 0..<maxConditionVariables.
    public var maxConditionVariables: Int = 1024
    /// Print the statistics table at jia_exit.
    public var statistics: Bool = false
    /// swift-log level name for SwiftDSM's own messages.
    public var logLevel: String = "warning"

    public init() {}
}

/// A setting value that cannot be used, with the source that supplied it.
public struct SettingsError: Error, CustomStringConvertible, Sendable {
    public let description: String
}

extension Settings {
    /// One setting: its name as written in flags (`--jia-cache-pages`) and variables
    /// (`JIA_CACHE_PAGES`), what values it takes, and how to store a parsed value.
    struct Definition: Sendable {
        let name: String
        let allowed: String
        let apply: @Sendable (inout Settings, String) -> Bool

        var variable: String { "JIA_" + name.uppercased().replacingOccurrences(of: "-", with: "_") }
        var flag: String { "--jia-" + name }
    }

    static let definitions: [Definition] = [
        Definition(name: "transport", allowed: "auto, shm, rma or message") { settings, text in
            guard let value = TransportChoice(rawValue: text.lowercased()) else { return false }
            settings.transport = value
            return true
        },
        Definition(name: "capacity", allowed: "a byte count from 1M to 64T, with an optional K, M, G or T suffix") { settings, text in
            guard let value = parseByteCount(text), value >= 1 << 20, value <= 64 << 40 else { return false }
            settings.capacity = value
            return true
        },
        Definition(name: "cache-pages", allowed: "an integer from 1 to 16777216") { settings, text in
            guard let value = Int(text), (1...16_777_216).contains(value) else { return false }
            settings.cachePages = value
            return true
        },
        Definition(name: "cache-prefault", allowed: "on or off") { settings, text in
            guard let value = parseSwitch(text) else { return false }
            settings.cachePrefault = value
            return true
        },
        Definition(name: "page-size", allowed: "a power of two from the system page size to 1M") { settings, text in
            guard let value = parseByteCount(text), value >= systemPageSize, value <= 1 << 20,
                  value & (value - 1) == 0 else { return false }
            settings.pageSize = value
            return true
        },
        Definition(name: "prefetch-pages", allowed: "an integer from 1 to 1024") { settings, text in
            guard let value = Int(text), (1...1024).contains(value) else { return false }
            settings.prefetchPages = value
            return true
        },
        Definition(name: "max-locks", allowed: "an integer from 1 to 1048576") { settings, text in
            guard let value = Int(text), (1...1_048_576).contains(value) else { return false }
            settings.maxLocks = value
            return true
        },
        Definition(name: "max-cvs", allowed: "an integer from 1 to 1048576") { settings, text in
            guard let value = Int(text), (1...1_048_576).contains(value) else { return false }
            settings.maxConditionVariables = value
            return true
        },
        Definition(name: "statistics", allowed: "on or off") { settings, text in
            guard let value = parseSwitch(text) else { return false }
            settings.statistics = value
            return true
        },
        Definition(name: "log-level", allowed: "trace, debug, info, notice, warning, error or critical") { settings, text in
            let levels = ["trace", "debug", "info", "notice", "warning", "error", "critical"]
            guard levels.contains(text.lowercased()) else { return false }
            settings.logLevel = text.lowercased()
            return true
        },
    ]

    /// Applies environment variables, then `--jia-` flags, over `self`. Returns the
    /// arguments with every `--jia-` flag removed, so the program never sees them.
    public mutating func merge(environment: [String: String], arguments: [String]) throws -> [String] {
        for (variable, value) in environment.sorted(by: { $0.key < $1.key }) where variable.hasPrefix("JIA_") {
            if variable == "JIA_CONFIG" { continue }
            guard let definition = Self.definitions.first(where: { $0.variable == variable }) else {
                throw SettingsError(description: "environment variable \(variable): unknown setting; known: "
                    + Self.definitions.map(\.variable).joined(separator: ", "))
            }
            try apply(definition, value, source: "environment variable \(variable)=\(value)")
        }
        var remaining: [String] = []
        for argument in arguments {
            guard argument.hasPrefix("--jia-") else { remaining.append(argument); continue }
            let parts = argument.split(separator: "=", maxSplits: 1).map(String.init)
            guard let definition = Self.definitions.first(where: { $0.flag == parts[0] }) else {
                throw SettingsError(description: "flag \(argument): unknown setting; known: "
                    + Self.definitions.map(\.flag).joined(separator: ", "))
            }
            guard parts.count == 2 else {
                throw SettingsError(description: "flag \(argument): needs a value, as \(definition.flag)=<\(definition.allowed)>")
            }
            try apply(definition, parts[1], source: "flag \(argument)")
        }
        return remaining
    }

    private mutating func apply(_ definition: Definition, _ value: String, source: String) throws {
        guard definition.apply(&self, value.trimmingCharacters(in: .whitespaces)) else {
            throw SettingsError(description: "\(source): \(definition.name) must be \(definition.allowed)")
        }
    }

    /// Parses "4096", "64K", "16M", "2G", "1T" (powers of 1024).
    static func parseByteCount(_ text: String) -> Int? {
        let trimmed = text.trimmingCharacters(in: .whitespaces).uppercased()
        guard let last = trimmed.last else { return nil }
        let shifts: [Character: Int] = ["K": 10, "M": 20, "G": 30, "T": 40]
        if let shift = shifts[last] {
            guard let number = Int(trimmed.dropLast()), number >= 0, number <= Int.max >> shift else { return nil }
            return number << shift
        }
        return Int(trimmed)
    }

    static func parseSwitch(_ text: String) -> Bool? {
        switch text.lowercased() {
        case "on", "true", "yes", "1": return true
        case "off", "false", "no", "0": return false
        default: return nil
        }
    }
}

let systemPageSize = Int(sysconf(Int32(_SC_PAGESIZE)))
