// dsm-bench: the core's latency and bandwidth figures, one line each as
// `<name> <median> <unit>`. Run as: mpirun -np 2 .build/release/dsm-bench [--transport rma|message]
import ArgumentParser
import Foundation
import SwiftDSM

@main
struct DSMBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dsm-bench",
        abstract: "Measures SwiftDSM's fault, streaming, write-release, lock, barrier and idle-CPU figures (np 2).")

    @Option(help: "Data path: auto, shm, rma or message.")
    var transport: String = "auto"

    @Option(help: "Repetitions of each measurement; the median is printed.")
    var repetitions: Int = 5

    @Flag(help: "Print the DSM statistics breakdown (counters, latency percentiles) at exit.")
    var statistics = false

    @Option(help: "Write every rank's raw statistics as one JSON array to this file at exit.")
    var statisticsJson: String?

    @Option(help: "Only these figures (comma-separated names).")
    var only: String?

    func run() throws {
        var arguments = [CommandLine.arguments[0], "--jia-transport=\(transport)"]
        if statistics { arguments.append("--jia-statistics=on") }
        if let statisticsJson { arguments.append("--jia-statistics-json=\(statisticsJson)") }
        let dsm = DSM.start(arguments: arguments)
        guard dsm.rankCount == 2 else {
            if dsm.rank == 0 { print("dsm-bench: run with exactly 2 ranks (mpirun -np 2), not \(dsm.rankCount)") }
            dsm.finish()
            throw ExitCode(2)
        }
        let wanted = only.map { Set($0.split(separator: ",").map(String.init)) }
        let bench = Measurements(dsm: dsm, repetitions: repetitions)
        if dsm.rank == 0 { print("# dsm-bench: 2 ranks, transport \(dsm.runtime.transportName), page \(dsm.pageSize) B") }
        for figure in bench.figures where wanted?.contains(figure.name) ?? true {
            let value = figure.measure()
            if dsm.rank == 0 { print(String(format: "%@ %.2f %@", figure.name, value, figure.unit)) }
        }
        dsm.finish()
    }
}
