import CMPI
import Glibc
import Synchronization

/// The `message` transport's MPI messages carried as frames, as the tcp lanes carry theirs
/// (`FrameCodec`): sealed under `security`, compressed under `compression`. Every sender,
/// receiver and tag is a stream with its own counter (the frame's sequence number and,
/// with the tag, its seal's nonce). MPI delivers one sender's messages of one tag in the
/// order they were sent, so both ends count alike: the sending lock keeps a counter and its
/// send together, the receiving lock a receive and its opening. A message that does not
/// open stops the job naming its sender; nothing of it reaches memory. Stored properties
/// unchecked for exclusivity at run time, as `CoherenceEngine` says why.
final class FramedChannel: SealingChannel, @unchecked Sendable {
    var name: String { inner.name }
    /// The job's keys under `security` (nil with compression alone).
    let keys: JobKeys?
    private let inner: MessageChannel
    let hosts: [String]
    private let maxPayload: Int
    /// By destination; each taken under its own lock.
    private let sending: [Stream]
    /// Replies, by source; taken under `receiving`.
    private let replies: [Stream]
    private let receiving = Mutex(())
    /// Where a reply's frame lands before it is opened into the waiting thread's buffer
    /// (under `receiving`; grown to the largest reply awaited, then reused).
    @exclusivity(unchecked) private var replyFrame = UnsafeMutableRawBufferPointer(start: nil, count: 0)
    /// Requests, by source (the service thread's own).
    private let requests: [Stream]

    /// One direction between two ranks: its codec (and so its key) and a counter per tag.
    private final class Stream {
        let codec: FrameCodec
        /// Held by a sender while it counts and sends.
        let lock = Mutex(())
        var counters = [UInt64](repeating: 0, count: 256)
        /// Where a request is copied to be opened in place (service thread; allocated at
        /// the first request, so the other streams cost nothing).
        var scratch = UnsafeMutableRawBufferPointer(start: nil, count: 0)
        /// Flip a byte of the next frame of this tag after sealing it (tests only).
        var tamperTag: Int32?

        init(codec: FrameCodec) { self.codec = codec }

        deinit { scratch.deallocate() }

        func copy(_ bytes: UnsafeRawBufferPointer) -> UnsafeMutableRawBufferPointer {
            if scratch.count < max(bytes.count, 1) {
                scratch.deallocate()
                scratch = .allocate(byteCount: max(bytes.count, scratch.count * 2, 1 << 16), alignment: 16)
            }
            if bytes.count > 0 { scratch.baseAddress!.copyMemory(from: bytes.baseAddress!, byteCount: bytes.count) }
            return UnsafeMutableRawBufferPointer(rebasing: scratch[0..<bytes.count])
        }
    }

    private init(inner: MessageChannel, keys: JobKeys?, compression: CompressionChoice, hosts: [String],
                 rank: Int, maxPayload: Int) {
        self.inner = inner
        self.keys = keys
        self.hosts = hosts
        self.maxPayload = maxPayload
        // Only a sending codec compresses; any codec decompresses what its flags say.
        func stream(from sender: Int, to receiver: Int) -> Stream {
            let compresses = sender == rank && compression != .off
            return Stream(codec: FrameCodec(seal: keys?.messageSeal(from: sender, to: receiver),
                                            compressor: compresses ? Compressor(choice: compression) : nil))
        }
        sending = hosts.indices.map { stream(from: rank, to: $0) }
        replies = hosts.indices.map { stream(from: $0, to: rank) }
        requests = hosts.indices.map { stream(from: $0, to: rank) }
    }

    // MARK: opening (collective)

    /// `inner` as it is when every rank runs without security and compression; else framed,
    /// once every rank has shown it runs with the same settings and holds the same key (as
    /// the tcp lanes' hellos do). A difference stops every rank, each naming what it saw.
    static func open(over inner: MessageChannel, cluster: Cluster, settings: Settings,
                     maxPayload: Int) -> MessageChannel {
        let choice = UInt8(SecurityChoice.allCases.firstIndex(of: settings.security)!)
            | UInt8(CompressionChoice.allCases.firstIndex(of: settings.compression)!) << 4
        let choices = cluster.allgather(bytes: [choice], "message protection settings").map { $0[0] }
        // Every rank sees the same choices, so all gather the host names here, or none does.
        if choices.contains(where: { $0 != choices[0] }) {
            let hosts = cluster.hostNames()
            let peer = choices.firstIndex { $0 != choice }!
            Fatal.everyRank("the message transport refused rank \(peer) on host \(hosts[peer]): "
                + differences(choices[peer], settings), comm: cluster.syncComm)
        }
        guard settings.security != .off || settings.compression != .off else { return inner }
        let hosts = cluster.hostNames()
        let (secret, problem) = JobKeys.secret(settings)
        agree(problem, cluster: cluster)
        var job = UInt64.random(in: 1...UInt64.max)
        mpiCheck(MPI_Bcast(&job, 1, cmpi_int64(), 0, cluster.syncComm), "MPI_Bcast (message job id)")
        let keys = secret.map { JobKeys(security: settings.security, secret: $0, job: job) }
        if let keys { agree(checkProofs(keys, cluster: cluster, hosts: hosts), cluster: cluster) }
        return FramedChannel(inner: inner, keys: keys, compression: settings.compression, hosts: hosts,
                             rank: cluster.rank, maxPayload: maxPayload)
    }

    private static func differences(_ theirs: UInt8, _ settings: Settings) -> String {
        let security = SecurityChoice.allCases[Int(theirs & 0xF) % SecurityChoice.allCases.count]
        let compression = CompressionChoice.allCases[Int(theirs >> 4) % CompressionChoice.allCases.count]
        if security != settings.security {
            return "it runs with security \(security), this rank with security \(settings.security); "
                + "every rank needs the same security setting"
        }
        return "it runs with compression \(compression), this rank with compression \(settings.compression); "
            + "every rank needs the same compression setting"
    }

    /// Every pair of ranks proves to each other that it holds the key, without sending it
    /// (`JobKeys.helloProof`, in one MPI_Alltoall). Returns what this rank refuses, if anything.
    private static func checkProofs(_ keys: JobKeys, cluster: Cluster, hosts: [String]) -> String? {
        let length = JobKeys.proofLength
        var mine = [UInt8]()
        for peer in 0..<cluster.size { mine += keys.helloProof(asker: cluster.rank, server: peer) }
        var theirs = [UInt8](repeating: 0, count: mine.count)
        mpiCheck(MPI_Alltoall(&mine, Int32(length), cmpi_byte(), &theirs, Int32(length), cmpi_byte(), cluster.syncComm),
                 "MPI_Alltoall (message key proofs)")
        for peer in 0..<cluster.size
        where !keys.checkHello(Array(theirs[(peer * length)..<((peer + 1) * length)]), asker: peer, server: cluster.rank) {
            return "refused rank \(peer) on host \(hosts[peer]): it does not hold this rank's key (its proof fails "
                + "authentication); every rank must read a copy of the same key file"
        }
        return nil
    }

    /// Stops every rank if any has a problem: each names its own, or that another had one.
    private static func agree(_ problem: String?, cluster: Cluster) {
        var ok: Int32 = problem == nil ? 1 : 0
        var everyone: Int32 = 0
        mpiCheck(MPI_Allreduce(&ok, &everyone, 1, cmpi_int32(), cmpi_op_min(), cluster.syncComm),
                 "MPI_Allreduce (message protection)")
        guard everyone == 0 else { return }
        Fatal.everyRank("the message transport " + (problem ?? "could not start: another rank could not "
            + "(see its message)"), comm: cluster.syncComm)
    }

    // MARK: failures

    private func failed(_ source: Int, _ failure: TCPLane.Failure) -> Never {
        let peer = "rank \(source) on host \(hosts[source])"
        switch failure {
        case .forged:
            Fatal.stop("\(peer) sent a frame that fails authentication: it was changed on the way, replayed, or "
                + "sealed with another key; nothing of it was applied")
        case .malformed(let problem):
            Fatal.stop("\(peer) sent a malformed frame (\(problem.reason)); nothing of it was applied")
        case .closed, .system:
            Fatal.stop("the messages from \(peer) failed")
        }
    }

    // MARK: sending

    func send(_ parts: [UnsafeRawBufferPointer], tag: Int32, to destination: Int) {
        let length = parts.reduce(0) { $0 + $1.count }
        let stream = sending[destination]
        stream.lock.withLock { _ in
            let counter = stream.counters[Int(tag)]
            stream.counters[Int(tag)] = counter &+ 1
            if stream.tamperTag == tag {
                stream.tamperTag = nil
                stream.codec.tamperWithNextFrame = true
            }
            let frame = stream.codec.encode(tag: tag, parts, length: length, counter: counter, direction: UInt32(tag))
            inner.send([frame], tag: tag, to: destination)
            ThreadStatistics.current.pointee.wireBytesSent &+= UInt64(frame.count)
        }
    }

    deinit { replyFrame.deallocate() }

    // MARK: receiving

    func call(_ request: UnsafeRawBufferPointer, to destination: Int, replyTag: Int32,
              into buffer: UnsafeMutableRawBufferPointer, meanwhile: () -> Void) -> Int {
        send([request], tag: Tag.request, to: destination)
        meanwhile()
        return receive(tag: replyTag, from: destination, into: buffer)
    }

    /// The frame of a payload of at most `buffer.count` bytes (a compressed body is never
    /// longer than its payload) lands in `replyFrame`, and opens into `buffer`.
    func receive(tag: Int32, from source: Int, into buffer: UnsafeMutableRawBufferPointer) -> Int {
        receiving.withLock { _ in
            let tags = keys == nil ? 0 : FrameSeal.tagLength * (buffer.count / FrameSeal.chunkLength + 2)
            let most = FrameHeader.length + buffer.count + tags
            if replyFrame.count < most {
                replyFrame.deallocate()
                replyFrame = .allocate(byteCount: max(most, 2 * replyFrame.count, 1 << 16), alignment: 16)
            }
            let length = inner.receive(tag: tag, from: source, into: UnsafeMutableRawBufferPointer(rebasing: replyFrame[0..<most]))
            return open(UnsafeMutableRawBufferPointer(rebasing: replyFrame[0..<length]), tag: tag, from: source,
                        stream: replies[source], into: buffer).count
        }
    }

    func receive(tag: Int32, from source: Int?) -> (source: Int, bytes: [UInt8]) {
        receiving.withLock { _ in
            var (source, bytes) = inner.receive(tag: tag, from: source)
            let payload = bytes.withUnsafeMutableBytes { frame in
                [UInt8](open(frame, tag: tag, from: source, stream: replies[source], into: nil))
            }
            return (source, payload)
        }
    }

    /// For error reports only: the message is taken without being opened.
    func receive(tag: Int32, before deadline: UInt64) -> Int? { inner.receive(tag: tag, before: deadline) }

    func serve(_ deliver: (Int, UnsafeRawBufferPointer) -> Void) {
        inner.serve { source, bytes in
            let stream = requests[source]
            deliver(source, open(stream.copy(bytes), tag: Tag.request, from: source, stream: stream, into: nil))
        }
    }

    /// Checks and opens the frame of `stream`'s next message of `tag`, in place. Its payload
    /// goes to `target` when given (a reply longer than it is malformed), else it stays in
    /// the frame or the codec's buffer until the stream's next message.
    private func open(_ frame: UnsafeMutableRawBufferPointer, tag: Int32, from source: Int, stream: Stream,
                      into target: UnsafeMutableRawBufferPointer?) -> UnsafeRawBufferPointer {
        let counter = stream.counters[Int(tag)]
        do throws(TCPLane.Failure) {
            guard frame.count >= FrameHeader.length else {
                throw .malformed(MalformedMessage(reason: "a message of \(frame.count) bytes, shorter than a frame header"))
            }
            let header: FrameHeader
            do throws(MalformedMessage) {
                header = try FrameHeader.decode(frame.baseAddress!, expectedSequence: UInt32(truncatingIfNeeded: counter),
                                                maxPayload: maxPayload, seal: stream.codec.seal)
            } catch {
                throw .malformed(error)
            }
            guard header.tag == tag, FrameHeader.length + header.wireLength == frame.count else {
                throw .malformed(MalformedMessage(reason: "a frame of tag \(header.tag) and \(header.wireLength) bytes "
                    + "in a message of tag \(tag) and \(frame.count - FrameHeader.length) bytes"))
            }
            if let target, header.payloadLength > target.count {
                throw .malformed(MalformedMessage(
                    reason: "a reply of \(header.payloadLength) bytes to a request for at most \(target.count)"))
            }
            let payload = try stream.codec.decode(frame.baseAddress!, header: header, counter: counter,
                                                  direction: UInt32(tag), into: target?.baseAddress)
            stream.counters[Int(tag)] = counter &+ 1
            return payload
        } catch {
            failed(source, error)
        }
    }

    func stopServing() { inner.stopServing() }

    func prepareToClose() { inner.prepareToClose() }

    func close() { inner.close() }

    /// Flips a byte of the next request frame to `rank` after sealing it (tests only).
    func tamperWithNextRequestForTesting(to rank: Int) {
        let stream = sending[rank]
        stream.lock.withLock { _ in stream.tamperTag = Tag.request }
    }
}
