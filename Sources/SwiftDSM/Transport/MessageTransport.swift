import CMPI
import Glibc

/// Pages and diffs as requests to the home's service thread over two-sided MPI. Works on
/// every MPI transport, TCP included, where Open MPI offers no one-sided communication.
final class MessageTransport: PageTransport, PageRefetching {
    let name = "message"
    private let cluster: Cluster
    private let service: ServiceThread
    /// Homes that owe an acknowledgement for a diff batch sent to them.
    private var awaitingAcknowledgement: [Int] = []
    /// Where a refetch's reply lands before its blocks go to their pages.
    private var staging: [UInt8] = []

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

    /// The reply is the home's version, a block mask per page, then the blocks the masks name.
    func refetch(home: Int, firstPage: Int, count: Int, pageShift: Int, versions: UnsafeMutablePointer<UInt64>,
                 into destination: UnsafeMutableRawPointer) -> Int {
        let pageSize = 1 << pageShift
        let blockLength = pageSize >> WriteVectors.blockShift
        let capacity = 8 + count * 8 + count * pageSize
        if staging.count < capacity { staging = [UInt8](repeating: 0, count: capacity) }
        return staging.withUnsafeMutableBytes { raw -> Int in
            let reply = raw.baseAddress!
            var request: MPI_Request? = cmpi_request_null()
            mpiCheck(MPI_Irecv(reply, Int32(capacity), cmpi_byte(), Int32(home), Tag.pageData, cluster.replyComm,
                               &request), "MPI_Irecv (refetched blocks)")
            var writer = MessageWriter(kind: .refetchPages, capacity: 32 + count * 8)
            writer.append(firstPage)
            writer.append(count)
            for index in 0..<count { writer.append(Int64(bitPattern: versions[index])) }
            service.send(&writer, to: home)
            cluster.wait(&request, backoff: .transfer)
            let version = reply.loadUnaligned(as: UInt64.self)
            var source = reply + 8 + count * 8
            var moved = 0
            for index in 0..<count {
                let mask = reply.loadUnaligned(fromByteOffset: 8 + index * 8, as: UInt64.self)
                let page = destination + index * pageSize
                moved += mask.nonzeroBitCount
                WriteVectors.forEachRun(of: mask) { first, width in
                    memcpy(page + first * blockLength, source, width * blockLength)
                    source += width * blockLength
                }
                versions[index] = version
            }
            ThreadStatistics.received(bytes: 8 + count * 8 + moved * blockLength)
            return count * pageSize - moved * blockLength
        }
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
    /// Set (before the service thread starts) where refetches are served: the message path.
    var writeVectors: WriteVectors?
    private var runs: [(offset: Int, length: Int)] = []
    private var versions: [UInt64] = []
    private var masks: [UInt64] = []
    private var reply: [UInt8] = []

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
        case .refetchPages:
            try refetch(from: source, body: &body)
        case .diff:
            if let writeVectors {
                runs.removeAll(keepingCapacity: true)
                try RunBatch.applyEncoded(&body, to: arena, limit: arenaLength) { runs.append(($0, $1)) }
                writeVectors.recordDiff(runs)
            } else {
                try RunBatch.applyEncoded(&body, to: arena, limit: arenaLength)
            }
            var acknowledgement: Int64 = 1
            mpiCheck(MPI_Send(&acknowledgement, 8, cmpi_byte(), Int32(source), Tag.diffAcknowledgement,
                              cluster.replyComm), "MPI_Send (diff acknowledgement)")
            ThreadStatistics.sent(bytes: 8)
        default:
            throw MalformedMessage(reason: "the page server takes no \(kind) requests")
        }
    }

    /// Sends the blocks of each page changed since the requester's version of its copy
    /// (every block without write vectors), after the read notices, as a fetch does.
    private func refetch(from source: Int, body: inout MessageReader) throws(MalformedMessage) {
        let pageCount = arenaLength >> pageShift
        let first = try body.int(in: 0..<pageCount, "first page")
        let count = try body.int(in: 1..<(pageCount - first + 1), "page count")
        guard body.remaining == count * 8 else {
            throw MalformedMessage(reason: "refetch of \(count) pages carries \(body.remaining) bytes of versions")
        }
        versions.removeAll(keepingCapacity: true)
        for _ in 0..<count { versions.append(UInt64(bitPattern: try body.int64())) }
        readNotices.mark(first: first, count: count)
        masks.removeAll(keepingCapacity: true)
        masks.append(contentsOf: repeatElement(WriteVectors.everyBlock, count: count))
        var version: UInt64 = 0
        if let writeVectors {
            version = versions.withUnsafeBufferPointer { given in
                masks.withUnsafeMutableBufferPointer { writeVectors.changes(first: first, versions: given, into: $0) }
            }
        }
        let pageSize = 1 << pageShift
        let blockLength = pageSize >> WriteVectors.blockShift
        let blocks = masks.reduce(0) { $0 + $1.nonzeroBitCount }
        let length = 8 + count * 8 + blocks * blockLength
        if reply.count < length { reply = [UInt8](repeating: 0, count: length) }
        reply.withUnsafeMutableBytes { raw in
            let base = raw.baseAddress!
            base.storeBytes(of: version, as: UInt64.self)
            var target = base + 8 + count * 8
            for index in 0..<count {
                (base + 8 + index * 8).storeBytes(of: masks[index], as: UInt64.self)
                let page = arena + ((first + index) << pageShift)
                WriteVectors.forEachRun(of: masks[index]) { low, width in
                    memcpy(target, page + low * blockLength, width * blockLength)
                    target += width * blockLength
                }
            }
            mpiCheck(MPI_Send(base, Int32(length), cmpi_byte(), Int32(source), Tag.pageData, cluster.replyComm),
                     "MPI_Send (refetched blocks to rank \(source))")
        }
        ThreadStatistics.sent(bytes: length)
    }
}
