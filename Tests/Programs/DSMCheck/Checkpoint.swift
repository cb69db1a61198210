import Foundation
import SwiftDSM

/// A red-black SOR that checkpoints every 10 of its 40 iterations (tag: iterations done)
/// and, restarted, continues from the checkpoint it was restored from. Rank 0 prints a
/// digest of all shared memory at the end: a run killed and restarted must print the
/// digest of an uninterrupted one. Besides the grid: a table written once (so incremental
/// checkpoints leave it out), a share each rank writes in its neighbour's homes (home
/// migration moves them, so a restart must restore homes too), counters summed under a
/// lock in a range reused after a free, and a condition variable set before the first
/// checkpoint.
///
/// Options after the scenario name: `--kill-after=T` (the last rank kills itself right
/// after checkpoint T, in a run that was not restarted), `--kill-during=T` (it kills itself
/// once every part of checkpoint T is written, before the manifest), `--kill-in=I` (it kills
/// itself in iteration I, between its two colours: every rank has written since the last
/// checkpoint, so a file home store must be rolled back), `--other-allocation`
/// (the grid is allocated with another size, as a changed program would).
func checkpointScenario(_ dsm: DSM) {
    let options = CommandLine.arguments.dropFirst(2)
    func option(_ name: String) -> Int? {
        options.first { $0.hasPrefix("--\(name)=") }.flatMap { Int($0.split(separator: "=")[1]) }
    }
    let killAfter = option("kill-after")
    let killDuring = option("kill-during")
    let killIn = option("kill-in")
    let rows = 96, columns = 512
    let last = dsm.rankCount - 1
    // A scratch allocation freed at once: the counters below reuse its first page, and the
    // checkpoints must record it as freed.
    let scratch = dsm.allocate(Int64.self, count: 8 * 512, homes: .blocked)
    for index in dsm.share(of: scratch.count) { scratch[index] = Int64(index) }
    dsm.barrier()
    dsm.free(scratch)
    let grid = dsm.allocate(Double.self, count: rows * columns + (options.contains("--other-allocation") ? 1 : 0))
    let table = dsm.allocate(Double.self, count: 64 * 512, homes: .onRank(0))
    let shiftedWords = 512 * dsm.rankCount
    let shifted = dsm.allocate(Int64.self, count: shiftedWords, homes: .blocked)
    let counters = dsm.allocate(Int64.self, count: 8, homes: .onRank(last))
    let restored = dsm.restoredTag
    if dsm.rank == 0 { print("checkpoint: restored from \(restored.map(String.init) ?? "none")") }
    let mine = dsm.share(of: rows)
    if restored == nil {
        for row in mine {
            for column in 0..<columns { grid[row * columns + column] = Double((row * 7 + column * 3) % 17) }
        }
        if dsm.rank == 0 {
            for index in 0..<table.count { table[index] = Double(index % 97) * 0.25 }
            dsm.condition(5).set()
        }
    }
    dsm.barrier()
    // Set before the first checkpoint, restored with it: returns at once.
    dsm.condition(5).wait()
    if let killDuring, restored == nil {
        dsm.runtime.whenCheckpointPartsWrittenForTesting { tag in
            guard tag == killDuring else { return }
            if dsm.rank == last { kill(getpid(), SIGKILL) }
            sleep(60)  // the others wait for mpirun to end the job, as if the manifest never came
        }
    }
    var pagesWritten: [Int] = []
    for iteration in (restored ?? 0)..<40 {
        for color in 0..<2 {
            for row in mine where row > 0 && row < rows - 1 {
                for column in stride(from: 1 + (row + color) % 2, to: columns - 1, by: 2) {
                    let index = row * columns + column
                    let around = grid[index - 1] + grid[index + 1] + grid[index - columns] + grid[index + columns]
                    grid[index] = 0.25 * around + table[(index + iteration) % table.count] * 1e-3
                }
            }
            dsm.barrier()
            if color == 0, iteration == killIn, restored == nil, dsm.rank == last { kill(getpid(), SIGKILL) }
        }
        // Each rank writes the words of its neighbour's block: single writers, so homes move.
        let block = ((dsm.rank + 1) % dsm.rankCount) * 512
        for word in 0..<512 { shifted[block + word] = Int64(iteration * 1000 + dsm.rank * 10 + word % 7) }
        dsm.lock(1).withLock { counters[iteration % 8] += Int64(dsm.rank + 1) }
        if (iteration + 1) % 10 == 0 {
            let report = dsm.checkpoint(tag: iteration + 1)
            pagesWritten.append(report.pages)
            if dsm.rank == 0 {
                print("checkpoint: tag \(report.tag) \(report.full ? "full" : "incremental"), "
                    + "\(report.pages) pages, \(report.bytes) bytes")
            }
            if iteration + 1 == killAfter, restored == nil, dsm.rank == last { kill(getpid(), SIGKILL) }
        }
    }
    dsm.barrier()
    if restored == nil, pagesWritten.count >= 2 {
        // The table and the untouched border rows are left out of the incremental ones.
        Check.expect(pagesWritten[1] < pagesWritten[0], "an incremental checkpoint wrote fewer pages "
            + "(\(pagesWritten[1])) than the full one (\(pagesWritten[0]))")
    }
    if dsm.rank == 0 {
        // A file home store logs each home page before its first change after a checkpoint.
        print("checkpoint: undo log bytes \(dsm.runtime.statistics.undoLogBytes)")
        var digest = FNV()
        digest.add(grid.buffer)
        digest.add(table.buffer)
        digest.add(shifted.buffer)
        digest.add(counters.buffer)
        print("checkpoint: digest \(String(digest.value, radix: 16))")
    }
    dsm.barrier()
}

struct FNV {
    var value: UInt64 = 0xcbf2_9ce4_8422_2325
    mutating func add<Element>(_ buffer: UnsafeMutableBufferPointer<Element>) {
        for byte in UnsafeRawBufferPointer(buffer) {
            value = (value ^ UInt64(byte)) &* 0x100_0000_01b3
        }
    }
}
