import Foundation
import SwiftDSM
import Collectives

struct FTParameters {
    let nx: Int, ny: Int, nz: Int
    let niter: Int
    let reference: [(Double, Double)]

    init(_ problemClass: ProblemClass) {
        switch problemClass {
        case .S:
            (nx, ny, nz, niter) = (64, 64, 64, 6)
            reference = [(5.546087004964e+02, 4.845363331978e+02), (5.546385409189e+02, 4.865304269511e+02),
                         (5.546148406171e+02, 4.883910722336e+02), (5.545423607415e+02, 4.901273169046e+02),
                         (5.544255039624e+02, 4.917475857993e+02), (5.542683411902e+02, 4.932597244941e+02)]
        case .W:
            (nx, ny, nz, niter) = (128, 128, 32, 6)
            reference = [(5.673612178944e+02, 5.293246849175e+02), (5.631436885271e+02, 5.282149986629e+02),
                         (5.594024089970e+02, 5.270996558037e+02), (5.560698047020e+02, 5.260027904925e+02),
                         (5.530898991250e+02, 5.249400845633e+02), (5.504159734538e+02, 5.239212247086e+02)]
        case .A:
            (nx, ny, nz, niter) = (256, 256, 128, 6)
            reference = [(5.046735008193e+02, 5.114047905510e+02), (5.059412319734e+02, 5.098809666433e+02),
                         (5.069376896287e+02, 5.098144042213e+02), (5.077892868474e+02, 5.101336130759e+02),
                         (5.085233095391e+02, 5.104914655194e+02), (5.091487099959e+02, 5.107917842803e+02)]
        case .B:
            (nx, ny, nz, niter) = (512, 256, 256, 20)
            reference = [(5.177643571579e+02, 5.077803458597e+02), (5.154521291263e+02, 5.088249431599e+02),
                         (5.146409228649e+02, 5.096208912659e+02), (5.142378756213e+02, 5.101023387619e+02),
                         (5.139626667737e+02, 5.103976610617e+02), (5.137423460082e+02, 5.105948019802e+02),
                         (5.135547056878e+02, 5.107404165783e+02), (5.133910925466e+02, 5.108576573661e+02),
                         (5.132470705390e+02, 5.109577278523e+02), (5.131197729984e+02, 5.110460304483e+02),
                         (5.130070319283e+02, 5.111252433800e+02), (5.129070537032e+02, 5.111968077718e+02),
                         (5.128182883502e+02, 5.112616233064e+02), (5.127393733383e+02, 5.113203605551e+02),
                         (5.126691062020e+02, 5.113735928093e+02), (5.126064276004e+02, 5.114218460548e+02),
                         (5.125504076570e+02, 5.114656139760e+02), (5.125002331720e+02, 5.115053595966e+02),
                         (5.124551951846e+02, 5.115415130407e+02), (5.124146770029e+02, 5.115744692211e+02)]
        }
    }
}

/// Columns transformed together (NPB's fftblock).
let fftBlock = 16

/// NPB's Stockham FFT (cfftz/fftz2) on `fftBlock` columns at once, stored split:
/// element k of column j at re[k * fftBlock + j], im[...].
final class BlockFFT {
    let rootsRe: UnsafeMutablePointer<Double>
    let rootsIm: UnsafeMutablePointer<Double>
    let xr: UnsafeMutablePointer<Double>, xi: UnsafeMutablePointer<Double>
    let yr: UnsafeMutablePointer<Double>, yi: UnsafeMutablePointer<Double>

    init(maxLength: Int) {
        rootsRe = .allocate(capacity: maxLength)
        rootsIm = .allocate(capacity: maxLength)
        rootsRe.initialize(repeating: 0, count: maxLength)
        rootsIm.initialize(repeating: 0, count: maxLength)
        var ln = 1
        while ln < maxLength {
            let t = Double.pi / Double(ln)
            for i in 0..<ln {
                let ti = Double(i) * t
                rootsRe[ln + i] = cos(ti)
                rootsIm[ln + i] = sin(ti)
            }
            ln *= 2
        }
        let size = maxLength * fftBlock
        xr = .allocate(capacity: size); xi = .allocate(capacity: size)
        yr = .allocate(capacity: size); yi = .allocate(capacity: size)
    }

    @inline(__always)
    private func pass(_ sign: Int, _ l: Int, _ m: Int, _ n: Int,
                      _ ar: UnsafeMutablePointer<Double>, _ ai: UnsafeMutablePointer<Double>,
                      _ br: UnsafeMutablePointer<Double>, _ bi: UnsafeMutablePointer<Double>) {
        let b = fftBlock
        let n1 = n / 2
        let lk = 1 << (l - 1)
        let li = 1 << (m - l)
        let lj = 2 * lk
        for i in 0..<li {
            let i11 = i * lk
            let i12 = i11 + n1
            let i21 = i * lj
            let i22 = i21 + lk
            let ur = rootsRe[li + i]
            let ui = sign >= 1 ? rootsIm[li + i] : -rootsIm[li + i]
            for k in 0..<lk {
                let pa = (i11 + k) * b, pb = (i12 + k) * b, pc = (i21 + k) * b, pd = (i22 + k) * b
                let a1r = ar + pa, a1i = ai + pa, a2r = ar + pb, a2i = ai + pb
                let c1r = br + pc, c1i = bi + pc, c2r = br + pd, c2i = bi + pd
                for j in 0..<16 {
                    let x11r = a1r[j], x11i = a1i[j]
                    let x21r = a2r[j], x21i = a2i[j]
                    c1r[j] = x11r + x21r
                    c1i[j] = x11i + x21i
                    let dr = x11r - x21r, di = x11i - x21i
                    c2r[j] = ur * dr - ui * di
                    c2i[j] = ur * di + ui * dr
                }
            }
        }
    }

    /// Transforms the block in xr/xi (length n = 2^m); the result is in xr/xi.
    func transform(_ sign: Int, _ m: Int, _ n: Int) {
        var l = 1
        while l <= m {
            pass(sign, l, m, n, xr, xi, yr, yi)
            if l == m {
                memcpy(xr, yr, n * fftBlock * 8)
                memcpy(xi, yi, n * fftBlock * 8)
                break
            }
            pass(sign, l + 1, m, n, yr, yi, xr, xi)
            l += 2
        }
    }

    /// FFT of `lines` contiguous complex lines of length n (interleaved re/im), in place.
    func contiguousLines(_ data: UnsafeMutablePointer<Double>, lines: Int, n: Int, sign: Int) {
        let m = n.trailingZeroBitCount
        let b = fftBlock
        var first = 0
        while first < lines {
            let base = data + 2 * first * n
            for j in 0..<b {
                let line = base + 2 * j * n
                for k in 0..<n {
                    xr[k * b + j] = line[2 * k]
                    xi[k * b + j] = line[2 * k + 1]
                }
            }
            transform(sign, m, n)
            for j in 0..<b {
                let line = base + 2 * j * n
                for k in 0..<n {
                    line[2 * k] = xr[k * b + j]
                    line[2 * k + 1] = xi[k * b + j]
                }
            }
            first += b
        }
    }

    /// FFT along a strided axis of one plane: element k of column c at data[k * columns + c]
    /// (complex, interleaved), for every column c in 0..<columns, in place.
    func stridedColumns(_ data: UnsafeMutablePointer<Double>, columns: Int, n: Int, sign: Int) {
        let m = n.trailingZeroBitCount
        let b = fftBlock
        var first = 0
        while first < columns {
            for k in 0..<n {
                let source = data + 2 * (k * columns + first)
                let dr = xr + k * b, di = xi + k * b
                for j in 0..<16 {
                    dr[j] = source[2 * j]
                    di[j] = source[2 * j + 1]
                }
            }
            transform(sign, m, n)
            for k in 0..<n {
                let target = data + 2 * (k * columns + first)
                let sr = xr + k * b, si = xi + k * b
                for j in 0..<16 {
                    target[2 * j] = sr[j]
                    target[2 * j + 1] = si[j]
                }
            }
            first += b
        }
    }
}

/// FT: 3D FFT PDE. Two layouts: X (this rank's z-slab, [z][y][x]) and Y (this rank's
/// y-slab, [y][z][x]), x fastest in both. Forward: x and y FFTs in X, transpose, z FFT in Y.
/// Inverse: z and x FFTs in Y, transpose, y FFT in X. Each transpose goes through shared
/// memory: the sender packs the block for each destination contiguously into its own slab
/// (page-aligned, homed on itself), a barrier publishes it, the receiver copies each whole
/// block out with `DSM.read` and unpacks it line by line.
final class FTBenchmark {
    let context: RunContext
    let parameters: FTParameters
    let nx: Int, ny: Int, nz: Int
    let ranks: Int, rank: Int
    let nzl: Int, nyl: Int
    let z0: Int, y0: Int
    let u0: UnsafeMutablePointer<Double>   // Y layout
    let u1: UnsafeMutablePointer<Double>   // Y layout
    let u2: UnsafeMutablePointer<Double>   // X layout
    let twiddle: UnsafeMutablePointer<Double>  // Y layout, real
    let fft: BlockFFT
    var mailbox: Mailbox?
    /// One received block, unpacked from here line by line.
    let inbox: UnsafeMutablePointer<Double>
    let local: Int
    var sums: [(Double, Double)] = []

    init(_ context: RunContext) {
        self.context = context
        parameters = FTParameters(context.problemClass)
        nx = parameters.nx; ny = parameters.ny; nz = parameters.nz
        ranks = context.ranks; rank = context.rank
        nzl = nz / ranks; nyl = ny / ranks
        z0 = rank * nzl; y0 = rank * nyl
        local = nx * ny * nz / ranks
        u0 = .allocate(capacity: 2 * local)
        u1 = .allocate(capacity: 2 * local)
        u2 = .allocate(capacity: 2 * local)
        twiddle = .allocate(capacity: local)
        u0.initialize(repeating: 0, count: 2 * local)
        u1.initialize(repeating: 0, count: 2 * local)
        u2.initialize(repeating: 0, count: 2 * local)
        twiddle.initialize(repeating: 0, count: local)
        fft = BlockFFT(maxLength: max(nx, max(ny, nz)))
        inbox = .allocate(capacity: ranks > 1 ? 2 * nzl * nyl * nx : 0)
        if ranks > 1 { mailbox = Mailbox(context.dsm, blockBytes: nzl * nyl * nx * 16) }
    }

    func computeIndexMap() {
        let ap = -4.0 * 1.0e-6 * Double.pi * Double.pi
        for yl in 0..<nyl {
            let y = y0 + yl
            let jj = (y + ny / 2) % ny - ny / 2
            for z in 0..<nz {
                let kk = (z + nz / 2) % nz - nz / 2
                let kj2 = jj * jj + kk * kk
                let row = twiddle + (yl * nz + z) * nx
                for x in 0..<nx {
                    let ii = (x + nx / 2) % nx - nx / 2
                    row[x] = exp(ap * Double(ii * ii + kj2))
                }
            }
        }
    }

    /// Random initial field in X layout (u2).
    func computeInitialConditions() {
        let a = npbMultiplier
        for zl in 0..<nzl {
            var x0 = 314_159_265.0
            _ = randlc(&x0, npbPower(a, 2 * nx * ny * (z0 + zl)))
            for y in 0..<ny {
                vranlc(2 * nx, &x0, a, u2 + 2 * ((zl * ny + y) * nx))
            }
        }
    }

    /// X layout (source) to Y layout (target).
    func transposeXY(_ source: UnsafeMutablePointer<Double>, _ target: UnsafeMutablePointer<Double>) {
        let lineBytes = nx * 16
        for zl in 0..<nzl {
            for yl in 0..<nyl {
                memcpy(target + 2 * ((yl * nz + z0 + zl) * nx), source + 2 * ((zl * ny + y0 + yl) * nx), lineBytes)
            }
        }
        guard var mailbox else { return }
        for d in 0..<ranks where d != rank {
            let block = mailbox.outbox(to: d).assumingMemoryBound(to: Double.self)
            mailbox.board.prepareWrite(UnsafeMutableRawPointer(block), bytes: nzl * nyl * lineBytes)
            let yd = d * nyl
            for zl in 0..<nzl {
                for yl in 0..<nyl {
                    memcpy(block + 2 * ((zl * nyl + yl) * nx), source + 2 * ((zl * ny + yd + yl) * nx), lineBytes)
                }
            }
        }
        mailbox.deliver()
        for s in 0..<ranks where s != rank {
            mailbox.receive(from: s, bytes: nzl * nyl * lineBytes, into: inbox)
            let block = inbox
            let zs = s * nzl
            for zl in 0..<nzl {
                for yl in 0..<nyl {
                    memcpy(target + 2 * ((yl * nz + zs + zl) * nx), block + 2 * ((zl * nyl + yl) * nx), lineBytes)
                }
            }
        }
        mailbox.finishTurn()
        self.mailbox = mailbox
    }

    /// Y layout (source) to X layout (target).
    func transposeYX(_ source: UnsafeMutablePointer<Double>, _ target: UnsafeMutablePointer<Double>) {
        let lineBytes = nx * 16
        for yl in 0..<nyl {
            for zl in 0..<nzl {
                memcpy(target + 2 * ((zl * ny + y0 + yl) * nx), source + 2 * ((yl * nz + z0 + zl) * nx), lineBytes)
            }
        }
        guard var mailbox else { return }
        for d in 0..<ranks where d != rank {
            let block = mailbox.outbox(to: d).assumingMemoryBound(to: Double.self)
            mailbox.board.prepareWrite(UnsafeMutableRawPointer(block), bytes: nzl * nyl * lineBytes)
            let zd = d * nzl
            for yl in 0..<nyl {
                for zl in 0..<nzl {
                    memcpy(block + 2 * ((yl * nzl + zl) * nx), source + 2 * ((yl * nz + zd + zl) * nx), lineBytes)
                }
            }
        }
        mailbox.deliver()
        for s in 0..<ranks where s != rank {
            mailbox.receive(from: s, bytes: nzl * nyl * lineBytes, into: inbox)
            let block = inbox
            let ys = s * nyl
            for yl in 0..<nyl {
                for zl in 0..<nzl {
                    memcpy(target + 2 * ((zl * ny + ys + yl) * nx), block + 2 * ((yl * nzl + zl) * nx), lineBytes)
                }
            }
        }
        mailbox.finishTurn()
        self.mailbox = mailbox
    }

    /// Forward 3D FFT: u2 (X layout, destroyed) to u0 (Y layout).
    func forward() {
        fft.contiguousLines(u2, lines: nzl * ny, n: nx, sign: 1)
        for zl in 0..<nzl { fft.stridedColumns(u2 + 2 * zl * ny * nx, columns: nx, n: ny, sign: 1) }
        transposeXY(u2, u0)
        for yl in 0..<nyl { fft.stridedColumns(u0 + 2 * yl * nz * nx, columns: nx, n: nz, sign: 1) }
    }

    /// Inverse 3D FFT: u1 (Y layout, destroyed) to u2 (X layout).
    func inverse() {
        for yl in 0..<nyl { fft.stridedColumns(u1 + 2 * yl * nz * nx, columns: nx, n: nz, sign: -1) }
        fft.contiguousLines(u1, lines: nyl * nz, n: nx, sign: -1)
        transposeYX(u1, u2)
        for zl in 0..<nzl { fft.stridedColumns(u2 + 2 * zl * ny * nx, columns: nx, n: ny, sign: -1) }
    }

    func evolve() {
        let u0 = self.u0, u1 = self.u1, tw = twiddle
        for i in 0..<local {
            let t = tw[i]
            let re = u0[2 * i] * t
            let im = u0[2 * i + 1] * t
            u0[2 * i] = re
            u0[2 * i + 1] = im
            u1[2 * i] = re
            u1[2 * i + 1] = im
        }
    }

    func checksum(_ iteration: Int) {
        var re = 0.0, im = 0.0
        for j in 1...1024 {
            let q = j % nx, r = (3 * j) % ny, s = (5 * j) % nz
            if s >= z0 && s < z0 + nzl {
                let index = ((s - z0) * ny + r) * nx + q
                re += u2[2 * index]
                im += u2[2 * index + 1]
            }
        }
        let total = Collectives.allreduce([re, im], .sum)
        let ntotal = Double(nx) * Double(ny) * Double(nz)
        let chk = (total[0] / ntotal, total[1] / ntotal)
        sums.append(chk)
        context.say(" T =" + pad(String(iteration), 5) + "     Checksum =" + npbD(chk.0) + npbD(chk.1))
    }

    func npbD(_ value: Double) -> String {
        pad(String(format: "%.12E", value).replacingOccurrences(of: "E", with: "D"), 22)
    }

    func run(timed: Bool) {
        computeIndexMap()
        computeInitialConditions()
        forward()
        guard timed else { return }
        for iteration in 1...parameters.niter {
            let t0 = wallSeconds()
            evolve()
            inverse()
            checksum(iteration)
            context.note("FT iteration \(iteration): \(String(format: "%.4f", wallSeconds() - t0)) s")
        }
    }
}

func runFT(_ context: RunContext) {
    let parameters = FTParameters(context.problemClass)
    context.say("")
    context.say("")
    context.say(" NAS Parallel Benchmarks 3.4 -- FT Benchmark")
    context.say("")
    context.say(" No input file inputft.data. Using compiled defaults")
    context.say(" Size                : " + pad(String(parameters.nx), 4) + "x" + pad(String(parameters.ny), 4)
        + "x" + pad(String(parameters.nz), 4))
    context.say(" Iterations          : " + pad(String(parameters.niter), 7))
    context.say(" Number of processes : " + pad(String(context.ranks), 7))
    context.say(" Processor array     : " + pad("1", 7) + "x" + pad(String(context.ranks), 4))
    context.say(" Layout type         :              1D")
    context.say("")

    let ft = FTBenchmark(context)
    ft.run(timed: false)  // untimed: touches all data and code
    context.dsm.barrier()
    let start = wallSeconds()
    ft.run(timed: true)
    let elapsed = Collectives.allreduce(wallSeconds() - start, .max)
    guard context.isRoot else { return }

    var verified = ft.sums.count == parameters.niter
    for (index, sum) in ft.sums.enumerated() where verified {
        let reference = parameters.reference[index]
        let dr = sum.0 - reference.0, di = sum.1 - reference.1
        let error = (dr * dr + di * di).squareRoot() / (reference.0 * reference.0 + reference.1 * reference.1).squareRoot()
        if error.isNaN || error > 1e-12 { verified = false }
    }
    out(verified ? " Result verification successful" : " Result verification failed")
    out(" class = \(context.problemClass.rawValue)")
    let ntotal = Double(parameters.nx) * Double(parameters.ny) * Double(parameters.nz)
    let mops = 1e-6 * ntotal * (14.8157 + 7.19641 * log(ntotal) + (5.23518 + 7.21113 * log(ntotal))
        * Double(parameters.niter)) / elapsed
    Report(name: "FT", problemClass: context.problemClass, size: .grid(parameters.nx, parameters.ny, parameters.nz),
           iterations: parameters.niter, seconds: elapsed, processes: context.ranks, mops: mops,
           operation: "floating point", verified: verified).print()
}
