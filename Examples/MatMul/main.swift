// matmul: C = A x B for n x n doubles in shared memory. A, B and C are split into row
// blocks homed on the ranks that initialise and compute them; every rank reads all of B.
// The checksum is identical for any number of ranks (each element is computed the same way).
//
//   mpirun -np 4 .build/release/example-matmul [n]
import SwiftDSM

let dsm = DSM.start()
let n = CommandLine.arguments.dropFirst().first.flatMap { Int($0) } ?? 512
let a = dsm.allocate(Double.self, count: n * n, homes: .blocked)
let b = dsm.allocate(Double.self, count: n * n, homes: .blocked)
let c = dsm.allocate(Double.self, count: n * n, homes: .blocked)
// Rows are split on page-aligned boundaries so each rank writes only its own pages.
let rowsPerRank = (n + dsm.rankCount - 1) / dsm.rankCount
let myRows = min(dsm.rank * rowsPerRank, n)..<min((dsm.rank + 1) * rowsPerRank, n)
for row in myRows {
    for column in 0..<n {
        a[row * n + column] = Double((row * 7 + column * 3) % 17) - 8
        b[row * n + column] = Double((row * 5 + column * 11) % 13) - 6
    }
}
dsm.barrier()
let start = monotonicNanoseconds()
var rowOfC = [Double](repeating: 0, count: n)
for row in myRows {
    for column in 0..<n { rowOfC[column] = 0 }
    for k in 0..<n {
        let factor = a[row * n + k]
        let bRow = b.base + k * n
        for column in 0..<n { rowOfC[column] += factor * bRow[column] }
    }
    for column in 0..<n { c[row * n + column] = rowOfC[column] }
}
dsm.barrier()
if dsm.rank == 0 {
    var checksum = 0.0
    for index in 0..<(n * n) { checksum += c[index] * Double(index % 7 + 1) }
    let seconds = Double(monotonicNanoseconds() - start) / 1e9
    print("matmul checksum = \(checksum)")
    print("n = \(n), \(dsm.rankCount) ranks, multiply \(String(seconds)) s")
}
dsm.finish()
