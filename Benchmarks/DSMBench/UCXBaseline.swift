import CMPI
import CUCX
import Foundation
import SwiftDSM

/// UCX's own figures between the same two ranks (`--baseline` on transport ucx), on a
/// context and worker of their own with the same transports and the same progress thread
/// as the ucx transport's: a 4 KiB and an 8 B `ucp_get_nbx` from the other rank's registered
/// buffer (median of single gets, one at a time, like faults) and an 8 B active-message
/// round trip. And this machine's trap-and-
/// map cost without any network: a read of a PROT_NONE page whose SIGSEGV handler copies
/// 4 KiB into a buffer and makes the page readable.
struct UCXBaseline {
    let rank: Int
    let repetitions: Int

    /// Median one-get time in us for each of `sizes`, rank 0 reading from rank 1, then the
    /// median 8 B active-message round trip.
    /// `detectFailure` as the transport sets it (across hosts only: it rules out UCX's
    /// shared-memory transports).
    /// `meet` is a barrier that sleeps while it waits: rank 1 waits in it while rank 0 measures,
    /// and its progress thread, which serves the gets, must have the core (with MPI_Barrier's
    /// polling on the same core, a get took 300-900 us on one host).
    func gets(sizes: [Int], transports: String, spinMicroseconds: Int, detectFailure: Bool,
              meet: () -> Void) -> [Double] {
        var reason = [CChar](repeating: 0, count: 256)
        guard let node = cucx_open(transports, nil, Int32(rank), 2, &reason, reason.count) else {
            fatalError("dsm-bench: UCX baseline: cannot open UCX with transports '\(transports)'")
        }
        let length = 1 << 20
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: length, alignment: 4096)
        memset(buffer, 1, length)
        var key: UnsafeRawPointer? = nil
        var keyLength = 0
        precondition(cucx_register(node, buffer, length, &key, &keyLength, &reason, reason.count) == 0)
        var addressLength = 0
        let address = cucx_address(node, &addressLength)!
        let peer = 1 - rank
        let peerAddress = swap(UnsafeRawBufferPointer(start: address, count: addressLength), with: peer)
        precondition(peerAddress.withUnsafeBytes {
            cucx_connect(node, Int32(peer), $0.baseAddress, detectFailure ? 1 : 0, &reason, reason.count)
        } == 0)
        let base = UInt64(UInt(bitPattern: buffer))
        let peerBase = withUnsafeBytes(of: base) { swap($0, with: peer) }.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
        let peerKey = swap(UnsafeRawBufferPointer(start: key, count: keyLength), with: peer)
        precondition(peerKey.withUnsafeBytes {
            cucx_add_key(node, Int32(peer), $0.baseAddress, peerBase, &reason, reason.count)
        } == 0)
        precondition(cucx_start_progress(node, UInt64(spinMicroseconds) * 1000) == 0)
        let destination = UnsafeMutableRawPointer.allocate(byteCount: 4096, alignment: 4096)
        var failed: Int32 = 0
        var medians = sizes.map { size -> Double in
            let values: [Double] = (0..<repetitions).map { _ in
                meet()
                var times: [Double] = []
                if rank == 0 {
                    for round in 0..<2000 {
                        let start = monotonicNanoseconds()
                        cucx_get(node, Int32(peer), destination, size, UInt64((round * 4096) % length))
                        precondition(cucx_wait(node, &failed, &reason, reason.count) == 0)
                        times.append(Double(monotonicNanoseconds() - start) / 1e3)
                    }
                }
                meet()
                return times.isEmpty ? 0 : times.sorted()[times.count / 2]
            }
            return values.sorted()[values.count / 2]
        }
        // The 8 B active-message round trip, answered by the other rank's progress thread.
        let pings: [Double] = (0..<repetitions).map { _ in
            meet()
            var times: [Double] = []
            if rank == 0 {
                for _ in 0..<2000 {
                    let start = monotonicNanoseconds()
                    cucx_ping(node, Int32(peer), Int32(rank))
                    precondition(cucx_wait(node, &failed, &reason, reason.count) == 0)
                    times.append(Double(monotonicNanoseconds() - start) / 1e3)
                }
            }
            meet()
            return times.isEmpty ? 0 : times.sorted()[times.count / 2]
        }
        medians.append(pings.sorted()[pings.count / 2])
        meet()
        cucx_close(node)
        buffer.deallocate()
        destination.deallocate()
        return medians
    }

    /// The other rank's bytes for `mine`.
    private func swap(_ mine: UnsafeRawBufferPointer, with peer: Int) -> [UInt8] {
        var length = Int32(mine.count)
        var peerLength: Int32 = 0
        MPI_Sendrecv(&length, 1, cmpi_int32(), Int32(peer), 71, &peerLength, 1, cmpi_int32(), Int32(peer), 71,
                     cmpi_comm_world(), cmpi_status_ignore())
        var theirs = [UInt8](repeating: 0, count: Int(peerLength))
        MPI_Sendrecv(mine.baseAddress, length, cmpi_byte(), Int32(peer), 72, &theirs, peerLength, cmpi_byte(),
                     Int32(peer), 72, cmpi_comm_world(), cmpi_status_ignore())
        return theirs
    }

    /// Median us of a first read of a PROT_NONE page whose fault handler copies a page into
    /// a buffer and makes the page readable: what every fault costs before any transfer.
    func trapAndMap(pages: Int = 2048) -> Double {
        let pageSize = 4096
        guard let region = mmap(nil, pages * pageSize, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
              region != MAP_FAILED else { fatalError("dsm-bench: mmap failed") }
        var action = sigaction()
        action.__sigaction_handler.sa_sigaction = { _, info, _ in
            let address = UInt(bitPattern: info!.pointee._sifields._sigfault.si_addr)
            let page = UnsafeMutableRawPointer(bitPattern: address & ~UInt(4095))!
            memcpy(TrapState.staging, TrapState.source, 4096)
            mprotect(page, 4096, PROT_READ | PROT_WRITE)
            memcpy(page, TrapState.staging, 4096)
        }
        action.sa_flags = SA_SIGINFO
        var previous = sigaction()
        _ = DSMRuntime.setApplicationFaultHandler(&action, replaced: &previous)
        var times: [Double] = []
        var sink: UInt8 = 0
        for page in 0..<pages {
            let start = monotonicNanoseconds()
            sink &+= region.load(fromByteOffset: page * pageSize, as: UInt8.self)
            times.append(Double(monotonicNanoseconds() - start) / 1e3)
        }
        _ = DSMRuntime.setApplicationFaultHandler(&previous, replaced: nil)
        munmap(region, pages * pageSize)
        blackHole(Int(sink))
        return times.sorted()[times.count / 2]
    }
}

/// What the trap handler needs, reachable from a C function pointer.
private enum TrapState {
    nonisolated(unsafe) static let source = UnsafeMutableRawPointer.allocate(byteCount: 4096, alignment: 4096)
    nonisolated(unsafe) static let staging = UnsafeMutableRawPointer.allocate(byteCount: 4096, alignment: 4096)
}
