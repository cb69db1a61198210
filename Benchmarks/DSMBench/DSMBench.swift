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

    @Option(help: "Data path: auto, shm, rma, message, tcp or ucx.")
    var transport: String = "auto"

    @Option(help: "Repetitions of each measurement; the median is printed.")
    var repetitions: Int = 5

    @Flag(help: "Print the DSM statistics breakdown (counters, latency percentiles) at exit.")
    var statistics = false

    @Option(help: "Write every rank's raw statistics as one JSON array to this file at exit.")
    var statisticsJson: String?

    @Option(help: "Only these figures (comma-separated names).")
    var only: String?

    @Flag(help: "Also measure MPI's own 8 B and 4 KiB ping-pong and MPI_Barrier between the same ranks, and print each SwiftDSM figure that has one as a ratio to it; on transport ucx also UCX's own 4 KiB and 8 B get, its 8 B active-message round trip and the trap-and-map cost.")
    var baseline = false

    @Option(help: "Measure checkpoints instead (any number of ranks): of --megabytes of shared data, written to this directory, against its sequential write bandwidth.")
    var checkpointDir: String?

    @Option(help: "Shared data for --checkpoint-dir, in MiB (MG class A's grids: 440).")
    var megabytes = 440

    func run() throws {
        var arguments = [CommandLine.arguments[0], "--jia-transport=\(transport)"]
        if let checkpointDir {
            arguments += ["--jia-checkpoint-dir=\(checkpointDir)", "--jia-checkpoint-full-every=3", "--jia-checkpoint-keep=1"]
            let dsm = DSM.start(arguments: arguments)
            if dsm.rank == 0 { print("# dsm-bench checkpoints: \(dsm.rankCount) ranks, transport \(dsm.runtime.transportName), \(checkpointDir)") }
            CheckpointBench(dsm: dsm, directory: checkpointDir, megabytes: megabytes, repetitions: repetitions).run()
            dsm.finish()
            return
        }
        // Lock managers stay put unless JIA_LOCK_MIGRATION says otherwise: lock_remote_us
        // measures a lock managed by the other rank.
        if ProcessInfo.processInfo.environment["JIA_LOCK_MIGRATION"] == nil { arguments.append("--jia-lock-migration=off") }
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
        var measured: [String: Double] = [:]
        for figure in bench.figures where wanted?.contains(figure.name) ?? true {
            let value = figure.measure()
            measured[figure.name] = value
            if dsm.rank == 0 { print(String(format: "%@ %.2f %@", figure.name, value, figure.unit)) }
        }
        if baseline { compareWithMPI(measured, rank: dsm.rank) }
        if baseline && dsm.runtime.transportName == "ucx" { compareWithUCX(measured, dsm: dsm) }
        dsm.finish()
    }

    /// The ucx transport's yardstick: a fault is UCX's own 4 KiB get plus what trapping the
    /// access and mapping the page cost on this machine.
    private func compareWithUCX(_ measured: [String: Double], dsm: DSM) {
        let ucx = UCXBaseline(rank: dsm.rank, repetitions: repetitions)
        let settings = dsm.runtime.settings
        let gets = ucx.gets(sizes: [4096, 8], transports: settings.ucxTransports, spinMicroseconds: settings.ucxSpin,
                            detectFailure: !dsm.runtime.cluster.allOnOneHost,
                            meet: dsm.runtime.cluster.quietBarrier)
        let trap = ucx.trapAndMap()
        guard dsm.rank == 0 else { return }
        print(String(format: "ucx_get_4k_us %.2f us", gets[0]))
        print(String(format: "ucx_get_8b_us %.2f us", gets[1]))
        print(String(format: "ucx_am_roundtrip_8b_us %.2f us", gets[2]))
        print(String(format: "trap_map_us %.2f us", trap))
        if let fault = measured["fault_read_us"] {
            print(String(format: "ratio fault_read_us / UCX 4 KiB get + trap and map %.2f", fault / (gets[0] + trap)))
        }
        if let lock = measured["lock_remote_us"] {
            print(String(format: "ratio lock_remote_us / UCX 8 B active-message round trip %.2f", lock / gets[2]))
        }
    }

    /// The issue's yardsticks: a remote lock is a round trip, a fault a request plus a page.
    private func compareWithMPI(_ measured: [String: Double], rank: Int) {
        var mpi = Baseline(rank: rank, repetitions: repetitions)
        defer { mpi.free() }
        let small = mpi.pingPong(bytes: 8)
        let page = mpi.pingPong(bytes: 4096)
        let barrier = mpi.barrier()
        guard rank == 0 else { return }
        print(String(format: "mpi_oneway_8b_us %.2f us", small))
        print(String(format: "mpi_oneway_4k_us %.2f us", page))
        print(String(format: "mpi_barrier_us %.2f us", barrier))
        let ratios: [(String, String, Double)] = [
            ("lock_remote_us", "8 B round trip", 2 * small),
            ("barrier_us", "MPI_Barrier", barrier),
            ("fault_read_us", "8 B one way + 4 KiB one way", small + page),
        ]
        for (name, yardstick, value) in ratios {
            guard let ours = measured[name] else { continue }
            print(String(format: "ratio %@ / %@ %.2f", name, yardstick, ours / value))
        }
    }
}
