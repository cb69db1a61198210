/// NPB's exact_rhs: the forcing term that makes the exact solution a steady state, the
/// residual of the exact solution taken line by line in x, y and z, negated. Only the
/// interior points of this rank's planes are written; every value it needs is the exact
/// solution, so no rank needs another's data.
extension ADIFields {
    func computeForcing(_ constants: ADIConstants, planes: Range<Int>) {
        guard let forcing else { return }
        let n = box.n
        forcing.update(repeating: 0, count: 5 * box.points)
        let line = ExactLine(n)
        defer { line.deallocate() }
        let d = constants.dnm1
        let interior = 1..<(n - 1)
        // x: lines along i at each (j, k).
        for k in planes {
            for j in interior {
                line.fill(direction: 1) { Double($0) * d } eta: { _ in Double(j) * d } zeta: { _ in Double(k) * d }
                for i in interior { line.apply(to: forcing + 5 * box.at(i, j, k), at: i, constants, direction: 0) }
            }
        }
        // y: lines along j at each (i, k).
        for k in planes {
            for i in interior {
                line.fill(direction: 2) { _ in Double(i) * d } eta: { Double($0) * d } zeta: { _ in Double(k) * d }
                for j in interior { line.apply(to: forcing + 5 * box.at(i, j, k), at: j, constants, direction: 1) }
            }
        }
        // z: lines along k at each (i, j), whole lines but written only on this rank's planes.
        for j in interior {
            for i in interior {
                line.fill(direction: 3) { _ in Double(i) * d } eta: { _ in Double(j) * d } zeta: { Double($0) * d }
                for k in planes { line.apply(to: forcing + 5 * box.at(i, j, k), at: k, constants, direction: 2) }
            }
        }
        for k in planes {
            for j in interior {
                for i in interior {
                    let f = forcing + 5 * box.at(i, j, k)
                    for m in 0..<5 { f[m] = -1.0 * f[m] }
                }
            }
        }
    }
}

/// exact_rhs's work arrays along one line: ue (the exact solution), buf (its velocities,
/// and in buf(., 1) the squared speed), cuf (the squared velocity along the line) and q.
private struct ExactLine {
    let n: Int
    let ue: UnsafeMutablePointer<Double>
    let buf: UnsafeMutablePointer<Double>
    let cuf: UnsafeMutablePointer<Double>
    let q: UnsafeMutablePointer<Double>

    init(_ n: Int) {
        self.n = n
        ue = .allocate(capacity: 5 * n)
        buf = .allocate(capacity: 5 * n)
        cuf = .allocate(capacity: n)
        q = .allocate(capacity: n)
    }

    func deallocate() {
        ue.deallocate(); buf.deallocate(); cuf.deallocate(); q.deallocate()
    }

    /// ue, buf, cuf and q at every point of a line along `direction` (1, 2, 3), with the
    /// coordinates of its point p given by the three closures.
    func fill(direction a: Int, xi: (Int) -> Double, eta: (Int) -> Double, zeta: (Int) -> Double) {
        for p in 0..<n {
            let e = ue + 5 * p, b = buf + 5 * p
            ADIConstants.exact(xi(p), eta(p), zeta(p), into: e)
            let dtpp = 1.0 / e[0]
            for m in 1..<5 { b[m] = dtpp * e[m] }
            cuf[p] = b[a] * b[a]
            // The squared speed: the velocity along the line first, then the others in order.
            let (s, t) = a == 1 ? (2, 3) : (a == 2 ? (1, 3) : (1, 2))
            b[0] = cuf[p] + b[s] * b[s] + b[t] * b[t]
            q[p] = 0.5 * (b[1] * e[1] + b[2] * e[2] + b[3] * e[3])
        }
    }

    /// Adds the flux differences and the dissipation at point p of the line into f.
    func apply(to f: UnsafeMutablePointer<Double>, at p: Int, _ c: ADIConstants, direction: Int) {
        let a = direction + 1
        let t2 = c.t2, dt1 = c.dTimesT1[direction], c1 = ADIConstants.c1, c2 = ADIConstants.c2
        let e = ue + 5 * p, ep = e + 5, em = e - 5
        let b = buf + 5 * p, bp = b + 5, bm = b - 5
        f[0] = f[0] - t2 * (ep[a] - em[a]) + dt1 * (ep[0] - 2.0 * e[0] + em[0])
        for m in 1..<4 {
            if m == a {
                f[m] = f[m] - t2 * ((ep[m] * bp[a] + c2 * (ep[4] - q[p + 1])) - (em[m] * bm[a] + c2 * (em[4] - q[p - 1])))
                    + c.con1 * (bp[m] - 2.0 * b[m] + bm[m]) + dt1 * (ep[m] - 2.0 * e[m] + em[m])
            } else {
                f[m] = f[m] - t2 * (ep[m] * bp[a] - em[m] * bm[a])
                    + c.con2 * (bp[m] - 2.0 * b[m] + bm[m]) + dt1 * (ep[m] - 2.0 * e[m] + em[m])
            }
        }
        f[4] = f[4] - t2 * (bp[a] * (c1 * ep[4] - c2 * q[p + 1]) - bm[a] * (c1 * em[4] - c2 * q[p - 1]))
            + 0.5 * c.con3 * (bp[0] - 2.0 * b[0] + bm[0]) + c.con4 * (cuf[p + 1] - 2.0 * cuf[p] + cuf[p - 1])
            + c.con5 * (bp[4] - 2.0 * b[4] + bm[4]) + dt1 * (ep[4] - 2.0 * e[4] + em[4])
        let dssp = ADIConstants.dssp
        for m in 0..<5 {
            f[m] = f[m] - dssp * fourthDifference(e + m, stride: 5, at: p, n: n)
        }
    }
}

/// NPB's fourth-difference dissipation stencil at point p of a line of n points, with the
/// one-sided forms next to the boundaries, of the values v[0], v[±stride], v[±2 stride]
/// (v points at point p). Each form keeps NPB's order of operations.
@inline(__always)
func fourthDifference(_ v: UnsafePointer<Double>, stride s: Int, at p: Int, n: Int) -> Double {
    if p == 1 { return 5.0 * v[0] - 4.0 * v[s] + v[2 * s] }
    if p == 2 { return -4.0 * v[-s] + 6.0 * v[0] - 4.0 * v[s] + v[2 * s] }
    if p == n - 3 { return v[-2 * s] - 4.0 * v[-s] + 6.0 * v[0] - 4.0 * v[s] }
    if p == n - 2 { return v[-2 * s] - 4.0 * v[-s] + 5.0 * v[0] }
    return v[-2 * s] - 4.0 * v[-s] + 6.0 * v[0] - 4.0 * v[s] + v[2 * s]
}
