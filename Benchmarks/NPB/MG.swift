import Foundation
import SwiftDSM
import Collectives

struct MGParameters {
    let n: Int
    let nit: Int
    let reference: Double

    init(_ problemClass: ProblemClass) {
        switch problemClass {
        case .S: (n, nit, reference) = (32, 4, 0.5307707005734e-04)
        case .W: (n, nit, reference) = (128, 4, 0.6467329375339e-05)
        case .A: (n, nit, reference) = (256, 4, 0.2433365309069e-05)
        case .B: (n, nit, reference) = (256, 20, 0.1800564401355e-05)
        }
    }

    var levels: Int { n.trailingZeroBitCount }
}

/// One grid level: a private array with one ghost layer on each side. Fine levels are
/// distributed in slabs along i3 (the slowest index, so a halo is one contiguous plane);
/// coarse levels (at most 16^3, or too thin to split) are replicated on every rank.
final class MGLevel {
    let n: Int              // global points per dimension
    let distributed: Bool
    let n1: Int, n2: Int, n3: Int
    let planes: Int         // interior planes held here
    let z0: Int             // global index of the first interior plane
    let u: UnsafeMutablePointer<Double>
    let r: UnsafeMutablePointer<Double>

    init(n: Int, ranks: Int, rank: Int) {
        self.n = n
        distributed = ranks > 1 && n >= 32 && n % ranks == 0 && n / ranks >= 2
        planes = distributed ? n / ranks : n
        z0 = distributed ? rank * planes : 0
        n1 = n + 2
        n2 = n + 2
        n3 = planes + 2
        u = .allocate(capacity: n1 * n2 * n3)
        r = .allocate(capacity: n1 * n2 * n3)
        u.initialize(repeating: 0, count: n1 * n2 * n3)
        r.initialize(repeating: 0, count: n1 * n2 * n3)
    }

    var plane: Int { n1 * n2 }
    var count: Int { n1 * n2 * n3 }
}

/// MG: V-cycle multigrid, NPB's operators. Halos of distributed levels move through shared
/// memory: each rank copies its bottom and top interior planes into its own slab (homed on
/// it, page-aligned, two alternating copies), a barrier publishes them, and each rank pulls
/// the neighbour planes it needs. Going from the finest replicated level's parent down, each
/// rank restricts its own slab into its planes of the coarse grid, publishes them in a
/// gather slab, and after a barrier assembles the whole coarse grid; below that everything
/// is private and computed redundantly. Norms go through Collectives. Where an operator is
/// followed by resid, the two run in one sweep over the planes (MG streams its fine grid
/// from memory, so each sweep saved is time saved), with NPB's arithmetic unchanged.
final class MGBenchmark {
    let context: RunContext
    let parameters: MGParameters
    let ranks: Int
    let rank: Int
    let lt: Int
    var levels: [MGLevel] = []  // index k = 1...lt (levels[0] unused: the coarsest is k = 1)
    let v: UnsafeMutablePointer<Double>
    let a: (Double, Double, Double, Double) = (-8.0 / 3.0, 0.0, 1.0 / 6.0, 1.0 / 12.0)
    let c: (Double, Double, Double, Double)
    let scratch1: UnsafeMutablePointer<Double>
    let scratch2: UnsafeMutablePointer<Double>
    let scratch3: UnsafeMutablePointer<Double>
    var halo: SlabBoard?
    var halfSlab = 0
    var gather: SlabBoard?
    var haloTurn = 0
    var gatherTurn = 0
    var exchanges = 0
    /// Seconds in the halo and gather exchanges (publishing, barrier, pulling), and of them
    /// in their barriers, for --progress.
    var exchangeSeconds = 0.0
    var barrierSeconds = 0.0

    init(_ context: RunContext) {
        self.context = context
        parameters = MGParameters(context.problemClass)
        ranks = context.ranks
        rank = context.rank
        lt = parameters.levels
        if context.problemClass == .B {
            c = (-3.0 / 17.0, 1.0 / 33.0, -1.0 / 61.0, 0.0)
        } else {
            c = (-3.0 / 8.0, 1.0 / 32.0, -1.0 / 64.0, 0.0)
        }
        levels.append(MGLevel(n: 1, ranks: 1, rank: 0))  // placeholder for index 0
        for k in 1...lt { levels.append(MGLevel(n: 1 << k, ranks: context.ranks, rank: context.rank)) }
        let top = levels[lt]
        v = .allocate(capacity: top.count)
        v.initialize(repeating: 0, count: top.count)
        scratch1 = .allocate(capacity: top.n1 + 2)
        scratch2 = .allocate(capacity: top.n1 + 2)
        scratch3 = .allocate(capacity: top.n1 + 2)
        if top.distributed {
            let page = context.dsm.pageSize
            halfSlab = (top.plane * 8 + page - 1) / page * page
            halo = SlabBoard(context.dsm, slabBytes: 2 * halfSlab)
            // The gather slab for the first replicated level under a distributed one.
            var gatherBytes = 8
            for k in 2...lt where levels[k].distributed && !levels[k - 1].distributed {
                gatherBytes = max(gatherBytes, levels[k].planes / 2 * levels[k - 1].plane * 8)
            }
            gather = SlabBoard(context.dsm, slabBytes: gatherBytes)
        }
    }

    // MARK: ghost layers

    /// Periodic ghosts in i1 and i2 for interior planes [first, last].
    func periodicXY(_ array: UnsafeMutablePointer<Double>, _ level: MGLevel, planes range: ClosedRange<Int>) {
        let n1 = level.n1, n2 = level.n2, plane = level.plane
        for i3 in range {
            let base = array + i3 * plane
            for i2 in 1..<(n2 - 1) {
                let row = base + i2 * n1
                row[0] = row[n1 - 2]
                row[n1 - 1] = row[1]
            }
            memcpy(base, base + (n2 - 2) * n1, n1 * 8)
            memcpy(base + (n2 - 1) * n1, base + n1, n1 * 8)
        }
    }

    /// comm3: all ghost layers of `array` at `level`.
    func comm3(_ array: UnsafeMutablePointer<Double>, _ level: MGLevel) {
        periodicXY(array, level, planes: 1...(level.n3 - 2))
        exchangeGhostPlanes(array, level)
    }

    /// The ghost planes of `array` (i3 = 0 and n3 - 1), from the neighbours' interior planes
    /// (or this rank's own, periodically); their i1 and i2 ghosts must be set already.
    func exchangeGhostPlanes(_ array: UnsafeMutablePointer<Double>, _ level: MGLevel) {
        let n3 = level.n3, plane = level.plane
        let bytes = plane * 8
        if !level.distributed {
            memcpy(array, array + (n3 - 2) * plane, bytes)
            memcpy(array + (n3 - 1) * plane, array + plane, bytes)
            return
        }
        let exchangeStart = wallSeconds()
        defer { exchangeSeconds += wallSeconds() - exchangeStart }
        let board = halo!
        let mine = board.slab(rank, buffer: haloTurn)
        board.prepareWrite(mine, bytes: bytes)
        memcpy(mine, array + plane, bytes)
        board.prepareWrite(mine + halfSlab, bytes: bytes)
        memcpy(mine + halfSlab, array + (n3 - 2) * plane, bytes)
        let barrierStart = wallSeconds()
        context.dsm.barrier()
        barrierSeconds += wallSeconds() - barrierStart
        let lower = (rank - 1 + ranks) % ranks
        let upper = (rank + 1) % ranks
        readShared(context.dsm, array, board.slab(lower, buffer: haloTurn) + halfSlab, bytes)
        readShared(context.dsm, array + (n3 - 1) * plane, board.slab(upper, buffer: haloTurn), bytes)
        haloTurn ^= 1
        exchanges += 1
    }

    // MARK: operators

    /// The two partial sums of resid and psinv for the row at offset c of `a` (NPB's u1 and
    /// u2, r1 and r2, in its order of additions): `edges[i1]` of the four neighbours across
    /// a face in i2 and i3, `corners[i1]` of the four across an edge between i2 and i3.
    @inline(__always)
    func neighbourSums(_ a: UnsafeMutablePointer<Double>, _ c: Int, _ n1: Int, _ plane: Int,
                       into edges: UnsafeMutablePointer<Double>, _ corners: UnsafeMutablePointer<Double>) {
        let ym = a + (c - n1), yp = a + (c + n1), zm = a + (c - plane), zp = a + (c + plane)
        let zmym = a + (c - plane - n1), zmyp = a + (c - plane + n1)
        let zpym = a + (c + plane - n1), zpyp = a + (c + plane + n1)
        for i1 in 0..<n1 {
            edges[i1] = ym[i1] + yp[i1] + zm[i1] + zp[i1]
            corners[i1] = zmym[i1] + zmyp[i1] + zpym[i1] + zpyp[i1]
        }
    }

    /// r = v - A u, then r's ghosts.
    func resid(_ u: UnsafeMutablePointer<Double>, _ v: UnsafeMutablePointer<Double>,
               _ r: UnsafeMutablePointer<Double>, _ level: MGLevel) {
        for i3 in 1..<(level.n3 - 1) { residPlane(u, v, r, level, i3) }
        comm3(r, level)
    }

    /// Plane i3 of resid; reads planes i3 - 1 ... i3 + 1 of u.
    @inline(__always)
    func residPlane(_ u: UnsafeMutablePointer<Double>, _ v: UnsafeMutablePointer<Double>,
                    _ r: UnsafeMutablePointer<Double>, _ level: MGLevel, _ i3: Int) {
        let n1 = level.n1, n2 = level.n2, plane = level.plane
        let a0 = a.0, a2 = a.2, a3 = a.3
        let u1 = scratch1, u2 = scratch2
        for i2 in 1..<(n2 - 1) {
            let c = i2 * n1 + i3 * plane
            neighbourSums(u, c, n1, plane, into: u1, u2)
            let uc = u + c, vc = v + c, rc = r + c
            for i1 in 1..<(n1 - 1) {
                rc[i1] = vc[i1] - a0 * uc[i1] - a2 * (u2[i1] + u1[i1 - 1] + u1[i1 + 1])
                    - a3 * (u2[i1 - 1] + u2[i1 + 1])
            }
        }
    }

    /// u = u + S r, then u's ghosts.
    func psinv(_ r: UnsafeMutablePointer<Double>, _ u: UnsafeMutablePointer<Double>, _ level: MGLevel) {
        for i3 in 1..<(level.n3 - 1) { psinvPlane(r, u, level, i3) }
        comm3(u, level)
    }

    /// Plane i3 of psinv; reads planes i3 - 1 ... i3 + 1 of r.
    @inline(__always)
    func psinvPlane(_ r: UnsafeMutablePointer<Double>, _ u: UnsafeMutablePointer<Double>, _ level: MGLevel, _ i3: Int) {
        let n1 = level.n1, n2 = level.n2, plane = level.plane
        let c0 = c.0, c1 = c.1, c2 = c.2
        let r1 = scratch1, r2 = scratch2
        for i2 in 1..<(n2 - 1) {
            let c = i2 * n1 + i3 * plane
            neighbourSums(r, c, n1, plane, into: r1, r2)
            let uc = u + c, rc = r + c
            for i1 in 1..<(n1 - 1) {
                uc[i1] = uc[i1] + c0 * rc[i1] + c1 * (rc[i1 - 1] + rc[i1 + 1] + r1[i1])
                    + c2 * (r2[i1] + r1[i1 - 1] + r1[i1 + 1])
            }
        }
    }

    /// psinv(r, u) then resid(u, v, r) at the top level, in one sweep over the planes: plane
    /// i3 - 1 of the residual is computed as soon as plane i3 of u is smoothed, while the
    /// planes it reads are still in cache, instead of in a second sweep that reads u (and
    /// r, to overwrite it) from memory again. The residual of the two outer planes waits for
    /// u's ghost planes. The same operations in the same order on every point as the two
    /// calls: the results are bit for bit theirs.
    func smoothThenResidual() {
        let level = levels[lt]
        let u = level.u, r = level.r
        let last = level.n3 - 2
        for i3 in 1...last {
            psinvPlane(r, u, level, i3)
            periodicXY(u, level, planes: i3...i3)
            // Plane i3 - 1 of r is no longer read by psinv (plane i3 + 1 reads i3 ... i3 + 2).
            if i3 >= 3 { residPlane(u, v, r, level, i3 - 1) }
        }
        exchangeGhostPlanes(u, level)
        residPlane(u, v, r, level, 1)
        if last > 1 { residPlane(u, v, r, level, last) }
        comm3(r, level)
    }

    /// Restriction of fine `r` (m1k x m2k planes) into coarse `s` interior planes 1...m3j-2.
    func rprj3(_ r: UnsafeMutablePointer<Double>, _ m1k: Int, _ m2k: Int,
               _ s: UnsafeMutablePointer<Double>, _ m1j: Int, _ m2j: Int, _ m3j: Int) {
        let planeK = m1k * m2k, planeJ = m1j * m2j
        let x1 = scratch1, y1 = scratch2
        for j3 in 1..<(m3j - 1) {
            let i3 = 2 * j3
            for j2 in 1..<(m2j - 1) {
                let i2 = 2 * j2
                let c = i2 * m1k + i3 * planeK
                let ym = r + (c - m1k), yp = r + (c + m1k), zm = r + (c - planeK), zp = r + (c + planeK)
                let zmym = r + (c - planeK - m1k), zpym = r + (c + planeK - m1k)
                let zmyp = r + (c - planeK + m1k), zpyp = r + (c + planeK + m1k)
                let rc = r + c
                for j1 in 1..<m1j {
                    let i1 = 2 * j1 - 1
                    x1[i1] = ym[i1] + yp[i1] + zm[i1] + zp[i1]
                    y1[i1] = zmym[i1] + zpym[i1] + zmyp[i1] + zpyp[i1]
                }
                let out = s + (j2 * m1j + j3 * planeJ)
                for j1 in 1..<(m1j - 1) {
                    let i1 = 2 * j1
                    let y2 = zmym[i1] + zpym[i1] + zmyp[i1] + zpyp[i1]
                    let x2 = ym[i1] + yp[i1] + zm[i1] + zp[i1]
                    out[j1] = 0.5 * rc[i1] + 0.25 * (rc[i1 - 1] + rc[i1 + 1] + x2)
                        + 0.125 * (x1[i1 - 1] + x1[i1 + 1] + y2) + 0.0625 * (y1[i1 - 1] + y1[i1 + 1])
                }
            }
        }
    }

    /// Prolongation (NPB's interp) from coarse plane i3 of `z` (mm1 x mm2 planes, ghosts
    /// included): adds its interpolation to fine planes 2 i3 and 2 i3 + 1 of `u` (n1 x n2
    /// planes; ghost rows and planes included).
    @inline(__always)
    func interpPlanes(_ z: UnsafeMutablePointer<Double>, _ mm1: Int, _ mm2: Int, _ i3: Int,
                      _ u: UnsafeMutablePointer<Double>, _ n1: Int, _ n2: Int) {
        let pz = mm1 * mm2, pu = n1 * n2
        let z1 = scratch1, z2 = scratch2, z3 = scratch3
        for i2 in 0..<(mm2 - 1) {
            let zc = z + (i2 * mm1 + i3 * pz)
            let zy = zc + mm1, zz = zc + pz, zzy = zc + pz + mm1
            for i1 in 0..<mm1 {
                z1[i1] = zy[i1] + zc[i1]
                z2[i1] = zz[i1] + zc[i1]
                z3[i1] = zzy[i1] + zz[i1] + z1[i1]
            }
            let u00 = u + ((2 * i2) * n1 + (2 * i3) * pu)
            let u10 = u00 + n1, u01 = u00 + pu, u11 = u00 + n1 + pu
            for i1 in 0..<(mm1 - 1) {
                u00[2 * i1] += zc[i1]
                u00[2 * i1 + 1] += 0.5 * (zc[i1 + 1] + zc[i1])
            }
            for i1 in 0..<(mm1 - 1) {
                u10[2 * i1] += 0.5 * z1[i1]
                u10[2 * i1 + 1] += 0.25 * (z1[i1] + z1[i1 + 1])
            }
            for i1 in 0..<(mm1 - 1) {
                u01[2 * i1] += 0.5 * z2[i1]
                u01[2 * i1 + 1] += 0.25 * (z2[i1] + z2[i1 + 1])
            }
            for i1 in 0..<(mm1 - 1) {
                u11[2 * i1] += 0.25 * z3[i1]
                u11[2 * i1 + 1] += 0.125 * (z3[i1] + z3[i1 + 1])
            }
        }
    }

    /// r at level k-1 from r at level k, ghosts included.
    func restrict(_ k: Int) {
        let fine = levels[k], coarse = levels[k - 1]
        if coarse.distributed || !fine.distributed {
            rprj3(fine.r, fine.n1, fine.n2, coarse.r, coarse.n1, coarse.n2, coarse.n3)
            comm3(coarse.r, coarse)
            return
        }
        // Distributed fine, replicated coarse: this rank's coarse planes, then gather.
        let mine = fine.planes / 2
        let first = fine.z0 / 2 + 1  // first coarse interior plane computed here
        rprj3(fine.r, fine.n1, fine.n2, coarse.r + (first - 1) * coarse.plane, coarse.n1, coarse.n2, mine + 2)
        periodicXY(coarse.r, coarse, planes: first...(first + mine - 1))
        let bytes = mine * coarse.plane * 8
        let exchangeStart = wallSeconds()
        defer { exchangeSeconds += wallSeconds() - exchangeStart }
        let board = gather!
        let slab = board.slab(rank, buffer: gatherTurn)
        board.prepareWrite(slab, bytes: bytes)
        memcpy(slab, coarse.r + first * coarse.plane, bytes)
        let barrierStart = wallSeconds()
        context.dsm.barrier()
        barrierSeconds += wallSeconds() - barrierStart
        for source in 0..<ranks where source != rank {
            let theirFirst = source * mine + 1
            readShared(context.dsm, coarse.r + theirFirst * coarse.plane, board.slab(source, buffer: gatherTurn), bytes)
        }
        gatherTurn ^= 1
        let n3 = coarse.n3, plane = coarse.plane
        memcpy(coarse.r, coarse.r + (n3 - 2) * plane, plane * 8)
        memcpy(coarse.r + (n3 - 1) * plane, coarse.r + plane, plane * 8)
    }

    /// Where level k's prolongation reads the coarse u, and how many of its planes (ghosts
    /// included): all of it, or under a distributed level the part over this rank's planes.
    func prolongationSource(_ k: Int) -> (UnsafeMutablePointer<Double>, Int) {
        let fine = levels[k], coarse = levels[k - 1]
        if coarse.distributed || !fine.distributed { return (coarse.u, coarse.n3) }
        return (coarse.u + fine.z0 / 2 * coarse.plane, fine.planes / 2 + 2)
    }

    /// prolongate(k) then resid(u, v, r) at level k, in one sweep: plane i3 of the residual
    /// is computed as soon as the interpolation has finished planes i3 - 1 ... i3 + 1 of u,
    /// while they are in cache. The same operations in the same order on every point.
    func prolongateThenResidual(_ k: Int, _ v: UnsafeMutablePointer<Double>) {
        let level = levels[k], coarse = levels[k - 1]
        let (z, planes) = prolongationSource(k)
        let last = level.n3 - 2
        var residual = 1  // the next plane of r to compute
        for i3 in 0..<(planes - 1) {
            interpPlanes(z, coarse.n1, coarse.n2, i3, level.u, level.n1, level.n2)
            // u is final up to plane 2 i3 + 1, so r can be up to plane 2 i3.
            while residual <= min(2 * i3, last) {
                residPlane(level.u, v, level.r, level, residual)
                residual += 1
            }
        }
        while residual <= last {
            residPlane(level.u, v, level.r, level, residual)
            residual += 1
        }
        comm3(level.r, level)
    }

    /// NPB's mg3P (one V-cycle), then the residual r = v - A u that follows it every time.
    func vCycleThenResidual() {
        for k in stride(from: lt, through: 2, by: -1) { restrict(k) }
        let bottom = levels[1]
        bottom.u.update(repeating: 0, count: bottom.count)
        psinv(bottom.r, bottom.u, bottom)
        if lt > 2 {
            for k in 2..<lt {
                let level = levels[k]
                level.u.update(repeating: 0, count: level.count)
                prolongateThenResidual(k, level.r)
                psinv(level.r, level.u, level)
            }
        }
        prolongateThenResidual(lt, v)
        smoothThenResidual()
    }

    /// (L2 norm, max norm) of the top-level residual.
    func norm2u3() -> (Double, Double) {
        let top = levels[lt]
        let r = top.r
        // Four sums and maxima side by side: one running sum is a chain of dependent adds,
        // four chains keep the adder busy (the order of the additions changes; the norm
        // agrees with NPB's reference to far below its 1e-8 check).
        var sums = SIMD4<Double>(repeating: 0)
        var maxima = SIMD4<Double>(repeating: 0)
        var sum = 0.0
        var largest = 0.0
        let interior = top.n1 - 2
        let quads = interior / 4
        for i3 in 1..<(top.n3 - 1) {
            for i2 in 1..<(top.n2 - 1) {
                let row = r + (i2 * top.n1 + i3 * top.plane + 1)
                let raw = UnsafeRawPointer(row)
                for quad in 0..<quads {
                    let x = raw.loadUnaligned(fromByteOffset: quad * 32, as: SIMD4<Double>.self)
                    sums += x * x
                    maxima = pointwiseMax(maxima, pointwiseMax(x, -x))
                }
                for i1 in (quads * 4)..<interior {
                    sum += row[i1] * row[i1]
                    largest = max(largest, abs(row[i1]))
                }
            }
        }
        sum += sums.sum()
        largest = max(largest, maxima.max())
        if top.distributed {
            sum = Collectives.allreduce(sum, .sum)
            largest = Collectives.allreduce(largest, .max)
        }
        let count = Double(top.n) * Double(top.n) * Double(top.n)
        return ((sum / count).squareRoot(), largest)
    }

    /// zran3: v = +1 at the 10 largest and -1 at the 10 smallest of the random field.
    func zran3() {
        let top = levels[lt]
        let nx = top.n, ny = top.n
        let aa = npbMultiplier
        let a1 = npbPower(aa, nx)
        let a2 = npbPower(aa, nx * ny)
        v.update(repeating: 0, count: top.count)
        let ai = npbPower(aa, nx * ny * top.z0)
        var x0 = 314_159_265.0
        _ = randlc(&x0, ai)
        for i3 in 1...top.planes {
            var x1 = x0
            for i2 in 1...ny {
                var xx = x1
                vranlc(nx, &xx, aa, v + (1 + i2 * top.n1 + i3 * top.plane))
                _ = randlc(&x1, a1)
            }
            _ = randlc(&x0, a2)
        }
        // The 10 largest (ascending, best last) and 10 smallest (descending, best last) here.
        let mm = 10
        var bigValue = [Double](repeating: 0.0, count: mm)
        var bigIndex = [Int](repeating: -1, count: mm)
        var smallValue = [Double](repeating: 1.0, count: mm)
        var smallIndex = [Int](repeating: -1, count: mm)
        for i3 in 1...top.planes {
            for i2 in 1...ny {
                let row = v + (i2 * top.n1 + i3 * top.plane)
                for i1 in 1...nx {
                    let value = row[i1]
                    let global = (i1 - 1) + nx * ((i2 - 1) + ny * (top.z0 + i3 - 1))
                    if value > bigValue[0] {
                        bigValue[0] = value
                        bigIndex[0] = global
                        var i = 0
                        while i < mm - 1 && bigValue[i] > bigValue[i + 1] {
                            bigValue.swapAt(i, i + 1)
                            bigIndex.swapAt(i, i + 1)
                            i += 1
                        }
                    }
                    if value < smallValue[0] {
                        smallValue[0] = value
                        smallIndex[0] = global
                        var i = 0
                        while i < mm - 1 && smallValue[i] < smallValue[i + 1] {
                            smallValue.swapAt(i, i + 1)
                            smallIndex.swapAt(i, i + 1)
                            i += 1
                        }
                    }
                }
            }
        }
        var bigs = zip(bigValue, bigIndex).map { ($0, $1) }
        var smalls = zip(smallValue, smallIndex).map { ($0, $1) }
        if top.distributed {
            let values = Collectives.allgather(bigValue + smallValue)
            let indices = Collectives.allgather(bigIndex + smallIndex)
            bigs = []
            smalls = []
            for source in 0..<ranks {
                for i in 0..<mm { bigs.append((values[source * 2 * mm + i], indices[source * 2 * mm + i])) }
                for i in 0..<mm { smalls.append((values[source * 2 * mm + mm + i], indices[source * 2 * mm + mm + i])) }
            }
        }
        bigs = Array(bigs.filter { $0.1 >= 0 }.sorted { $0.0 > $1.0 }.prefix(mm))
        smalls = Array(smalls.filter { $0.1 >= 0 }.sorted { $0.0 < $1.0 }.prefix(mm))
        v.update(repeating: 0, count: top.count)
        let planeSize = nx * ny
        func place(_ global: Int, _ value: Double) {
            let z = global / planeSize
            guard z >= top.z0 && z < top.z0 + top.planes else { return }
            let y = (global % planeSize) / nx
            let x = global % nx
            v[(x + 1) + (y + 1) * top.n1 + (z - top.z0 + 1) * top.plane] = value
        }
        for (_, index) in smalls { place(index, -1.0) }
        for (_, index) in bigs { place(index, 1.0) }
        comm3(v, top)
    }
}

func runMG(_ context: RunContext) {
    let parameters = MGParameters(context.problemClass)
    let n = parameters.n
    context.say("")
    context.say("")
    context.say(" NAS Parallel Benchmarks 3.4 -- MG Benchmark")
    context.say("")
    context.say(" No input file. Using compiled defaults ")
    context.say(" Size: " + pad(String(n), 4) + "x" + pad(String(n), 4) + "x" + pad(String(n), 4)
        + "  (class \(context.problemClass.rawValue))")
    context.say(" Iterations: " + pad(String(parameters.nit), 5))
    context.say(" Number of processes: " + pad(String(context.ranks), 6))
    context.say("")

    let initStart = wallSeconds()
    let mg = MGBenchmark(context)
    let top = mg.levels[mg.lt]
    mg.zran3()
    mg.resid(top.u, mg.v, top.r, top)
    _ = mg.norm2u3()
    mg.vCycleThenResidual()
    top.u.update(repeating: 0, count: top.count)
    mg.zran3()
    let initTime = Collectives.allreduce(wallSeconds() - initStart, .max)
    context.say(" Initialization time: " + pad(String(format: "%.3f", initTime), 15) + " seconds")
    context.say("")

    context.dsm.barrier()
    (mg.exchanges, mg.exchangeSeconds, mg.barrierSeconds) = (0, 0, 0)
    let start = wallSeconds()
    mg.resid(top.u, mg.v, top.r, top)
    _ = mg.norm2u3()
    for it in 1...parameters.nit {
        if it == 1 || it == parameters.nit || it % 5 == 0 { context.say("  iter " + pad(String(it), 3)) }
        let t0 = wallSeconds()
        mg.vCycleThenResidual()
        context.note("MG iteration \(it): \(String(format: "%.4f", wallSeconds() - t0)) s")
    }
    let (rnm2, _) = mg.norm2u3()
    let elapsed = Collectives.allreduce(wallSeconds() - start, .max)
    if context.progress {
        err(String(format: "[npb] MG rank %d: %d exchanges %.4f s, of which barriers %.4f s (timed part)",
                   context.rank, mg.exchanges, mg.exchangeSeconds, mg.barrierSeconds))
    }
    guard context.isRoot else { return }

    out("")
    out(" Benchmark completed ")
    let error = abs(rnm2 - parameters.reference) / parameters.reference
    let verified = !error.isNaN && error <= 1e-8
    if verified {
        out(" VERIFICATION SUCCESSFUL ")
        out(" L2 Norm is " + fortranE(rnm2, 20, 13))
        out(" Error is   " + fortranE(error, 20, 13))
    } else {
        out(" VERIFICATION FAILED")
        out(" L2 Norm is             " + fortranE(rnm2, 20, 13))
        out(" The correct L2 Norm is " + fortranE(parameters.reference, 20, 13))
    }
    let nn = Double(n) * Double(n) * Double(n)
    let mops = 58.0 * Double(parameters.nit) * nn * 1e-6 / elapsed
    Report(name: "MG", problemClass: context.problemClass, size: .grid(n, n, n), iterations: parameters.nit,
           seconds: elapsed, processes: context.ranks, mops: mops, operation: "floating point",
           verified: verified).print()
}
