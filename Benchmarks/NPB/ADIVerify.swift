import Foundation
import Collectives

/// BT's and SP's verify: the RMS norms of the solution error (error_norm) and of the
/// residual (rhs_norm, after a final compute_rhs, divided by dt) against verify.f's
/// reference values, each within a relative 1e-8.
struct ADIVerification {
    let state: ADIState

    init(_ state: ADIState) { self.state = state }

    /// error_norm: the RMS of u - exact over every grid point (collective).
    func errorNorm() -> [Double] {
        let g = state.grid, f = state.kFields, n = g.n, d = state.constants.dnm1
        // This rank's planes, with the boundary plane next to them.
        let first = g.rank == 0 ? 0 : g.planes.lowerBound
        let last = g.rank == g.ranks - 1 ? n : g.planes.upperBound
        var sums = [Double](repeating: 0, count: 5)
        let exact = UnsafeMutablePointer<Double>.allocate(capacity: 5)
        defer { exact.deallocate() }
        for k in first..<last {
            for j in 0..<n {
                for i in 0..<n {
                    ADIConstants.exact(Double(i) * d, Double(j) * d, Double(k) * d, into: exact)
                    let p = f.u + 5 * f.box.at(i, j, k)
                    for m in 0..<5 {
                        let add = p[m] - exact[m]
                        sums[m] += add * add
                    }
                }
            }
        }
        return rms(sums)
    }

    /// rhs_norm: the RMS of rhs over the interior points (collective).
    func rhsNorm() -> [Double] {
        let g = state.grid, f = state.kFields, n = g.n
        var sums = [Double](repeating: 0, count: 5)
        for k in g.planes {
            for j in 1..<(n - 1) {
                for i in 1..<(n - 1) {
                    let p = f.rhs + 5 * f.box.at(i, j, k)
                    for m in 0..<5 { sums[m] += p[m] * p[m] }
                }
            }
        }
        return rms(sums)
    }

    /// The global sums divided by (n - 2) once per direction, as NPB does, then the root.
    private func rms(_ sums: [Double]) -> [Double] {
        let points = Double(state.grid.n - 2)
        return Collectives.allreduce(sums, .sum).map { (($0 / points / points / points)).squareRoot() }
    }

    /// Computes the norms (collective) and, on rank 0, prints the comparison; returns
    /// whether every norm is within epsilon.
    func verify() -> Bool {
        let xce = errorNorm()
        state.computeRHS()
        let dt = state.parameters.dt
        let xcr = rhsNorm().map { $0 / dt }
        guard state.context.isRoot else { return false }
        let p = state.parameters, epsilon = 1.0e-08
        var verified = verificationPreamble(state.context.problemClass, epsilon: epsilon, dt: dt, reference: p.dt,
                                            accuracy: "accuracy")
        verified = compareNorms(" Comparison of RMS-norms of residual", xcr, p.xcr, epsilon: epsilon, gap: "")
            && verified
        verified = compareNorms(" Comparison of RMS-norms of solution error", xce, p.xce, epsilon: epsilon, gap: "")
            && verified
        out(verified ? " Verification Successful" : " Verification failed")
        return verified
    }
}
