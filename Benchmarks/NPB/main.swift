import ArgumentParser
import Foundation
import SwiftDSM
import Collectives

/// npb <ep|is|cg|mg|ft|lu|bt|sp> --class <S|W|A|B>: one NAS Parallel Benchmark over SwiftDSM.
struct NPBOptions: ParsableArguments {
    static let configuration = CommandConfiguration(
        commandName: "npb",
        abstract: "NAS Parallel Benchmarks 3.4 kernels (EP, IS, CG, MG, FT, LU, BT, SP) on the SwiftDSM page DSM.",
        discussion: "Run under mpirun. EP takes any number of ranks; IS, CG, MG, FT and LU need a power of two; "
            + "BT and SP a square (1, 4, 9, ...).")

    @Argument(help: "The kernel: ep, is, cg, mg, ft, lu, bt or sp.")
    var kernel: Kernel

    @Option(name: [.customLong("class"), .customShort("c")], help: "The problem class: S, W, A or B.")
    var problemClass: ProblemClass = .S

    @Flag(help: "Report progress (per iteration, with times) on stderr.")
    var progress = false

    @Flag(help: "Print the DSM statistics breakdown (counters, latency percentiles) at exit; same as --jia-statistics=on.")
    var statistics = false

    @Option(help: "Threads per rank (CG): each exchange's reads of shared memory and the sparse product are split among them.")
    var threads = 1

    @Option(help: "k-planes per wavefront step of the SSOR sweeps (LU, 1 to 8; default: chosen after the warm-up iteration).")
    var planes: Int?
}

func usageFailure(_ dsm: DSM, _ message: String, showUsage: Bool) -> Never {
    err("npb: error (rank \(dsm.rank) of \(dsm.rankCount)): \(message)")
    if showUsage && dsm.rank == 0 { err(NPBOptions.helpMessage(columns: 100)) }
    dsm.finish()
    exit(1)
}

func runMain() {
    // --statistics must reach the settings, which jia_init reads before the options are parsed.
    let remaining = jia_init(arguments: CommandLine.arguments.map { $0 == "--statistics" ? "--jia-statistics=on" : $0 })
    guard let dsm = DSM.current else { exit(1) }
    let options: NPBOptions
    do {
        options = try NPBOptions.parse(Array(remaining.dropFirst()))
    } catch {
        if NPBOptions.exitCode(for: error) == .success {
            if dsm.rank == 0 { out(NPBOptions.fullMessage(for: error)) }
            dsm.finish()
            exit(0)
        }
        usageFailure(dsm, NPBOptions.message(for: error), showUsage: true)
    }
    let ranks = dsm.rankCount
    if options.kernel.needsPowerOfTwo && ranks & (ranks - 1) != 0 {
        usageFailure(dsm, "\(options.kernel.name) needs a power-of-two number of processes (1, 2, 4, 8, ...); "
            + "got \(ranks). Only EP runs on any number.", showUsage: false)
    }
    if options.kernel.needsSquare && !ADIGrid.isSquare(ranks) {
        usageFailure(dsm, "\(options.kernel.rawValue) needs a square number of processes (1, 4, 9, ...); got \(ranks)",
                     showUsage: false)
    }
    if let problem = limitProblem(options.kernel, options.problemClass, ranks) {
        usageFailure(dsm, problem, showUsage: false)
    }
    guard (1...64).contains(options.threads) else {
        usageFailure(dsm, "--threads must be from 1 to 64, not \(options.threads)", showUsage: false)
    }
    if options.threads > 1 && options.kernel != .cg {
        usageFailure(dsm, "--threads applies to cg only; \(options.kernel.name) runs one thread per rank",
                     showUsage: false)
    }
    if let planes = options.planes {
        guard options.kernel == .lu else {
            usageFailure(dsm, "--planes applies to lu only", showUsage: false)
        }
        guard (1...LUExchange.maxDepth).contains(planes) else {
            usageFailure(dsm, "--planes must be from 1 to \(LUExchange.maxDepth), not \(planes)", showUsage: false)
        }
    }
    let context = RunContext(dsm: dsm, problemClass: options.problemClass, progress: options.progress,
                             threads: options.threads, planes: options.planes)
    switch options.kernel {
    case .ep: runEP(context)
    case .is: runIS(context)
    case .cg: runCG(context)
    case .mg: runMG(context)
    case .ft: runFT(context)
    case .lu: runLU(context)
    case .bt: runBT(context)
    case .sp: runSP(context)
    }
    fflush(nil)
    dsm.finish()
}

/// A rank count that the decomposition of a class cannot use, described; nil if fine.
func limitProblem(_ kernel: Kernel, _ problemClass: ProblemClass, _ ranks: Int) -> String? {
    switch kernel {
    case .ep:
        let batches = 1 << (EPParameters(problemClass).m - 16)
        if ranks > batches { return "EP class \(problemClass.rawValue) has \(batches) batches; at most that many processes" }
    case .is:
        if ranks > 512 { return "IS supports at most 512 processes" }
    case .cg:
        if ranks > CGParameters(problemClass).na / 2 { return "CG class \(problemClass.rawValue): too many processes" }
    case .mg:
        let n = MGParameters(problemClass).n
        if ranks > n / 2 { return "MG class \(problemClass.rawValue) (\(n)^3) supports at most \(n / 2) processes" }
    case .ft:
        let p = FTParameters(problemClass)
        let limit = min(p.ny, p.nz)
        if ranks > limit { return "FT class \(problemClass.rawValue) supports at most \(limit) processes" }
    case .lu:
        let n = LUParameters(problemClass).n
        if let problem = LUGrid.problem(n: n, ranks: ranks) {
            return "LU class \(problemClass.rawValue) (\(n)^3) cannot run on \(ranks) processes: \(problem)"
        }
    case .bt, .sp:
        let n = kernel == .bt ? ADIParameters.bt(problemClass).n : ADIParameters.sp(problemClass).n
        if let problem = ADIGrid.problem(n: n, ranks: ranks) {
            return "\(kernel.name) class \(problemClass.rawValue) (\(n)^3) cannot run on \(ranks) processes: \(problem)"
        }
    }
    return nil
}

runMain()
