import CMPI

/// Pages and diffs as requests to the home's service thread over two-sided MPI. Works on
/// every MPI transport, TCP included, where Open MPI offers no one-sided communication.
final class MessageTransport: PageTransport {
    let name = "message"
    private let cluster: Cluster
    private let service: ServiceThread
    /// Homes that owe an acknowledgement for a diff batch sent to them.
    private var awaitingAcknowledgement: [Int] = []

    init(cluster: Cluster, service: ServiceThread) {
        self.cluster = cluster
        self.service = service
    }

    func fetch(home: Int, offset: Int, length: Int, into destination: UnsafeMutableRawPointer) {
        var request: MPI_Request? = cmpi_request_null()
        // Post the receive first so the reply lands straight in the destination.
        mpiCheck(MPI_Irecv(destination, Int32(length), cmpi_byte(), Int32(home), Tag.pageData,
                           cluster.replyComm, &request), "MPI_Irecv (page data)")
        ThreadStatistics.received(bytes: length)
        var writer = MessageWriter(kind: .fetchPages)
        writer.append(offset)
        writer.append(length)
        service.send(&writer, to: home)
        cluster.wait(&request, backoff: .transfer)
    }

    func write(_ batch: RunBatch, to home: Int) {
        guard !batch.isEmpty else { return }
        var writer = MessageWriter(kind: .diff, capacity: 16 + batch.runCount * 16 + batch.byteCount)
        batch.encode(into: &writer)
        service.send(&writer, to: home)
        awaitingAcknowledgement.append(home)
    }

    func completeWrites() {
        for home in awaitingAcknowledgement {
            _ = cluster.receive(from: home, tag: Tag.diffAcknowledgement, on: cluster.replyComm, backoff: .transfer)
        }
        awaitingAcknowledgement.removeAll(keepingCapacity: true)
    }

    func close() {}
}

/// The home side of the message path, run by the service thread: serves page fetches
/// from the page store's alias (leaving read notices) and applies incoming diffs to it.
final class PageServer: RequestHandler {
    private let cluster: Cluster
    private let arena: UnsafeMutableRawPointer
    private let arenaLength: Int
    private let readNotices: ReadNotices
    private let pageShift: Int

    init(cluster: Cluster, store: PageStore, pagesLength: Int, pageShift: Int) {
        self.cluster = cluster
        self.arena = store.alias
        self.arenaLength = pagesLength
        self.readNotices = store.readNotices
        self.pageShift = pageShift
    }

    func handle(_ kind: RequestKind, from source: Int, body: inout MessageReader) throws(MalformedMessage) {
        switch kind {
        case .fetchPages:
            let pageSize = 1 << pageShift
            let offset = try body.int(in: 0..<arenaLength, "page offset")
            let length = try body.int(in: 1..<(arenaLength - offset + 1), "fetch length")
            guard offset % pageSize == 0, length % pageSize == 0 else {
                throw MalformedMessage(reason: "fetch of \(length) bytes at \(offset) is not whole pages")
            }
            readNotices.mark(first: offset >> pageShift, count: length >> pageShift)
            mpiCheck(MPI_Send(arena + offset, Int32(length), cmpi_byte(), Int32(source), Tag.pageData,
                              cluster.replyComm), "MPI_Send (page data to rank \(source))")
            ThreadStatistics.sent(bytes: length)
        case .diff:
            try RunBatch.applyEncoded(&body, to: arena, limit: arenaLength)
            var acknowledgement: Int64 = 1
            mpiCheck(MPI_Send(&acknowledgement, 8, cmpi_byte(), Int32(source), Tag.diffAcknowledgement,
                              cluster.replyComm), "MPI_Send (diff acknowledgement)")
            ThreadStatistics.sent(bytes: 8)
        default:
            throw MalformedMessage(reason: "the page server takes no \(kind) requests")
        }
    }
}
