import Foundation

/// The surface integral (NPB's pintgr) and the verification against verify.f's values.
extension LUBenchmark {
    /// pintgr: each rank writes the pressure-like quantity phi of its part of the six
    /// surfaces into its slab; rank 0 assembles them and sums in the serial code's order
    /// (collective; `frc` is set on rank 0).
    func pintgr() {
        let g = grid
        let (ii1, ii2, ji1, ji2, ki1, ki2) = (2, g.nx0 - 1, 2, g.ny0 - 2, 3, g.nz0 - 1)
        let c2 = LUBenchmark.c2
        func phi(_ i: Int, _ j: Int, _ k: Int) -> Double {
            let p = u.at(i, j, k)
            return c2 * (p[4] - 0.5 * (p[1] * p[1] + p[2] * p[2] + p[3] * p[3]) / p[0])
        }
        // This rank's values: k = ki1, ki2 over (i, j); j = ji1, ji2 over (i, k); i = ii1,
        // ii2 over (j, k), each where this rank holds that surface.
        let layout = SurfaceLayout(nx: g.nx, ny: g.ny, nz: g.nz)
        var values = [Double](repeating: 0, count: layout.count)
        for j in 1...g.ny {
            for i in 1...g.nx {
                values[layout.a(0, i, j)] = phi(i, j, ki1)
                values[layout.a(1, i, j)] = phi(i, j, ki2)
            }
        }
        for (side, jglob) in [ji1, ji2].enumerated() where jglob > g.jpt && jglob <= g.jpt + g.ny {
            for k in 1...g.nz {
                for i in 1...g.nx { values[layout.b(side, i, k)] = phi(i, jglob - g.jpt, k) }
            }
        }
        for (side, iglob) in [ii1, ii2].enumerated() where iglob > g.ipt && iglob <= g.ipt + g.nx {
            for k in 1...g.nz {
                for j in 1...g.ny { values[layout.c(side, j, k)] = phi(iglob - g.ipt, j, k) }
            }
        }
        let ranks = context.ranks, n = g.nx0
        let counts = { (rank: Int) -> Int in
            let theirs = LUGrid(n: n, ranks: ranks, rank: rank)
            return SurfaceLayout(nx: theirs.nx, ny: theirs.ny, nz: theirs.nz).count
        }
        guard let gathered = exchange.gatherOnRoot(values, count: counts) else { return }

        // Rank 0: the whole surfaces, indexed by global points.
        let sx = g.nx0 + 2, sy = g.ny0 + 2
        var a = [[Double]](repeating: [Double](repeating: 0, count: sx * sy), count: 2)
        var b = [[Double]](repeating: [Double](repeating: 0, count: sx * (g.nz0 + 2)), count: 2)
        var c = [[Double]](repeating: [Double](repeating: 0, count: sy * (g.nz0 + 2)), count: 2)
        for (source, theirs) in gathered.enumerated() {
            let sg = LUGrid(n: g.nx0, ranks: context.ranks, rank: source)
            let sl = SurfaceLayout(nx: sg.nx, ny: sg.ny, nz: sg.nz)
            for side in 0..<2 {
                for j in 1...sg.ny {
                    for i in 1...sg.nx { a[side][(sg.ipt + i) + sx * (sg.jpt + j)] = theirs[sl.a(side, i, j)] }
                }
                let jglob = [ji1, ji2][side], iglob = [ii1, ii2][side]
                for k in 1...sg.nz {
                    if jglob > sg.jpt && jglob <= sg.jpt + sg.ny {
                        for i in 1...sg.nx { b[side][(sg.ipt + i) + sx * k] = theirs[sl.b(side, i, k)] }
                    }
                    if iglob > sg.ipt && iglob <= sg.ipt + sg.nx {
                        for j in 1...sg.ny { c[side][(sg.jpt + j) + sy * k] = theirs[sl.c(side, j, k)] }
                    }
                }
            }
        }
        // The cell sums of pintgr.f: corners of each cell on both surfaces of a pair.
        func cells(_ s: [[Double]], _ stride: Int, _ first: ClosedRange<Int>, _ second: ClosedRange<Int>) -> Double {
            var sum = 0.0
            for q in second.lowerBound..<second.upperBound {
                for p in first.lowerBound..<first.upperBound {
                    let at = p + stride * q
                    sum = sum + (s[0][at] + s[0][at + 1] + s[0][at + stride] + s[0][at + stride + 1]
                        + s[1][at] + s[1][at + 1] + s[1][at + stride] + s[1][at + stride + 1])
                }
            }
            return sum
        }
        let frc1 = dxi * deta * cells(a, sx, ii1...ii2, ji1...ji2)
        let frc2 = dxi * dzeta * cells(b, sx, ii1...ii2, ki1...ki2)
        let frc3 = deta * dzeta * cells(c, sy, ji1...ji2, ki1...ki2)
        frc = 0.25 * (frc1 + frc2 + frc3)
    }

    /// verify.f: prints the comparison and returns whether every value is within 1e-8.
    func verify() -> Bool {
        let p = parameters
        let epsilon = 1.0e-08
        out("")
        var verified = verificationPreamble(context.problemClass, epsilon: epsilon, dt: dt, reference: p.dt,
                                            accuracy: "Accuracy")
        verified = compareNorms(" Comparison of RMS-norms of residual", rsdnm, p.xcr, epsilon: epsilon, gap: "  ")
            && verified
        verified = compareNorms(" Comparison of RMS-norms of solution error", errnm, p.xce, epsilon: epsilon, gap: "  ")
            && verified
        out(" Comparison of surface integral")
        let difference = abs((frc - p.xci) / p.xci)
        let ok = !difference.isNaN && difference <= epsilon
        if !ok { verified = false }
        out((ok ? "          " : " FAILURE: ") + "    " + fortranE(frc, 20, 13) + fortranE(p.xci, 20, 13)
            + fortranE(difference, 20, 13))
        out(verified ? " Verification Successful" : " Verification failed")
        return verified
    }
}

/// Where pintgr's surface values of one subdomain (nx x ny x nz) sit in its gathered block.
struct SurfaceLayout {
    let nx: Int, ny: Int, nz: Int

    var count: Int { 2 * nx * ny + 2 * nx * nz + 2 * ny * nz }
    /// k = ki1 (side 0) or ki2 (side 1), at (i, j).
    func a(_ side: Int, _ i: Int, _ j: Int) -> Int { side * nx * ny + (j - 1) * nx + (i - 1) }
    /// j = ji1 or ji2, at (i, k).
    func b(_ side: Int, _ i: Int, _ k: Int) -> Int { 2 * nx * ny + side * nx * nz + (k - 1) * nx + (i - 1) }
    /// i = ii1 or ii2, at (j, k).
    func c(_ side: Int, _ j: Int, _ k: Int) -> Int {
        2 * nx * ny + 2 * nx * nz + side * ny * nz + (k - 1) * ny + (j - 1)
    }
}
