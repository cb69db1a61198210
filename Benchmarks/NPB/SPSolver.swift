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
    /// The five diagonals of each point of the line: lhs, lhsp (component 4) and lhsm
    /// (component 5), 15 values per point.
    let lhs: UnsafeMutablePointer<Double>
    /// NPB's cv (the velocity along the line) and rhon (the largest eigenvalue bound).
    let cv: UnsafeMutablePointer<Double>
    let rhon: UnsafeMutablePointer<Double>
    /// sqrt(0.5), NPB's bt.
    let bt = 0.5.squareRoot()

    init(_ state: ADIState) {
        self.state = state
        n = state.grid.n
        lhs = zeroedDoubles(15 * n)
        cv = zeroedDoubles(n)
        rhon = zeroedDoubles(n)
    }

    func step() {
        state.computeRHS()
        let k = state.kFields, z = state.zFields, g = state.grid
        let interior = 1..<(n - 1)
        forEachPoint(k, planes: g.planes, rows: interior) { f, p in txinvr(f, p) }
        for kk in g.planes {
            for j in interior { solveLine(k, first: k.box.at(0, j, kk), stride: 1, direction: 1) }
        }
        forEachPoint(k, planes: g.planes, rows: interior) { f, p in ninvr(f, p) }
        for kk in g.planes {
            for i in interior { solveLine(k, first: k.box.at(i, 0, kk), stride: k.box.strideJ, direction: 2) }
        }
        forEachPoint(k, planes: g.planes, rows: interior) { f, p in pinvr(f, p) }
        state.enterZ()
        for j in g.rows {
            for i in interior { solveLine(z, first: z.box.at(i, j, 0), stride: z.box.strideK, direction: 3) }
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

    /// Builds and solves the three pentadiagonal systems of the line of n points from
    /// point `first`, `stride` points apart, along direction a (1: x, 2: y, 3: z).
    private func solveLine(_ fields: ADIFields, first: Int, stride: Int, direction a: Int) {
        let c = state.constants, dt = c.dt
        let dtt1 = dt * c.t1, dtt2 = dt * c.t2, c2dtt1 = 2.0 * dtt1
        let comz1 = dt * ADIConstants.dssp, comz4 = 4.0 * comz1, comz5 = 5.0 * comz1, comz6 = 6.0 * comz1
        let d = ADIConstants.dissipation(a - 1)
        let c3c4 = ADIConstants.c3c4, con43 = ADIConstants.con43, c1c5 = ADIConstants.c1c5
        let velocity = fields.velocity(a), speed = fields.speed!
        for q in 0..<n {
            let p = first + q * stride
            let ru1 = c3c4 * fields.rhoI[p]
            cv[q] = velocity[p]
            rhon[q] = max(d + con43 * ru1, d + c1c5 * ru1, d + ru1, d)
        }
        for q in 1...(n - 2) {
            let l = lhs + 15 * q
            l[0] = 0.0
            l[1] = -dtt2 * cv[q - 1] - dtt1 * rhon[q - 1]
            l[2] = 1.0 + c2dtt1 * rhon[q]
            l[3] = dtt2 * cv[q + 1] - dtt1 * rhon[q + 1]
            l[4] = 0.0
            // The fourth-difference dissipation, one-sided next to the boundaries.
            if q == 1 {
                l[2] = l[2] + comz5; l[3] = l[3] - comz4; l[4] = l[4] + comz1
            } else if q == 2 {
                l[1] = l[1] - comz4; l[2] = l[2] + comz6; l[3] = l[3] - comz4; l[4] = l[4] + comz1
            } else if q == n - 3 {
                l[0] = l[0] + comz1; l[1] = l[1] - comz4; l[2] = l[2] + comz6; l[3] = l[3] - comz4
            } else if q == n - 2 {
                l[0] = l[0] + comz1; l[1] = l[1] - comz4; l[2] = l[2] + comz5
            } else {
                l[0] = l[0] + comz1; l[1] = l[1] - comz4; l[2] = l[2] + comz6; l[3] = l[3] - comz4
                l[4] = l[4] + comz1
            }
            let before = dtt2 * speed[first + (q - 1) * stride], after = dtt2 * speed[first + (q + 1) * stride]
            for e in 0..<5 {
                l[5 + e] = l[e]
                l[10 + e] = l[e]
            }
            l[6] = l[1] - before
            l[8] = l[3] + after
            l[11] = l[1] + before
            l[13] = l[3] - after
        }
        let r = fields.rhs + 5 * first, s = 5 * stride
        eliminate(lhs, r, components: 0..<3, s)
        eliminate(lhs + 5, r, components: 3..<4, s)
        eliminate(lhs + 10, r, components: 4..<5, s)
    }

    /// Forward elimination and back substitution of one pentadiagonal matrix (diagonals
    /// l[15 q + 0...4] at point q) on the rhs components `components`; rhs of point q at
    /// r[s q].
    @inline(__always)
    private func eliminate(_ l: UnsafeMutablePointer<Double>, _ r: UnsafeMutablePointer<Double>,
                           components: Range<Int>, _ s: Int) {
        let last = n - 2
        for q in 1...last {
            let row = l + 15 * q, rq = r + s * q
            let fac1 = 1.0 / row[2]
            row[3] = fac1 * row[3]
            row[4] = fac1 * row[4]
            for m in components { rq[m] = fac1 * rq[m] }
            if q + 1 <= last {
                let next = row + 15, r1 = rq + s
                next[2] = next[2] - next[1] * row[3]
                next[3] = next[3] - next[1] * row[4]
                for m in components { r1[m] = r1[m] - next[1] * rq[m] }
            }
            if q + 2 <= last {
                let next = row + 30, r2 = rq + 2 * s
                next[1] = next[1] - next[0] * row[3]
                next[2] = next[2] - next[0] * row[4]
                for m in components { r2[m] = r2[m] - next[0] * rq[m] }
            }
        }
        // The boundary value r[s (n - 1)] is zero.
        for q in stride(from: last - 1, through: 1, by: -1) {
            let row = l + 15 * q, rq = r + s * q
            for m in components { rq[m] = rq[m] - row[3] * rq[m + s] - row[4] * rq[m + 2 * s] }
        }
    }
}
