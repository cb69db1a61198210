/// SP: the scalar-pentadiagonal ADI pseudo-application (NPB 3.4). The residual, the
/// fields and their distribution are shared with BT (ADI*.swift); SP's own part is the
/// sweeps (`SPSolver`), each solving scalar pentadiagonal systems along the grid lines
/// after diagonalising the flux Jacobians.
extension ADIParameters {
    static func sp(_ problemClass: ProblemClass) -> ADIParameters {
        let n: Int, niter: Int, dt: Double, xcr: [Double], xce: [Double]
        switch problemClass {
        case .S:
            (n, niter, dt) = (12, 100, 0.015)
            xcr = [2.7470315451339479e-02, 1.0360746705285417e-02, 1.6235745065095532e-02,
                   1.5840557224455615e-02, 3.4849040609362460e-02]
            xce = [2.7289258557377227e-05, 1.0364446640837285e-05, 1.6154798287166471e-05,
                   1.5750704994480102e-05, 3.4177666183390531e-05]
        case .W:
            (n, niter, dt) = (36, 400, 0.0015)
            xcr = [0.1893253733584e-02, 0.1717075447775e-03, 0.2778153350936e-03,
                   0.2887475409984e-03, 0.3143611161242e-02]
            xce = [0.7542088599534e-04, 0.6512852253086e-05, 0.1049092285688e-04,
                   0.1128838671535e-04, 0.1212845639773e-03]
        case .A:
            (n, niter, dt) = (64, 400, 0.0015)
            xcr = [2.4799822399300195e0, 1.1276337964368832e0, 1.5028977888770491e0,
                   1.4217816211695179e0, 2.1292113035138280e0]
            xce = [1.0900140297820550e-04, 3.7343951769282091e-05, 5.0092785406541633e-05,
                   4.7671093939528255e-05, 1.3621613399213001e-04]
        case .B:
            (n, niter, dt) = (102, 400, 0.001)
            xcr = [0.6903293579998e+02, 0.3095134488084e+02, 0.4103336647017e+02,
                   0.3864769009604e+02, 0.5643482272596e+02]
            xce = [0.9810006190188e-02, 0.1022827905670e-02, 0.1720597911692e-02,
                   0.1694479428231e-02, 0.1847456263981e-01]
        }
        // sp.f's operation count, with its single-precision constants.
        let operations = { (n: Int) -> Double in
            let n3 = Double(n) * Double(n) * Double(n), t = Double(3 * n) / 3.0
            return Double(Float(881.174)) * n3 - Double(Float(4683.91)) * (t * t) + Double(Float(11484.5)) * t
                - Double(Float(19272.4))
        }
        return ADIParameters(name: "SP", n: n, niter: niter, dt: dt, xcr: xcr, xce: xce, operations: operations)
    }
}

func runSP(_ context: RunContext) {
    runADI(context, .sp(context.problemClass), speed: true) { SPSolver($0) }
}
