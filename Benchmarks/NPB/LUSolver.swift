import Foundation
import Collectives

/// The SSOR iteration (NPB's ssor, blts, buts): each step scales the residual by dt, solves
/// the lower block-triangular system in a sweep from the (1,1,1) corner and the upper one
/// back from the other corner, updates u and recomputes the residual.
///
/// A point depends on the points before it in i, j and k, so the sweeps are wavefronts
/// over the processor grid: the rank at row r, column c solves plane k in step
/// k - 2 + r + c of the lower sweep, after its north and west neighbours solved that
/// plane one step earlier (mirrored for the upper sweep). Every step ends at a barrier,
/// which publishes the lines it wrote (`LUExchange`).
extension LUBenchmark {
    /// Lower sweep: rsd = (D + omega L)^-1 rsd, plane by plane from k = 2.
    func lowerSweep() {
        let g = grid
        let lag = g.row + g.col
        let steps = (g.nz - 2) + (g.xdim - 1) + (g.ydim - 1)
        for step in 0..<steps {
            let k = 2 + step - lag
            if k >= 2 && k <= g.nz - 1 {
                exchange.receiveLower(rsd, k)
                for j in g.jst...g.jend {
                    jacld(j, k)
                    blts(j, k)
                }
                exchange.sendLower(rsd, k)
            }
            exchange.finishStep()
        }
    }

    /// Upper sweep: rsd = (D + omega U)^-1 rsd, plane by plane from k = nz - 1 down.
    func upperSweep() {
        let g = grid
        let lag = (g.xdim - 1 - g.row) + (g.ydim - 1 - g.col)
        let steps = (g.nz - 2) + (g.xdim - 1) + (g.ydim - 1)
        for step in 0..<steps {
            let k = g.nz - 1 - (step - lag)
            if k >= 2 && k <= g.nz - 1 {
                exchange.receiveUpper(rsd, k)
                for j in stride(from: g.jend, through: g.jst, by: -1) {
                    jacu(j, k)
                    buts(j, k)
                }
                exchange.sendUpper(rsd, k)
            }
            exchange.finishStep()
        }
    }

    /// blts for line (j, k): a = ldz, b = ldy, c = ldx from jacld.
    func blts(_ j: Int, _ k: Int) {
        let v = rsd, omega = self.omega
        let ist = grid.ist, iend = grid.iend
        let ldz = a, ldy = b, ldx = c
        for i in ist...iend {
            let p = v.at(i, j, k), below = v.at(i, j, k - 1), z = ldz + 25 * i
            for m in 0..<5 {
                p[m] = p[m] - omega * (z[m] * below[0] + z[m + 5] * below[1] + z[m + 10] * below[2]
                    + z[m + 15] * below[3] + z[m + 20] * below[4])
            }
        }
        for i in ist...iend {
            let p = v.at(i, j, k), west = v.at(i, j - 1, k), north = v.at(i - 1, j, k)
            let y = ldy + 25 * i, x = ldx + 25 * i
            for m in 0..<5 {
                p[m] = p[m] - omega * (y[m] * west[0] + x[m] * north[0] + y[m + 5] * west[1] + x[m + 5] * north[1]
                    + y[m + 10] * west[2] + x[m + 10] * north[2] + y[m + 15] * west[3] + x[m + 15] * north[3]
                    + y[m + 20] * west[4] + x[m + 20] * north[4])
            }
            solveBlock(d + 25 * i, p)
        }
    }

    /// buts for line (j, k): a = udx, b = udy, c = udz from jacu.
    func buts(_ j: Int, _ k: Int) {
        let v = rsd, omega = self.omega, tv = self.tv
        let ist = grid.ist, iend = grid.iend
        let udx = a, udy = b, udz = c
        for i in stride(from: iend, through: ist, by: -1) {
            let above = v.at(i, j, k + 1), z = udz + 25 * i, t = tv + 5 * i
            for m in 0..<5 {
                t[m] = omega * (z[m] * above[0] + z[m + 5] * above[1] + z[m + 10] * above[2]
                    + z[m + 15] * above[3] + z[m + 20] * above[4])
            }
        }
        for i in stride(from: iend, through: ist, by: -1) {
            let p = v.at(i, j, k), east = v.at(i, j + 1, k), south = v.at(i + 1, j, k)
            let y = udy + 25 * i, x = udx + 25 * i, t = tv + 5 * i
            for m in 0..<5 {
                t[m] = t[m] + omega * (y[m] * east[0] + x[m] * south[0] + y[m + 5] * east[1] + x[m + 5] * south[1]
                    + y[m + 10] * east[2] + x[m + 10] * south[2] + y[m + 15] * east[3] + x[m + 15] * south[3]
                    + y[m + 20] * east[4] + x[m + 20] * south[4])
            }
            solveBlock(d + 25 * i, t)
            for m in 0..<5 { p[m] = p[m] - t[m] }
        }
    }

    /// Solves block * x = v in place in v: Gaussian elimination without pivoting and back
    /// substitution, in NPB's order of operations (the block is copied, not changed).
    @inline(__always)
    func solveBlock(_ block: UnsafeMutablePointer<Double>, _ v: UnsafeMutablePointer<Double>) {
        let t = tmat
        for n in 0..<25 { t[n] = block[n] }
        for p in 0..<4 {
            let tmp1 = 1.0 / t[p + 5 * p]
            for r in (p + 1)..<5 {
                let tmp = tmp1 * t[r + 5 * p]
                for col in (p + 1)..<5 { t[r + 5 * col] = t[r + 5 * col] - tmp * t[p + 5 * col] }
                v[r] = v[r] - v[p] * tmp
            }
        }
        for r in stride(from: 4, through: 0, by: -1) {
            var value = v[r]
            if r < 4 {
                for col in (r + 1)..<5 { value = value - t[r + 5 * col] * v[col] }
            }
            v[r] = value / t[r + 5 * r]
        }
    }

    /// NPB's ssor(niter): the iterations, timed from after the first residual. Returns the
    /// slowest rank's time.
    func ssor(_ niter: Int) -> Double {
        let g = grid
        let tmp = 1.0 / (omega * (2.0 - omega))
        rhs()
        rsdnm = l2norm(rsd)
        context.dsm.barrier()
        let start = wallSeconds()
        for istep in 1...niter {
            if niter > 1 && (istep % 20 == 0 || istep == itmax || istep == 1) {
                context.say(" Time step " + pad(String(istep), 4))
            }
            let t0 = wallSeconds()
            for k in 2..<g.nz {
                for j in g.jst...g.jend {
                    let p = rsd.at(g.ist, j, k)
                    for n in 0..<(5 * (g.iend - g.ist + 1)) { p[n] = dt * p[n] }
                }
            }
            lowerSweep()
            upperSweep()
            for k in 2..<g.nz {
                for j in g.jst...g.jend {
                    let q = u.at(g.ist, j, k), r = rsd.at(g.ist, j, k)
                    for n in 0..<(5 * (g.iend - g.ist + 1)) { q[n] = q[n] + tmp * r[n] }
                }
            }
            if istep % inorm == 0 { _ = l2norm(rsd) }
            rhs()
            if istep % inorm == 0 || istep == itmax { rsdnm = l2norm(rsd) }
            if niter > 1 { context.note("LU step \(istep): \(String(format: "%.4f", wallSeconds() - t0)) s") }
            if zip(rsdnm, LUBenchmark.tolerance).allSatisfy({ $0 < $1 }) {
                context.say("\n convergence was achieved after " + pad(String(istep), 4) + " pseudo-time steps")
                break
            }
        }
        return Collectives.allreduce(wallSeconds() - start, .max)
    }
}
