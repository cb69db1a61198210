// dsm-check: multi-rank scenarios that exercise SwiftDSM under mpirun. Each scenario
// checks its own results on every rank and exits non-zero on any mismatch; the error
// scenarios make a deliberate mistake and must stop every rank with a clear message.
//
//   mpirun -np 4 .build/release/dsm-check <scenario>[,<scenario>...] [--jia-<setting>=<value> ...]
//
// Several scenarios, comma-separated, run one after the other in one DSM session, each
// with its own verdict line: the model scenarios that way cost one start-up of MPI and
// the DSM instead of one each.
import CMPI
import Foundation
import SwiftDSM

let scenarios: [String: (DSM) -> Void] = [
    "counter": counterScenario,
    "barrier": barrierScenario,
    "scope": scopeScenario,
    "nested": nestedLockScenario,
    "cv": conditionScenario,
    "multiwriter": multipleWriterScenario,
    "sweep": sweepScenario,
    "alloc": allocationScenario,
    "stress": stressScenario,
    "mixed-mpi": mixedMPIScenario,
    "collectives": collectivesScenario,
    "preinit": preinitializedScenario,
    "statistics": statisticsScenario,
    "adaptive": adaptiveScenario,
    "balance": balanceScenario,
    "lockmove": lockMoveScenario,
    "wvec": writeVectorScenario,
    "broadcast": broadcastScenario,
    "handoff": lockHandOffScenario,
    "deferred": deferredReleaseScenario,
    "read": directReadScenario,
    "autobalance": autoBalanceScenario,
    "threads": threadsScenario,
    "marker": markerScenario,
    "checkpoint": checkpointScenario,
    "free": freeScenario,
    "shuffle-growth": shuffleGrowthScenario,
    "fault-allocations": faultAllocationScenario,
]

let errorScenarios: [String: (DSM) -> Void] = [
    "error-lock-range": { dsm in if dsm.rank == dsm.rankCount - 1 { jia_lock(1 << 40) }; dsm.barrier() },
    "error-unlock-unheld": { dsm in if dsm.rank == 0 { jia_unlock(3) }; dsm.barrier() },
    "error-unlock-order": { dsm in
        if dsm.rank == 0 { jia_lock(1); jia_lock(2); jia_unlock(1) }
        dsm.barrier()
    },
    "error-lock-twice": { dsm in if dsm.rank == 0 { jia_lock(1); jia_lock(1) }; dsm.barrier() },
    "error-barrier-in-lock": { dsm in if dsm.rank == 0 { jia_lock(0) }; jia_barrier() },
    "error-alloc-size": { dsm in _ = jia_alloc3(4096 * (dsm.rank == 0 ? 2 : 1), 4096, 0) },
    "error-alloc-order": { dsm in
        if dsm.rank == 0 { _ = jia_alloc1(4096) } else { jia_barrier() }
    },
    "error-alloc-full": { _ in _ = jia_alloc1(64 << 40) },
    "error-outside": { dsm in
        let array = dsm.allocate(UInt8.self, count: 4096)
        if dsm.rank == 0 { array.base[8192] = 1 }
        dsm.barrier()
    },
    "error-read-into-shared": { dsm in
        let array = dsm.allocate(UInt8.self, count: 8192)
        if dsm.rank == 0 { dsm.read(from: array.base, byteCount: 4096, into: array.base + 4096) }
        dsm.barrier()
    },
    "error-use-after-free": useAfterFree,
    "error-double-free": { dsm in
        let array = dsm.allocate(UInt8.self, count: 4096)
        dsm.free(array)
        dsm.free(array)
    },
    "error-free-inside": { dsm in
        let array = dsm.allocate(UInt8.self, count: 8192)
        jia_free(UnsafeRawPointer(array.base + 4096))
    },
    "error-fault-in-handler": { dsm in
        let array = dsm.allocate(UInt8.self, count: 4096 * dsm.rankCount, homes: .blocked)
        dsm.barrier()
        if dsm.rank == dsm.rankCount - 1 {
            dsm.runtime.faultInsideTheHandlerForTesting()
            blackHole(array[0])  // homed on rank 0: faults here
        }
        dsm.barrier()
    },
    "error-cv-range": { dsm in if dsm.rank == 0 { jia_setcv(-1) }; dsm.barrier() },
    "error-thread-level": { _ in },
    "error-second-thread": secondThreadSynchronizes,
    // Malformed requests from the network: rank 0 sends the last rank's service thread a
    // request of an unknown kind, a truncated one, a fetch outside the shared range, a diff
    // leaving it, a release of a lock it does not hold.
    "error-malformed-kind": { dsm in malformedRequest(dsm, [99]) },
    "error-malformed-truncated": { dsm in malformedRequest(dsm, [1, 0]) },
    "error-malformed-fetch": { dsm in malformedRequest(dsm, [1, 1 << 50, 4096]) },
    "error-malformed-diff": { dsm in malformedRequest(dsm, [2, 1, 1 << 50, 1, 7, 0]) },
    "error-malformed-release": { dsm in malformedRequest(dsm, [4, 3, 0, 0, 0]) },
    "error-malformed-refetch": { dsm in malformedRequest(dsm, [10, 0, 2, 0]) },
    "error-malformed-fetch-runs": { dsm in malformedRequest(dsm, [13, 2, 0, 4096, 1 << 50, 4096]) },
    // A frame whose header fails its checksum, on the tcp transport's lane to the last rank.
    "error-malformed-frame": { dsm in
        if dsm.rank == 0 && !dsm.runtime.sendCorruptFrameForTesting(to: dsm.rankCount - 1) {
            FileHandle.standardError.write("error-malformed-frame needs --jia-transport=tcp\n".data(using: .utf8)!)
            exit(2)
        }
        for _ in 0..<2000 { usleep(10_000) }
    },
    // A fetch request outside the shared range, as a UCX active message to the last rank.
    "error-malformed-ucx-fetch": { dsm in
        if dsm.rank == 0 && !dsm.runtime.sendMalformedUCXFetchForTesting(to: dsm.rankCount - 1) {
            FileHandle.standardError.write("error-malformed-ucx-fetch needs --jia-transport=ucx\n".data(using: .utf8)!)
            exit(2)
        }
        for _ in 0..<2000 { usleep(10_000) }
    },
    // A diff whose frame is altered after it was sealed (security on the tcp transport).
    "error-tampered-diff": tamperedDiffScenario,
    "error-tampered-notices": tamperedNoticesScenario,
    "error-segv": { _ in
        let wild = UnsafeMutablePointer<Int>(bitPattern: 0x10)!
        wild.pointee = 1
    },
]

/// Sends `words` (64-bit, little-endian: the request kind, then its fields) to the last
/// rank's service thread from rank 0, then gives the error up to 20 s to stop the job.
func malformedRequest(_ dsm: DSM, _ words: [Int64]) {
    if dsm.rank == 0 {
        var bytes: [UInt8] = []
        for word in words { withUnsafeBytes(of: word.littleEndian) { bytes.append(contentsOf: $0) } }
        dsm.runtime.sendRequestForTesting(bytes, to: dsm.rankCount - 1)
    }
    for _ in 0..<2000 { usleep(10_000) }
}

let arguments = CommandLine.arguments
let names = arguments.count >= 2 ? arguments[1].split(separator: ",").map(String.init) : []
let startsMPIItself: Set = ["preinit", "error-thread-level"]
guard !names.isEmpty, names.allSatisfy({ scenarios[$0] != nil }) || (names.count == 1 && errorScenarios[names[0]] != nil),
      names.count == 1 || startsMPIItself.isDisjoint(with: names) else {
    let known = (scenarios.keys.sorted() + errorScenarios.keys.sorted()).joined(separator: ", ")
    let unknown = names.filter { scenarios[$0] == nil && errorScenarios[$0] == nil }
    FileHandle.standardError.write(((unknown.isEmpty ? "" : "dsm-check: no scenario named \(unknown.joined(separator: ", "))\n")
        + "usage: dsm-check <scenario>[,<scenario>...] [--jia-<setting>=<value> ...]\n"
        + "scenarios: \(known)\n(an error scenario, preinit and error-thread-level run alone)\n").data(using: .utf8)!)
    exit(2)
}
let name = names[0]

// The application may initialize MPI itself; SwiftDSM then leaves finalizing to it.
if startsMPIItself.contains(name) {
    var provided: Int32 = 0
    let level = name == "preinit" ? Int32(MPI_THREAD_MULTIPLE) : Int32(MPI_THREAD_SINGLE)
    MPI_Init_thread(nil, nil, level, &provided)
}
let dsm = DSM.start()
if scenarios[name] != nil {
    var failures = 0
    for (index, name) in names.enumerated() {
        if index > 0 { dsm.barrier() }
        scenarios[name]!(dsm)
        failures += Check.verdict(name, dsm)
        Check.failures = 0
    }
    dsm.finish()
    if name == "preinit" {
        // MPI is still usable after jia_exit when the application owns it.
        var ranks: Int32 = 0
        MPI_Comm_size(cmpi_comm_world(), &ranks)
        MPI_Barrier(cmpi_comm_world())
        MPI_Finalize()
        if ranks < 1 { exit(1) }
    }
    exit(failures == 0 ? 0 : 1)
} else {
    errorScenarios[name]!(dsm)
    print("dsm-check \(name): the mistake was not reported")
    dsm.finish()
    exit(3)
}
