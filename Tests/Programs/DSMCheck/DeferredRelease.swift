import CMPI
import SwiftDSM

/// Deferred releases (with lock hand-off on): rank 1, the only taker of lock 0 (managed by
/// rank 0), sends one message a round, its request carrying its last release. Then, with a
/// release of lock 0 deferred and a value written under it, rank 1 blocks in plain MPI; the
/// next taker (rank 0, the manager, at 2 ranks; rank 2, through the manager, at more) gets
/// the lock from rank 1's service thread, with the notice of that value.
func deferredReleaseScenario(_ dsm: DSM) {
    let ranks = dsm.rankCount, rank = dsm.rank, runtime = dsm.runtime
    let deferring = runtime.settings.lockHandoff && ranks > 1
    let own = dsm.allocate(Int.self, count: 1, homes: .onRank(min(1, ranks - 1)))  // homed on rank 1: no diffs
    let data = dsm.allocate(Int.self, count: 1, homes: .onRank(0))
    let lock = dsm.lock(0)
    Check.equal(data[0], 0, "initial value")  // a copy on every rank
    dsm.barrier()

    let rounds = 50
    if rank == min(1, ranks - 1) {
        let sent = runtime.statistics.messagesSent
        for _ in 0..<rounds { lock.withLock { own[0] += 1 } }
        let messages = runtime.statistics.messagesSent - sent
        if deferring {
            // The first release goes alone (no earlier holding of its own); the last stays.
            Check.equal(messages, UInt64(rounds + 1), "messages for \(rounds) rounds of a lock taken alone")
        } else if ranks > 1 {
            Check.equal(messages, UInt64(2 * rounds), "messages for \(rounds) rounds without deferred releases")
        }
    }
    dsm.barrier()
    Check.equal(own[0], rounds, "increments under the lock")
    dsm.barrier()  // every rank has read the count before rank 1 changes it again
    guard ranks > 1 else { return }

    let world = cmpi_comm_world()
    let taker = ranks > 2 ? 2 : 0
    var token = 0
    let handed = runtime.statistics.locksHandedOff
    let fresh = dsm.lock(ranks)  // managed by rank 0 (lock 0's manager may have moved to rank 1)
    if rank == 1 {
        fresh.withLock { own[0] += 1 }  // its first holding: released at once
        fresh.withLock { data[0] = 42 }  // taken last by rank 1 again: this release is kept
        MPI_Send(&token, 1, cmpi_int64(), Int32(taker), 21, world)
        MPI_Recv(&token, 1, cmpi_int64(), Int32(taker), 22, world, cmpi_status_ignore())  // no DSM call meanwhile
        Check.equal(runtime.statistics.locksHandedOff - handed, deferring ? 1 : 0, "hand-offs of a deferred release")
    } else if rank == taker {
        MPI_Recv(&token, 1, cmpi_int64(), 1, 21, world, cmpi_status_ignore())
        fresh.withLock { Check.equal(data[0], 42, "the value written before the deferred release") }
        MPI_Send(&token, 1, cmpi_int64(), 1, 22, world)
    }
    dsm.barrier()
    Check.equal(data[0], 42, "the value after the barrier")
    // Every rank in turn, many times: nothing lost, whoever defers.
    for _ in 0..<100 { lock.withLock { own[0] += 1 } }
    dsm.barrier()
    Check.equal(own[0], rounds + 1 + 100 * ranks, "increments with every rank taking the lock")
    dsm.barrier()
}
