import Collectives
import Foundation
import Glibc
import SwiftDSM

/// `dsm-bench --checkpoint-dir DIR`: checkpoints of NPB-sized shared data (MG class A's
/// grids by default: 440 MiB), full and incremental (a tenth of the pages changed, then
/// none), against this machine's own sequential write bandwidth in the same directory and
/// the same run: each rank writes and `fsync`s as many bytes as its full part, at the same
/// time as the others. Rounds alternate the baseline and the checkpoints; medians printed.
/// `JIA_HOME_STORE=file:DIR` measures the file home store.
struct CheckpointBench {
    let dsm: DSM
    let directory: String
    let megabytes: Int
    let repetitions: Int

    func run() {
        let count = megabytes << 17  // doubles
        let data = dsm.allocate(Double.self, count: count, homes: .blocked)
        let mine = dsm.share(of: count)
        let pageDoubles = dsm.pageSize / 8
        // Homes fill their own share (blocked homes follow the same split, page-rounded).
        dsm.prepare(data, mine, for: .writing)
        for index in mine { data[index] = Double(index % 1009) + 0.5 }
        dsm.barrier()
        var baseline: [Double] = [], full: [Double] = [], change: [Double] = [], tenth: [Double] = [], none: [Double] = []
        var fullBytes = 0, tenthBytes = 0, noneBytes = 0
        // The first checkpoint of all: with a file home store, the only one that syncs every page.
        var firstFull = (seconds: 0.0, bytes: 0)
        for round in 0..<repetitions {
            baseline.append(sequentialWrite(bytes: mine.count * 8, round: round))
            let first = dsm.checkpoint(tag: 3 * round)
            // With a file home store only the run's first checkpoint hashes every page.
            precondition(first.full || (round > 0 && dsm.runtime.settings.homeStore != .memory),
                         "the bench's first checkpoint of a round must be full (checkpoint-full-every=3)")
            full.append(first.seconds)
            fullBytes = first.bytes
            if round == 0 { firstFull = (first.seconds, first.bytes) }
            // Every tenth page of this rank's share changes (timed: with a file home store
            // each first write of a home page goes to the undo log first).
            dsm.rendezvous()
            let changeStart = monotonicNanoseconds()
            var index = mine.lowerBound
            while index < mine.upperBound {
                data[index] += 1
                index += 10 * pageDoubles
            }
            dsm.barrier()
            change.append(Collectives.allreduce(Double(monotonicNanoseconds() - changeStart) / 1e9, .max))
            let changed = dsm.checkpoint(tag: 3 * round + 1)
            tenth.append(changed.seconds)
            tenthBytes = changed.bytes
            let unchanged = dsm.checkpoint(tag: 3 * round + 2)
            none.append(unchanged.seconds)
            noneBytes = unchanged.bytes
        }
        guard dsm.rank == 0 else { return }
        let total = Double(mine.count * 8 * dsm.rankCount) / 1_048_576
        let write = median(baseline)
        print(String(format: "checkpoint_data_mib %.0f MiB (%d ranks)", total, dsm.rankCount))
        print(String(format: "sequential_write_mibs %.0f MiB/s (write + fsync, every rank at once)", total / write))
        for (name, times, bytes) in [("full", full, fullBytes), ("incremental_tenth", tenth, tenthBytes),
                                     ("incremental_none", none, noneBytes)] {
            let seconds = median(times)
            print(String(format: "checkpoint_%@_s %.3f s, %.1f MiB written, %.0f MiB/s", name, seconds,
                         Double(bytes) / 1_048_576, Double(bytes) / 1_048_576 / seconds))
        }
        print(String(format: "checkpoint_first_s %.3f s, %.1f MiB written (the first full checkpoint of the run)",
                     firstFull.seconds, Double(firstFull.bytes) / 1_048_576))
        print(String(format: "change_tenth_s %.3f s (writing every tenth page, then a barrier)", median(change)))
        print(String(format: "ratio checkpoint_full_s / sequential write of the same bytes %.2f", median(full) / write))
    }

    /// Seconds for every rank to write and fsync `bytes` to its own file, in 1 MiB writes.
    private func sequentialWrite(bytes: Int, round: Int) -> Double {
        let path = directory + "/baseline-rank\(dsm.rank)"
        let chunk = 1 << 20
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: chunk, alignment: 4096)
        defer { buffer.deallocate() }
        memset(buffer, Int32(round + 1), chunk)
        dsm.rendezvous()
        let start = monotonicNanoseconds()
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        precondition(fd >= 0, "cannot create \(path): \(String(cString: strerror(errno)))")
        var left = bytes
        while left > 0 {
            let written = write(fd, buffer, min(chunk, left))
            precondition(written > 0, "writing \(path) failed: \(String(cString: strerror(errno)))")
            left -= written
        }
        fsync(fd)
        close(fd)
        dsm.rendezvous()
        let seconds = Double(monotonicNanoseconds() - start) / 1e9
        unlink(path)
        return Collectives.allreduce(seconds, .max)
    }

    private func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }
}
