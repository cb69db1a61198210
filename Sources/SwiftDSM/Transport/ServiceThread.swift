import CMPI
import Foundation

/// Something the service thread hands requests to. Handlers run on the service thread
/// only, one request at a time, so their state needs no locking. A handler checks what it
/// reads and throws before it changes anything when the request is malformed.
protocol RequestHandler: AnyObject {
    func handle(_ kind: RequestKind, from source: Int, body: inout MessageReader) throws(MalformedMessage)
}

/// One thread per rank that serves other ranks' requests (page fetches and diffs on the
/// message path, lock and condition-variable managers on every path). It probes with
/// back-off, so an idle service thread costs almost no CPU.
final class ServiceThread: @unchecked Sendable {
    private let cluster: Cluster
    private var handlers: [RequestKind: RequestHandler] = [:]
    private var buffer = [UInt8](repeating: 0, count: 1 << 16)
    private let finished = DispatchSemaphore(value: 0)
    private var running = false
    /// Written by the service thread only.
    private(set) var statistics = Statistics()

    init(cluster: Cluster) { self.cluster = cluster }

    /// Routes `kinds` to `handler`. Call before `start`.
    func register(_ handler: RequestHandler, for kinds: [RequestKind]) {
        for kind in kinds { handlers[kind] = handler }
    }

    func start() {
        running = true
        let thread = Thread { [self] in
            self.serve()
            self.finished.signal()
        }
        thread.name = "SwiftDSM service"
        thread.stackSize = 1 << 20
        thread.start()
    }

    /// Stops the thread after the requests already queued before this call's own message.
    func stop() {
        guard running else { return }
        var writer = MessageWriter(kind: .shutdown)
        send(&writer, to: cluster.rank)
        finished.wait()
        running = false
    }

    /// Sends a request to rank `destination`'s service thread.
    func send(_ writer: inout MessageWriter, to destination: Int) {
        Self.send(writer.bytes, to: destination, tag: Tag.request, comm: cluster.requestComm)
    }

    static func send(_ bytes: [UInt8], to destination: Int, tag: Int32, comm: MPI_Comm) {
        bytes.withUnsafeBytes { raw in
            mpiCheck(MPI_Send(raw.baseAddress, Int32(raw.count), cmpi_byte(), Int32(destination), tag, comm),
                     "MPI_Send to rank \(destination)")
            ThreadStatistics.sent(bytes: raw.count)
        }
    }

    private func serve() {
        ThreadStatistics.serviceThread = pthread_self()
        var backoff = Backoff(spinAttempts: 100, yieldAttempts: 1_000, capMicroseconds: 250)
        var status = MPI_Status()
        var found: Int32 = 0
        while true {
            var message: MPI_Message? = cmpi_message_null()
            mpiCheck(MPI_Improbe(cmpi_any_source(), Tag.request, cluster.requestComm, &found, &message, &status),
                     "MPI_Improbe (service thread)")
            if found == 0 {
                backoff.pause()
                continue
            }
            backoff.reset()
            var count: Int32 = 0
            MPI_Get_count(&status, cmpi_byte(), &count)
            if Int(count) > buffer.count { buffer = [UInt8](repeating: 0, count: Int(count)) }
            let source = Int(status.MPI_SOURCE)
            let keepServing = buffer.withUnsafeMutableBytes { raw -> Bool in
                mpiCheck(MPI_Mrecv(raw.baseAddress, count, cmpi_byte(), &message, cmpi_status_ignore()),
                         "MPI_Mrecv (service thread)")
                ThreadStatistics.received(bytes: Int(count))
                var reader = MessageReader(UnsafeRawBufferPointer(rebasing: raw[0..<Int(count)]))
                let code = (try? reader.int64()) ?? -1
                if code == RequestKind.shutdown.rawValue && source == cluster.rank { return false }
                guard let kind = RequestKind(rawValue: code), let handler = handlers[kind] else {
                    Fatal.stop("rank \(source) sent a request this rank cannot take (kind \(code), \(count) bytes): "
                        + "a malformed message, or a program of another SwiftDSM build; nothing of it was applied")
                }
                statistics.requestsServed += 1
                do throws(MalformedMessage) {
                    try handler.handle(kind, from: source, body: &reader)
                } catch {
                    Fatal.stop("rank \(source) sent a malformed \(kind) request (\(error.reason)); "
                        + "nothing of it was applied")
                }
                return true
            }
            if !keepServing { return }
        }
    }
}
