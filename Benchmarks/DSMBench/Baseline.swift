import CMPI
import Foundation
import SwiftDSM

/// MPI's own figures between the same two ranks, in the same run (`--baseline`), so that
/// SwiftDSM's can be read as ratios: an 8 B and a 4 KiB ping-pong (one-way time, half the
/// round trip) and MPI_Barrier, on a communicator of their own.
struct Baseline {
    private var comm: MPI_Comm?
    private let rank: Int
    private let repetitions: Int

    init(rank: Int, repetitions: Int) {
        self.rank = rank
        self.repetitions = repetitions
        var duplicate: MPI_Comm? = nil
        MPI_Comm_dup(cmpi_comm_world(), &duplicate)
        comm = duplicate
    }

    mutating func free() { MPI_Comm_free(&comm) }

    /// Median over the repetitions of the one-way time of `bytes` bytes, in us (rank 0's).
    func pingPong(bytes: Int, rounds: Int = 2000) -> Double {
        var buffer = [UInt8](repeating: 1, count: max(bytes, 1))
        let peer: Int32 = rank == 0 ? 1 : 0
        let values: [Double] = (0..<repetitions).map { _ in
            MPI_Barrier(comm)
            let start = monotonicNanoseconds()
            buffer.withUnsafeMutableBytes { raw in
                for _ in 0..<rounds {
                    if rank == 0 {
                        MPI_Send(raw.baseAddress, Int32(bytes), cmpi_byte(), peer, 7, comm)
                        MPI_Recv(raw.baseAddress, Int32(bytes), cmpi_byte(), peer, 7, comm, cmpi_status_ignore())
                    } else {
                        MPI_Recv(raw.baseAddress, Int32(bytes), cmpi_byte(), peer, 7, comm, cmpi_status_ignore())
                        MPI_Send(raw.baseAddress, Int32(bytes), cmpi_byte(), peer, 7, comm)
                    }
                }
            }
            return Double(monotonicNanoseconds() - start) / 1e3 / Double(2 * rounds)
        }
        return values.sorted()[values.count / 2]
    }

    /// Median over the repetitions of one MPI_Barrier, in us.
    func barrier(rounds: Int = 2000) -> Double {
        let values: [Double] = (0..<repetitions).map { _ in
            MPI_Barrier(comm)
            let start = monotonicNanoseconds()
            for _ in 0..<rounds { MPI_Barrier(comm) }
            return Double(monotonicNanoseconds() - start) / 1e3 / Double(rounds)
        }
        return values.sorted()[values.count / 2]
    }
}
