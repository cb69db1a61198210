import Foundation
import SwiftDSM
import Collectives

struct CGParameters {
    let na: Int
    let nonzer: Int
    let niter: Int
    let shift: Double
    let zetaReference: Double

    init(_ problemClass: ProblemClass) {
        switch problemClass {
        case .S: (na, nonzer, niter, shift, zetaReference) = (1400, 7, 15, 10, 8.5971775078648)
        case .W: (na, nonzer, niter, shift, zetaReference) = (7000, 8, 15, 12, 10.362595087124)
        case .A: (na, nonzer, niter, shift, zetaReference) = (14000, 11, 15, 20, 17.130235054029)
        case .B: (na, nonzer, niter, shift, zetaReference) = (75000, 13, 75, 60, 22.712745482631)
        }
    }
}

/// The rows of the CG matrix one rank owns, in CSR form with global 0-based columns.
struct CSRRows {
    var rowStart: [Int32]   // nrows + 1 offsets
    var column: [Int32]
    var value: [Double]
}

/// NPB makea for rows [firstRow, lastRow) (0-based): the whole random stream is generated
/// (it is sequential), but only the owned rows are assembled; the result equals those rows
/// of the serial matrix, entry for entry.
func makeCGRows(n: Int, nonzer: Int, shift: Double, firstRow: Int, lastRow: Int) -> CSRRows {
    let rcond = 0.1
    var tran = 314_159_265.0
    let amult = npbMultiplier
    _ = randlc(&tran, amult)

    var nn1 = 1
    repeat { nn1 *= 2 } while nn1 < n

    let width = nonzer + 1
    var arow = [Int](repeating: 0, count: n + 1)           // 1-based outer index
    var acol = [Int32](repeating: 0, count: width * (n + 1))  // 1-based columns
    var aelt = [Double](repeating: 0, count: width * (n + 1))
    var vc = [Double](repeating: 0, count: width + 1)
    var ivc = [Int](repeating: 0, count: width + 1)

    for iouter in 1...n {
        // sprnvc: nonzer distinct random positions in 1...n with random values.
        var nzv = 0
        while nzv < nonzer {
            let vecelt = randlc(&tran, amult)
            let vecloc = randlc(&tran, amult)
            let i = Int(Double(nn1) * vecloc) + 1
            if i > n { continue }
            var duplicate = false
            for ii in 0..<nzv where ivc[ii] == i { duplicate = true; break }
            if duplicate { continue }
            vc[nzv] = vecelt
            ivc[nzv] = i
            nzv += 1
        }
        // vecset(iouter, 0.5)
        var set = false
        for k in 0..<nzv where ivc[k] == iouter { vc[k] = 0.5; set = true }
        if !set { vc[nzv] = 0.5; ivc[nzv] = iouter; nzv += 1 }
        arow[iouter] = nzv
        for k in 0..<nzv {
            acol[iouter * width + k] = Int32(ivc[k])
            aelt[iouter * width + k] = vc[k]
        }
    }

    // sparse, for the owned rows (1-based rows firstRow+1 ... lastRow).
    let nrows = lastRow - firstRow
    let lo = firstRow + 1
    let hi = lastRow
    var rowstr = [Int](repeating: 0, count: nrows + 1)
    for i in 1...n {
        for nza in 0..<arow[i] {
            let j = Int(acol[i * width + nza])
            if j >= lo && j <= hi { rowstr[j - lo + 1] += arow[i] }
        }
    }
    for j in 0..<nrows { rowstr[j + 1] += rowstr[j] }
    let capacity = rowstr[nrows]
    var v = [Double](repeating: 0, count: max(capacity, 1))
    var iv = [Int32](repeating: 0, count: max(capacity, 1))
    var nzloc = [Int](repeating: 0, count: nrows)

    var size = 1.0
    let ratio = pow(rcond, 1.0 / Double(n))
    for i in 1...n {
        for nza in 0..<arow[i] {
            let j = Int(acol[i * width + nza])
            if j < lo || j > hi { continue }
            let row = j - lo
            let scale = size * aelt[i * width + nza]
            for nzrow in 0..<arow[i] {
                let jcol = acol[i * width + nzrow]
                var va = aelt[i * width + nzrow] * scale
                if Int(jcol) == j && j == i { va += rcond - shift }
                let rowBegin = rowstr[row]
                let rowEnd = rowstr[row + 1]
                var k = rowBegin
                var placed = false
                while k < rowEnd {
                    if iv[k] > jcol {
                        var kk = rowEnd - 2
                        while kk >= k {
                            if iv[kk] > 0 {
                                v[kk + 1] = v[kk]
                                iv[kk + 1] = iv[kk]
                            }
                            kk -= 1
                        }
                        iv[k] = jcol
                        v[k] = 0
                        placed = true
                        break
                    } else if iv[k] == 0 {
                        iv[k] = jcol
                        placed = true
                        break
                    } else if iv[k] == jcol {
                        nzloc[row] += 1
                        placed = true
                        break
                    }
                    k += 1
                }
                precondition(placed, "internal error in sparse: i=\(i)")
                v[k] += va
            }
        }
        size *= ratio
    }

    // Drop the slots freed by duplicates.
    var result = CSRRows(rowStart: [Int32](repeating: 0, count: nrows + 1), column: [], value: [])
    result.column.reserveCapacity(capacity)
    result.value.reserveCapacity(capacity)
    for row in 0..<nrows {
        let used = rowstr[row + 1] - rowstr[row] - nzloc[row]
        for k in rowstr[row]..<(rowstr[row] + used) {
            result.column.append(iv[k] - 1)
            result.value.append(v[k])
        }
        result.rowStart[row + 1] = Int32(result.column.count)
    }
    return result
}

/// A matrix's column indices in the narrowest width that holds its order: 2 bytes up to
/// 65,536 columns (classes S, W and A), 4 beyond. The product streams the matrix, 12 bytes
/// a nonzero with 4-byte indices and 10 with 2-byte ones; class A measured 8% faster at
/// np 1 and 20% at np 2 with them (BENCHMARKS).
enum ColumnIndices {
    case narrow(UnsafeMutablePointer<UInt16>)
    case wide(UnsafeMutablePointer<Int32>)

    init(_ columns: [Int32], columnCount: Int) {
        if columnCount <= Int(UInt16.max) + 1 {
            let narrow = UnsafeMutablePointer<UInt16>.allocate(capacity: max(columns.count, 1))
            for (i, column) in columns.enumerated() { narrow[i] = UInt16(column) }
            self = .narrow(narrow)
        } else {
            let wide = UnsafeMutablePointer<Int32>.allocate(capacity: max(columns.count, 1))
            wide.initialize(from: columns, count: columns.count)
            self = .wide(wide)
        }
    }
}

/// CG: the inverse power method with 25 CG steps per outer iteration. Rows are split in
/// contiguous blocks; every rank holds its rows of x, z, r, q and p, plus a private copy of
/// the whole p (or z) for its matrix-vector product. The exchange that completes that copy
/// goes through shared memory: each rank writes its slice of p into its own page-aligned
/// slab (homed on it), a barrier publishes it, and every rank pulls the other slices (a few
/// prefetched faults). Dot products go through Collectives.allreduce.
final class CGBenchmark {
    let context: RunContext
    let parameters: CGParameters
    let n: Int
    let ranks: Int
    let rank: Int
    let rowRanges: [Range<Int>]
    let firstRow: Int
    let rows: Int
    let matrix: CSRRows
    let rowStart: UnsafeMutablePointer<Int32>
    let columns: ColumnIndices
    let value: UnsafeMutablePointer<Double>

    let x: UnsafeMutablePointer<Double>
    let z: UnsafeMutablePointer<Double>
    let r: UnsafeMutablePointer<Double>
    let q: UnsafeMutablePointer<Double>
    /// The whole vector the product reads; this rank's slice is pFull + firstRow.
    let pFull: UnsafeMutablePointer<Double>
    var board: SlabBoard
    var turn = 0
    /// Seconds in the exchanges, in their barriers, and in the allreduces, for --progress.
    var times = (exchanges: 0.0, barriers: 0.0, reductions: 0.0)

    init(_ context: RunContext) {
        self.context = context
        parameters = CGParameters(context.problemClass)
        n = parameters.na
        ranks = context.ranks
        rank = context.rank
        let dsm = context.dsm
        let na = parameters.na
        let ranges = (0..<context.ranks).map { dsm.share(of: na, for: $0) }
        rowRanges = ranges
        let mine = ranges[context.rank]
        firstRow = mine.lowerBound
        rows = mine.count
        matrix = makeCGRows(n: na, nonzer: parameters.nonzer, shift: parameters.shift,
                            firstRow: mine.lowerBound, lastRow: mine.upperBound)
        rowStart = .allocate(capacity: rows + 1)
        value = .allocate(capacity: max(matrix.value.count, 1))
        for i in 0...rows { rowStart[i] = matrix.rowStart[i] }
        for i in 0..<matrix.value.count { value[i] = matrix.value[i] }
        columns = ColumnIndices(matrix.column, columnCount: na)
        x = .allocate(capacity: max(rows, 1))
        z = .allocate(capacity: max(rows, 1))
        r = .allocate(capacity: max(rows, 1))
        q = .allocate(capacity: max(rows, 1))
        pFull = .allocate(capacity: n)
        pFull.initialize(repeating: 0, count: n)
        let largest = ranges.map(\.count).max() ?? 0
        board = SlabBoard(context.dsm, slabBytes: largest * 8)
    }

    /// Completes pFull: this rank's slice is already in place; the others come from the board.
    func exchange() {
        guard ranks > 1 else { return }
        let start = wallSeconds()
        defer { times.exchanges += wallSeconds() - start }
        let mine = board.slab(rank, buffer: turn)
        board.prepareWrite(mine, bytes: rows * 8)
        memcpy(mine, pFull + firstRow, rows * 8)
        let barrierStart = wallSeconds()
        context.dsm.barrier()
        times.barriers += wallSeconds() - barrierStart
        for source in 0..<ranks where source != rank {
            let range = rowRanges[source]
            let destination = UnsafeMutableRawPointer(pFull + range.lowerBound)
            let slab = UnsafeRawPointer(board.slab(source, buffer: turn))
            let bytes = range.count * 8
            // With --threads, the slab's pages are read by several threads at once.
            parallelChunks((bytes + 4095) / 4096, threads: context.threads) { pages in
                let low = pages.lowerBound * 4096, high = min(pages.upperBound * 4096, bytes)
                readShared(context.dsm, destination + low, slab + low, high - low)
            }
        }
        turn ^= 1
    }

    /// q[0..<rows] = A(my rows) * pFull, split among `--threads` threads.
    @inline(__always)
    func multiply(into result: UnsafeMutablePointer<Double>) {
        parallelChunks(rows, threads: context.threads) { multiply(rows: $0, into: result) }
    }

    @inline(__always)
    func multiply(rows: Range<Int>, into result: UnsafeMutablePointer<Double>) {
        switch columns {
        case .narrow(let column): multiply(rows: rows, column, into: result)
        case .wide(let column): multiply(rows: rows, column, into: result)
        }
    }

    @inline(__always)
    func multiply<Index: BinaryInteger>(rows: Range<Int>, _ column: UnsafeMutablePointer<Index>,
                                        into result: UnsafeMutablePointer<Double>) {
        let rowStart = self.rowStart, value = self.value, p = self.pFull
        // Four partial sums a row, as NPB's own unrolled variants of this loop: one running
        // sum is a chain of dependent adds, which bounds the loop, not its loads.
        for j in rows {
            var s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0
            var k = Int(rowStart[j])
            let end = Int(rowStart[j + 1])
            while k + 4 <= end {
                s0 += value[k] * p[Int(column[k])]
                s1 += value[k + 1] * p[Int(column[k + 1])]
                s2 += value[k + 2] * p[Int(column[k + 2])]
                s3 += value[k + 3] * p[Int(column[k + 3])]
                k += 4
            }
            while k < end {
                s0 += value[k] * p[Int(column[k])]
                k += 1
            }
            result[j] = (s0 + s1) + (s2 + s3)
        }
    }

    /// The sum of `value` over all ranks (timed for --progress).
    @inline(__always)
    func sumOverRanks(_ value: Double) -> Double {
        let start = wallSeconds()
        defer { times.reductions += wallSeconds() - start }
        return Collectives.allreduce(value, .sum)
    }

    func conjugateGradient() -> Double {
        let rows = self.rows
        let x = self.x, z = self.z, r = self.r, q = self.q
        let p = pFull + firstRow
        var rho = 0.0
        for j in 0..<rows {
            q[j] = 0
            z[j] = 0
            r[j] = x[j]
            p[j] = x[j]
            rho += x[j] * x[j]
        }
        rho = sumOverRanks(rho)
        for _ in 1...25 {
            exchange()
            multiply(into: q)
            var d = 0.0
            for j in 0..<rows { d += p[j] * q[j] }
            d = sumOverRanks(d)
            let alpha = rho / d
            let rho0 = rho
            var rhoLocal = 0.0
            for j in 0..<rows {
                z[j] += alpha * p[j]
                r[j] -= alpha * q[j]
                rhoLocal += r[j] * r[j]
            }
            rho = sumOverRanks(rhoLocal)
            let beta = rho / rho0
            for j in 0..<rows { p[j] = r[j] + beta * p[j] }
        }
        // ||x - A z||: the product needs the whole z.
        for j in 0..<rows { p[j] = z[j] }
        exchange()
        multiply(into: r)
        var sum = 0.0
        for j in 0..<rows {
            let d = x[j] - r[j]
            sum += d * d
        }
        return sumOverRanks(sum).squareRoot()
    }

    /// One outer iteration: returns (rnorm, zeta) and replaces x by z / ||z||.
    func outerIteration() -> (Double, Double) {
        let rnorm = conjugateGradient()
        var t1 = 0.0
        var t2 = 0.0
        for j in 0..<rows {
            t1 += x[j] * z[j]
            t2 += z[j] * z[j]
        }
        let norms = Collectives.allreduce([t1, t2], .sum)
        let t3 = 1.0 / norms[1].squareRoot()
        let zeta = parameters.shift + 1.0 / norms[0]
        for j in 0..<rows { x[j] = t3 * z[j] }
        return (rnorm, zeta)
    }

    func resetX() { for j in 0..<rows { x[j] = 1.0 } }
}

func runCG(_ context: RunContext) {
    let parameters = CGParameters(context.problemClass)
    context.say("")
    context.say("")
    context.say(" NAS Parallel Benchmarks 3.4 -- CG Benchmark")
    context.say("")
    context.say(" Size: " + pad(String(parameters.na), 11))
    context.say(" Iterations: " + pad(String(parameters.niter), 5))
    context.say(" Number of active processes: " + pad(String(context.ranks), 5))
    context.say(" Number of nonzeroes per row: " + pad(String(parameters.nonzer), 8))
    context.say(" Eigenvalue shift: " + fortranE(parameters.shift, 8, 3))

    let initStart = wallSeconds()
    let benchmark = CGBenchmark(context)
    benchmark.resetX()
    _ = benchmark.outerIteration()  // untimed warm-up
    benchmark.resetX()
    let initTime = Collectives.allreduce(wallSeconds() - initStart, .max)
    context.say(" Initialization time = " + pad(String(format: "%.3f", initTime), 15) + " seconds")

    context.dsm.barrier()
    benchmark.times = (0, 0, 0)
    let start = wallSeconds()
    var zeta = 0.0
    for it in 1...parameters.niter {
        let (rnorm, z) = benchmark.outerIteration()
        zeta = z
        if it == 1 { context.say("\n   iteration           ||r||                 zeta") }
        context.say("    " + pad(String(it), 5) + "      " + fortranE(rnorm, 21, 14) + pad(String(format: "%.13f", zeta), 20))
    }
    let elapsed = Collectives.allreduce(wallSeconds() - start, .max)
    if context.progress {
        let t = benchmark.times
        err(String(format: "[npb] CG rank %d: exchanges %.4f s, of which barriers %.4f s; sums %.4f s (timed part)",
                   context.rank, t.exchanges, t.barriers, t.reductions))
    }
    guard context.isRoot else { return }

    out(" Benchmark completed ")
    let error = abs(zeta - parameters.zetaReference) / parameters.zetaReference
    let verified = !error.isNaN && error <= 1e-10
    if verified {
        out(" VERIFICATION SUCCESSFUL ")
        out(" Zeta is    " + fortranE(zeta, 20, 13))
        out(" Error is   " + fortranE(error, 20, 13))
    } else {
        out(" VERIFICATION FAILED")
        out(" Zeta                " + fortranE(zeta, 20, 13))
        out(" The correct zeta is " + fortranE(parameters.zetaReference, 20, 13))
    }
    let nz = Double(parameters.nonzer)
    let mops = 1e-6 * 2 * Double(parameters.niter) * Double(parameters.na)
        * (3.0 + nz * (nz + 1) + 25.0 * (5.0 + nz * (nz + 1)) + 3.0) / elapsed
    Report(name: "CG", problemClass: context.problemClass, size: .count(parameters.na),
           iterations: parameters.niter, seconds: elapsed, processes: context.ranks, mops: mops,
           operation: "floating point", verified: verified).print()
}
