/// SP's step (NPB's adi for SP): the residual; txinvr (to the characteristic variables);
/// the x sweep and ninvr; the y sweep and pinvr; the z sweep and tzetar (back to the
/// conserved variables); the update. Each sweep solves, along every grid line, three
/// pentadiagonal systems with one matrix (rhs components 1-3) and one each for
/// components 4 and 5 (the matrix shifted by plus and minus the speed of sound). The
/// three directions are one routine with the line's stride; x and y run in the k box,
/// z in the z box.
///
/// The boundary rows of a line are the identity with a zero rhs, so their elimination
/// steps change nothing; they are skipped, which leaves every interior value as NPB
/// computes it.
final class SPSolver: ADIStep {
    let state: ADIState
    let n: Int
    /// The five diagonals of lhs, lhsp (component 4) and lhsm (component 5) at each point
    /// of the lines solved together (`solveLines`).
    let lhs: UnsafeMutablePointer<Double>
    /// NPB's cv (the velocity along the line) and rhon (the largest eigenvalue bound), at
    /// each point of those lines.
    let cv: UnsafeMutablePointer<Double>
    let rhon: UnsafeMutablePointer<Double>
    /// sqrt(0.5), NPB's bt.
    let bt = 0.5.squareRoot()

    init(_ state: ADIState) {
        self.state = state
        n = state.grid.n
        lhs = zeroedDoubles(15 * n * n)
        cv = zeroedDoubles(n * n)
        rhon = zeroedDoubles(n * n)
    }

    func step() {
        state.computeRHS()
        let k = state.kFields, z = state.zFields, g = state.grid
        let interior = 1..<(n - 1)
        forEachPoint(k, planes: g.planes, rows: interior) { f, p in txinvr(f, p) }
        for kk in g.planes {
            solveLines(k, first: k.box.at(0, 1, kk), along: 1, across: k.box.strideJ, lines: n - 2, direction: 1)
        }
        forEachPoint(k, planes: g.planes, rows: interior) { f, p in ninvr(f, p) }
        for kk in g.planes {
            solveLines(k, first: k.box.at(1, 0, kk), along: k.box.strideJ, across: 1, lines: n - 2, direction: 2)
        }
        forEachPoint(k, planes: g.planes, rows: interior) { f, p in pinvr(f, p) }
        state.enterZ()
        for j in g.rows {
            solveLines(z, first: z.box.at(1, j, 0), along: z.box.strideK, across: 1, lines: n - 2, direction: 3)
        }
        forEachPoint(z, planes: interior, rows: g.rows) { f, p in tzetar(f, p) }
        state.addAndLeaveZ()
    }

    /// Runs `body` at every point with interior i of the given planes and rows.
    @inline(__always)
    private func forEachPoint(_ fields: ADIFields, planes: Range<Int>, rows: Range<Int>,
                              _ body: (ADIFields, Int) -> Void) {
        for k in planes {
            for j in rows {
                let first = fields.box.at(1, j, k)
                for p in first..<(first + n - 2) { body(fields, p) }
            }
        }
    }

    /// txinvr: rhs to the characteristic variables.
    @inline(__always)
    private func txinvr(_ f: ADIFields, _ p: Int) {
        let c2 = ADIConstants.c2
        let r = f.rhs + 5 * p
        let ru1 = f.rhoI[p], uu = f.us[p], vv = f.vs[p], ww = f.ws[p], ac = f.speed![p]
        let ac2inv = ac * ac
        let r1 = r[0], r2 = r[1], r3 = r[2], r4 = r[3], r5 = r[4]
        let t1 = c2 / ac2inv * (f.qs[p] * r1 - uu * r2 - vv * r3 - ww * r4 + r5)
        let t2 = bt * ru1 * (uu * r1 - r2)
        let t3 = (bt * ru1 * ac) * t1
        r[0] = r1 - t1
        r[1] = -ru1 * (ww * r1 - r4)
        r[2] = ru1 * (vv * r1 - r3)
        r[3] = -t2 + t3
        r[4] = t2 + t3
    }

    /// ninvr: after the x sweep.
    @inline(__always)
    private func ninvr(_ f: ADIFields, _ p: Int) {
        let r = f.rhs + 5 * p
        let r1 = r[0], r2 = r[1], r3 = r[2], r4 = r[3], r5 = r[4]
        let t1 = bt * r3, t2 = 0.5 * (r4 + r5)
        r[0] = -r2
        r[1] = r1
        r[2] = bt * (r4 - r5)
        r[3] = -t1 + t2
        r[4] = t1 + t2
    }

    /// pinvr: after the y sweep.
    @inline(__always)
    private func pinvr(_ f: ADIFields, _ p: Int) {
        let r = f.rhs + 5 * p
        let r1 = r[0], r2 = r[1], r3 = r[2], r4 = r[3], r5 = r[4]
        let t1 = bt * r1, t2 = 0.5 * (r4 + r5)
        r[0] = bt * (r4 - r5)
        r[1] = -r3
        r[2] = r2
        r[3] = -t1 + t2
        r[4] = t1 + t2
    }

    /// tzetar: after the z sweep, back to the conserved variables.
    @inline(__always)
    private func tzetar(_ f: ADIFields, _ p: Int) {
        let r = f.rhs + 5 * p
        let xvel = f.us[p], yvel = f.vs[p], zvel = f.ws[p], ac = f.speed![p]
        let ac2u = ac * ac
        let r1 = r[0], r2 = r[1], r3 = r[2], r4 = r[3], r5 = r[4]
        let uzik1 = f.u[5 * p], btuz = bt * uzik1
        let t1 = btuz / ac * (r4 + r5)
        let t2 = r3 + t1
        let t3 = btuz * (r4 - r5)
        r[0] = t2
        r[1] = -uzik1 * r2 + xvel * t2
        r[2] = uzik1 * r1 + yvel * t2
        r[3] = zvel * t2 + t3
        r[4] = uzik1 * (-xvel * r2 + yvel * r1) + f.qs[p] * t2 + 2.5 * ac2u * t1 + zvel * t3
    }

    /// Builds and solves the three pentadiagonal systems of `lines` lines of n points:
    /// line l's point q is `first + q * along + l * across`, along direction a (1: x,
    /// 2: y, 3: z). The lines advance together, the inner loops running across them, as
    /// NPB's do: for the y and z sweeps they then read consecutive points of a plane
    /// instead of one point every row or plane.
    private func solveLines(_ fields: ADIFields, first: Int, along: Int, across: Int, lines: Int,
                            direction a: Int) {
        let c = state.constants, dt = c.dt
        let dtt1 = dt * c.t1, dtt2 = dt * c.t2, c2dtt1 = 2.0 * dtt1
        let comz1 = dt * ADIConstants.dssp, comz4 = 4.0 * comz1, comz5 = 5.0 * comz1, comz6 = 6.0 * comz1
        let d = ADIConstants.dissipation(a - 1)
        let c3c4 = ADIConstants.c3c4, con43 = ADIConstants.con43, c1c5 = ADIConstants.c1c5
        let velocity = fields.velocity(a), speed = fields.speed!, rhoI = fields.rhoI
        let cv = self.cv, rhon = self.rhon, lhs = self.lhs
        for q in 0..<n {
            for l in 0..<lines {
                let p = first + q * along + l * across, w = q * lines + l
                let ru1 = c3c4 * rhoI[p]
                cv[w] = velocity[p]
                rhon[w] = max(d + con43 * ru1, d + c1c5 * ru1, d + ru1, d)
            }
        }
        // Diagonal e of matrix k (0: lhs, 1: lhsp, 2: lhsm) at point q of line l is at
        // lhs[((5 k + e) n + q) lines + l].
        let diagonal = n * lines
        for q in 1...(n - 2) {
            // The fourth-difference dissipation, one-sided next to the boundaries: what each
            // diagonal gains (adding or subtracting zero changes nothing).
            let add0 = q >= 3 ? comz1 : 0.0
            let sub1 = q >= 2 ? comz4 : 0.0
            let add2 = q == 1 || q == n - 2 ? comz5 : comz6
            let sub3 = q <= n - 3 ? comz4 : 0.0
            let add4 = q <= n - 4 ? comz1 : 0.0
            for l in 0..<lines {
                let w = q * lines + l
                let l0 = 0.0 + add0
                let l1 = -dtt2 * cv[w - lines] - dtt1 * rhon[w - lines] - sub1
                let l2 = 1.0 + c2dtt1 * rhon[w] + add2
                let l3 = dtt2 * cv[w + lines] - dtt1 * rhon[w + lines] - sub3
                let l4 = 0.0 + add4
                let p = first + q * along + l * across
                let before = dtt2 * speed[p - along], after = dtt2 * speed[p + along]
                let e = lhs + w
                e[0] = l0; e[diagonal] = l1; e[2 * diagonal] = l2; e[3 * diagonal] = l3; e[4 * diagonal] = l4
                e[5 * diagonal] = l0; e[6 * diagonal] = l1 - before; e[7 * diagonal] = l2
                e[8 * diagonal] = l3 + after; e[9 * diagonal] = l4
                e[10 * diagonal] = l0; e[11 * diagonal] = l1 + before; e[12 * diagonal] = l2
                e[13 * diagonal] = l3 - after; e[14 * diagonal] = l4
            }
        }
        let r = fields.rhs + 5 * first
        eliminate(lhs, r, 0..<3, along: 5 * along, across: 5 * across, lines: lines)
        eliminate(lhs + 5 * diagonal, r, 3..<4, along: 5 * along, across: 5 * across, lines: lines)
        eliminate(lhs + 10 * diagonal, r, 4..<5, along: 5 * along, across: 5 * across, lines: lines)
    }

    /// Forward elimination and back substitution of one pentadiagonal matrix per line
    /// (diagonal e at point q of line l at m[(e n + q) lines + l]) on the rhs components
    /// `components`; the rhs of point q of line l at r[q along + l across].
    @inline(__always)
    private func eliminate(_ m: UnsafeMutablePointer<Double>, _ r: UnsafeMutablePointer<Double>,
                           _ components: Range<Int>, along: Int, across: Int, lines: Int) {
        let last = n - 2, diagonal = n * lines
        let m0 = m, m1 = m + diagonal, m2 = m + 2 * diagonal, m3 = m + 3 * diagonal, m4 = m + 4 * diagonal
        for q in 1...last {
            let w = q * lines
            for l in 0..<lines {
                let x = w + l, rq = r + q * along + l * across
                let fac1 = 1.0 / m2[x]
                m3[x] = fac1 * m3[x]
                m4[x] = fac1 * m4[x]
                for k in components { rq[k] = fac1 * rq[k] }
                if q + 1 <= last {
                    let y = x + lines, r1 = rq + along
                    m2[y] = m2[y] - m1[y] * m3[x]
                    m3[y] = m3[y] - m1[y] * m4[x]
                    for k in components { r1[k] = r1[k] - m1[y] * rq[k] }
                }
                if q + 2 <= last {
                    let z = x + 2 * lines, r2 = rq + 2 * along
                    m1[z] = m1[z] - m0[z] * m3[x]
                    m2[z] = m2[z] - m0[z] * m4[x]
                    for k in components { r2[k] = r2[k] - m0[z] * rq[k] }
                }
            }
        }
        // The boundary value at q = n - 1 is zero.
        for q in Swift.stride(from: last - 1, through: 1, by: -1) {
            let w = q * lines
            for l in 0..<lines {
                let x = w + l, rq = r + q * along + l * across
                for k in components { rq[k] = rq[k] - m3[x] * rq[k + along] - m4[x] * rq[k + 2 * along] }
            }
        }
    }
}
