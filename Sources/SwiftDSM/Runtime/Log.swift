import Logging

/// SwiftDSM's logger: rank-prefixed, quiet by default (level from the `log-level` setting).
enum DSMLog {
    nonisolated(unsafe) static var logger = Logger(label: "SwiftDSM")
    /// Cached so hot paths (faults, grants) pay one branch when tracing is off.
    nonisolated(unsafe) static var tracing = false

    static func configure(rank: Int, level: String) {
        var logger = Logger(label: "SwiftDSM[rank \(rank)]") { label in StreamLogHandler.standardError(label: label) }
        logger.logLevel = Logger.Level(rawValue: level) ?? .warning
        self.logger = logger
        tracing = logger.logLevel <= .debug
    }

    @inline(__always)
    static func trace(_ message: @autoclosure () -> String) {
        if tracing { logger.debug("\(message())") }
    }
}
