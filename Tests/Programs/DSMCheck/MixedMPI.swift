import CMPI
import SwiftDSM

/// The application's own MPI traffic on MPI_COMM_WORLD, interleaved with DSM operations,
/// must neither see DSM messages nor disturb them.
func mixedMPIScenario(_ dsm: DSM) {
    let ranks = dsm.rankCount
    let shared = dsm.allocate(Int.self, count: 4096, homes: .blockCyclic(bytes: 4096))
    let world = cmpi_comm_world()
    for round in 0..<20 {
        for index in dsm.share(of: shared.count) { shared[index] = index + round }
        // Application message ring with wildcard receives on MPI_COMM_WORLD.
        var token = dsm.rank * 1000 + round
        var received = -1
        var status = MPI_Status()
        let next = Int32((dsm.rank + 1) % ranks)
        var request: MPI_Request? = cmpi_request_null()
        MPI_Isend(&token, 1, cmpi_int64(), next, 9, world, &request)
        MPI_Recv(&received, 1, cmpi_int64(), cmpi_any_source(), cmpi_any_tag(), world, &status)
        MPI_Wait(&request, cmpi_status_ignore())
        let previous = (dsm.rank + ranks - 1) % ranks
        Check.equal(received, previous * 1000 + round, "application message in round \(round)")
        Check.equal(Int(status.MPI_TAG), 9, "application tag")
        dsm.barrier()
        var total = 0
        var mine = round
        MPI_Allreduce(&mine, &total, 1, cmpi_int64(), cmpi_op_sum(), world)
        Check.equal(total, round * ranks, "application allreduce")
        for index in stride(from: 0, to: shared.count, by: 97) where shared[index] != index + round {
            Check.equal(shared[index], index + round, "shared value \(index) in round \(round)")
        }
        if dsm.rank == 0 { dsm.lock(1).withLock { shared[0] = shared[0] } }
        dsm.barrier()
    }
}
