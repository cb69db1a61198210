import CMPI
import Glibc

/// The collectives of the DSM's own calls (barrier notices, page pushes), written as MPI
/// point-to-point messages on `syncComm`. Open MPI's nonblocking collectives (libnbc) run
/// each round through a schedule in its progress engine; on the test bed (scratch C
/// program, same sitting) they cost more than the same messages posted directly:
/// MPI_Iallgather of 264 B 9.3-9.6 us against 8.3-9.2 across 2 hosts and 50-52 us against
/// 37-39 across 4; MPI_Iallgatherv of 28 KiB a rank 98-155 us against 87-110 across 4.
/// A waiting rank still backs off (see `Backoff`), as in `Cluster.wait`. Across hosts with
/// the tcp lanes, the blocks go on `CollectiveLinks` instead.
extension Cluster {
    /// Every rank's `block` in rank order in `all` (`block.count * size` words), in
    /// Bruck's ceil(log2 N) rounds (any N).
    func allgather(block: UnsafeBufferPointer<Int64>, into all: UnsafeMutableBufferPointer<Int64>) {
        let count = block.count
        precondition(all.count == count * size, "SwiftDSM: allgather into \(all.count) words, not \(count * size)")
        // `rotated` holds the blocks of ranks rank, rank + 1, ... (mod N): each round sends
        // a prefix of it to the rank `distance` before and appends as many from the one after.
        if rotatedBlocks.count < count * size { rotatedBlocks = [Int64](repeating: 0, count: count * size) }
        rotatedBlocks.withUnsafeMutableBufferPointer { rotated in
            _ = rotated.initialize(fromContentsOf: block)
            let words = UnsafeMutableRawPointer(rotated.baseAddress!)
            var distance = 1
            while distance < size {
                let bytes = Int32(min(distance, size - distance) * count * 8)
                if let links = collectiveLinks {
                    links.exchange(UnsafeRawBufferPointer(start: words, count: Int(bytes)), to: (rank - distance + size) % size,
                                   into: UnsafeMutableRawBufferPointer(start: words + distance * count * 8, count: Int(bytes)),
                                   from: (rank + distance) % size)
                    distance *= 2
                    continue
                }
                var requests = (cmpi_request_null(), cmpi_request_null())
                withUnsafeMutableBytes(of: &requests) { raw in
                    let pair = raw.baseAddress!.assumingMemoryBound(to: MPI_Request?.self)
                    mpiCheck(MPI_Irecv(words + distance * count * 8, bytes, cmpi_byte(), Int32((rank + distance) % size),
                                       Tag.block, syncComm, pair), "MPI_Irecv (collective call)")
                    mpiCheck(MPI_Isend(words, bytes, cmpi_byte(), Int32((rank - distance + size) % size), Tag.block,
                                       syncComm, pair + 1), "MPI_Isend (collective call)")
                    waitAll(pair, count: 2, "collective call")
                }
                distance *= 2
            }
            for offset in 0..<size {
                let owner = (rank + offset) % size
                _ = UnsafeMutableBufferPointer(rebasing: all[(owner * count)..<((owner + 1) * count)])
                    .initialize(fromContentsOf: UnsafeBufferPointer(rebasing: rotated[(offset * count)..<((offset + 1) * count)]))
            }
        }
    }

    /// In place: rank r's `counts[r]` bytes at `base + displacements[r]` reach every rank's
    /// same place. One round: each rank sends its part to every other rank.
    func allgatherv(_ base: UnsafeMutableRawPointer, counts: [Int], displacements: [Int], backoff: Backoff = Backoff(),
                    _ what: String) {
        var sends: [Part] = []
        var receives: [Part] = []
        for other in 0..<size where other != rank {
            if counts[rank] > 0 { sends.append((base + displacements[rank], counts[rank], other)) }
            if counts[other] > 0 { receives.append((base + displacements[other], counts[other], other)) }
        }
        exchange(sends, receives, tag: Tag.allgatherv, backoff: backoff, what)
    }

    /// Each rank's `sendCounts[r]` bytes at `send + sendDisplacements[r]` go to rank r, into
    /// `receive + receiveDisplacements[self]` there; empty parts send nothing.
    func alltoallv(send: UnsafeRawPointer, counts sendCounts: [Int], displacements sendDisplacements: [Int],
                   receive: UnsafeMutableRawPointer, counts receiveCounts: [Int], displacements receiveDisplacements: [Int],
                   backoff: Backoff = Backoff(), _ what: String) {
        var sends: [Part] = []
        var receives: [Part] = []
        for other in 0..<size {
            if other == rank {
                precondition(sendCounts[rank] == receiveCounts[rank], "SwiftDSM: \(what): a part to itself changes size")
                memcpy(receive + receiveDisplacements[rank], send + sendDisplacements[rank], sendCounts[rank])
                continue
            }
            if sendCounts[other] > 0 {
                sends.append((UnsafeMutableRawPointer(mutating: send) + sendDisplacements[other], sendCounts[other], other))
            }
            if receiveCounts[other] > 0 { receives.append((receive + receiveDisplacements[other], receiveCounts[other], other)) }
        }
        exchange(sends, receives, tag: Tag.alltoallv, backoff: backoff, what)
    }

    private typealias Part = (bytes: UnsafeMutableRawPointer, count: Int, rank: Int)

    /// Point-to-point tags on `syncComm`, which carries nothing else point-to-point.
    private enum Tag {
        static let block: Int32 = 0x5D50
        static let allgatherv: Int32 = 0x5D51
        static let alltoallv: Int32 = 0x5D52
    }

    /// Posts every receive, then every send, and waits for all of them.
    private func exchange(_ sends: [Part], _ receives: [Part], tag: Int32, backoff: Backoff = Backoff(), _ what: String) {
        var requests = [MPI_Request?](repeating: cmpi_request_null(), count: sends.count + receives.count)
        for (index, part) in receives.enumerated() {
            mpiCheck(MPI_Irecv(part.bytes, Int32(part.count), cmpi_byte(), Int32(part.rank), tag, syncComm, &requests[index]),
                     "MPI_Irecv (\(what), from rank \(part.rank))")
        }
        for (index, part) in sends.enumerated() {
            mpiCheck(MPI_Isend(part.bytes, Int32(part.count), cmpi_byte(), Int32(part.rank), tag, syncComm,
                               &requests[receives.count + index]), "MPI_Isend (\(what), to rank \(part.rank))")
        }
        requests.withUnsafeMutableBufferPointer { waitAll($0.baseAddress!, count: $0.count, backoff: backoff, what) }
    }

    private func waitAll(_ requests: UnsafeMutablePointer<MPI_Request?>, count: Int, backoff: Backoff = Backoff(),
                         _ what: String) {
        var backoff = backoff
        var done: Int32 = 0
        while true {
            mpiCheck(MPI_Testall(Int32(count), requests, &done, cmpi_statuses_ignore()), "MPI_Testall (\(what))")
            if done != 0 { return }
            backoff.pause()
        }
    }
}
