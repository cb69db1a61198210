// sor: red-black successive over-relaxation on an (n+2) x (n+2) grid with fixed borders,
// rows split in blocks over the ranks (each block homed on the rank that updates it). Each
// half-sweep reads the neighbours' boundary rows and ends with a barrier. The checksum is
// identical for any number of ranks: every update reads the same values in the same order.
//
//   mpirun -np 4 .build/release/example-sor [n] [iterations]
import SwiftDSM

let dsm = DSM.start()
let arguments = CommandLine.arguments.dropFirst().compactMap { Int($0) }
let n = arguments.first ?? 510
let iterations = arguments.dropFirst().first ?? 50
let width = n + 2
let rowsPerRank = (n + dsm.rankCount - 1) / dsm.rankCount
let grid = dsm.allocate(Double.self, count: width * width, homes: .blocked)
let myRows = min(1 + dsm.rank * rowsPerRank, n + 1)..<min(1 + (dsm.rank + 1) * rowsPerRank, n + 1)

// Borders: 1 on the top edge, 0 elsewhere; interior starts at 0. Rank 0 writes the borders.
if dsm.rank == 0 { for column in 0..<width { grid[column] = 1 } }
dsm.barrier()
let omega = 1.5
let start = monotonicNanoseconds()
for _ in 0..<iterations {
    for colour in 0..<2 {
        for row in myRows {
            var column = 1 + (row + colour) % 2
            while column <= n {
                let index = row * width + column
                let average = (grid[index - width] + grid[index + width] + grid[index - 1] + grid[index + 1]) / 4
                grid[index] += omega * (average - grid[index])
                column += 2
            }
        }
        dsm.barrier()
    }
}
if dsm.rank == 0 {
    var checksum = 0.0
    for row in 1...n { for column in 1...n { checksum += grid[row * width + column] * Double(column) } }
    let seconds = Double(monotonicNanoseconds() - start) / 1e9
    print("sor checksum = \(checksum)")
    print("n = \(n), \(iterations) iterations, \(dsm.rankCount) ranks, \(String(seconds)) s")
}
dsm.finish()
