/// NPB's set_constants for BT and SP (identical in both but for SP's bt = sqrt(0.5)):
/// the physical constants, the grid spacings and the products the residual and the
/// sweeps use. The three directions have equal spacings here (a cube), but the names
/// stay per direction as in NPB so each formula reads like its Fortran line.
struct ADIConstants {
    static let c1 = 1.4, c2 = 0.4, c3 = 0.1, c4 = 1.0, c5 = 1.4
    static let c1c2 = c1 * c2, c1c5 = c1 * c5, c3c4 = c3 * c4
    static let c1345 = c1c5 * c3c4, conz1 = 1.0 - c1c5
    static let con43 = 4.0 / 3.0, con16 = 1.0 / 6.0
    /// dx1...dx5 are all 0.75, dy1...dy5 0.75, dz1...dz5 1.0.
    static let dx = 0.75, dy = 0.75, dz = 1.0
    static let dssp = 0.25 * max(dx, max(dy, dz))

    /// The coefficients of the exact solution, ce(m, 1...13) at [m][0...12].
    static let ce: [[Double]] = [
        [2.0, 0.0, 0.0, 4.0, 5.0, 3.0, 0.5, 0.02, 0.01, 0.03, 0.5, 0.4, 0.3],
        [1.0, 0.0, 0.0, 0.0, 1.0, 2.0, 3.0, 0.01, 0.03, 0.02, 0.4, 0.3, 0.5],
        [2.0, 2.0, 0.0, 0.0, 0.0, 2.0, 3.0, 0.04, 0.03, 0.05, 0.3, 0.5, 0.4],
        [2.0, 2.0, 0.0, 0.0, 0.0, 2.0, 3.0, 0.03, 0.05, 0.04, 0.2, 0.1, 0.3],
        [5.0, 4.0, 3.0, 2.0, 0.1, 0.4, 0.3, 0.05, 0.04, 0.03, 0.1, 0.3, 0.2],
    ]

    let dt: Double
    /// 1 / (n - 1): the grid spacing, equal in the three directions.
    let dnm1: Double
    let t1: Double, t2: Double, t3: Double
    /// compute_rhs's xxcon1...xxcon5 (equal to yycon* and zzcon* on a cube).
    let con1: Double, con2: Double, con3: Double, con4: Double, con5: Double
    /// dx*tx1, dy*ty1, dz*tz1 by direction 0 (x), 1 (y), 2 (z).
    let dTimesT1: [Double]

    init(n: Int, dt: Double) {
        self.dt = dt
        dnm1 = 1.0 / Double(n - 1)
        t1 = 1.0 / (dnm1 * dnm1)
        t2 = 1.0 / (2.0 * dnm1)
        t3 = 1.0 / dnm1
        let c3c4t3 = ADIConstants.c3c4 * t3
        con1 = c3c4t3 * ADIConstants.con43 * t3
        con2 = c3c4t3 * t3
        con3 = c3c4t3 * ADIConstants.conz1 * t3
        con4 = c3c4t3 * ADIConstants.con16 * t3
        con5 = c3c4t3 * ADIConstants.c1c5 * t3
        dTimesT1 = [ADIConstants.dx * t1, ADIConstants.dy * t1, ADIConstants.dz * t1]
    }

    /// The dissipation coefficient d of direction 0 (x), 1 (y) or 2 (z).
    static func dissipation(_ direction: Int) -> Double { direction == 0 ? dx : (direction == 1 ? dy : dz) }

    /// exact_solution at (xi, eta, zeta), into out[0...4].
    @inline(__always)
    static func exact(_ xi: Double, _ eta: Double, _ zeta: Double, into out: UnsafeMutablePointer<Double>) {
        for m in 0..<5 {
            let e = ce[m]
            out[m] = e[0] + xi * (e[1] + xi * (e[4] + xi * (e[7] + xi * e[10])))
                + eta * (e[2] + eta * (e[5] + eta * (e[8] + eta * e[11])))
                + zeta * (e[3] + zeta * (e[6] + zeta * (e[9] + zeta * e[12])))
        }
    }
}
