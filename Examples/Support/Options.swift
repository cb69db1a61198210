import SwiftDSM

/// `--name=value` or `--name value` integer options; the DSM's own `--jia-*` flags are
/// skipped. An unknown option or a bad value stops every rank with a message (they all
/// parse the same command line).
public struct Options {
    private var values: [String: Int] = [:]
    private let known: [String: String]

    /// `known`: option name to its help text.
    public init(_ known: [String: String], arguments: [String] = CommandLine.arguments) {
        self.known = known
        var index = 1
        while index < arguments.count {
            let argument = arguments[index]
            index += 1
            if argument.hasPrefix("--jia-") { continue }
            guard argument.hasPrefix("--") else { Options.refuse("unexpected argument '\(argument)'", known) }
            var name = String(argument.dropFirst(2))
            var text: String
            if let equals = name.firstIndex(of: "=") {
                text = String(name[name.index(after: equals)...])
                name = String(name[..<equals])
            } else {
                guard index < arguments.count else { Options.refuse("--\(name) needs a value", known) }
                text = arguments[index]
                index += 1
            }
            guard known[name] != nil else { Options.refuse("unknown option --\(name)", known) }
            text = text.replacingOccurrences(of: "_", with: "")
            guard let value = Int(text) else { Options.refuse("--\(name): '\(text)' is not an integer", known) }
            values[name] = value
        }
    }

    /// The value of `name`, or `fallback`; must lie in `range`.
    public func int(_ name: String, _ fallback: Int, in range: ClosedRange<Int> = 0...Int.max) -> Int {
        let value = values[name] ?? fallback
        guard range.contains(value) else { Options.refuse("--\(name) must be in \(range) (got \(value))", known) }
        return value
    }

    private static func refuse(_ message: String, _ known: [String: String]) -> Never {
        let help = known.keys.sorted().map { "  --\($0)=N  \(known[$0]!)" }.joined(separator: "\n")
        Fatal.everyRank("\(message)\noptions:\n\(help)")
    }
}
