import CMPI
import Glibc

/// The DSM's messages as MPI two-sided messages: requests on the request communicator,
/// replies on the reply communicator, so a service thread and its main thread never take
/// each other's messages. Open MPI's receives can only be polled, so waits back off; on one
/// host an idle service thread, and a thread waiting long for a reply, sleep on their rank's
/// doorbells instead (`Doorbells`), rung by every request and every reply. Stored
/// properties unchecked for exclusivity at run time, as `CoherenceEngine` says why.
final class MPIChannel: MessageChannel, @unchecked Sendable {
    let name = "mpi"
    private let cluster: Cluster
    /// Where a message of several parts is packed (MPI sends one buffer), per sending thread.
    private let packing = ThreadPackingBuffers()
    /// The service loop's receive buffer (service thread only).
    @exclusivity(unchecked) private var buffer = [UInt8](repeating: 0, count: 1 << 16)

    /// Where every rank is on one host (nil elsewhere).
    private let doorbells: Doorbells?
    /// Whether waits bound their yields in time (see `Backoff.boundedInTime`): where ranks
    /// are on several hosts.
    private let yieldsBoundedInTime: Bool

    /// Collective (the doorbells are set up among all ranks).
    init(cluster: Cluster) {
        self.cluster = cluster
        doorbells = Doorbells.open(cluster: cluster)
        yieldsBoundedInTime = !cluster.allOnOneHost
    }

    private func paced(_ counted: Backoff) -> Backoff { yieldsBoundedInTime ? counted.boundedInTime() : counted }

    private func comm(_ tag: Int32) -> MPI_Comm { tag == Tag.request ? cluster.requestComm : cluster.replyComm }

    func send(_ parts: [UnsafeRawBufferPointer], tag: Int32, to destination: Int) {
        if parts.count == 1 {
            send(parts[0], tag: tag, to: destination)
            return
        }
        packing.withBuffer(length: parts.reduce(0) { $0 + $1.count }) { packed in
            var position = 0
            for part in parts where part.count > 0 {
                memcpy(packed.baseAddress! + position, part.baseAddress!, part.count)
                position += part.count
            }
            send(UnsafeRawBufferPointer(packed), tag: tag, to: destination)
        }
    }

    private func send(_ bytes: UnsafeRawBufferPointer, tag: Int32, to destination: Int) {
        // A message wakes the destination's sleepers before the send (a large one completes
        // only when its receiver takes it) and after it (the message is there).
        doorbells?.ring(destination, request: tag == Tag.request)
        mpiCheck(MPI_Send(bytes.baseAddress, Int32(bytes.count), cmpi_byte(), Int32(destination), tag, comm(tag)),
                 "MPI_Send to rank \(destination)")
        doorbells?.ring(destination, request: tag == Tag.request)
        ThreadStatistics.sent(bytes: bytes.count)
    }

    func call(_ request: UnsafeRawBufferPointer, to destination: Int, replyTag: Int32,
              into buffer: UnsafeMutableRawBufferPointer, meanwhile: () -> Void) -> Int {
        var pending: MPI_Request? = cmpi_request_null()
        // Post the receive first so the reply lands straight in the buffer.
        mpiCheck(MPI_Irecv(buffer.baseAddress, Int32(buffer.count), cmpi_byte(), Int32(destination), replyTag,
                           cluster.replyComm, &pending), "MPI_Irecv (reply from rank \(destination))")
        send(request, tag: Tag.request, to: destination)
        meanwhile()
        var status = MPI_Status()
        var done: Int32 = 0
        var backoff = paced(.transfer)
        while true {
            mpiCheck(MPI_Test(&pending, &done, &status), "MPI_Test (reply from rank \(destination))")
            if done != 0 { break }
            backoff.pause()
        }
        var count: Int32 = 0
        mpiCheck(MPI_Get_count(&status, cmpi_byte(), &count), "MPI_Get_count")
        ThreadStatistics.received(bytes: Int(count))
        return Int(count)
    }

    func receive(tag: Int32, from source: Int?) -> (source: Int, bytes: [UInt8]) {
        var (message, status, count) = probe(tag: tag, from: source)
        var bytes = [UInt8](repeating: 0, count: count)
        bytes.withUnsafeMutableBytes { buffer in
            mpiCheck(MPI_Mrecv(buffer.baseAddress, Int32(count), cmpi_byte(), &message, cmpi_status_ignore()), "MPI_Mrecv")
        }
        ThreadStatistics.received(bytes: count)
        return (Int(status.MPI_SOURCE), bytes)
    }

    func receive(tag: Int32, from source: Int, into buffer: UnsafeMutableRawBufferPointer) -> Int {
        var (message, _, count) = probe(tag: tag, from: source)
        guard count <= buffer.count else {
            Fatal.stop("rank \(source) sent a reply of \(count) bytes where at most \(buffer.count) were expected; "
                + "nothing of it was applied")
        }
        mpiCheck(MPI_Mrecv(buffer.baseAddress, Int32(count), cmpi_byte(), &message, cmpi_status_ignore()), "MPI_Mrecv")
        ThreadStatistics.received(bytes: count)
        return count
    }

    /// Waits for the next reply with `tag` from `source` (nil: any) and matches it.
    private func probe(tag: Int32, from source: Int?) -> (MPI_Message?, MPI_Status, Int) {
        // Page data and diff acknowledgements answer a request just sent (a framed channel
        // takes its page data here): they are on their way, so look for them closely.
        var backoff = paced(tag == Tag.diffAcknowledgement || tag == Tag.pageData ? .transfer : Backoff())
        var found: Int32 = 0
        var message: MPI_Message? = cmpi_message_null()
        var status = MPI_Status()
        Doorbells.wait(on: doorbells?.ownReplies, backoff: &backoff) {
            mpiCheck(MPI_Improbe(Int32(source ?? Int(cmpi_any_source())), tag, cluster.replyComm, &found, &message,
                                 &status), "MPI_Improbe")
            return found != 0
        }
        var count: Int32 = 0
        mpiCheck(MPI_Get_count(&status, cmpi_byte(), &count), "MPI_Get_count")
        return (message, status, Int(count))
    }

    /// Unchecked MPI calls: this runs while the job stops, where a failure is no news.
    func receive(tag: Int32, before deadline: UInt64) -> Int? {
        while monotonicNanoseconds() < deadline {
            var found: Int32 = 0
            var status = MPI_Status()
            MPI_Iprobe(cmpi_any_source(), tag, cluster.replyComm, &found, &status)
            if found != 0 {
                var count: Int32 = 0
                mpiCheck(MPI_Get_count(&status, cmpi_byte(), &count), "MPI_Get_count")
                var bytes = [UInt8](repeating: 0, count: max(Int(count), 1))
                MPI_Recv(&bytes, count, cmpi_byte(), status.MPI_SOURCE, tag, cluster.replyComm, cmpi_status_ignore())
                return Int(status.MPI_SOURCE)
            }
            usleep(1000)
        }
        return nil
    }

    func serve(_ deliver: (Int, UnsafeRawBufferPointer) -> Void) {
        // Yields bounded in time on one host too, by 20 ms. The service thread shares its core
        // with the application's thread, so while that one computes each counted yield lasts
        // a scheduler tick: a thread with nothing to serve took the core back every 4 ms for
        // the whole computation (about 800 times a run of NPB MG class A). After its yields it
        // sleeps on the doorbell every request rings. A bound of 750 us (as across hosts)
        // measured slower contended locks here, likely because the manager then slept between
        // requests its own rank's busy thread delayed, and each one waited for a wake-up.
        let counted = Backoff(spinAttempts: 100, yieldAttempts: 1_000, capMicroseconds: 250)
        var backoff = yieldsBoundedInTime ? counted.boundedInTime() : counted.yielding(atMostNanoseconds: 20_000_000)
        var status = MPI_Status()
        var found: Int32 = 0
        var message: MPI_Message? = cmpi_message_null()
        while true {
            // A closure literal, not a local function: its captures need no dynamic exclusivity checks.
            Doorbells.wait(on: doorbells?.ownRequests, backoff: &backoff) {
                message = cmpi_message_null()
                mpiCheck(MPI_Improbe(cmpi_any_source(), Tag.request, cluster.requestComm, &found, &message, &status),
                         "MPI_Improbe (service thread)")
                return found != 0
            }
            backoff.reset()
            var count: Int32 = 0
            mpiCheck(MPI_Get_count(&status, cmpi_byte(), &count), "MPI_Get_count")
            if Int(count) > buffer.count { buffer = [UInt8](repeating: 0, count: Int(count)) }
            let source = Int(status.MPI_SOURCE)
            let keepServing = buffer.withUnsafeMutableBytes { raw -> Bool in
                mpiCheck(MPI_Mrecv(raw.baseAddress, count, cmpi_byte(), &message, cmpi_status_ignore()),
                         "MPI_Mrecv (service thread)")
                ThreadStatistics.received(bytes: Int(count))
                let bytes = UnsafeRawBufferPointer(rebasing: raw[0..<Int(count)])
                if source == cluster.rank && Self.isStop(bytes) { return false }
                deliver(source, bytes)
                return true
            }
            if !keepServing { return }
        }
    }

    /// The message `stopServing` sends itself: queued behind every request sent before it.
    private static let stopMessage: [UInt8] = Array(repeating: 0xff, count: 8)

    private static func isStop(_ bytes: UnsafeRawBufferPointer) -> Bool {
        bytes.count == 8 && bytes.allSatisfy { $0 == 0xff }
    }

    func stopServing() { send(Self.stopMessage, tag: Tag.request, to: cluster.rank) }

    func prepareToClose() {}

    func close() {}
}

/// One packing buffer for the service thread and one for the application's threads, so
/// two threads sending at once never share one (the application's threads send several
/// parts only from the coherence engine, which `EngineLock` keeps to one thread at a time).
/// Unchecked for exclusivity at run time, as `CoherenceEngine` says why.
final class ThreadPackingBuffers: @unchecked Sendable {
    @exclusivity(unchecked) private var buffers: [UnsafeMutableRawBufferPointer] =
        [.allocate(byteCount: 1 << 16, alignment: 16), .allocate(byteCount: 1 << 16, alignment: 16)]

    func withBuffer<T>(length: Int, _ body: (UnsafeMutableRawBufferPointer) -> T) -> T {
        let slot = pthread_equal(pthread_self(), ThreadStatistics.serviceThread) != 0 ? 1 : 0
        if buffers[slot].count < length {
            buffers[slot].deallocate()
            buffers[slot] = .allocate(byteCount: max(length, buffers[slot].count * 2), alignment: 16)
        }
        return body(UnsafeMutableRawBufferPointer(rebasing: buffers[slot][0..<length]))
    }
}
