import CMPI
import Glibc
import SwiftDSM

extension UInt8: CollectiveElement { public static var mpiType: MPI_Datatype { cmpi_byte() } }

/// JIAJIA's message helpers (jia_send / jia_recv): point-to-point byte messages between
/// ranks, on a communicator of their own (a duplicate of the DSM's `userComm`, made by
/// `open()`), so they never match the application's MPI traffic nor the collectives.
///
/// Sends are buffered: the bytes are copied and sent without waiting for a matching
/// receive. Receives accept -1 as a wildcard for the source and the tag, take messages
/// in arrival order, copy at most the buffer's length and return that count. The copies
/// are made by the application thread, so buffers in shared memory fault in as usual and
/// MPI only ever touches private memory.
public enum Messages {
    public static let anySource = -1
    public static let anyTag = -1

    nonisolated(unsafe) private static var comm: MPI_Comm?
    nonisolated(unsafe) private static var pending: [(request: MPI_Request?, storage: UnsafeMutableRawPointer?)] = []
    nonisolated(unsafe) private static var tagUpperBound = 32767

    /// Counters of this rank's messages, for the statistics.
    public struct Counts: Sendable {
        public var sent: UInt64 = 0
        public var bytesSent: UInt64 = 0
        public var received: UInt64 = 0
        public var bytesReceived: UInt64 = 0
        public init() {}
    }
    nonisolated(unsafe) public static var counts = Counts()

    private static var runtime: DSMRuntime {
        guard let runtime = DSM.current?.runtime else { Fatal.stop("message helpers used before jia_init / DSM.start") }
        return runtime
    }

    /// Collective: creates the communicator. Called by jia_init's C face.
    public static func open() {
        guard comm == nil else { return }
        var duplicate: MPI_Comm? = nil
        mpiCheck(MPI_Comm_dup(runtime.cluster.userComm, &duplicate), "MPI_Comm_dup")
        mpiCheck(MPI_Comm_set_errhandler(duplicate, cmpi_errors_return()), "MPI_Comm_set_errhandler")
        comm = duplicate
        var value: UnsafeMutableRawPointer? = nil
        var found: Int32 = 0
        mpiCheck(MPI_Comm_get_attr(duplicate, Int32(MPI_TAG_UB), &value, &found), "MPI_Comm_get_attr (MPI_TAG_UB)")
        if found != 0, let value { tagUpperBound = Int(value.load(as: Int32.self)) }
    }

    /// Completes the sends that can complete (waiting up to `seconds` for the others, whose
    /// receivers never asked for them, then abandoning them) and frees the communicator.
    public static func close(waitingUpTo seconds: Double = 2) {
        guard comm != nil else { return }
        var backoff = Wait()
        let deadline = Double(monotonicSeconds()) + seconds
        while !pending.isEmpty && Double(monotonicSeconds()) < deadline {
            completeSends()
            if !pending.isEmpty { backoff.pause() }
        }
        for index in pending.indices {
            var request = pending[index].request
            MPI_Request_free(&request)   // the storage stays allocated: MPI may still read it
        }
        pending.removeAll()
        var handle = comm
        mpiCheck(MPI_Comm_free(&handle), "MPI_Comm_free")
        comm = nil
    }

    private static var communicator: MPI_Comm {
        guard let comm else { Fatal.stop("message helpers used before jia_init (or after jia_exit)") }
        return comm
    }

    private static func completeSends() {
        pending.removeAll { entry in
            var request = entry.request
            var done: Int32 = 0
            mpiCheck(MPI_Test(&request, &done, cmpi_status_ignore()), "MPI_Test (jia_send)")
            if done != 0 { entry.storage.map { free($0) } }
            return done != 0
        }
    }

    /// Sends `length` bytes at `buffer` to `destination` with `tag` (0 or more). Returns at once.
    public static func send(_ buffer: UnsafeRawPointer?, length: Int, to destination: Int, tag: Int) {
        let comm = communicator
        let ranks = runtime.cluster.size
        guard destination >= 0 && destination < ranks else {
            Fatal.stop("jia_send: destination \(destination) is not a rank (0..\(ranks - 1))")
        }
        guard tag >= 0 && tag <= tagUpperBound else {
            Fatal.stop("jia_send: tag \(tag) must be from 0 to \(tagUpperBound)")
        }
        guard length >= 0 else { Fatal.stop("jia_send: negative length \(length)") }
        completeSends()
        let storage = malloc(max(length, 1))!
        if length > 0, let buffer { memcpy(storage, buffer, length) }
        var request: MPI_Request? = nil
        mpiCheck(MPI_Isend(storage, Int32(length), cmpi_byte(), Int32(destination), Int32(tag), comm, &request),
              "MPI_Isend")
        pending.append((request, storage))
        counts.sent += 1
        counts.bytesSent += UInt64(length)
    }

    /// Waits for a message from `source` (or any, -1) with `tag` (or any, -1), copies at most
    /// `capacity` bytes of it to `buffer` and returns how many it copied, with the sender and tag.
    @discardableResult
    public static func receive(_ buffer: UnsafeMutableRawPointer?, capacity: Int, from source: Int,
                               tag: Int) -> (bytes: Int, source: Int, tag: Int) {
        let comm = communicator
        let ranks = runtime.cluster.size
        guard source == anySource || (source >= 0 && source < ranks) else {
            Fatal.stop("jia_recv: source \(source) is not a rank (0..\(ranks - 1)) nor -1 (any)")
        }
        guard tag == anyTag || (tag >= 0 && tag <= tagUpperBound) else {
            Fatal.stop("jia_recv: tag \(tag) must be from 0 to \(tagUpperBound), or -1 (any)")
        }
        let mpiSource = source == anySource ? cmpi_any_source() : Int32(source)
        let mpiTag = tag == anyTag ? cmpi_any_tag() : Int32(tag)
        var message: MPI_Message? = cmpi_message_null()
        var status = MPI_Status()
        var found: Int32 = 0
        var backoff = Wait()
        while true {
            mpiCheck(MPI_Improbe(mpiSource, mpiTag, comm, &found, &message, &status), "MPI_Improbe")
            if found != 0 { break }
            completeSends()
            backoff.pause()
        }
        var length: Int32 = 0
        mpiCheck(MPI_Get_count(&status, cmpi_byte(), &length), "MPI_Get_count")
        let storage = malloc(max(Int(length), 1))!
        defer { free(storage) }
        mpiCheck(MPI_Mrecv(storage, length, cmpi_byte(), &message, &status), "MPI_Mrecv")
        let copied = max(0, min(Int(length), capacity))
        if copied > 0, let buffer { memcpy(buffer, storage, copied) }
        counts.received += 1
        counts.bytesReceived += UInt64(copied)
        return (copied, Int(status.MPI_SOURCE), Int(status.MPI_TAG))
    }

    /// Copies `root`'s `length` bytes at `buffer` to every rank's `buffer` (collective).
    public static func broadcast(_ buffer: UnsafeMutableRawPointer, length: Int, root: Int) {
        let ranks = runtime.cluster.size
        guard root >= 0 && root < ranks else { Fatal.stop("jia_bcast: root \(root) is not a rank (0..\(ranks - 1))") }
        guard length > 0 else { return }
        Collectives.broadcast(buffer.assumingMemoryBound(to: UInt8.self), count: length, root: root)
    }

    private static func monotonicSeconds() -> Double {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
    }

    /// Test, then yield, then sleep with doubling intervals up to a millisecond: a waiting
    /// rank leaves the core to the others (ranks may outnumber cores).
    struct Wait {
        private var rounds = 0
        mutating func pause() {
            rounds += 1
            if rounds < 16 { sched_yield(); return }
            let micros = min(1000, 1 << min(rounds - 16, 10))
            usleep(UInt32(micros))
        }
    }
}
