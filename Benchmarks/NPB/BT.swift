/// BT: the block-tridiagonal ADI pseudo-application (NPB 3.4). The residual, the fields
/// and their distribution are shared with SP (ADI*.swift); BT's own part is the sweeps
/// (`BTSolver`), each solving 5 x 5 block-tridiagonal systems along the grid lines.
extension ADIParameters {
    static func bt(_ problemClass: ProblemClass) -> ADIParameters {
        let n: Int, niter: Int, dt: Double, xcr: [Double], xce: [Double]
        switch problemClass {
        case .S:
            (n, niter, dt) = (12, 60, 0.010)
            xcr = [1.7034283709541311e-01, 1.2975252070034097e-02, 3.2527926989486055e-02,
                   2.6436421275166801e-02, 1.9211784131744430e-01]
            xce = [4.9976913345811579e-04, 4.5195666782961927e-05, 7.3973765172921357e-05,
                   7.3821238632439731e-05, 8.9269630987491446e-04]
        case .W:
            (n, niter, dt) = (24, 200, 0.0008)
            xcr = [0.1125590409344e+03, 0.1180007595731e+02, 0.2710329767846e+02,
                   0.2469174937669e+02, 0.2638427874317e+03]
            xce = [0.4419655736008e+01, 0.4638531260002e+00, 0.1011551749967e+01,
                   0.9235878729944e+00, 0.1018045837718e+02]
        case .A:
            (n, niter, dt) = (64, 200, 0.0008)
            xcr = [1.0806346714637264e+02, 1.1319730901220813e+01, 2.5974354511582465e+01,
                   2.3665622544678910e+01, 2.5278963211748344e+02]
            xce = [4.2348416040525025e+00, 4.4390282496995698e-01, 9.6692480136345650e-01,
                   8.8302063039765474e-01, 9.7379901770829278e+00]
        case .B:
            (n, niter, dt) = (102, 200, 0.0003)
            xcr = [1.4233597229287254e+03, 9.9330522590150238e+01, 3.5646025644535285e+02,
                   3.2485447959084092e+02, 3.2707541254659363e+03]
            xce = [5.2969847140936856e+01, 4.4632896115670668e+00, 1.3122573342210174e+01,
                   1.2006925323559144e+01, 1.2459576151035986e+02]
        }
        // bt.f's operation count, with its single-precision constants.
        let operations = { (n: Int) -> Double in
            let n3 = Double(n) * Double(n) * Double(n), navg = Double(3 * n) / 3.0
            return Double(Float(3478.8)) * n3 - Double(Float(17655.7)) * (navg * navg) + Double(Float(28023.7)) * navg
        }
        return ADIParameters(name: "BT", n: n, niter: niter, dt: dt, xcr: xcr, xce: xce, operations: operations)
    }
}

func runBT(_ context: RunContext) {
    runADI(context, .bt(context.problemClass), speed: false) { BTSolver($0) }
}
