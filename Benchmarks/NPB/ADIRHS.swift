/// NPB's compute_rhs (shared by BT and SP): rhs = dt (forcing + the residual of u) at the
/// interior points of this rank's planes, given u on the planes and two ghost planes each
/// side. The flux differences and dissipation of the three directions are one routine
/// with the direction's stride; each formula keeps NPB's order of operations.
extension ADIFields {
    func computeRHS(_ c: ADIConstants, planes: Range<Int>) {
        derive()
        let n = box.n
        let forcing = self.forcing!
        for k in planes {
            let row = 5 * box.at(0, 0, k)
            (rhs + row).update(from: forcing + row, count: 5 * box.strideK)
        }
        for direction in 0..<3 {
            let stride = direction == 0 ? 1 : (direction == 1 ? box.strideJ : box.strideK)
            for k in planes {
                for j in 1..<(n - 1) {
                    let first = box.at(1, j, k)
                    flux(c, direction: direction, first: first, count: n - 2, stride: stride)
                    let position = direction == 1 ? j : k
                    if direction == 0 {
                        for i in 1..<(n - 1) { dissipate(first + i - 1, stride: 1, position: i) }
                    } else {
                        for p in first..<(first + n - 2) { dissipate(p, stride: stride, position: position) }
                    }
                }
            }
        }
        let dt = c.dt
        for k in planes {
            for j in 1..<(n - 1) {
                let r = rhs + 5 * box.at(1, j, k)
                for v in 0..<(5 * (n - 2)) { r[v] = r[v] * dt }
            }
        }
    }

    /// The flux differences in `direction` (0: x, 1: y, 2: z) of `count` consecutive points
    /// from point `first`, whose neighbours along the direction are `stride` points away.
    @inline(__always)
    private func flux(_ c: ADIConstants, direction: Int, first: Int, count: Int, stride s: Int) {
        let a = direction + 1
        let t2 = c.t2, dt1 = c.dTimesT1[direction]
        let con2 = c.con2, con2a = c.con2 * ADIConstants.con43, con3 = c.con3, con4 = c.con4, con5 = c.con5
        let c1 = ADIConstants.c1, c2 = ADIConstants.c2
        let vel = velocity(a)
        let others = a == 1 ? (2, 3) : (a == 2 ? (1, 3) : (1, 2))
        let otherVel = (velocity(others.0), velocity(others.1))
        let s5 = 5 * s
        for p in first..<(first + count) {
            let r = rhs + 5 * p, v = u + 5 * p, vp = v + s5, vm = v - s5
            let vijk = vel[p], vp1 = vel[p + s], vm1 = vel[p - s]
            r[0] = r[0] + dt1 * (vp[0] - 2.0 * v[0] + vm[0]) - t2 * (vp[a] - vm[a])
            r[a] = r[a] + dt1 * (vp[a] - 2.0 * v[a] + vm[a]) + con2a * (vp1 - 2.0 * vijk + vm1)
                - t2 * (vp[a] * vp1 - vm[a] * vm1 + (vp[4] - square[p + s] - vm[4] + square[p - s]) * c2)
            let (m1, m2) = others
            r[m1] = r[m1] + dt1 * (vp[m1] - 2.0 * v[m1] + vm[m1])
                + con2 * (otherVel.0[p + s] - 2.0 * otherVel.0[p] + otherVel.0[p - s])
                - t2 * (vp[m1] * vp1 - vm[m1] * vm1)
            r[m2] = r[m2] + dt1 * (vp[m2] - 2.0 * v[m2] + vm[m2])
                + con2 * (otherVel.1[p + s] - 2.0 * otherVel.1[p] + otherVel.1[p - s])
                - t2 * (vp[m2] * vp1 - vm[m2] * vm1)
            r[4] = r[4] + dt1 * (vp[4] - 2.0 * v[4] + vm[4]) + con3 * (qs[p + s] - 2.0 * qs[p] + qs[p - s])
                + con4 * (vp1 * vp1 - 2.0 * vijk * vijk + vm1 * vm1)
                + con5 * (vp[4] * rhoI[p + s] - 2.0 * v[4] * rhoI[p] + vm[4] * rhoI[p - s])
                - t2 * ((c1 * vp[4] - c2 * square[p + s]) * vp1 - (c1 * vm[4] - c2 * square[p - s]) * vm1)
        }
    }

    /// The fourth-difference dissipation at point p, `position` along its direction.
    @inline(__always)
    private func dissipate(_ p: Int, stride s: Int, position: Int) {
        let r = rhs + 5 * p, v = UnsafePointer(u + 5 * p), dssp = ADIConstants.dssp, n = box.n
        for m in 0..<5 { r[m] = r[m] - dssp * fourthDifference(v + m, stride: 5 * s, at: position, n: n) }
    }
}
