import Foundation
import Collectives

/// The SSOR iteration (NPB's ssor, blts, buts): each step scales the residual by dt, solves
/// the lower block-triangular system in a sweep from the (1,1,1) corner and the upper one
/// back from the other corner, updates u and recomputes the residual.
///
/// A point depends on the points before it in i, j and k, so the sweeps are wavefronts
/// over the processor grid. The planes of a sweep are cut into blocks of `exchange.depth`
/// planes; the rank at row r, column c solves block b in step b + r + c of the lower
/// sweep, after its north and west neighbours solved that block one step earlier
/// (mirrored for the upper sweep). Every step ends at a barrier, which publishes the
/// lines it wrote (`LUExchange`).
extension LUBenchmark {
    /// The lower triangular solve (jacld, blts), from k = 2 up.
    func lowerSweep() {
        let start = wallSeconds()
        defer { sweepSeconds += wallSeconds() - start }
        let g = grid, depth = exchange.depth
        let lag = g.row + g.col
        let blocks = (g.nz - 2 + depth - 1) / depth
        for step in 0..<(blocks + (g.xdim - 1) + (g.ydim - 1)) {
            let block = step - lag
            if block >= 0 && block < blocks {
                let first = 2 + block * depth
                for (slot, k) in (first...min(first + depth - 1, g.nz - 1)).enumerated() {
                    exchange.receiveLower(rsd, k, slot: slot)
                    for j in g.jst...g.jend {
                        jacld(j, k)
                        blts(j, k)
                    }
                    exchange.sendLower(rsd, k, slot: slot)
                }
            }
            exchange.finishStep()
        }
    }

    /// The upper triangular solve (jacu, buts), from k = nz - 1 down.
    func upperSweep() {
        let start = wallSeconds()
        defer { sweepSeconds += wallSeconds() - start }
        let g = grid, depth = exchange.depth
        let lag = (g.xdim - 1 - g.row) + (g.ydim - 1 - g.col)
        let blocks = (g.nz - 2 + depth - 1) / depth
        for step in 0..<(blocks + (g.xdim - 1) + (g.ydim - 1)) {
            let block = step - lag
            if block >= 0 && block < blocks {
                let first = g.nz - 1 - block * depth
                for (slot, k) in stride(from: first, through: max(first - depth + 1, 2), by: -1).enumerated() {
                    exchange.receiveUpper(rsd, k, slot: slot)
                    for j in stride(from: g.jend, through: g.jst, by: -1) {
                        jacu(j, k)
                        buts(j, k)
                    }
                    exchange.sendUpper(rsd, k, slot: slot)
                }
            }
            exchange.finishStep()
        }
    }

    /// The planes per step for the timed iterations (collective): `--planes`, or from the
    /// warm-up's sweeps (one plane a step): with t the time to solve a plane and c the cost
    /// of a step's barrier and line reads, a sweep of N planes over a grid whose last rank
    /// starts D steps after the first takes about (N / B + D) (B t + c), least at
    /// B = sqrt(N c / (D t)). c is a mean without the slowest tenth of the steps: those
    /// are the pipeline's fill, and the preemptions that cost the same at any B.
    func chooseDepth() {
        let g = grid, x = exchange
        x.sampling = false
        if let planes = context.planes {
            x.depth = planes
            return
        }
        guard x.distributed, !x.stepSamples.isEmpty else { return }
        let kept = x.stepSamples.sorted().prefix(max(1, x.stepSamples.count * 9 / 10))
        let step = kept.reduce(0, +) / Double(kept.count)
        let plane = (sweepSeconds - x.stepSeconds - x.lineSeconds) / Double(2 * (g.nz - 2))
        let measured = Collectives.allreduce([step, plane], .max)
        let planes = Double(g.nz - 2), lag = Double(g.xdim + g.ydim - 2)
        let best = (planes * measured[0] / (lag * measured[1])).squareRoot()
        x.depth = min(max(Int(best.rounded()), 1), LUExchange.maxDepth)
        context.note(String(format: "LU: %.1f us a step, %.1f us a plane: %d planes a step", measured[0] * 1e6,
                            measured[1] * 1e6, x.depth))
    }

    /// blts for line (j, k): a = ldz, b = ldy, c = ldx from jacld. NPB runs the k-term
    /// over the line first, then the i- and j-terms and the block solve; each point's
    /// operations come in that same order here in one pass. The five rows are computed
    /// before any is stored (a store to v could alias the blocks: LLVM would reload them).
    func blts(_ j: Int, _ k: Int) {
        let v = rsd, omega = self.omega
        let ldz = a, ldy = b, ldx = c
        for i in grid.ist...grid.iend {
            let p = v.at(i, j, k), below = v.at(i, j, k - 1), west = v.at(i, j - 1, k), north = v.at(i - 1, j, k)
            let z = ldz + 25 * i, y = ldy + 25 * i, x = ldx + 25 * i
            let b0 = below[0], b1 = below[1], b2 = below[2], b3 = below[3], b4 = below[4]
            let w0 = west[0], w1 = west[1], w2 = west[2], w3 = west[3], w4 = west[4]
            let n0 = north[0], n1 = north[1], n2 = north[2], n3 = north[3], n4 = north[4]
            @inline(__always) func row(_ m: Int) -> Double {
                let value = p[m] - omega * (z[m] * b0 + z[m + 5] * b1 + z[m + 10] * b2 + z[m + 15] * b3
                    + z[m + 20] * b4)
                return value - omega * (y[m] * w0 + x[m] * n0 + y[m + 5] * w1 + x[m + 5] * n1
                    + y[m + 10] * w2 + x[m + 10] * n2 + y[m + 15] * w3 + x[m + 15] * n3
                    + y[m + 20] * w4 + x[m + 20] * n4)
            }
            let r0 = row(0), r1 = row(1), r2 = row(2), r3 = row(3), r4 = row(4)
            p[0] = r0; p[1] = r1; p[2] = r2; p[3] = r3; p[4] = r4
            solveBlock(d + 25 * i, p)
        }
    }

    /// buts for line (j, k): a = udx, b = udy, c = udz from jacu, in one pass as blts.
    func buts(_ j: Int, _ k: Int) {
        let v = rsd, omega = self.omega, t = self.tv
        let udx = a, udy = b, udz = c
        for i in stride(from: grid.iend, through: grid.ist, by: -1) {
            let p = v.at(i, j, k), above = v.at(i, j, k + 1), east = v.at(i, j + 1, k), south = v.at(i + 1, j, k)
            let z = udz + 25 * i, y = udy + 25 * i, x = udx + 25 * i
            let a0 = above[0], a1 = above[1], a2 = above[2], a3 = above[3], a4 = above[4]
            let e0 = east[0], e1 = east[1], e2 = east[2], e3 = east[3], e4 = east[4]
            let s0 = south[0], s1 = south[1], s2 = south[2], s3 = south[3], s4 = south[4]
            @inline(__always) func row(_ m: Int) -> Double {
                let value = omega * (z[m] * a0 + z[m + 5] * a1 + z[m + 10] * a2 + z[m + 15] * a3 + z[m + 20] * a4)
                return value + omega * (y[m] * e0 + x[m] * s0 + y[m + 5] * e1 + x[m + 5] * s1
                    + y[m + 10] * e2 + x[m + 10] * s2 + y[m + 15] * e3 + x[m + 15] * s3
                    + y[m + 20] * e4 + x[m + 20] * s4)
            }
            let r0 = row(0), r1 = row(1), r2 = row(2), r3 = row(3), r4 = row(4)
            t[0] = r0; t[1] = r1; t[2] = r2; t[3] = r3; t[4] = r4
            solveBlock(d + 25 * i, t)
            p[0] = p[0] - t[0]; p[1] = p[1] - t[1]; p[2] = p[2] - t[2]; p[3] = p[3] - t[3]; p[4] = p[4] - t[4]
        }
    }

    /// Solves block * x = v in place in v: Gaussian elimination without pivoting and back
    /// substitution, in NPB's order of operations, on a copy of the block held in locals
    /// (registers: no store of the 25 entries can alias v).
    @inline(__always)
    func solveBlock(_ t: UnsafeMutablePointer<Double>, _ v: UnsafeMutablePointer<Double>) {
        // t[(row - 1) + 5 * (column - 1)]; tRC is row R, column C.
        let t11 = t[0], t21 = t[1], t31 = t[2], t41 = t[3], t51 = t[4]
        let t12 = t[5], t13 = t[10], t14 = t[15], t15 = t[20]
        var t22 = t[6], t32 = t[7], t42 = t[8], t52 = t[9]
        var t23 = t[11], t33 = t[12], t43 = t[13], t53 = t[14]
        var t24 = t[16], t34 = t[17], t44 = t[18], t54 = t[19]
        var t25 = t[21], t35 = t[22], t45 = t[23], t55 = t[24]
        let v1 = v[0]
        var v2 = v[1], v3 = v[2], v4 = v[3], v5 = v[4]

        var tmp1 = 1.0 / t11
        var tmp = tmp1 * t21
        t22 = t22 - tmp * t12; t23 = t23 - tmp * t13; t24 = t24 - tmp * t14; t25 = t25 - tmp * t15
        v2 = v2 - v1 * tmp
        tmp = tmp1 * t31
        t32 = t32 - tmp * t12; t33 = t33 - tmp * t13; t34 = t34 - tmp * t14; t35 = t35 - tmp * t15
        v3 = v3 - v1 * tmp
        tmp = tmp1 * t41
        t42 = t42 - tmp * t12; t43 = t43 - tmp * t13; t44 = t44 - tmp * t14; t45 = t45 - tmp * t15
        v4 = v4 - v1 * tmp
        tmp = tmp1 * t51
        t52 = t52 - tmp * t12; t53 = t53 - tmp * t13; t54 = t54 - tmp * t14; t55 = t55 - tmp * t15
        v5 = v5 - v1 * tmp

        tmp1 = 1.0 / t22
        tmp = tmp1 * t32
        t33 = t33 - tmp * t23; t34 = t34 - tmp * t24; t35 = t35 - tmp * t25
        v3 = v3 - v2 * tmp
        tmp = tmp1 * t42
        t43 = t43 - tmp * t23; t44 = t44 - tmp * t24; t45 = t45 - tmp * t25
        v4 = v4 - v2 * tmp
        tmp = tmp1 * t52
        t53 = t53 - tmp * t23; t54 = t54 - tmp * t24; t55 = t55 - tmp * t25
        v5 = v5 - v2 * tmp

        tmp1 = 1.0 / t33
        tmp = tmp1 * t43
        t44 = t44 - tmp * t34; t45 = t45 - tmp * t35
        v4 = v4 - v3 * tmp
        tmp = tmp1 * t53
        t54 = t54 - tmp * t34; t55 = t55 - tmp * t35
        v5 = v5 - v3 * tmp

        tmp1 = 1.0 / t44
        tmp = tmp1 * t54
        t55 = t55 - tmp * t45
        v5 = v5 - v4 * tmp

        v5 = v5 / t55
        v4 = (v4 - t45 * v5) / t44
        v3 = (v3 - t34 * v4 - t35 * v5) / t33
        v2 = (v2 - t23 * v3 - t24 * v4 - t25 * v5) / t22
        v[0] = (v1 - t12 * v2 - t13 * v3 - t14 * v4 - t15 * v5) / t11
        v[1] = v2; v[2] = v3; v[3] = v4; v[4] = v5
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
