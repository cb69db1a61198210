import Foundation
import SwiftDSM
import Collectives

struct LUParameters {
    let n: Int
    let itmax: Int
    let dt: Double
    /// verify.f's reference values: residual norms, error norms, surface integral.
    let xcr: [Double]
    let xce: [Double]
    let xci: Double

    init(_ problemClass: ProblemClass) {
        switch problemClass {
        case .S:
            (n, itmax, dt) = (12, 50, 0.5)
            xcr = [1.6196343210976702e-02, 2.1976745164821318e-03, 1.5179927653399185e-03,
                   1.5029584435994323e-03, 3.4264073155896461e-02]
            xce = [6.4223319957960924e-04, 8.4144342047347926e-05, 5.8588269616485186e-05,
                   5.8474222595157350e-05, 1.3103347914111294e-03]
            xci = 7.8418928865937083e+00
        case .W:
            (n, itmax, dt) = (33, 300, 1.5e-3)
            xcr = [0.1236511638192e+02, 0.1317228477799e+01, 0.2550120713095e+01,
                   0.2326187750252e+01, 0.2826799444189e+02]
            xce = [0.4867877144216e+00, 0.5064652880982e-01, 0.9281818101960e-01,
                   0.8570126542733e-01, 0.1084277417792e+01]
            xci = 0.1161399311023e+02
        case .A:
            (n, itmax, dt) = (64, 250, 2.0)
            xcr = [7.7902107606689367e+02, 6.3402765259692870e+01, 1.9499249727292479e+02,
                   1.7845301160418537e+02, 1.8384760349464247e+03]
            xce = [2.9964085685471943e+01, 2.8194576365003349e+00, 7.3473412698774742e+00,
                   6.7139225687777051e+00, 7.0715315688392578e+01]
            xci = 2.6030925604886277e+01
        case .B:
            (n, itmax, dt) = (102, 250, 2.0)
            xcr = [3.5532672969982736e+03, 2.6214750795310692e+02, 8.8333721850952190e+02,
                   7.7812774739425265e+02, 7.3087969592545314e+03]
            xce = [1.1401176380212709e+02, 8.1098963655421574e+00, 2.8480597317698308e+01,
                   2.5905394567832939e+01, 2.6054907504857413e+02]
            xci = 4.7887162703308227e+01
        }
    }
}

/// LU: the SSOR solution of the 3-D compressible Navier-Stokes pseudo-application. The
/// grid is split over an xdim x ydim processor grid in i and j (`LUGrid`); each rank holds
/// its subdomain in private arrays with two ghost layers, and every value that crosses a
/// subdomain boundary goes through shared memory (`LUExchange`). Norms go through
/// Collectives.
final class LUBenchmark {
    static let c1 = 1.40, c2 = 0.40, c3 = 1.00e-01, c4 = 1.00, c5 = 1.40
    /// tolrsd: NPB's parameters are single-precision literals (1.0e-08), kept as such.
    static let tolerance = [Double](repeating: Double(Float(1.0e-08)), count: 5)

    let context: RunContext
    let parameters: LUParameters
    let grid: LUGrid
    let exchange: LUExchange
    let itmax: Int
    let inorm: Int
    let dt: Double
    let omega = 1.2

    let u: LUField
    let rsd: LUField
    let frct: LUField
    let flux: LUField
    /// The blocks of one line (jacld / jacu) and the upper sweep's scratch for one point.
    let a: UnsafeMutablePointer<Double>
    let b: UnsafeMutablePointer<Double>
    let c: UnsafeMutablePointer<Double>
    let d: UnsafeMutablePointer<Double>
    let tv: UnsafeMutablePointer<Double>

    // setcoeff.
    let dxi: Double, deta: Double, dzeta: Double
    let tx1: Double, tx2: Double, tx3: Double
    let ty1: Double, ty2: Double, ty3: Double
    let tz1: Double, tz2: Double, tz3: Double
    /// NPB's dx1...dx5 are all 0.75, dy1...dy5 0.75 and dz1...dz5 1.0.
    let dx = 0.75, dy = 0.75, dz = 1.00
    let dssp: Double
    /// The coefficients of the exact solution, ce[m][n] for ce(m+1, n+1).
    let ce: [[Double]] = [
        [2.0, 0.0, 0.0, 4.0, 5.0, 3.0, 5.0e-01, 2.0e-02, 1.0e-02, 3.0e-02, 5.0e-01, 4.0e-01, 3.0e-01],
        [1.0, 0.0, 0.0, 0.0, 1.0, 2.0, 3.0, 1.0e-02, 3.0e-02, 2.0e-02, 4.0e-01, 3.0e-01, 5.0e-01],
        [2.0, 2.0, 0.0, 0.0, 0.0, 2.0, 3.0, 4.0e-02, 3.0e-02, 5.0e-02, 3.0e-01, 5.0e-01, 4.0e-01],
        [2.0, 2.0, 0.0, 0.0, 0.0, 2.0, 3.0, 3.0e-02, 5.0e-02, 4.0e-02, 2.0e-01, 1.0e-01, 3.0e-01],
        [5.0, 4.0, 3.0, 2.0, 1.0e-01, 4.0e-01, 3.0e-01, 5.0e-02, 4.0e-02, 3.0e-02, 1.0e-01, 3.0e-01, 2.0e-01],
    ]

    var rsdnm = [Double](repeating: 0, count: 5)
    var errnm = [Double](repeating: 0, count: 5)
    var frc = 0.0
    /// Seconds in the sweeps (barriers included), for `chooseDepth`.
    var sweepSeconds = 0.0

    /// Collective (the exchange allocates shared memory).
    init(_ context: RunContext) {
        self.context = context
        parameters = LUParameters(context.problemClass)
        let n = parameters.n
        grid = LUGrid(n: n, ranks: context.ranks, rank: context.rank)
        exchange = LUExchange(context.dsm, grid)
        itmax = parameters.itmax
        inorm = parameters.itmax
        dt = parameters.dt
        u = LUField(nx: grid.nx, ny: grid.ny, nz: grid.nz)
        rsd = LUField(nx: grid.nx, ny: grid.ny, nz: grid.nz)
        frct = LUField(nx: grid.nx, ny: grid.ny, nz: grid.nz)
        flux = LUField(nx: grid.nx, ny: grid.ny, nz: grid.nz)
        let blocks = 25 * (grid.nx + 2)
        a = .allocate(capacity: blocks)
        b = .allocate(capacity: blocks)
        c = .allocate(capacity: blocks)
        d = .allocate(capacity: blocks)
        for matrix in [a, b, c, d] { matrix.initialize(repeating: 0, count: blocks) }
        tv = .allocate(capacity: 5)
        tv.initialize(repeating: 0, count: 5)

        dxi = 1.0 / Double(grid.nx0 - 1)
        deta = 1.0 / Double(grid.ny0 - 1)
        dzeta = 1.0 / Double(grid.nz0 - 1)
        tx1 = 1.0 / (dxi * dxi)
        tx2 = 1.0 / (2.0 * dxi)
        tx3 = 1.0 / dxi
        ty1 = 1.0 / (deta * deta)
        ty2 = 1.0 / (2.0 * deta)
        ty3 = 1.0 / deta
        tz1 = 1.0 / (dzeta * dzeta)
        tz2 = 1.0 / (2.0 * dzeta)
        tz3 = 1.0 / dzeta
        dssp = max(dx, dy, dz) / 4.0
    }

    /// exact: the exact solution at global point (i, j, k).
    @inline(__always)
    func exact(_ i: Int, _ j: Int, _ k: Int, into out: UnsafeMutablePointer<Double>) {
        let xi = Double(i - 1) / Double(grid.nx0 - 1)
        let eta = Double(j - 1) / Double(grid.ny0 - 1)
        let zeta = Double(k - 1) / Double(grid.nz - 1)
        for m in 0..<5 {
            let e = ce[m]
            out[m] = e[0] + e[1] * xi + e[2] * eta + e[3] * zeta + e[4] * xi * xi + e[5] * eta * eta
                + e[6] * zeta * zeta + e[7] * xi * xi * xi + e[8] * eta * eta * eta + e[9] * zeta * zeta * zeta
                + e[10] * xi * xi * xi * xi + e[11] * eta * eta * eta * eta + e[12] * zeta * zeta * zeta * zeta
        }
    }

    /// setbv: u on the boundary faces this rank holds.
    func setbv() {
        let g = grid
        for j in 1...g.ny {
            for i in 1...g.nx {
                exact(g.ipt + i, g.jpt + j, 1, into: u.at(i, j, 1))
                exact(g.ipt + i, g.jpt + j, g.nz, into: u.at(i, j, g.nz))
            }
        }
        for k in 1...g.nz {
            for i in 1...g.nx {
                if g.west == nil { exact(g.ipt + i, 1, k, into: u.at(i, 1, k)) }
                if g.east == nil { exact(g.ipt + i, g.ny0, k, into: u.at(i, g.ny, k)) }
            }
            for j in 1...g.ny {
                if g.north == nil { exact(1, g.jpt + j, k, into: u.at(1, j, k)) }
                if g.south == nil { exact(g.nx0, g.jpt + j, k, into: u.at(g.nx, j, k)) }
            }
        }
    }

    /// setiv: u inside, a transfinite interpolation of the boundary values.
    func setiv() {
        let g = grid
        let faces = UnsafeMutablePointer<Double>.allocate(capacity: 30)
        defer { faces.deallocate() }
        for k in 2..<g.nz {
            let zeta = Double(k - 1) / Double(g.nz - 1)
            for j in 1...g.ny {
                let jglob = g.jpt + j
                if jglob == 1 || jglob == g.ny0 { continue }
                let eta = Double(jglob - 1) / Double(g.ny0 - 1)
                for i in 1...g.nx {
                    let iglob = g.ipt + i
                    if iglob == 1 || iglob == g.nx0 { continue }
                    let xi = Double(iglob - 1) / Double(g.nx0 - 1)
                    exact(1, jglob, k, into: faces)
                    exact(g.nx0, jglob, k, into: faces + 5)
                    exact(iglob, 1, k, into: faces + 10)
                    exact(iglob, g.ny0, k, into: faces + 15)
                    exact(iglob, jglob, 1, into: faces + 20)
                    exact(iglob, jglob, g.nz, into: faces + 25)
                    let p = u.at(i, j, k)
                    for m in 0..<5 {
                        let pxi = (1.0 - xi) * faces[m] + xi * faces[5 + m]
                        let peta = (1.0 - eta) * faces[10 + m] + eta * faces[15 + m]
                        let pzeta = (1.0 - zeta) * faces[20 + m] + zeta * faces[25 + m]
                        p[m] = pxi + peta + pzeta - pxi * peta - peta * pzeta - pzeta * pxi + pxi * peta * pzeta
                    }
                }
            }
        }
    }

    /// l2norm: the RMS of each component over the interior (collective).
    func l2norm(_ v: LUField) -> [Double] {
        let g = grid
        var sums = [Double](repeating: 0, count: 5)
        for k in 2..<g.nz0 {
            for j in g.jst...g.jend {
                for i in g.ist...g.iend {
                    let p = v.at(i, j, k)
                    for m in 0..<5 { sums[m] += p[m] * p[m] }
                }
            }
        }
        let points = Double(g.nx0 - 2) * Double(g.ny0 - 2) * Double(g.nz0 - 2)
        return Collectives.allreduce(sums, .sum).map { ($0 / points).squareRoot() }
    }

    /// error: the RMS of u - exact over the interior (collective).
    func error() {
        let g = grid
        var sums = [Double](repeating: 0, count: 5)
        let exactValue = UnsafeMutablePointer<Double>.allocate(capacity: 5)
        defer { exactValue.deallocate() }
        for k in 2..<g.nz {
            for j in g.jst...g.jend {
                for i in g.ist...g.iend {
                    exact(g.ipt + i, g.jpt + j, k, into: exactValue)
                    let p = u.at(i, j, k)
                    for m in 0..<5 {
                        let tmp = exactValue[m] - p[m]
                        sums[m] += tmp * tmp
                    }
                }
            }
        }
        let points = Double(g.nx0 - 2) * Double(g.ny0 - 2) * Double(g.nz0 - 2)
        errnm = Collectives.allreduce(sums, .sum).map { ($0 / points).squareRoot() }
    }
}

func runLU(_ context: RunContext) {
    let parameters = LUParameters(context.problemClass)
    let n = parameters.n
    context.say("")
    context.say("")
    context.say(" NAS Parallel Benchmarks 3.4 -- LU Benchmark")
    context.say("")
    context.say(" Size: " + pad(String(n), 4) + "x" + pad(String(n), 4) + "x" + pad(String(n), 4)
        + "  (class \(context.problemClass.rawValue))")
    context.say(" Iterations: " + pad(String(parameters.itmax), 4))
    context.say(" Total number of processes: " + pad(String(context.ranks), 5))
    context.say("")

    let lu = LUBenchmark(context)
    lu.setbv()
    lu.setiv()
    lu.erhs()
    // One untimed iteration touches every page and code path, then the start is restored.
    _ = lu.ssor(1)
    lu.chooseDepth()
    lu.setbv()
    lu.setiv()
    let seconds = lu.ssor(lu.itmax)
    let x = lu.exchange
    if context.progress {
        err("[npb] LU rank \(context.rank): \(x.steps) sweep steps, " + String(format: "%.3f s in the sweeps, "
            + "%.3f s of them at their barriers, %.3f s reading lines; %.3f s exchanging ghosts (warm-up included)",
            lu.sweepSeconds, x.stepSeconds, x.lineSeconds, x.ghostSeconds))
    }
    lu.error()
    lu.pintgr()
    guard context.isRoot else { return }

    let verified = lu.verify()
    let nn = Double(n), mean = Double(3 * n) / 3.0
    // NPB's operation count, with its single-precision constants.
    let mflops = 1.0e-6 * Double(parameters.itmax) * (Double(Float(1984.77)) * nn * nn * nn
        - Double(Float(10923.3)) * (mean * mean) + Double(Float(27770.9)) * Double(3 * n) / 3.0
        - Double(Float(144010.0))) / seconds
    Report(name: "LU", problemClass: context.problemClass, size: .grid(n, n, n), iterations: parameters.itmax,
           seconds: seconds, processes: context.ranks, mops: mflops, operation: "floating point",
           verified: verified).print()
}
