import Foundation
import SwiftDSM
import Collectives

/// A class of BT or SP: grid size, steps, time step and verify.f's reference norms.
struct ADIParameters {
    let name: String
    let n: Int
    let niter: Int
    let dt: Double
    /// Reference RMS norms of the residual and of the solution error.
    let xcr: [Double]
    let xce: [Double]
    /// NPB's floating-point operations of one step, from n (for Mop/s).
    let operations: (Int) -> Double
}

/// One step of BT's or SP's ADI iteration (NPB's adi).
protocol ADIStep: AnyObject {
    func step()
}

/// What BT and SP share: the grid split (`ADIGrid`), the fields of the two boxes, the
/// transposes between them, and the update u += rhs.
final class ADIState {
    let context: RunContext
    let parameters: ADIParameters
    let constants: ADIConstants
    let grid: ADIGrid
    /// The residual and the x and y sweeps work in `kFields`, the z sweep in `zFields`
    /// (the same object on one rank).
    let kFields: ADIFields
    let zFields: ADIFields
    let exchange: ADIExchange

    /// Collective (the exchange allocates shared memory).
    init(_ context: RunContext, _ parameters: ADIParameters, speed: Bool) {
        self.context = context
        self.parameters = parameters
        constants = ADIConstants(n: parameters.n, dt: parameters.dt)
        grid = ADIGrid(n: parameters.n, ranks: context.ranks, rank: context.rank)
        kFields = ADIFields(grid.kBox, forcing: true, speed: speed)
        zFields = context.ranks == 1 ? kFields : ADIFields(grid.zBox, forcing: false, speed: speed)
        exchange = ADIExchange(context.dsm, grid)
    }

    /// initialize, in both boxes.
    func initialize() {
        kFields.initialize(constants)
        if zFields !== kFields { zFields.initialize(constants) }
    }

    /// compute_rhs on this rank's planes.
    func computeRHS() { kFields.computeRHS(constants, planes: grid.planes) }

    /// Moves rhs to the z box and derives the z sweep's quantities there.
    func enterZ() {
        guard zFields !== kFields else { return }
        exchange.toZ(kFields, zFields)
        zFields.derive()
    }

    /// add (u += rhs at the interior points of the z box), then u back to the k box.
    func addAndLeaveZ() {
        let z = zFields, n = grid.n
        for k in 1..<(n - 1) {
            for j in grid.rows {
                let at = 5 * z.box.at(1, j, k)
                let u = z.u + at, r = z.rhs + at
                for v in 0..<(5 * (n - 2)) { u[v] = u[v] + r[v] }
            }
        }
        exchange.fromZ(zFields, kFields)
    }
}

/// Runs BT or SP: the NPB header, one untimed step, the timed steps from a fresh start,
/// verification and the report.
func runADI(_ context: RunContext, _ parameters: ADIParameters, speed: Bool,
            solver: (ADIState) -> ADIStep) {
    let n = parameters.n
    context.say("")
    context.say("")
    context.say(" NAS Parallel Benchmarks 3.4 -- \(parameters.name) Benchmark")
    context.say("")
    context.say(" No input file input\(parameters.name.lowercased()).data. Using compiled defaults")
    context.say(" Size: " + pad(String(n), 4) + "x" + pad(String(n), 4) + "x" + pad(String(n), 4)
        + "  (class \(context.problemClass.rawValue))")
    context.say(" Iterations: " + pad(String(parameters.niter), 4) + "    dt: " + pad(fmt("%.7f", parameters.dt), 11))
    context.say(" Total number of processes: " + pad(String(context.ranks), 5))
    context.say("")

    let state = ADIState(context, parameters, speed: speed)
    let method = solver(state)
    state.initialize()
    state.kFields.computeForcing(state.constants, planes: state.grid.planes)
    // One untimed step touches every page and code path, then the start is restored.
    method.step()
    state.initialize()
    context.dsm.barrier()
    let start = wallSeconds()
    for step in 1...parameters.niter {
        if step % 20 == 0 || step == 1 { context.say(" Time step " + pad(String(step), 4)) }
        method.step()
    }
    let elapsed = wallSeconds() - start
    let seconds = Collectives.allreduce([elapsed], .max)[0]
    if context.progress {
        err("[npb] \(parameters.name) rank \(context.rank): " + fmt("%.3f s of %.3f s in the transposes, %.3f s of them at barriers",
            state.exchange.seconds, elapsed, state.exchange.barrierSeconds) + " (warm-up step included)")
    }
    let verified = ADIVerification(state).verify()
    guard context.isRoot else { return }
    let mops = 1.0e-6 * Double(parameters.niter) * parameters.operations(n) / seconds
    Report(name: parameters.name, problemClass: context.problemClass, size: .grid(n, n, n),
           iterations: parameters.niter, seconds: seconds, processes: context.ranks, mops: mops,
           operation: "floating point", verified: verified).print()
}
