import Collectives
import Foundation
import SwiftDSM

/// One figure: how to measure it once (collectively, returning rank 0's value) and its unit.
struct Figure {
    let name: String
    let unit: String
    let measure: () -> Double
}

struct Measurements {
    let dsm: DSM
    let repetitions: Int

    var figures: [Figure] {
        var figures = [
            Figure(name: "fault_read_us", unit: "us") { median { faultRead() } },
            Figure(name: "stream_read_mibs", unit: "MiB/s") { median { streamRead() } },
            Figure(name: "write_release_us_per_page", unit: "us") { median { writeRelease() } },
            Figure(name: "lock_remote_us", unit: "us") { median { lockRemote() } },
            Figure(name: "lock_contended_us", unit: "us") { median { lockContended() } },
            Figure(name: "barrier_us", unit: "us") { median { barrierLatency() } },
            Figure(name: "idle_cpu_percent", unit: "%") { median(count: 3) { idleCPU() } },
        ]
        // The ranks of one host read one clock.
        if dsm.runtime.cluster.allOnOneHost {
            figures.append(Figure(name: "grant_after_wait_us", unit: "us") { median { grantAfterWait() } })
        }
        return figures
    }

    private func median(count: Int? = nil, _ body: () -> Double) -> Double {
        let values = (0..<(count ?? repetitions)).map { _ in body() }.sorted()
        return values[values.count / 2]
    }

    private func seconds(_ body: () -> Void) -> Double {
        let start = monotonicNanoseconds()
        body()
        return Double(monotonicNanoseconds() - start) / 1e9
    }

    /// First-touch read of pages homed on rank 1, one page per fault: pages alternate
    /// between the ranks' homes, so no fault can prefetch a neighbour. Median fault, in us.
    func faultRead() -> Double {
        let pages = 4096
        let words = dsm.pageSize / 8
        let data = dsm.allocate(Int.self, count: pages * words, homes: .blockCyclic(bytes: dsm.pageSize, startRank: 1))
        for page in stride(from: 1 - dsm.rank, to: pages, by: 2) { data[page * words] = page }  // homes initialise
        dsm.barrier()
        var times = [Double]()
        times.reserveCapacity(pages / 2)
        if dsm.rank == 0 {
            var sink = 0
            for page in stride(from: 0, to: pages, by: 2) {  // homed on rank 1
                let start = monotonicNanoseconds()
                sink &+= data[page * words]
                times.append(Double(monotonicNanoseconds() - start) / 1000)
            }
            blackHole(sink)
        }
        dsm.barrier()
        return times.isEmpty ? 0 : times.sorted()[times.count / 2]
    }

    /// Sequential first-touch read of 64 MiB homed on rank 1 (every word summed), after
    /// the home has initialised it.
    func streamRead() -> Double {
        let bytes = 64 << 20
        let data = dsm.allocate(Int.self, count: bytes / 8, homes: .onRank(1))
        if dsm.rank == 1 { for index in stride(from: 0, to: data.count, by: 512) { data[index] = index } }
        dsm.barrier()
        var elapsed = 0.0
        if dsm.rank == 0 {
            var sink = 0
            elapsed = seconds {
                let base = data.base
                for index in 0..<data.count { sink &+= base[index] }
            }
            blackHole(sink)
        }
        dsm.barrier()
        return elapsed > 0 ? Double(bytes) / Double(1 << 20) / elapsed : 0
    }

    /// Rank 0 writes every word of 8 MiB homed on rank 1, then both meet at a barrier
    /// (diffs pushed home). Microseconds per page, barrier included.
    func writeRelease() -> Double {
        let bytes = 8 << 20
        let data = dsm.allocate(Int.self, count: bytes / 8, homes: .onRank(1))
        dsm.barrier()
        let elapsed = seconds {
            if dsm.rank == 0 {
                let base = data.base
                for index in 0..<data.count { base[index] = index }
            }
            dsm.barrier()
        }
        if dsm.rank == 1, data[data.count - 1] != data.count - 1 { fatalError("dsm-bench: written data did not arrive") }
        return elapsed * 1e6 / Double(bytes / dsm.pageSize)
    }

    /// Uncontended acquire+release by rank 0 of a lock managed by rank 1.
    func lockRemote() -> Double {
        let rounds = 5000
        let lock = dsm.lock(1)  // lock 1 is managed by rank 1 of 2
        dsm.barrier()
        var elapsed = 0.0
        if dsm.rank == 0 { elapsed = seconds { for _ in 0..<rounds { lock.lock(); lock.unlock() } } }
        dsm.barrier()
        return elapsed * 1e6 / Double(rounds)
    }

    /// Both ranks take the same lock in turn; microseconds per acquire+release round.
    func lockContended() -> Double {
        let rounds = 3000
        let lock = dsm.lock(0)
        dsm.barrier()
        let elapsed = seconds {
            for _ in 0..<rounds { lock.lock(); lock.unlock() }
            dsm.barrier()
        }
        return elapsed * 1e6 / Double(rounds * dsm.rankCount)
    }

    func barrierLatency() -> Double {
        let rounds = 2000
        dsm.barrier()
        let elapsed = seconds { for _ in 0..<rounds { dsm.barrier() } }
        return elapsed * 1e6 / Double(rounds)
    }

    /// How long after rank 1 releases a lock rank 0, asleep in its wait for it for 20 ms,
    /// holds it (a thread that sleeps between its looks may see the grant late).
    func grantAfterWait() -> Double {
        let lock = dsm.lock(2)
        if dsm.rank == 1 { lock.lock() }
        dsm.rendezvous()
        var times = [0.0, 0.0]
        if dsm.rank == 0 {
            lock.lock()
            times[0] = Double(monotonicNanoseconds())
            lock.unlock()
        } else {
            usleep(20_000)
            times[1] = Double(monotonicNanoseconds())
            lock.unlock()
        }
        dsm.rendezvous()
        let both = Collectives.allreduce(times, .max)
        return (both[0] - both[1]) / 1e3
    }

    /// CPU used by rank 0 (all its threads) while it waits one second for a lock held by rank 1.
    func idleCPU() -> Double {
        let lock = dsm.lock(2)
        if dsm.rank == 1 { lock.lock() }
        dsm.rendezvous()  // rank 1 holds the lock now (a barrier may not run inside a critical section)
        var percent = 0.0
        if dsm.rank == 0 {
            let cpuBefore = processCPUSeconds()
            let wall = seconds { lock.lock() }
            percent = (processCPUSeconds() - cpuBefore) / wall * 100
            lock.unlock()
        } else {
            usleep(1_000_000)
            lock.unlock()
        }
        dsm.rendezvous()
        return percent
    }
}

func processCPUSeconds() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec)
        + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
}

@inline(never) func blackHole(_ value: Int) {
    if value == 0x5eed_f00d { print("") }
}
