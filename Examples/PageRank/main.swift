// example-pagerank: PageRank by Jacobi iteration over a random graph, once with strict
// consistency and once with snapshot reads (a stale copy of a rank's neighbours' scores may
// be used for a few synchronizations instead of being refetched after each barrier).
// Each rank updates its share of the nodes from the scores of their in-links, wherever
// those live. Checks: the strict run equals the sequential power method bit for bit and
// reads nothing stale; both runs converge to the sequential fixed point within the
// tolerance; the snapshot run moves fewer pages (fetched, or pushed at barriers).
//
//   mpirun -np 4 .build/release/example-pagerank [nodes] [max-age]
import Collectives
import Foundation
import SwiftDSM

let dsm = DSM.start()
let arguments = CommandLine.arguments.dropFirst().filter { !$0.hasPrefix("--") }
let nodes = arguments.first.flatMap { Int($0) } ?? 200_000
let maxAge = arguments.dropFirst().first.flatMap { Int($0) } ?? 2
let links = 8
let damping = 0.85
let tolerance = 1e-10  // on the L1 change over a window of iterations

/// The k-th in-link of node i: a deterministic pseudo-random source, the same on every rank.
@inline(__always) func source(_ node: Int, _ k: Int) -> Int {
    var z = UInt64(node &* links &+ k) &+ 0x9E37_79B9_7F4A_7C15
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return Int((z ^ (z >> 31)) % UInt64(nodes))
}

// Every rank knows every node's out-degree (the graph is generated, not stored).
var outDegree = [Int](repeating: 0, count: nodes)
for node in 0..<nodes { for k in 0..<links { outDegree[source(node, k)] += 1 } }
let share = outDegree.map { $0 == 0 ? 0.0 : 1.0 / Double($0) }
let base = (1 - damping) / Double(nodes)

/// One Jacobi step for `node`: the same arithmetic, in the same order, everywhere.
@inline(__always) func step(_ node: Int, _ scores: (Int) -> Double) -> Double {
    var sum = 0.0
    for k in 0..<links {
        let from = source(node, k)
        sum += scores(from) * share[from]
    }
    return base + damping * sum
}

struct Outcome {
    var iterations = 0
    var seconds = 0.0
    /// Pages fetched or pushed to the ranks.
    var fetched: UInt64 = 0
    var staleReads: UInt64 = 0
    /// Read faults, and refreshes of the region's expired copies (snapshot reads only).
    var readFaults: UInt64 = 0
    var refreshes: UInt64 = 0
    var scores: [Double] = []
}

/// Iterates until the L1 change summed over the last `window` iterations is below the
/// tolerance: with snapshot reads a rank may compute from unchanged stale inputs for up to
/// `maxAge` steps, so a window of maxAge + 1 iterations always holds fresh ones. One
/// shared vector, updated in place: a rank's own scores are always current (its home
/// pages), the others' are what the rank last saw of them (asynchronous Jacobi).
func run(_ consistency: DSM.Consistency, window: Int) -> Outcome {
    let scores = dsm.allocate(Double.self, count: nodes, consistency: consistency)
    let mine = dsm.share(of: nodes)
    for node in mine { scores[node] = 1.0 / Double(nodes) }
    dsm.barrier()
    let before = dsm.runtime.statistics
    let start = Date()
    var changes: [Double] = []
    var outcome = Outcome()
    var updated = [Double](repeating: 0, count: mine.count)
    while true {
        var change = 0.0
        for node in mine {
            let value = step(node) { scores[$0] }
            change += abs(value - scores[node])
            updated[node - mine.lowerBound] = value
        }
        // Written once every rank has swept: within a step every node reads the scores of the
        // step before (a home's new scores would otherwise reach a rank still sweeping).
        dsm.rendezvous()
        for node in mine { scores[node] = updated[node - mine.lowerBound] }
        dsm.barrier()
        outcome.iterations += 1
        changes.append(Collectives.allreduce(change, .sum))
        if changes.count >= window && changes.suffix(window).reduce(0, +) < tolerance { break }
        if outcome.iterations == 10_000 { break }
    }
    outcome.seconds = Date().timeIntervalSince(start)
    let counted = dsm.runtime.statistics
    // Pages moved to this rank: fetched, or pushed by their home at a barrier (broadcast).
    let moved = counted.pagesFetched + counted.pagesBroadcastIn - before.pagesFetched - before.pagesBroadcastIn
    outcome.fetched = Collectives.allreduce(moved, .sum)
    outcome.staleReads = Collectives.allreduce(counted.staleReads - before.staleReads, .sum)
    outcome.readFaults = Collectives.allreduce(counted.readFaults - before.readFaults, .sum)
    outcome.refreshes = Collectives.allreduce(counted.snapshotRefreshes - before.snapshotRefreshes, .sum)
    outcome.scores = Array(scores.buffer)
    dsm.barrier()
    dsm.free(scores)
    return outcome
}

let strict = run(.strict, window: 1)
let snapshot = run(.snapshot(maxAge: maxAge), window: maxAge + 1)

nonisolated(unsafe) var failures = 0
func check(_ condition: Bool, _ message: String) {
    if !condition {
        failures += 1
        if dsm.rank == 0 { print("pagerank: FAILED: \(message)") }
    }
}
if dsm.rank == 0 {
    // The sequential power method: as many steps as the strict run, then to convergence.
    var scores = [Double](repeating: 1.0 / Double(nodes), count: nodes)
    var next = scores
    func sweep() -> Double {
        var change = 0.0
        for node in 0..<nodes {
            next[node] = step(node) { scores[$0] }
            change += abs(next[node] - scores[node])
        }
        swap(&scores, &next)
        return change
    }
    for _ in 0..<strict.iterations { _ = sweep() }
    let sameBits = zip(scores, strict.scores).allSatisfy { $0.bitPattern == $1.bitPattern }
    let differing = zip(scores, strict.scores).enumerated().filter { $0.element.0.bitPattern != $0.element.1.bitPattern }
    check(sameBits, "the strict run differs from the sequential power method after \(strict.iterations) steps "
        + "at \(differing.count) nodes, first \(differing.first.map { "\($0.offset): \($0.element)" } ?? "-")")
    for _ in 0..<1000 where sweep() > 1e-15 {}
    let strictError = zip(scores, strict.scores).reduce(0.0) { $0 + abs($1.0 - $1.1) }
    let snapshotError = zip(scores, snapshot.scores).reduce(0.0) { $0 + abs($1.0 - $1.1) }
    for (name, outcome, error) in [("strict", strict, strictError), ("snapshot(maxAge: \(maxAge))", snapshot, snapshotError)] {
        print(String(format: "pagerank %@: %d iterations, %.3f s, %llu pages moved, %llu read faults, "
                     + "%llu region refreshes, %llu stale reads, L1 error %.2e",
                     name, outcome.iterations, outcome.seconds, outcome.fetched, outcome.readFaults,
                     outcome.refreshes, outcome.staleReads, error))
    }
    check(strictError < 1e-8, "the strict run is \(strictError) from the fixed point")
    check(snapshotError < 1e-8, "the snapshot run is \(snapshotError) from the fixed point")
    check(strict.staleReads == 0, "the strict allocation read \(strict.staleReads) stale copies")
    check(strict.refreshes == 0, "the strict allocation had \(strict.refreshes) region refreshes")
    if dsm.rankCount > 1 {
        check(snapshot.staleReads > 0, "the snapshot allocation never used a stale copy")
        check(snapshot.fetched < strict.fetched, "snapshot reads moved \(snapshot.fetched) pages, strict \(strict.fetched)")
        check(snapshot.refreshes > 0, "the snapshot allocation never refreshed its expired copies together")
        check(snapshot.readFaults < strict.readFaults,
              "snapshot reads took \(snapshot.readFaults) read faults, strict \(strict.readFaults)")
    }
    print(failures == 0 ? "pagerank: PASS (\(dsm.rankCount) ranks, \(nodes) nodes, transport \(dsm.runtime.transportName))"
          : "pagerank: FAIL")
}
let total = Collectives.allreduce(failures, .sum)
dsm.finish()
exit(total == 0 ? 0 : 1)
