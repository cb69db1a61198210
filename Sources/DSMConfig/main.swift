// dsm-config: prints the effective SwiftDSM settings of a run started here (working
// directory's jia.yaml or $JIA_CONFIG, JIA_* variables, --jia-* flags) and where each
// value came from. Needs no MPI.
//
//   dsm-config [--jia-<setting>=<value> ...]
import Foundation
import SwiftDSM

do {
    let (settings, remaining) = try Settings.load(environment: ProcessInfo.processInfo.environment,
                                                  arguments: Array(CommandLine.arguments.dropFirst()))
    if !remaining.isEmpty {
        FileHandle.standardError.write("dsm-config: arguments other than --jia-<setting>=<value>: \(remaining)\n".data(using: .utf8)!)
        exit(2)
    }
    print(settings.configurationTable, terminator: "")
} catch {
    FileHandle.standardError.write("SwiftDSM error: \(error)\n".data(using: .utf8)!)
    exit(1)
}
