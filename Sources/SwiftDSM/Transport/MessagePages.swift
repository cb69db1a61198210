import CMPI
import Glibc

/// Pages and diffs as requests to the home's service thread over a message channel: MPI's
/// two-sided messages (`message`, which works wherever MPI does, TCP included, where Open
/// MPI offers no one-sided communication) or the native tcp lanes (`tcp`).
final class MessagePages: PageFetcher, DiffSink, PageRefetching {
    private let channel: MessageChannel
    /// Homes that owe an acknowledgement for a diff batch sent to them.
    private var awaitingAcknowledgement: [Int] = []
    /// Where a refetch's reply lands before its blocks go to their pages.
    private var staging: [UInt8] = []
    /// The wire form of the diffs sent, reused (a dirty eviction sends from the fault handler).
    private var wire = WireParts()
    /// A gathered fetch's request, reused (it is built in the fault handler).
    private var gather = MessageWriter(capacity: 16 + 16 * MessagePages.runsPerRequest)

    /// The most runs one gathered fetch request names (the home checks it).
    static let runsPerRequest = 256

    init(channel: MessageChannel) {
        self.channel = channel
        awaitingAcknowledgement.reserveCapacity(64)
    }

    func fetch(home: Int, offset: Int, length: Int, into destination: UnsafeMutableRawPointer) {
        _ = fetch(home: home, offset: offset, length: length, into: destination, meanwhile: {})
    }

    /// The request is built on the stack: a fetch runs in the fault handler, which allocates nothing.
    func fetch(home: Int, offset: Int, length: Int, into destination: UnsafeMutableRawPointer,
               meanwhile: () -> Void) -> Bool {
        var request = (RequestKind.fetchPages.rawValue.littleEndian, Int64(offset).littleEndian, Int64(length).littleEndian)
        let received = withUnsafeBytes(of: &request) { request in
            channel.call(request, to: home, replyTag: Tag.pageData,
                         into: UnsafeMutableRawBufferPointer(start: destination, count: length), meanwhile: meanwhile)
        }
        if received != length {
            Fatal.stop("rank \(home) answered a fetch of \(length) bytes at \(offset) with \(received) bytes")
        }
        return true
    }

    /// One request per `runsPerRequest` runs; the home answers each run with a message of its
    /// own, received straight into the run's destination (a channel keeps one sender's
    /// messages of one tag in order). A request's replies are taken before the next request
    /// goes, so the home never waits on a reader that is still sending.
    func fetch(home: Int, runs: UnsafeBufferPointer<FetchRun>) { requestRuns(runs, from: home, kind: .fetchRuns) }

    /// As `fetch(home:runs:)`, asking the home to leave no read notices.
    func read(home: Int, runs: UnsafeBufferPointer<FetchRun>) { requestRuns(runs, from: home, kind: .readRuns) }

    private func requestRuns(_ runs: UnsafeBufferPointer<FetchRun>, from home: Int, kind: RequestKind) {
        var first = 0
        while first < runs.count {
            let part = runs[first..<min(first + Self.runsPerRequest, runs.count)]
            gather.reset(kind: kind)
            gather.append(part.count)
            for run in part {
                gather.append(run.offset)
                gather.append(run.length)
            }
            channel.send(gather.bytes, tag: Tag.request, to: home)
            for run in part {
                let received = channel.receive(tag: Tag.pageData, from: home,
                                               into: UnsafeMutableRawBufferPointer(start: run.destination, count: run.length))
                if received != run.length {
                    Fatal.stop("rank \(home) answered a gathered fetch of \(run.length) bytes at \(run.offset) with \(received) bytes")
                }
            }
            first += part.count
        }
    }

    /// The reply is the home's version, a block mask per page, then the blocks the masks name.
    func refetch(home: Int, firstPage: Int, count: Int, pageShift: Int, versions: UnsafeMutablePointer<UInt64>,
                 into destination: UnsafeMutableRawPointer) -> Int {
        let pageSize = 1 << pageShift
        let blockLength = pageSize >> WriteVectors.blockShift
        let capacity = 8 + count * 8 + count * pageSize
        if staging.count < capacity { staging = [UInt8](repeating: 0, count: capacity) }
        var writer = MessageWriter(kind: .refetchPages, capacity: 32 + count * 8)
        writer.append(firstPage)
        writer.append(count)
        for index in 0..<count { writer.append(Int64(bitPattern: versions[index])) }
        return staging.withUnsafeMutableBytes { raw -> Int in
            let reply = raw.baseAddress!
            let length = writer.bytes.withUnsafeBytes { request in
                channel.call(request, to: home, replyTag: Tag.pageData,
                             into: UnsafeMutableRawBufferPointer(rebasing: raw[0..<capacity]))
            }
            guard length >= 8 + count * 8 else {
                Fatal.stop("rank \(home) answered a refetch of \(count) pages with \(length) bytes")
            }
            let version = reply.loadUnaligned(as: UInt64.self)
            var moved = 0
            for index in 0..<count {
                moved += reply.loadUnaligned(fromByteOffset: 8 + index * 8, as: UInt64.self).nonzeroBitCount
            }
            guard length == 8 + count * 8 + moved * blockLength else {
                Fatal.stop("rank \(home) answered a refetch of \(count) pages with \(length) bytes, "
                    + "not the \(8 + count * 8 + moved * blockLength) its block masks name")
            }
            var source = reply + 8 + count * 8
            for index in 0..<count {
                let mask = reply.loadUnaligned(fromByteOffset: 8 + index * 8, as: UInt64.self)
                let page = destination + index * pageSize
                WriteVectors.forEachRun(of: mask) { first, width in
                    memcpy(page + first * blockLength, source, width * blockLength)
                    source += width * blockLength
                }
                versions[index] = version
            }
            return count * pageSize - moved * blockLength
        }
    }

    func write(_ batch: RunBatch, to home: Int) {
        guard !batch.isEmpty else { return }
        wire.encode(batch, kind: .diff) { channel.send($0, tag: Tag.request, to: home) }
        awaitingAcknowledgement.append(home)
    }

    func completeWrites() {
        withUnsafeTemporaryAllocation(byteCount: 8, alignment: 8) { acknowledgement in
            for home in awaitingAcknowledgement {
                _ = channel.receive(tag: Tag.diffAcknowledgement, from: home, into: acknowledgement)
            }
        }
        awaitingAcknowledgement.removeAll(keepingCapacity: true)
    }

}

extension RequestKind {
    static let fetchPages = RequestKind(1, "fetchPages")
    static let diff = RequestKind(2, "diff")
    static let refetchPages = RequestKind(10, "refetchPages")
    static let fetchRuns = RequestKind(13, "fetchRuns")
    static let readRuns = RequestKind(14, "readRuns")
}

extension Tag {
    static let pageData: Int32 = 10
    static let diffAcknowledgement: Int32 = 11
}

/// The home side of the message paths, run by the service thread: serves page fetches
/// from the page store's alias (leaving read notices) and applies incoming diffs to it.
final class PageServer: RequestHandler {
    private let channel: MessageChannel
    private let store: PageStore
    private let alias: UnsafeMutableRawPointer
    private let pagesLength: Int
    private let readNotices: ReadNotices
    private let pageShift: Int
    /// Set (before the service thread starts) where refetches are served: the message path.
    var writeVectors: WriteVectors?
    private var runs: [(offset: Int, length: Int)] = []
    private var versions: [UInt64] = []
    private var masks: [UInt64] = []
    private var parts: [UnsafeRawBufferPointer] = []

    init(channel: MessageChannel, store: PageStore, pagesLength: Int, pageShift: Int) {
        self.channel = channel
        self.store = store
        self.alias = store.alias
        self.pagesLength = pagesLength
        self.readNotices = store.readNotices
        self.pageShift = pageShift
    }

    func handle(_ kind: RequestKind, from source: Int, body: inout MessageReader) throws(MalformedMessage) {
        switch kind {
        case .fetchPages:
            let run = try pageRun(&body)
            serve(run, to: source, markingCopies: true)
        case .fetchRuns, .readRuns:
            // Every run is checked before any is served: a malformed request gets no reply.
            let count = try body.int(in: 1..<(MessagePages.runsPerRequest + 1), "run count")
            guard body.remaining == count * 16 else {
                throw MalformedMessage(reason: "a gathered fetch of \(count) runs carries \(body.remaining) bytes")
            }
            runs.removeAll(keepingCapacity: true)
            for _ in 0..<count { runs.append(try pageRun(&body)) }
            for run in runs { serve(run, to: source, markingCopies: kind == .fetchRuns) }
        case .refetchPages:
            try refetch(from: source, body: &body)
        case .diff:
            // Where the store keeps an undo log, each changed page goes into it first.
            let store = self.store, pageShift = self.pageShift
            let willChange: ((Int, Int) -> Void)? = store.undo == nil ? nil : { offset, length in
                store.willChange(first: offset >> pageShift, count: ((offset + length - 1) >> pageShift) - (offset >> pageShift) + 1)
            }
            if let writeVectors {
                runs.removeAll(keepingCapacity: true)
                try RunBatch.applyEncoded(&body, to: alias, limit: pagesLength, willChange: willChange) { runs.append(($0, $1)) }
                writeVectors.recordDiff(runs)
            } else {
                try RunBatch.applyEncoded(&body, to: alias, limit: pagesLength, willChange: willChange)
            }
            channel.send(Self.acknowledgement, tag: Tag.diffAcknowledgement, to: source)
        default:
            throw MalformedMessage(reason: "the page server takes no \(kind) requests")
        }
    }

    private static let acknowledgement: [UInt8] = [1, 0, 0, 0, 0, 0, 0, 0]

    /// A fetch's offset and length: whole pages inside the store.
    private func pageRun(_ body: inout MessageReader) throws(MalformedMessage) -> (offset: Int, length: Int) {
        let pageSize = 1 << pageShift
        let offset = try body.int(in: 0..<pagesLength, "page offset")
        let length = try body.int(in: 1..<(pagesLength - offset + 1), "fetch length")
        guard offset % pageSize == 0, length % pageSize == 0 else {
            throw MalformedMessage(reason: "fetch of \(length) bytes at \(offset) is not whole pages")
        }
        return (offset, length)
    }

    /// Sends a run of pages, after setting their read notices unless the reader keeps no copy.
    private func serve(_ run: (offset: Int, length: Int), to source: Int, markingCopies: Bool) {
        if markingCopies { readNotices.mark(first: run.offset >> pageShift, count: run.length >> pageShift) }
        channel.send([UnsafeRawBufferPointer(start: alias + run.offset, count: run.length)], tag: Tag.pageData,
                     to: source)
    }

    /// Sends the blocks of each page changed since the requester's version of its copy
    /// (every block without write vectors), after the read notices, as a fetch does.
    private func refetch(from source: Int, body: inout MessageReader) throws(MalformedMessage) {
        let pageCount = pagesLength >> pageShift
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
        // The reply's head is the version and the masks; the blocks go out from the pages.
        masks.insert(version, at: 0)
        let blockLength = (1 << pageShift) >> WriteVectors.blockShift
        masks.withUnsafeBytes { head in
            parts.removeAll(keepingCapacity: true)
            parts.append(head)
            for index in 0..<count {
                let page = alias + ((first + index) << pageShift)
                WriteVectors.forEachRun(of: head.load(fromByteOffset: 8 + index * 8, as: UInt64.self)) { low, width in
                    parts.append(UnsafeRawBufferPointer(start: page + low * blockLength, count: width * blockLength))
                }
            }
            channel.send(parts, tag: Tag.pageData, to: source)
        }
    }
}
