/// A 5x5 block of one point in NPB's column-major layout, addressed with NPB's 1-based
/// (row, column) so the formulas read as in jacld.f and jacu.f.
struct Block5 {
    let base: UnsafeMutablePointer<Double>

    @inline(__always)
    subscript(_ m: Int, _ n: Int) -> Double {
        get { base[(m - 1) + 5 * (n - 1)] }
        nonmutating set { base[(m - 1) + 5 * (n - 1)] = newValue }
    }
}

/// The block matrices of the SSOR sweeps (NPB's jacld and jacu): for each point of a line
/// (j, k) the diagonal block d and the off-diagonal blocks of the three directions, taken at
/// the neighbour before the point (lower sweep) or after it (upper sweep). The two sweeps'
/// off-diagonal blocks differ only in the sign of their inviscid part.
extension LUBenchmark {
    static let r43 = 4.0 / 3.0
    static let c1345 = c1 * c3 * c4 * c5
    static let c34 = c3 * c4

    /// jacld: d, and a (k-1), b (j-1), c (i-1) for the lower triangular sweep.
    func jacld(_ j: Int, _ k: Int) {
        let u = self.u
        for i in grid.ist...grid.iend {
            diagonal(u.at(i, j, k), Block5(base: d + 25 * i))
            jacobianZ(u.at(i, j, k - 1), -dt * tz2, Block5(base: a + 25 * i))
            jacobianY(u.at(i, j - 1, k), -dt * ty2, Block5(base: b + 25 * i))
            jacobianX(u.at(i - 1, j, k), -dt * tx2, Block5(base: c + 25 * i))
        }
    }

    /// jacu: d, and a (i+1), b (j+1), c (k+1) for the upper triangular sweep.
    func jacu(_ j: Int, _ k: Int) {
        let u = self.u
        for i in grid.ist...grid.iend {
            diagonal(u.at(i, j, k), Block5(base: d + 25 * i))
            jacobianX(u.at(i + 1, j, k), dt * tx2, Block5(base: a + 25 * i))
            jacobianY(u.at(i, j + 1, k), dt * ty2, Block5(base: b + 25 * i))
            jacobianZ(u.at(i, j, k + 1), dt * tz2, Block5(base: c + 25 * i))
        }
    }

    @inline(__always)
    func diagonal(_ p: UnsafeMutablePointer<Double>, _ d: Block5) {
        let r43 = LUBenchmark.r43, c34 = LUBenchmark.c34, c1345 = LUBenchmark.c1345
        let tx1 = self.tx1, ty1 = self.ty1, tz1 = self.tz1
        let dx = self.dx, dy = self.dy, dz = self.dz
        let dt2 = dt * 2.0
        let tmp1 = 1.0 / p[0], tmp2 = tmp1 * tmp1, tmp3 = tmp1 * tmp2
        let u2 = p[1], u3 = p[2], u4 = p[3], u5 = p[4]
        let dissipation = dt2 * (tx1 * dx + ty1 * dy + tz1 * dz)

        d[1, 1] = 1.0 + dissipation
        d[1, 2] = 0.0
        d[1, 3] = 0.0
        d[1, 4] = 0.0
        d[1, 5] = 0.0

        d[2, 1] = dt2 * (tx1 * (-r43 * c34 * tmp2 * u2) + ty1 * (-c34 * tmp2 * u2) + tz1 * (-c34 * tmp2 * u2))
        d[2, 2] = 1.0 + dt2 * (tx1 * r43 * c34 * tmp1 + ty1 * c34 * tmp1 + tz1 * c34 * tmp1) + dissipation
        d[2, 3] = 0.0
        d[2, 4] = 0.0
        d[2, 5] = 0.0

        d[3, 1] = dt2 * (tx1 * (-c34 * tmp2 * u3) + ty1 * (-r43 * c34 * tmp2 * u3) + tz1 * (-c34 * tmp2 * u3))
        d[3, 2] = 0.0
        d[3, 3] = 1.0 + dt2 * (tx1 * c34 * tmp1 + ty1 * r43 * c34 * tmp1 + tz1 * c34 * tmp1) + dissipation
        d[3, 4] = 0.0
        d[3, 5] = 0.0

        d[4, 1] = dt2 * (tx1 * (-c34 * tmp2 * u4) + ty1 * (-c34 * tmp2 * u4) + tz1 * (-r43 * c34 * tmp2 * u4))
        d[4, 2] = 0.0
        d[4, 3] = 0.0
        d[4, 4] = 1.0 + dt2 * (tx1 * c34 * tmp1 + ty1 * c34 * tmp1 + tz1 * r43 * c34 * tmp1) + dissipation
        d[4, 5] = 0.0

        let s2 = u2 * u2, s3 = u3 * u3, s4 = u4 * u4
        let a = r43 * c34 - c1345, b = c34 - c1345
        d[5, 1] = dt2 * (tx1 * (-a * tmp3 * s2 - b * tmp3 * s3 - b * tmp3 * s4 - c1345 * tmp2 * u5)
            + ty1 * (-b * tmp3 * s2 - a * tmp3 * s3 - b * tmp3 * s4 - c1345 * tmp2 * u5)
            + tz1 * (-b * tmp3 * s2 - b * tmp3 * s3 - a * tmp3 * s4 - c1345 * tmp2 * u5))
        d[5, 2] = dt2 * (tx1 * a * tmp2 * u2 + ty1 * b * tmp2 * u2 + tz1 * b * tmp2 * u2)
        d[5, 3] = dt2 * (tx1 * b * tmp2 * u3 + ty1 * a * tmp2 * u3 + tz1 * b * tmp2 * u3)
        d[5, 4] = dt2 * (tx1 * b * tmp2 * u4 + ty1 * b * tmp2 * u4 + tz1 * a * tmp2 * u4)
        d[5, 5] = 1.0 + dt2 * (tx1 * c1345 * tmp1 + ty1 * c1345 * tmp1 + tz1 * c1345 * tmp1) + dissipation
    }

    /// The i-direction block at neighbour `p`; `s2` is -dt*tx2 (lower) or dt*tx2 (upper).
    @inline(__always)
    func jacobianX(_ p: UnsafeMutablePointer<Double>, _ s2: Double, _ m: Block5) {
        let r43 = LUBenchmark.r43, c34 = LUBenchmark.c34, c1345 = LUBenchmark.c1345
        let c1 = LUBenchmark.c1, c2 = LUBenchmark.c2
        let t1 = dt * tx1, dd = dx
        let tmp1 = 1.0 / p[0], tmp2 = tmp1 * tmp1, tmp3 = tmp1 * tmp2
        let u2 = p[1], u3 = p[2], u4 = p[3], u5 = p[4]
        let squares = u2 * u2 + u3 * u3 + u4 * u4

        m[1, 1] = -t1 * dd
        m[1, 2] = s2
        m[1, 3] = 0.0
        m[1, 4] = 0.0
        m[1, 5] = 0.0

        m[2, 1] = s2 * (-(u2 * tmp1) * (u2 * tmp1) + c2 * 0.5 * squares * tmp2) - t1 * (-r43 * c34 * tmp2 * u2)
        m[2, 2] = s2 * ((2.0 - c2) * (u2 * tmp1)) - t1 * (r43 * c34 * tmp1) - t1 * dd
        m[2, 3] = s2 * (-c2 * (u3 * tmp1))
        m[2, 4] = s2 * (-c2 * (u4 * tmp1))
        m[2, 5] = s2 * c2

        m[3, 1] = s2 * (-(u2 * u3) * tmp2) - t1 * (-c34 * tmp2 * u3)
        m[3, 2] = s2 * (u3 * tmp1)
        m[3, 3] = s2 * (u2 * tmp1) - t1 * (c34 * tmp1) - t1 * dd
        m[3, 4] = 0.0
        m[3, 5] = 0.0

        m[4, 1] = s2 * (-(u2 * u4) * tmp2) - t1 * (-c34 * tmp2 * u4)
        m[4, 2] = s2 * (u4 * tmp1)
        m[4, 3] = 0.0
        m[4, 4] = s2 * (u2 * tmp1) - t1 * (c34 * tmp1) - t1 * dd
        m[4, 5] = 0.0

        m[5, 1] = s2 * ((c2 * squares * tmp2 - c1 * (u5 * tmp1)) * (u2 * tmp1))
            - t1 * (-(r43 * c34 - c1345) * tmp3 * (u2 * u2) - (c34 - c1345) * tmp3 * (u3 * u3)
                - (c34 - c1345) * tmp3 * (u4 * u4) - c1345 * tmp2 * u5)
        m[5, 2] = s2 * (c1 * (u5 * tmp1) - 0.5 * c2 * ((3.0 * u2 * u2 + u3 * u3 + u4 * u4) * tmp2))
            - t1 * (r43 * c34 - c1345) * tmp2 * u2
        m[5, 3] = s2 * (-c2 * (u3 * u2) * tmp2) - t1 * (c34 - c1345) * tmp2 * u3
        m[5, 4] = s2 * (-c2 * (u4 * u2) * tmp2) - t1 * (c34 - c1345) * tmp2 * u4
        m[5, 5] = s2 * (c1 * (u2 * tmp1)) - t1 * c1345 * tmp1 - t1 * dd
    }

    /// The j-direction block at neighbour `p`; `s2` is -dt*ty2 (lower) or dt*ty2 (upper).
    @inline(__always)
    func jacobianY(_ p: UnsafeMutablePointer<Double>, _ s2: Double, _ m: Block5) {
        let r43 = LUBenchmark.r43, c34 = LUBenchmark.c34, c1345 = LUBenchmark.c1345
        let c1 = LUBenchmark.c1, c2 = LUBenchmark.c2
        let t1 = dt * ty1, dd = dy
        let tmp1 = 1.0 / p[0], tmp2 = tmp1 * tmp1, tmp3 = tmp1 * tmp2
        let u2 = p[1], u3 = p[2], u4 = p[3], u5 = p[4]
        let squares = u2 * u2 + u3 * u3 + u4 * u4

        m[1, 1] = -t1 * dd
        m[1, 2] = 0.0
        m[1, 3] = s2
        m[1, 4] = 0.0
        m[1, 5] = 0.0

        m[2, 1] = s2 * (-(u2 * u3) * tmp2) - t1 * (-c34 * tmp2 * u2)
        m[2, 2] = s2 * (u3 * tmp1) - t1 * (c34 * tmp1) - t1 * dd
        m[2, 3] = s2 * (u2 * tmp1)
        m[2, 4] = 0.0
        m[2, 5] = 0.0

        m[3, 1] = s2 * (-(u3 * tmp1) * (u3 * tmp1) + 0.5 * c2 * (squares * tmp2)) - t1 * (-r43 * c34 * tmp2 * u3)
        m[3, 2] = s2 * (-c2 * (u2 * tmp1))
        m[3, 3] = s2 * ((2.0 - c2) * (u3 * tmp1)) - t1 * (r43 * c34 * tmp1) - t1 * dd
        m[3, 4] = s2 * (-c2 * (u4 * tmp1))
        m[3, 5] = s2 * c2

        m[4, 1] = s2 * (-(u3 * u4) * tmp2) - t1 * (-c34 * tmp2 * u4)
        m[4, 2] = 0.0
        m[4, 3] = s2 * (u4 * tmp1)
        m[4, 4] = s2 * (u3 * tmp1) - t1 * (c34 * tmp1) - t1 * dd
        m[4, 5] = 0.0

        m[5, 1] = s2 * ((c2 * squares * tmp2 - c1 * (u5 * tmp1)) * (u3 * tmp1))
            - t1 * (-(c34 - c1345) * tmp3 * (u2 * u2) - (r43 * c34 - c1345) * tmp3 * (u3 * u3)
                - (c34 - c1345) * tmp3 * (u4 * u4) - c1345 * tmp2 * u5)
        m[5, 2] = s2 * (-c2 * (u2 * u3) * tmp2) - t1 * (c34 - c1345) * tmp2 * u2
        m[5, 3] = s2 * (c1 * (u5 * tmp1) - 0.5 * c2 * ((u2 * u2 + 3.0 * u3 * u3 + u4 * u4) * tmp2))
            - t1 * (r43 * c34 - c1345) * tmp2 * u3
        m[5, 4] = s2 * (-c2 * (u3 * u4) * tmp2) - t1 * (c34 - c1345) * tmp2 * u4
        m[5, 5] = s2 * (c1 * (u3 * tmp1)) - t1 * c1345 * tmp1 - t1 * dd
    }

    /// The k-direction block at neighbour `p`; `s2` is -dt*tz2 (lower) or dt*tz2 (upper).
    @inline(__always)
    func jacobianZ(_ p: UnsafeMutablePointer<Double>, _ s2: Double, _ m: Block5) {
        let r43 = LUBenchmark.r43, c34 = LUBenchmark.c34, c1345 = LUBenchmark.c1345
        let c1 = LUBenchmark.c1, c2 = LUBenchmark.c2
        let t1 = dt * tz1, dd = dz
        let tmp1 = 1.0 / p[0], tmp2 = tmp1 * tmp1, tmp3 = tmp1 * tmp2
        let u2 = p[1], u3 = p[2], u4 = p[3], u5 = p[4]
        let squares = u2 * u2 + u3 * u3 + u4 * u4

        m[1, 1] = -t1 * dd
        m[1, 2] = 0.0
        m[1, 3] = 0.0
        m[1, 4] = s2
        m[1, 5] = 0.0

        m[2, 1] = s2 * (-(u2 * u4) * tmp2) - t1 * (-c34 * tmp2 * u2)
        m[2, 2] = s2 * (u4 * tmp1) - t1 * c34 * tmp1 - t1 * dd
        m[2, 3] = 0.0
        m[2, 4] = s2 * (u2 * tmp1)
        m[2, 5] = 0.0

        m[3, 1] = s2 * (-(u3 * u4) * tmp2) - t1 * (-c34 * tmp2 * u3)
        m[3, 2] = 0.0
        m[3, 3] = s2 * (u4 * tmp1) - t1 * (c34 * tmp1) - t1 * dd
        m[3, 4] = s2 * (u3 * tmp1)
        m[3, 5] = 0.0

        m[4, 1] = s2 * (-(u4 * tmp1) * (u4 * tmp1) + 0.5 * c2 * (squares * tmp2)) - t1 * (-r43 * c34 * tmp2 * u4)
        m[4, 2] = s2 * (-c2 * (u2 * tmp1))
        m[4, 3] = s2 * (-c2 * (u3 * tmp1))
        m[4, 4] = s2 * (2.0 - c2) * (u4 * tmp1) - t1 * (r43 * c34 * tmp1) - t1 * dd
        m[4, 5] = s2 * c2

        m[5, 1] = s2 * ((c2 * squares * tmp2 - c1 * (u5 * tmp1)) * (u4 * tmp1))
            - t1 * (-(c34 - c1345) * tmp3 * (u2 * u2) - (c34 - c1345) * tmp3 * (u3 * u3)
                - (r43 * c34 - c1345) * tmp3 * (u4 * u4) - c1345 * tmp2 * u5)
        m[5, 2] = s2 * (-c2 * (u2 * u4) * tmp2) - t1 * (c34 - c1345) * tmp2 * u2
        m[5, 3] = s2 * (-c2 * (u3 * u4) * tmp2) - t1 * (c34 - c1345) * tmp2 * u3
        m[5, 4] = s2 * (c1 * (u5 * tmp1) - 0.5 * c2 * ((u2 * u2 + u3 * u3 + 3.0 * u4 * u4) * tmp2))
            - t1 * (r43 * c34 - c1345) * tmp2 * u4
        m[5, 5] = s2 * (c1 * (u4 * tmp1)) - t1 * c1345 * tmp1 - t1 * dd
    }
}
