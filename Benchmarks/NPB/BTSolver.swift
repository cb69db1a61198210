/// BT's sweeps (NPB's x_solve, y_solve, z_solve and solve_subs): along each grid line the
/// flux Jacobian (fjac) and viscous Jacobian (njac) of every point give the 5 x 5 blocks
/// A, B, C of a block-tridiagonal system, solved by block Gaussian elimination (the
/// Gauss-Jordan inverse of B applied to C and rhs, binvcrhs) and back substitution. The
/// three directions are one routine with the line's stride; x and y run in the k box,
/// z in the z box.
///
/// The boundary points of a line have B = I and A = C = 0 and a zero rhs, so their
/// steps change nothing; they are skipped, which leaves every interior value as NPB
/// computes it.
final class BTSolver: ADIStep {
    let state: ADIState
    let n: Int
    /// fjac and njac of each point of the current line (25 values each, column-major).
    let fjac: UnsafeMutablePointer<Double>
    let njac: UnsafeMutablePointer<Double>
    /// The eliminated C block of each point, for the back substitution.
    let cLine: UnsafeMutablePointer<Double>
    /// The A and B blocks of the current point.
    let a: UnsafeMutablePointer<Double>
    let b: UnsafeMutablePointer<Double>

    init(_ state: ADIState) {
        self.state = state
        n = state.grid.n
        fjac = zeroedDoubles(25 * n)
        njac = zeroedDoubles(25 * n)
        cLine = zeroedDoubles(25 * n)
        a = zeroedDoubles(25)
        b = zeroedDoubles(25)
    }

    func step() {
        state.computeRHS()
        let k = state.kFields, z = state.zFields, g = state.grid
        prepare(direction: 1)
        for kk in g.planes {
            for j in 1..<(n - 1) { solveLine(k, first: k.box.at(0, j, kk), stride: 1, direction: 1) }
        }
        prepare(direction: 2)
        for kk in g.planes {
            for i in 1..<(n - 1) { solveLine(k, first: k.box.at(i, 0, kk), stride: k.box.strideJ, direction: 2) }
        }
        state.enterZ()
        prepare(direction: 3)
        for j in g.rows {
            for i in 1..<(n - 1) { solveLine(z, first: z.box.at(i, j, 0), stride: z.box.strideK, direction: 3) }
        }
        state.addAndLeaveZ()
    }

    /// Clears the Jacobians: each direction writes only its own non-zero entries.
    private func prepare(direction: Int) {
        fjac.update(repeating: 0, count: 25 * n)
        njac.update(repeating: 0, count: 25 * n)
        for q in 0..<n { fjac[25 * q + 5 * direction] = 1.0 }
    }

    /// fjac and njac at point p for a line along direction a (1: x, 2: y, 3: z), into
    /// f and v; the other two velocity components are s and t.
    @inline(__always)
    private func jacobians(_ fields: ADIFields, _ p: Int, _ a: Int, _ s: Int, _ t: Int,
                           _ f: UnsafeMutablePointer<Double>, _ v: UnsafeMutablePointer<Double>) {
        let c1 = ADIConstants.c1, c2 = ADIConstants.c2, c3c4 = ADIConstants.c3c4, c1345 = ADIConstants.c1345
        let con43c3c4 = ADIConstants.con43 * c3c4
        let u = fields.u + 5 * p
        let tmp1 = fields.rhoI[p], tmp2 = tmp1 * tmp1, tmp3 = tmp1 * tmp2
        let qs = fields.qs[p], square = fields.square[p]
        let ua = u[a]
        f[a] = -(ua * ua * tmp2) + c2 * qs
        f[a + 5 * a] = (2.0 - c2) * ua * tmp1
        f[a + 5 * s] = -c2 * u[s] * tmp1
        f[a + 5 * t] = -c2 * u[t] * tmp1
        f[a + 20] = c2
        f[s] = -(u[s] * ua) * tmp2
        f[s + 5 * s] = ua * tmp1
        f[s + 5 * a] = u[s] * tmp1
        f[t] = -(u[t] * ua) * tmp2
        f[t + 5 * t] = ua * tmp1
        f[t + 5 * a] = u[t] * tmp1
        f[4] = (c2 * 2.0 * square - c1 * u[4]) * ua * tmp2
        f[4 + 5 * a] = c1 * u[4] * tmp1 - c2 * (qs + ua * ua * tmp2)
        f[4 + 5 * s] = -c2 * (u[s] * ua) * tmp2
        f[4 + 5 * t] = -c2 * (u[t] * ua) * tmp2
        f[24] = c1 * ua * tmp1

        let k1 = a == 1 ? con43c3c4 : c3c4, k2 = a == 2 ? con43c3c4 : c3c4, k3 = a == 3 ? con43c3c4 : c3c4
        v[1] = -k1 * tmp2 * u[1]
        v[6] = k1 * tmp1
        v[2] = -k2 * tmp2 * u[2]
        v[12] = k2 * tmp1
        v[3] = -k3 * tmp2 * u[3]
        v[18] = k3 * tmp1
        v[4] = -(k1 - c1345) * tmp3 * (u[1] * u[1]) - (k2 - c1345) * tmp3 * (u[2] * u[2])
            - (k3 - c1345) * tmp3 * (u[3] * u[3]) - c1345 * tmp2 * u[4]
        v[9] = (k1 - c1345) * tmp2 * u[1]
        v[14] = (k2 - c1345) * tmp2 * u[2]
        v[19] = (k3 - c1345) * tmp2 * u[3]
        v[24] = c1345 * tmp1
    }

    /// Solves the block-tridiagonal system of the line of n points from point `first`,
    /// `stride` points apart, along direction a, in place in rhs.
    private func solveLine(_ fields: ADIFields, first: Int, stride: Int, direction a: Int) {
        let (s, t) = a == 1 ? (2, 3) : (a == 2 ? (1, 3) : (1, 2))
        for q in 0..<n { jacobians(fields, first + q * stride, a, s, t, fjac + 25 * q, njac + 25 * q) }
        let dt = state.constants.dt
        let tmp1 = dt * state.constants.t1, tmp2 = dt * state.constants.t2, tmp1x2 = tmp1 * 2.0
        let dd = ADIConstants.dissipation(a - 1)
        let a = self.a, b = self.b
        for q in 1...(n - 2) {
            let fm = fjac + 25 * (q - 1), nm = njac + 25 * (q - 1), nq = njac + 25 * q
            let fp = fjac + 25 * (q + 1), np = njac + 25 * (q + 1), c = cLine + 25 * q
            for e in 0..<25 {
                a[e] = -tmp2 * fm[e] - tmp1 * nm[e]
                b[e] = tmp1x2 * nq[e]
                c[e] = tmp2 * fp[e] - tmp1 * np[e]
            }
            for m in 0..<5 {
                let diagonal = 6 * m
                a[diagonal] = a[diagonal] - tmp1 * dd
                b[diagonal] = 1.0 + b[diagonal] + tmp1x2 * dd
                c[diagonal] = c[diagonal] - tmp1 * dd
            }
            let r = fields.rhs + 5 * (first + q * stride)
            if q > 1 {
                matvecSub(a, r - 5 * stride, r)
                matmulSub(a, c - 25, b)
            }
            if q < n - 2 { binvcrhs(b, c, r) } else { binvcrhs(b, nil, r) }
        }
        for q in Swift.stride(from: n - 3, through: 1, by: -1) {
            let r = fields.rhs + 5 * (first + q * stride)
            matvecSub(cLine + 25 * q, r + 5 * stride, r)
        }
    }
}

/// v = v - block * w (matvec_sub).
@inline(__always)
func matvecSub(_ block: UnsafeMutablePointer<Double>, _ w: UnsafeMutablePointer<Double>,
               _ v: UnsafeMutablePointer<Double>) {
    for m in 0..<5 {
        var value = v[m]
        for column in 0..<5 { value = value - block[m + 5 * column] * w[column] }
        v[m] = value
    }
}

/// c = c - a * b for 5 x 5 blocks (matmul_sub).
@inline(__always)
func matmulSub(_ a: UnsafeMutablePointer<Double>, _ b: UnsafeMutablePointer<Double>,
               _ c: UnsafeMutablePointer<Double>) {
    for column in 0..<5 {
        for m in 0..<5 {
            var value = c[m + 5 * column]
            for inner in 0..<5 { value = value - a[m + 5 * inner] * b[inner + 5 * column] }
            c[m + 5 * column] = value
        }
    }
}

/// Gauss-Jordan elimination of the 5 x 5 block `lhs` (no pivoting), applied to the block
/// c and the vector r: c = lhs^-1 c, r = lhs^-1 r (binvcrhs; without c, binvrhs).
@inline(__always)
func binvcrhs(_ lhs: UnsafeMutablePointer<Double>, _ c: UnsafeMutablePointer<Double>?,
              _ r: UnsafeMutablePointer<Double>) {
    for p in 0..<5 {
        let pivot = 1.0 / lhs[p + 5 * p]
        for column in (p + 1)..<5 { lhs[p + 5 * column] = lhs[p + 5 * column] * pivot }
        if let c { for column in 0..<5 { c[p + 5 * column] = c[p + 5 * column] * pivot } }
        r[p] = r[p] * pivot
        for row in 0..<5 where row != p {
            let coeff = lhs[row + 5 * p]
            for column in (p + 1)..<5 { lhs[row + 5 * column] = lhs[row + 5 * column] - coeff * lhs[p + 5 * column] }
            if let c { for column in 0..<5 { c[row + 5 * column] = c[row + 5 * column] - coeff * c[p + 5 * column] } }
            r[row] = r[row] - coeff * r[p]
        }
    }
}
