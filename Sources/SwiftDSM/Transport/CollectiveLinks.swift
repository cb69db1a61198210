import CPlatform
import Glibc

/// One two-way TCP connection per pair of ranks on several hosts (`TCPConnector` opens them
/// beside the lanes), carrying the blocks of the DSM's collective calls: every barrier,
/// allocation and `jia_wait` starts with one (`Cluster.allgather(block:into:)`). Across 2
/// test-bed hosts a 288 B exchange on such a connection, read by polling `recv`, took 9.0-9.9
/// us where Open MPI's own 288 B exchange and `MPI_Barrier` took 13.9-14.7 (scratch C program,
/// BENCHMARKS.md): the DSM barrier, which carries notices, cannot match `MPI_Barrier` on
/// MPI's messages. A lane, which one side only asks on, would need a second connection the
/// other way and a bare acknowledgement for each block.
///
/// A frame is a header (magic, payload bytes) and the payload; both sides know the length,
/// so a frame of any other length or magic is malformed, and the job stops naming the peer.
/// The blocks need no seal here: under `security` the collective call seals them itself.
/// Main thread only, one collective call at a time.
final class CollectiveLinks: @unchecked Sendable {
    enum Failure: Error {
        /// The peer closed the connection (its process ended), or a system call failed.
        case lost(Int32?)
        /// A frame of another magic or length than the round's.
        case malformed(String)
    }

    /// The connection to each rank (-1 for this rank, and once closed).
    private var fds: [Int32]
    /// Host names by rank, for messages naming a peer.
    private let hosts: [String]
    /// Drives MPI's progress while a rank waits here (see `longestPollMilliseconds`).
    private let progressMPI: () -> Void
    /// The header of the frame being sent, and of the one being read (its payload goes
    /// straight to the caller's buffer).
    private let header = UnsafeMutablePointer<UInt32>.allocate(capacity: 2)
    private let incoming = UnsafeMutableRawPointer.allocate(byteCount: CollectiveLinks.headerBytes, alignment: 8)
    /// The vectors of the frame being sent (reused: a barrier allocates nothing).
    private let vectors = UnsafeMutablePointer<iovec>.allocate(capacity: 2)

    private static let magic: UInt32 = 0x4B4C_4344  // "DCLK" in memory order
    private static let headerBytes = 8
    /// A waiting rank tries `recv` again at once, then between yields (other ranks may share
    /// its core), as MPI's waits do (`Backoff`), driving MPI's progress between tries: the
    /// ranks that are through pour their page pushes into MPI's connections meanwhile, and
    /// a rank waiting in MPI took them in as it waited (without it NPB CG across 4 test-bed
    /// hosts measured up to 6% slower). Then it sleeps in `poll`, which a frame ends, for 1 ms,
    /// doubling to this, driving MPI's progress between sleeps (as `TCPChannel`).
    private static let longestPollMilliseconds: Int32 = 16

    init(fds: [Int32], hosts: [String], progressMPI: @escaping () -> Void) {
        self.fds = fds
        self.hosts = hosts
        self.progressMPI = progressMPI
    }

    deinit {
        close()
        incoming.deallocate()
        header.deallocate()
        vectors.deallocate()
    }

    /// Sends `outgoing` to rank `destination` and reads the `into.count` bytes rank `source`
    /// sends this rank in the same round.
    func exchange(_ outgoing: UnsafeRawBufferPointer, to destination: Int, into: UnsafeMutableRawBufferPointer,
                  from source: Int) {
        var peer = destination
        do throws(Failure) {
            try send(outgoing, to: destination)
            peer = source
            try receive(into, from: source)
        } catch {
            switch error {
            case .lost(let code):
                Fatal.stop("lost the connection to \(describe(peer)): its process ended or its host is unreachable"
                    + (code.map { " (\(errnoText($0)))" } ?? ""))
            case .malformed(let problem):
                Fatal.stop("\(describe(peer)) sent a malformed collective frame (\(problem)); nothing of it was applied")
            }
        }
    }

    /// Closes every connection (at the end of the run, after the last collective call).
    func close() {
        for fd in fds where fd >= 0 { Glibc.close(fd) }
        fds = fds.map { _ in -1 }
    }

    private func describe(_ rank: Int) -> String { "rank \(rank) on host \(hosts[rank])" }

    /// Sends one frame of `payload` to `rank`.
    func send(_ payload: UnsafeRawBufferPointer, to rank: Int) throws(Failure) {
        header[0] = Self.magic.littleEndian
        header[1] = UInt32(payload.count).littleEndian
        vectors[0] = iovec(iov_base: UnsafeMutableRawPointer(header), iov_len: Self.headerBytes)
        vectors[1] = iovec(iov_base: UnsafeMutableRawPointer(mutating: payload.baseAddress), iov_len: payload.count)
        var left = Self.headerBytes + payload.count
        var first = 0
        while left > 0 {
            var sent = 0
            let code = cplatform_sendv(fds[rank], vectors + first, Int32(2 - first), &sent)
            if code == EAGAIN || code == EWOULDBLOCK || code == EINTR {
                var ready: Int32 = 0
                _ = cplatform_wait_fd(fds[rank], 1, 1, &ready)
                progressMPI()
                continue
            }
            guard code == 0 else { throw .lost(code) }
            left -= sent
            // Skip what went out: whole vectors, then the front of a partly sent one.
            while first < 2 && sent >= vectors[first].iov_len {
                sent -= vectors[first].iov_len
                first += 1
            }
            if first < 2 && sent > 0 {
                vectors[first].iov_base = vectors[first].iov_base! + sent
                vectors[first].iov_len -= sent
            }
        }
    }

    /// Reads `rank`'s next frame, which must hold `payload.count` bytes: its header into
    /// `incoming`, its payload into `payload`.
    func receive(_ payload: UnsafeMutableRawBufferPointer, from rank: Int) throws(Failure) {
        let total = Self.headerBytes + payload.count
        var received = 0
        var backoff = Backoff().boundedInTime()
        var pollMilliseconds: Int32 = 1
        // Exactly this frame's bytes: the peer's next frame may already follow it.
        while received < total {
            var count = 0
            let code = received < Self.headerBytes
                ? cplatform_receive2(fds[rank], incoming + received, Self.headerBytes - received,
                                     payload.baseAddress, payload.count, &count)
                : cplatform_receive(fds[rank], payload.baseAddress! + (received - Self.headerBytes), total - received, &count)
            if code == 0 && count == 0 { throw .lost(nil) }
            if code == 0 {
                // The header is checked as soon as it is in: a shorter frame must not leave
                // this rank waiting for bytes that will not come.
                if received < Self.headerBytes && received + count >= Self.headerBytes { try checkHeader(payload.count) }
                received += count
                continue
            }
            guard code == EAGAIN || code == EWOULDBLOCK || code == EINTR else { throw .lost(code) }
            if !backoff.wouldSleep {
                progressMPI()
                backoff.pause()
                continue
            }
            var ready: Int32 = 0
            _ = cplatform_wait_fd(fds[rank], 0, pollMilliseconds, &ready)
            if ready == 0 {
                progressMPI()
                pollMilliseconds = min(pollMilliseconds * 2, Self.longestPollMilliseconds)
            }
        }
    }

    /// The header in `incoming` must be a frame of `expected` payload bytes.
    private func checkHeader(_ expected: Int) throws(Failure) {
        let magic = UInt32(littleEndian: incoming.loadUnaligned(as: UInt32.self))
        let length = UInt32(littleEndian: incoming.loadUnaligned(fromByteOffset: 4, as: UInt32.self))
        guard magic == Self.magic, Int(length) == expected else {
            throw .malformed("magic \(String(magic, radix: 16)), \(length) bytes where \(expected) were due")
        }
    }
}
