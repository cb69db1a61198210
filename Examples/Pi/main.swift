// pi: integrates 4/(1+x^2) over [0,1]. Work is cut into fixed chunks dealt to the ranks;
// each chunk's partial sum goes to a shared array, and after the barrier rank 0 adds the
// chunks in order, so the printed value is identical for any number of ranks.
//
//   mpirun -np 4 .build/release/example-pi [intervals]
import SwiftDSM

let dsm = DSM.start()
let intervals = CommandLine.arguments.dropFirst().first.flatMap { Int($0) } ?? 50_000_000
let chunks = 1024
let partial = dsm.allocate(Double.self, count: chunks, homes: .blockCyclic(bytes: 4096))
let width = 1.0 / Double(intervals)
let start = monotonicNanoseconds()
for chunk in stride(from: dsm.rank, to: chunks, by: dsm.rankCount) {
    let range = (intervals * chunk / chunks)..<(intervals * (chunk + 1) / chunks)
    var sum = 0.0
    for index in range {
        let x = (Double(index) + 0.5) * width
        sum += 4.0 / (1.0 + x * x)
    }
    partial[chunk] = sum * width
}
dsm.barrier()
if dsm.rank == 0 {
    let pi = partial.reduce(0, +)
    let seconds = Double(monotonicNanoseconds() - start) / 1e9
    print("pi = \(pi)")
    print("error = \(abs(pi - Double.pi)), \(intervals) intervals, \(dsm.rankCount) ranks, \(String(seconds)) s")
}
dsm.finish()
