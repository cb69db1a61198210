import Foundation
import Yams

/// Which data path moves pages and diffs.
public enum TransportChoice: String, Sendable, CaseIterable {
    /// The fastest path this MPI setup supports, agreed by all ranks: `tcp` when the ranks
    /// are on more than one host; on one host `shm` when MPI itself runs over shared memory
    /// (it can create RMA windows there), else `rma`, else `message`.
    case auto
    /// Ranks on one host map each other's memory: fetches are memcpy, diffs atomic XORs.
    case shm
    /// MPI_Get / MPI_Put into the homes' windows. Fails at start-up if windows cannot be created.
    case rma
    /// Request/reply to each rank's service thread over two-sided MPI (works over TCP).
    case message
    /// Request/reply over SwiftDSM's own TCP connections, one per pair of ranks, which wake
    /// the service thread and waiting ranks on arrival (epoll) instead of polling MPI.
    case tcp
    /// UCX's one-sided gets and puts (UCP) into the homes' registered memory: RDMA READ and
    /// WRITE on InfiniBand or RoCE, UCX's tcp or shared-memory transports elsewhere
    /// (`ucxTransports` chooses). Requests (partial words, locks, barriers) go over the tcp
    /// lanes across hosts, over MPI's messages on one host.
    case ucx
}

/// How the ucx transport fetches pages: a UCP get (RDMA READ on rc/dc lanes), or a request
/// the home's worker answers (where UCX would emulate the get with messages anyway); `auto`:
/// gets where the lanes are RDMA.
public enum UCXFetchChoice: String, Sendable, CaseIterable {
    case auto, get, request
}

/// What carries the DSM's messages (locks, condition variables, partial words) under the
/// ucx transport: UCX's active messages on the same endpoints, SwiftDSM's tcp lanes, or
/// MPI's messages; `auto`: tcp across hosts and MPI on one host, which measured faster than
/// UCX's over kernel TCP and shared memory (BENCHMARKS.md; RDMA lanes not measured).
public enum UCXMessagesChoice: String, Sendable, CaseIterable {
    case auto, ucx, tcp, mpi
}

/// What protects the frames of the tcp and message transports (`FrameSeal`): nothing, an AEAD tag on every
/// frame, or the tag and an encrypted payload.
public enum SecurityChoice: String, Sendable, CaseIterable {
    case off, authenticate, encrypt
}

/// Compression of the tcp transport's frame payloads (`Compressor`): none, always LZ4, or
/// LZ4 while recent payloads shrink at least 2x (zero payloads shrink to nothing always).
public enum CompressionChoice: String, Sendable, CaseIterable {
    case off, lz4, auto
}

/// What start-up restores (`Checkpointer`).
public enum RestartChoice: Sendable, Equatable, CustomStringConvertible {
    case off
    case latest
    case tag(Int)

    public var description: String {
        switch self {
        case .off: return "off"
        case .latest: return "latest"
        case .tag(let tag): return String(tag)
        }
    }
}

/// Where each rank keeps its home pages: in memory (a memfd, gone with the process), or in
/// a file of a directory (`file:DIR`; `{host}` becomes the host's name), mapped shared:
/// on a DAX file system that is persistent memory, and with checkpoints the file itself is
/// the checkpoint (`UndoLog`).
public enum HomeStoreChoice: Sendable, Equatable, CustomStringConvertible {
    case memory
    case file(String)

    public var description: String {
        switch self {
        case .memory: return "memory"
        case .file(let directory): return "file:" + directory
        }
    }
}

/// Every tunable of a SwiftDSM run. Sources, lowest to highest precedence: built-in
/// defaults, a YAML file (`jia.yaml` in the working directory, or the file `JIA_CONFIG`
/// names), environment variables `JIA_<SETTING>`, command-line flags `--jia-<setting>=<value>`.
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
    /// Write every rank's raw statistics as JSON to this path at exit (empty: do not).
    public var statisticsJSON: String = ""
    /// swift-log level name for SwiftDSM's own messages.
    public var logLevel: String = "warning"
    /// Rank 0 prints the effective settings and their sources at start-up.
    public var printConfig: Bool = false
    /// JIAJIA 2.1's jia_config options: their values before the program calls jia_config.
    /// Home migration, adaptive write detection and write vectors are on (2.1: off):
    /// measured, they make plain DSM programs faster or move fewer bytes, and none slower
    /// beyond noise (BENCHMARKS.md). Write vectors act on the message paths (message, tcp) only.
    public var hmig: Bool = true
    public var adwd: Bool = true
    /// Pushes of read pages at barriers: `nil` (auto) means on where pages cross a network
    /// (the message paths, message and tcp), where they save a fetch's round trip; on one host a fetch is a
    /// memcpy and the pushes cost more than they save (BENCHMARKS.md).
    public var broadcast: Bool? = nil
    public var loadbal: Bool = false
    /// jia_balance without the program calling it: every `balanceInterval` barriers, the
    /// barrier also balances in this mode (nil: never). Must be the same on every rank.
    public var balance: BalanceMode? = nil
    public var balanceInterval: Int = 16
    public var wvec: Bool = true
    /// The network of the tcp transport: an interface name or an IPv4 network (10.0.0.0/24);
    /// empty: the one Open MPI was told to use (btl_tcp_if_include), else loopback on one
    /// host, else the first interface that is up.
    public var tcpInterface: String = ""
    /// Microseconds a rank waiting for a reply on the tcp transport keeps trying before it
    /// sleeps on its connections (0: sleep at once).
    public var tcpSpin: Int = 50
    /// UCX's transports for the ucx transport, as UCX_TLS takes them (`rc`, `dc,sm`, `tcp`,
    /// ...); empty: UCX's own choice (or the UCX_TLS variable).
    public var ucxTransports: String = ""
    /// Microseconds a rank's UCX progress thread keeps polling after the last arrival before
    /// it sleeps on the worker's event fd (0: sleep at once).
    public var ucxSpin: Int = 100
    public var ucxFetch: UCXFetchChoice = .auto
    public var ucxMessages: UCXMessagesChoice = .auto
    /// Sealing of the frames of the tcp and message transports with keys derived from `keyFile`.
    public var security: SecurityChoice = .off
    /// The job's secret: 32 random bytes (`dsm-keygen` makes one), readable by its owner
    /// only, the same file on every host. Needed when `security` is not off.
    public var keyFile: String = ""
    public var compression: CompressionChoice = .off
    /// A lock's manager moves, at a barrier, to the rank that took it most since the last one.
    public var lockMigration: Bool = true
    /// A lock's manager names the next waiter to the holder, whose release then grants it
    /// directly (one hop instead of two); and a rank that took a lock twice in a row keeps
    /// its release for its next request of it (one message a round instead of two), handing
    /// the lock off from its service thread if another rank asks first.
    public var lockHandoff: Bool = true
    /// Where `jia_checkpoint` writes: one subdirectory per checkpoint, each rank its own
    /// part (a shared or a node-local file system; `{host}` becomes each host's name).
    /// Empty: checkpoints are refused.
    public var checkpointDirectory: String = ""
    /// Whether start-up restores a checkpoint: none, the newest complete one, or the
    /// newest complete one with this tag.
    public var restart: RestartChoice = .off
    /// Complete checkpoints kept (with the older ones they build on); older ones are removed.
    public var checkpointKeep: Int = 2
    /// Every this many checkpoints one is full; the ones between hold only the pages
    /// changed since the one before (1: every checkpoint is full).
    public var checkpointFullEvery: Int = 8
    public var homeStore: HomeStoreChoice = .memory
    /// Where each setting that is not a default came from, by setting name.
    public var sources: [String: String] = [:]

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
        let show: @Sendable (Settings) -> String
        let apply: @Sendable (inout Settings, String) -> Bool

        var variable: String { "JIA_" + name.uppercased().replacingOccurrences(of: "-", with: "_") }
        var flag: String { "--jia-" + name }
    }

    static let definitions: [Definition] = [
        choiceDefinition("transport", "auto, shm, rma, message, tcp or ucx", \.transport),
        Definition(name: "capacity", allowed: "a byte count from 1M to 64T, with an optional K, M, G or T suffix", show: { String($0.capacity) }) { settings, text in
            guard let value = parseByteCount(text), value >= 1 << 20, value <= 64 << 40 else { return false }
            settings.capacity = value
            return true
        },
        Definition(name: "cache-pages", allowed: "an integer from 1 to 16777216", show: { String($0.cachePages) }) { settings, text in
            guard let value = Int(text), (1...16_777_216).contains(value) else { return false }
            settings.cachePages = value
            return true
        },
        Definition(name: "cache-prefault", allowed: "on or off", show: { $0.cachePrefault ? "on" : "off" }) { settings, text in
            guard let value = parseSwitch(text) else { return false }
            settings.cachePrefault = value
            return true
        },
        Definition(name: "page-size", allowed: "a power of two from the system page size to 1M", show: { String($0.pageSize) }) { settings, text in
            guard let value = parseByteCount(text), value >= systemPageSize, value <= 1 << 20,
                  value & (value - 1) == 0 else { return false }
            settings.pageSize = value
            return true
        },
        Definition(name: "prefetch-pages", allowed: "an integer from 1 to 1024", show: { String($0.prefetchPages) }) { settings, text in
            guard let value = Int(text), (1...1024).contains(value) else { return false }
            settings.prefetchPages = value
            return true
        },
        Definition(name: "max-locks", allowed: "an integer from 1 to 1048576", show: { String($0.maxLocks) }) { settings, text in
            guard let value = Int(text), (1...1_048_576).contains(value) else { return false }
            settings.maxLocks = value
            return true
        },
        Definition(name: "max-cvs", allowed: "an integer from 1 to 1048576", show: { String($0.maxConditionVariables) }) { settings, text in
            guard let value = Int(text), (1...1_048_576).contains(value) else { return false }
            settings.maxConditionVariables = value
            return true
        },
        Definition(name: "statistics", allowed: "on or off", show: { $0.statistics ? "on" : "off" }) { settings, text in
            guard let value = parseSwitch(text) else { return false }
            settings.statistics = value
            return true
        },
        Definition(name: "log-level", allowed: "trace, debug, info, notice, warning, error or critical", show: { $0.logLevel }) { settings, text in
            let levels = ["trace", "debug", "info", "notice", "warning", "error", "critical"]
            guard levels.contains(text.lowercased()) else { return false }
            settings.logLevel = text.lowercased()
            return true
        },
        Definition(name: "statistics-json", allowed: "a file path (rank 0 writes one JSON array of all ranks), or off",
                   show: { $0.statisticsJSON.isEmpty ? "off" : $0.statisticsJSON }) { settings, text in
            guard !text.isEmpty, parseSwitch(text) != true else { return false }
            settings.statisticsJSON = parseSwitch(text) == false ? "" : text
            return true
        },
        Definition(name: "print-config", allowed: "on or off", show: { $0.printConfig ? "on" : "off" }) { settings, text in
            guard let value = parseSwitch(text) else { return false }
            settings.printConfig = value
            return true
        },
        switchDefinition("hmig", \.hmig),
        switchDefinition("adwd", \.adwd),
        Definition(name: "broadcast", allowed: "on, off or auto (on for the message and tcp transports)",
                   show: { $0.broadcast.map { $0 ? "on" : "off" } ?? "auto" }) { settings, text in
            if text.lowercased() == "auto" {
                settings.broadcast = nil
                return true
            }
            guard let value = parseSwitch(text) else { return false }
            settings.broadcast = value
            return true
        },
        switchDefinition("loadbal", \.loadbal),
        Definition(name: "balance", allowed: "off, computing, memory or hybrid",
                   show: { $0.balance.map { "\($0)" } ?? "off" }) { settings, text in
            switch text.lowercased() {
            case "off", "no", "false", "0": settings.balance = nil
            case "computing": settings.balance = .computing
            case "memory": settings.balance = .memory
            case "hybrid": settings.balance = .hybrid
            default: return false
            }
            return true
        },
        Definition(name: "balance-interval", allowed: "an integer from 1 to 1000000 (barriers)",
                   show: { String($0.balanceInterval) }) { settings, text in
            guard let value = Int(text), (1...1_000_000).contains(value) else { return false }
            settings.balanceInterval = value
            return true
        },
        switchDefinition("wvec", \.wvec),
        switchDefinition("lock-migration", \.lockMigration),
        switchDefinition("lock-handoff", \.lockHandoff),
        Definition(name: "tcp-interface", allowed: "an interface name, an IPv4 network such as 10.0.0.0/24, or auto",
                   show: { $0.tcpInterface.isEmpty ? "auto" : $0.tcpInterface }) { settings, text in
            guard !text.isEmpty, !text.contains(" ") else { return false }
            settings.tcpInterface = text.lowercased() == "auto" ? "" : text
            return true
        },
        Definition(name: "tcp-spin", allowed: "an integer from 0 to 100000 (microseconds)",
                   show: { String($0.tcpSpin) }) { settings, text in
            guard let value = Int(text), (0...100_000).contains(value) else { return false }
            settings.tcpSpin = value
            return true
        },
        Definition(name: "ucx-transports", allowed: "a UCX transport list as UCX_TLS takes it (tcp, rc, dc,sm, ...), or auto",
                   show: { $0.ucxTransports.isEmpty ? "auto" : $0.ucxTransports }) { settings, text in
            guard !text.isEmpty, !text.contains(" ") else { return false }
            settings.ucxTransports = text.lowercased() == "auto" ? "" : text
            return true
        },
        choiceDefinition("ucx-fetch", "auto, get or request (the ucx transport's page fetches)", \.ucxFetch),
        choiceDefinition("ucx-messages", "auto, ucx, tcp or mpi (what carries the ucx transport's messages)",
                         \.ucxMessages),
        Definition(name: "ucx-spin", allowed: "an integer from 0 to 100000 (microseconds)",
                   show: { String($0.ucxSpin) }) { settings, text in
            guard let value = Int(text), (0...100_000).contains(value) else { return false }
            settings.ucxSpin = value
            return true
        },
        choiceDefinition("security", "off, authenticate or encrypt (the frames of the tcp and message transports)", \.security),
        Definition(name: "key-file", allowed: "the path of a key file made by dsm-keygen, or off",
                   show: { $0.keyFile.isEmpty ? "off" : $0.keyFile }) { settings, text in
            guard !text.isEmpty, parseSwitch(text) != true else { return false }
            settings.keyFile = parseSwitch(text) == false ? "" : text
            return true
        },
        choiceDefinition("compression", "off, lz4 or auto (the frames of the tcp and message transports)", \.compression),
        Definition(name: "checkpoint-dir", allowed: "a directory path (created if missing; {host} becomes the host's name), or off",
                   show: { $0.checkpointDirectory.isEmpty ? "off" : $0.checkpointDirectory }) { settings, text in
            guard !text.isEmpty, parseSwitch(text) != true else { return false }
            settings.checkpointDirectory = parseSwitch(text) == false ? "" : text
            return true
        },
        Definition(name: "restart", allowed: "off, latest or a checkpoint's tag (an integer)",
                   show: { $0.restart.description }) { settings, text in
            switch text.lowercased() {
            case "off", "no", "false": settings.restart = .off
            case "latest": settings.restart = .latest
            default:
                guard let tag = Int(text) else { return false }
                settings.restart = .tag(tag)
            }
            return true
        },
        Definition(name: "checkpoint-keep", allowed: "an integer from 1 to 1000 (complete checkpoints)",
                   show: { String($0.checkpointKeep) }) { settings, text in
            guard let value = Int(text), (1...1000).contains(value) else { return false }
            settings.checkpointKeep = value
            return true
        },
        Definition(name: "checkpoint-full-every", allowed: "an integer from 1 to 1000 (checkpoints)",
                   show: { String($0.checkpointFullEvery) }) { settings, text in
            guard let value = Int(text), (1...1000).contains(value) else { return false }
            settings.checkpointFullEvery = value
            return true
        },
        Definition(name: "home-store", allowed: "memory, or file:DIR (a directory, created if missing; {host} becomes "
                   + "the host's name)", show: { $0.homeStore.description }) { settings, text in
            if text.lowercased() == "memory" {
                settings.homeStore = .memory
                return true
            }
            guard text.lowercased().hasPrefix("file:"), text.count > 5 else { return false }
            settings.homeStore = .file(String(text.dropFirst(5)))
            return true
        },
    ]

    /// A setting whose values are the raw values of `Choice` (any case).
    private static func choiceDefinition<Choice: RawRepresentable<String> & Sendable>(
        _ name: String, _ allowed: String, _ key: WritableKeyPath<Settings, Choice> & Sendable) -> Definition {
        Definition(name: name, allowed: allowed, show: { $0[keyPath: key].rawValue }) { settings, text in
            guard let value = Choice(rawValue: text.lowercased()) else { return false }
            settings[keyPath: key] = value
            return true
        }
    }

    private static func switchDefinition(_ name: String, _ key: WritableKeyPath<Settings, Bool> & Sendable) -> Definition {
        Definition(name: name, allowed: "on or off", show: { $0[keyPath: key] ? "on" : "off" }) { settings, text in
            guard let value = parseSwitch(text) else { return false }
            settings[keyPath: key] = value
            return true
        }
    }

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
        sources[definition.name] = source
    }

    // MARK: the YAML file

    /// The settings of a run: defaults, then the YAML file (the one `JIA_CONFIG` names, which
    /// must exist, else `jia.yaml` in `directory` if there is one), then the environment, then
    /// the flags. Returns the arguments without the `--jia-` flags.
    public static func load(environment: [String: String], arguments: [String],
                            directory: String = FileManager.default.currentDirectoryPath) throws -> (Settings, [String]) {
        var settings = Settings()
        if let path = environment["JIA_CONFIG"], !path.isEmpty {
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
                throw SettingsError(description: "environment variable JIA_CONFIG=\(path): cannot read the settings "
                    + "file \(path); JIA_CONFIG must name a readable YAML file of setting: value lines")
            }
            try settings.merge(yaml: text, file: path)
        } else {
            let path = (directory as NSString).appendingPathComponent("jia.yaml")
            if FileManager.default.fileExists(atPath: path) {
                guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
                    throw SettingsError(description: "file \(path): cannot be read as UTF-8 text")
                }
                try settings.merge(yaml: text, file: "jia.yaml")
            }
        }
        let remaining = try settings.merge(environment: environment, arguments: arguments)
        return (settings, remaining)
    }

    /// Applies a YAML mapping of `setting: value` lines (setting names as in the flags;
    /// `cache_pages` is accepted for `cache-pages`) over `self`. `file` names it in errors.
    public mutating func merge(yaml text: String, file: String) throws {
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch let error as YamlError {
            throw SettingsError(description: Self.syntaxMessage(error, file: file))
        }
        guard let root else { return }  // an empty file or only comments
        guard case .mapping(let mapping) = root else {
            throw SettingsError(description: "file \(file) line \(root.mark?.line ?? 1): the settings file must be "
                + "a mapping of setting: value lines (for example `cache-pages: 1024`)")
        }
        for (key, value) in mapping {
            let line = key.mark?.line ?? 0
            guard let name = key.scalar?.string,
                  let definition = Self.definitions.first(where: {
                      $0.name == name.lowercased().replacingOccurrences(of: "_", with: "-")
                  }) else {
                throw SettingsError(description: "file \(file) line \(line): unknown setting \(key.scalar?.string ?? "(not a name)"); known: "
                    + Self.definitions.map(\.name).joined(separator: ", "))
            }
            guard let scalar = value.scalar else {
                let kind = value.sequence != nil ? "a list" : "a mapping"
                throw SettingsError(description: "file \(file) line \(line): \(definition.name) must be "
                    + "\(definition.allowed), not \(kind)")
            }
            try apply(definition, scalar.string, source: "file \(file) line \(line) (\(name): \(scalar.string))")
        }
    }

    static func syntaxMessage(_ error: YamlError, file: String) -> String {
        switch error {
        case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _),
             .composer(let context, let problem, let mark, _):
            let detail = context.map { "\($0.text) " } ?? ""
            return "file \(file) line \(mark.line) column \(mark.column): YAML syntax error: \(detail)\(problem); "
                + "the settings file must be a mapping of setting: value lines"
        default:
            return "file \(file): YAML error: \(error)"
        }
    }

    // MARK: showing the settings

    /// Every setting, its effective value and where the value came from.
    public var configurationTable: String {
        let rows = Self.definitions.map { ($0.name, $0.show(self), sources[$0.name] ?? "default") }
        let nameWidth = max(7, rows.map(\.0.count).max() ?? 0) + 2
        let valueWidth = max(5, rows.map(\.1.count).max() ?? 0) + 2
        func pad(_ text: String, _ width: Int) -> String {
            text + String(repeating: " ", count: max(1, width - text.count))
        }
        var text = pad("setting", nameWidth) + pad("value", valueWidth) + "source\n"
        for row in rows { text += pad(row.0, nameWidth) + pad(row.1, valueWidth) + row.2 + "\n" }
        return text
    }

    /// The effective value of the setting `name` as text, or nil for an unknown name.
    public func value(of name: String) -> String? {
        Self.definitions.first { $0.name == name }.map { $0.show(self) }
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
