import Foundation
import SwiftDSM
import Collectives

struct EPParameters {
    let m: Int
    let sxReference: Double
    let syReference: Double

    init(_ problemClass: ProblemClass) {
        switch problemClass {
        case .S: (m, sxReference, syReference) = (24, -3.247834652034740e+03, -6.958407078382297e+03)
        case .W: (m, sxReference, syReference) = (25, -2.863319731645753e+03, -6.320053679109499e+03)
        case .A: (m, sxReference, syReference) = (28, -4.295875165629892e+03, -1.580732573678431e+04)
        case .B: (m, sxReference, syReference) = (30, 4.033815542441498e+04, -2.660669192809235e+04)
        }
    }
}

/// EP: Gaussian pairs by the Marsaglia polar method, in batches of 2^16 pairs; each batch
/// jumps to its place in the stream. Nothing is shared but the final sums (Collectives).
func runEP(_ context: RunContext) {
    let parameters = EPParameters(context.problemClass)
    let m = parameters.m
    let mk = 16
    let nk = 1 << mk
    let nq = 10
    let batches = 1 << (m - mk)
    let a = npbMultiplier
    let s = 271_828_183.0
    let ranks = context.ranks
    let rank = context.rank

    context.say("")
    context.say(" NAS Parallel Benchmarks 3.4 -- EP Benchmark")
    context.say("")
    context.say(" Number of random numbers generated: " + pad(String(format: "%.0f", pow(2.0, Double(m + 1))), 15)
        + "  (class \(context.problemClass.rawValue))")
    context.say(" Total number of processes:          " + pad(String(ranks), 15))
    context.say("")

    var myBatches = batches / ranks
    let largeRanks = batches % ranks
    let extra = rank < largeRanks ? 1 : 0
    myBatches += extra
    let offset = extra == 1 ? rank * myBatches - 1 : largeRanks * (myBatches + 1) + (rank - largeRanks) * myBatches - 1

    let x = UnsafeMutablePointer<Double>.allocate(capacity: 2 * nk)
    defer { x.deallocate() }
    x.initialize(repeating: -1e99, count: 2 * nk)
    let px = UnsafeMutablePointer<Double>.allocate(capacity: nk + 1)
    let py = UnsafeMutablePointer<Double>.allocate(capacity: nk + 1)
    let pt = UnsafeMutablePointer<Double>.allocate(capacity: nk + 1)
    defer { px.deallocate(); py.deallocate(); pt.deallocate() }
    let q = UnsafeMutablePointer<Double>.allocate(capacity: nq)
    defer { q.deallocate() }

    context.dsm.barrier()
    let start = wallSeconds()

    var t1 = a
    for _ in 0...mk { _ = randlc(&t1, t1) }
    let an = t1
    var sx = 0.0
    var sy = 0.0
    q.initialize(repeating: 0, count: nq)

    if myBatches > 0 {
        for k in 1...myBatches {
            var seed = npbSkipAhead(s, strides: offset + k, strideMultiplier: an)
            vranlc(2 * nk, &seed, a, x)
            // Accepted pairs first (branch-free compaction), then the transcendental work on them.
            var accepted = 0
            for i in 0..<nk {
                let x1 = 2.0 * x[2 * i] - 1.0
                let x2 = 2.0 * x[2 * i + 1] - 1.0
                let t = x1 * x1 + x2 * x2
                px[accepted] = x1
                py[accepted] = x2
                pt[accepted] = t
                accepted &+= 1 &- Int((1.0 - t).bitPattern >> 63)  // t <= 1, without a branch
            }
            var lsx = 0.0
            var lsy = 0.0
            for i in 0..<accepted {
                let t = pt[i]
                let f = (-2.0 * log(t) / t).squareRoot()
                let t3 = px[i] * f
                let t4 = py[i] * f
                let l = Int(max(abs(t3), abs(t4)))
                q[l] += 1.0
                lsx += t3
                lsy += t4
            }
            sx += lsx
            sy += lsy
            if context.progress && k % 256 == 0 { context.note("EP batch \(k) of \(myBatches)") }
        }
    }

    sx = Collectives.allreduce(sx, .sum)
    sy = Collectives.allreduce(sy, .sum)
    let counts = Collectives.allreduce(Array(UnsafeBufferPointer(start: q, count: nq)), .sum)
    let gc = counts.reduce(0, +)
    let elapsed = Collectives.allreduce(wallSeconds() - start, .max)

    guard context.isRoot else { return }
    let sxError = abs((sx - parameters.sxReference) / parameters.sxReference)
    let syError = abs((sy - parameters.syReference) / parameters.syReference)
    let verified = !sxError.isNaN && !syError.isNaN && sxError <= 1e-8 && syError <= 1e-8
    let mops = pow(2.0, Double(m + 1)) / elapsed / 1_000_000.0

    out("EP Benchmark Results:")
    out("")
    out("CPU Time =" + pad(String(format: "%.4f", elapsed), 10))
    out("N = 2^" + pad(String(m), 5))
    out("No. Gaussian Pairs =" + pad(String(format: "%.0f.", gc), 15))
    out("Sums = " + pad(String(format: "%.15E", sx), 25) + pad(String(format: "%.15E", sy), 25))
    out("Counts:")
    for i in 0..<nq { out(pad(String(i), 3) + pad(String(format: "%.0f.", counts[i]), 15)) }
    Report(name: "EP", problemClass: context.problemClass, size: .powerOfTwo(m + 1), iterations: 0,
           seconds: elapsed, processes: ranks, mops: mops, operation: "Random numbers generated",
           verified: verified).print()
}
