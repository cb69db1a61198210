/// The fields of one box (`ADIBox`): u and rhs (five values a point), the forcing term
/// where the residual is computed, and the quantities compute_rhs derives from u once per
/// step (NPB's rho_i, us, vs, ws, square, qs and, for SP, speed).
final class ADIFields {
    let box: ADIBox
    let u: UnsafeMutablePointer<Double>
    let rhs: UnsafeMutablePointer<Double>
    /// Only in the box of the residual (`ADIGrid.kBox`).
    let forcing: UnsafeMutablePointer<Double>?
    let rhoI: UnsafeMutablePointer<Double>
    let us: UnsafeMutablePointer<Double>
    let vs: UnsafeMutablePointer<Double>
    let ws: UnsafeMutablePointer<Double>
    let square: UnsafeMutablePointer<Double>
    let qs: UnsafeMutablePointer<Double>
    /// The speed of sound (SP only).
    let speed: UnsafeMutablePointer<Double>?

    init(_ box: ADIBox, forcing: Bool, speed: Bool) {
        self.box = box
        let field = zeroedDoubles
        u = field(5 * box.points)
        rhs = field(5 * box.points)
        self.forcing = forcing ? field(5 * box.points) : nil
        rhoI = field(box.points)
        us = field(box.points)
        vs = field(box.points)
        ws = field(box.points)
        square = field(box.points)
        qs = field(box.points)
        self.speed = speed ? field(box.points) : nil
    }

    /// The velocity along direction 1 (x), 2 (y) or 3 (z): us, vs or ws.
    func velocity(_ direction: Int) -> UnsafeMutablePointer<Double> {
        direction == 1 ? us : (direction == 2 ? vs : ws)
    }

    /// compute_rhs's first loop: the quantities derived from u, over the whole box.
    func derive() {
        let c1c2 = ADIConstants.c1c2
        for p in 0..<box.points {
            let v = u + 5 * p
            let rhoInv = 1.0 / v[0]
            rhoI[p] = rhoInv
            us[p] = v[1] * rhoInv
            vs[p] = v[2] * rhoInv
            ws[p] = v[3] * rhoInv
            let sq = 0.5 * (v[1] * v[1] + v[2] * v[2] + v[3] * v[3]) * rhoInv
            square[p] = sq
            qs[p] = sq * rhoInv
            if let speed {
                let aux = c1c2 * rhoInv * (v[4] - sq)
                speed[p] = aux.squareRoot()
            }
        }
    }

    /// initialize: u over the box, a transfinite interpolation of the exact solution on
    /// the six faces inside, the exact solution on the faces themselves.
    func initialize(_ constants: ADIConstants) {
        let n = box.n, d = constants.dnm1
        let faces = UnsafeMutablePointer<Double>.allocate(capacity: 30)
        defer { faces.deallocate() }
        for k in box.k {
            for j in box.j {
                for i in 0..<n {
                    let p = u + 5 * box.at(i, j, k)
                    var xi = Double(i) * d, eta = Double(j) * d, zeta = Double(k) * d
                    // NPB sets the faces in the order i, j, k, each at its exact coordinate
                    // 0.0 or 1.0, so on an edge the last face written decides.
                    let onFace = i == 0 || i == n - 1 || j == 0 || j == n - 1 || k == 0 || k == n - 1
                    if onFace {
                        if k == 0 || k == n - 1 { zeta = k == 0 ? 0.0 : 1.0 }
                        else if j == 0 || j == n - 1 { eta = j == 0 ? 0.0 : 1.0 }
                        else { xi = i == 0 ? 0.0 : 1.0 }
                        ADIConstants.exact(xi, eta, zeta, into: p)
                        continue
                    }
                    ADIConstants.exact(0.0, eta, zeta, into: faces)
                    ADIConstants.exact(1.0, eta, zeta, into: faces + 5)
                    ADIConstants.exact(xi, 0.0, zeta, into: faces + 10)
                    ADIConstants.exact(xi, 1.0, zeta, into: faces + 15)
                    ADIConstants.exact(xi, eta, 0.0, into: faces + 20)
                    ADIConstants.exact(xi, eta, 1.0, into: faces + 25)
                    for m in 0..<5 {
                        let pxi = xi * faces[5 + m] + (1.0 - xi) * faces[m]
                        let peta = eta * faces[15 + m] + (1.0 - eta) * faces[10 + m]
                        let pzeta = zeta * faces[25 + m] + (1.0 - zeta) * faces[20 + m]
                        p[m] = pxi + peta + pzeta - pxi * peta - pxi * pzeta - peta * pzeta + pxi * peta * pzeta
                    }
                }
            }
        }
    }
}

/// `count` doubles, zeroed, never freed (the fields and work arrays live as long as the run).
func zeroedDoubles(_ count: Int) -> UnsafeMutablePointer<Double> {
    let pointer = UnsafeMutablePointer<Double>.allocate(capacity: count)
    pointer.initialize(repeating: 0, count: count)
    return pointer
}
