import CPlatform
import Glibc
import Synchronization

/// The DSM's messages over one TCP connection per ordered pair of ranks (`TCPConnector`
/// opens them): rank a's requests to rank b, and b's replies to a, travel on the lane a
/// opened to b. Nothing is polled: the service thread sleeps in `epoll_wait` on the lanes
/// other ranks ask on (and an eventfd that stops it), and a thread waiting for a reply
/// tries its lanes for a few microseconds, then sleeps in `poll`/`epoll_wait` on them.
final class TCPChannel: SealingChannel, @unchecked Sendable {
    let name = "tcp"
    /// Host names by rank, for messages about lost peers.
    let hosts: [String]
    /// The job's keys under `security` (the lanes' seals are made from them already).
    let keys: JobKeys?
    /// `asking[r]`: the lane this rank asks rank r on (and reads r's replies from).
    private let asking: [TCPLane]
    /// `serving[r]`: the lane rank r asks this rank on (read by the service thread).
    private let serving: [TCPLane]
    private let serviceEvents: Int32
    private let replyEvents: Int32
    private let stopEvent: Int32
    /// Taken by the thread that reads replies; holds replies that came before their turn.
    private let receiving = Mutex<[(source: Int, tag: Int32, bytes: [UInt8])]>([])
    /// What `epoll_wait` reports to a thread waiting for any peer's reply (under `receiving`).
    private var replyReady = [UInt64](repeating: 0, count: 64)
    /// After `prepareToClose`, a peer's end of stream is the end of the run.
    private let closing = Atomic<Bool>(false)
    /// How long a waiting thread keeps trying its lanes before it sleeps on them: a reply
    /// that comes within this is taken without a wake-up.
    private let spinNanoseconds: UInt64
    /// Drives MPI's progress engine between a waiting thread's sleeps (`Cluster.progressMPI`).
    private let progressMPI: () -> Void
    /// Longest sleep between two calls of `progressMPI` while waiting.
    private static let progressIntervalMilliseconds: Int32 = 16

    private static let stopData = UInt64.max

    init(hosts: [String], keys: JobKeys?, asking: [TCPLane], serving: [TCPLane], spinMicroseconds: Int,
         progressMPI: @escaping () -> Void) {
        self.progressMPI = progressMPI
        self.hosts = hosts
        self.keys = keys
        self.asking = asking
        self.serving = serving
        self.spinNanoseconds = UInt64(spinMicroseconds) * 1_000
        var serviceEvents: Int32 = -1, replyEvents: Int32 = -1, stopEvent: Int32 = -1
        systemCheck(cplatform_epoll_create(&serviceEvents), "epoll_create1 (tcp transport)")
        systemCheck(cplatform_epoll_create(&replyEvents), "epoll_create1 (tcp transport)")
        systemCheck(cplatform_eventfd(&stopEvent), "eventfd (tcp transport)")
        self.serviceEvents = serviceEvents
        self.replyEvents = replyEvents
        self.stopEvent = stopEvent
        for lane in serving {
            systemCheck(cplatform_epoll_add(serviceEvents, lane.fd, UInt64(lane.peer)), "epoll_ctl (rank \(lane.peer)'s lane)")
        }
        systemCheck(cplatform_epoll_add(serviceEvents, stopEvent, Self.stopData), "epoll_ctl (stop event)")
        for lane in asking {
            systemCheck(cplatform_epoll_add(replyEvents, lane.fd, UInt64(lane.peer)), "epoll_ctl (rank \(lane.peer)'s lane)")
        }
    }

    // MARK: failures

    /// A lane failed: the peer is gone (or sent garbage). Stops the job naming the peer,
    /// unless the run is over and the peer merely finished first.
    private func failed(_ lane: TCPLane, _ failure: TCPLane.Failure) -> Never {
        let peer = "rank \(lane.peer) on host \(hosts[lane.peer])"
        switch failure {
        case .closed where closing.load(ordering: .acquiring):
            // Peers close their lanes only after the last barrier, when no thread here reads
            // them any more; should one still be read, give the run time to end by itself.
            sleep(30)
            Fatal.stop("\(peer) closed its connection, and this rank did not end its run within 30 s")
        case .closed:
            Fatal.stop("lost the connection to \(peer): its process ended or its host is unreachable")
        case .system(let error):
            Fatal.stop("the connection to \(peer) failed: \(errnoText(error))")
        case .forged:
            // Closed for reading only: a FIN would reach the peer, which would print the loss
            // as news, before this rank's report does.
            shutdown(lane.fd, Int32(SHUT_RD))
            Fatal.stop("\(peer) sent a frame that fails authentication: it was changed on the way, replayed, or "
                + "sealed with another key; its connection was closed and nothing of it was applied")
        case .malformed(let problem):
            shutdown(lane.fd, Int32(SHUT_RD))
            Fatal.stop("\(peer) sent a malformed frame (\(problem.reason)); its connection was closed and "
                + "nothing of it was applied")
        }
    }

    // MARK: sending

    func send(_ parts: [UnsafeRawBufferPointer], tag: Int32, to destination: Int) {
        let lane = tag == Tag.request ? asking[destination] : serving[destination]
        do throws(TCPLane.Failure) {
            try lane.send(tag: tag, parts)
            ThreadStatistics.sent(bytes: parts.reduce(0) { $0 + $1.count })
        } catch {
            if Fatal.isStopping { return }  // reporting an error to a rank that is gone too
            failed(lane, error)
        }
    }

    // MARK: receiving replies

    func call(_ request: UnsafeRawBufferPointer, to destination: Int, replyTag: Int32,
              into buffer: UnsafeMutableRawBufferPointer, meanwhile: () -> Void) -> Int {
        send([request], tag: Tag.request, to: destination)
        meanwhile()
        return receive(tag: replyTag, from: destination, into: buffer)
    }

    /// Straight from the socket into `buffer` when the reply is the lane's next frame
    /// (`TCPLane.receiveReply`); else from the lane's buffer, or, if the reply came before,
    /// to a thread waiting for another, from where that thread kept it. Bytes of `buffer`
    /// past the reply may change.
    func receive(tag replyTag: Int32, from source: Int, into buffer: UnsafeMutableRawBufferPointer) -> Int {
        let lane = asking[source]
        return receiving.withLock { stash -> Int in
            if let index = stash.firstIndex(where: { $0.source == source && $0.tag == replyTag }) {
                let frame = stash.remove(at: index)
                return copy(frame.bytes, from: lane, into: buffer)
            }
            while true {
                if lane.readsRepliesDirectly {
                    do throws(TCPLane.Failure) {
                        try waitReadable(lane)
                        let waiting = { () throws(TCPLane.Failure) in try self.waitReadable(lane) }
                        if let length = try lane.receiveReply(tag: replyTag, into: buffer, waiting: waiting) { return length }
                    } catch {
                        failed(lane, error)
                    }
                }
                let header = next(on: lane)
                guard header.tag == replyTag else {
                    keep(take(on: lane), in: &stash, from: lane)
                    continue
                }
                guard header.payloadLength <= buffer.count else {
                    failed(lane, .malformed(MalformedMessage(
                        reason: "a reply of \(header.payloadLength) bytes to a request for at most \(buffer.count)")))
                }
                do throws(TCPLane.Failure) {
                    try lane.receivePayload(of: header, into: buffer.baseAddress!) { () throws(TCPLane.Failure) in
                        try self.waitReadable(lane)
                    }
                } catch {
                    failed(lane, error)
                }
                return header.payloadLength
            }
        }
    }

    /// Replies come in the order of their requests on one lane, but a waiting thread may
    /// meet one meant for a later wait (another lane's grant before the awaited page, say);
    /// it keeps them, within bounds: a peer sending unasked replies is sending garbage.
    private func keep(_ frame: (source: Int, tag: Int32, bytes: [UInt8]), in stash: inout [(source: Int, tag: Int32, bytes: [UInt8])],
                      from lane: TCPLane) {
        guard stash.count < Self.stashLimit else {
            failed(lane, .malformed(MalformedMessage(reason: "more than \(Self.stashLimit) replies nobody waits for")))
        }
        stash.append(frame)
    }

    private static let stashLimit = 4096

    private func copy(_ bytes: [UInt8], from lane: TCPLane, into buffer: UnsafeMutableRawBufferPointer) -> Int {
        guard bytes.count <= buffer.count else {
            failed(lane, .malformed(MalformedMessage(
                reason: "a reply of \(bytes.count) bytes to a request for at most \(buffer.count)")))
        }
        bytes.withUnsafeBytes { buffer.baseAddress!.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
        return bytes.count
    }

    func receive(tag: Int32, from source: Int?) -> (source: Int, bytes: [UInt8]) {
        receiving.withLock { stash in
            if let index = stash.firstIndex(where: { $0.tag == tag && (source == nil || $0.source == source) }) {
                let frame = stash.remove(at: index)
                return (frame.source, frame.bytes)
            }
            while true {
                let lane = source.map { asking[$0] } ?? nextReadyLane()
                let header = next(on: lane)
                let frame = take(on: lane)
                if header.tag == tag { return (lane.peer, frame.bytes) }
                keep(frame, in: &stash, from: lane)
            }
        }
    }

    func receive(tag: Int32, before deadline: UInt64) -> Int? {
        while monotonicNanoseconds() < deadline {
            let source: Int?? = receiving.withLockIfAvailable { stash -> Int? in
                if let index = stash.firstIndex(where: { $0.tag == tag }) { return stash.remove(at: index).source }
                for lane in asking {
                    guard (try? lane.fill()) != nil, let frame = try? lane.nextFrame() else { continue }
                    lane.compactIfEmpty()
                    if frame.header.tag == tag { return lane.peer }
                }
                return nil
            }
            if let found = source, let rank = found { return rank }
            usleep(1000)
        }
        return nil
    }

    /// Waits until the next frame's header on `lane` has arrived and returns it.
    private func next(on lane: TCPLane) -> FrameHeader {
        do throws(TCPLane.Failure) {
            while true {
                if let header = try lane.peekHeader() {
                    guard header.tag != Tag.request else {
                        throw .malformed(MalformedMessage(reason: "a request on the lane that carries replies"))
                    }
                    return header
                }
                try wait(for: lane)
            }
        } catch {
            failed(lane, error)
        }
    }

    /// Reads the whole next frame on `lane` (its header has arrived) as a copy.
    private func take(on lane: TCPLane) -> (source: Int, tag: Int32, bytes: [UInt8]) {
        do throws(TCPLane.Failure) {
            while true {
                if let frame = try lane.nextFrame() {
                    let bytes = [UInt8](frame.payload)
                    lane.compactIfEmpty()
                    return (lane.peer, frame.header.tag, bytes)
                }
                try wait(for: lane)
            }
        } catch {
            failed(lane, error)
        }
    }

    /// Reads more of `lane`: tries for `spinNanoseconds`, then sleeps until data arrives.
    /// Asks `poll` first: the awaited bytes are seldom there yet, and a `recv` on an empty
    /// socket takes its lock for nothing.
    private func wait(for lane: TCPLane) throws(TCPLane.Failure) {
        while true {
            try waitReadable(lane)
            if try lane.fill() { return }
        }
    }

    /// Returns when `lane`'s socket has data (or its end): polls for `spinNanoseconds`,
    /// then sleeps in `poll`, waking for MPI's progress in doubling intervals.
    private func waitReadable(_ lane: TCPLane) throws(TCPLane.Failure) {
        let start = monotonicNanoseconds()
        var timeout: Int32 = 0
        while true {
            var ready: Int32 = 0
            let code = cplatform_wait_fd(lane.fd, 0, timeout, &ready)
            if code == 0 && ready > 0 { return }
            if code != 0 && code != EINTR { throw .system(code) }
            timeout = nextTimeout(after: timeout, since: start)
        }
    }

    /// 0 while spinning; then 1 ms, doubling to the progress interval, with MPI's progress
    /// driven at each step.
    private func nextTimeout(after timeout: Int32, since start: UInt64) -> Int32 {
        if timeout == 0 {
            return monotonicNanoseconds() - start < spinNanoseconds ? 0 : 1
        }
        progressMPI()
        return min(timeout * 2, Self.progressIntervalMilliseconds)
    }

    /// A reply lane whose next frame header has arrived (any peer's), waiting for one. Only
    /// lanes that `epoll_wait` reports are read: a pass of the spin costs one system call
    /// with any number of peers, not a `recv` on every lane (each taking its socket's lock,
    /// which the softirq delivering into it contends for). Measured across 2 hosts: a
    /// remote lock's time unchanged, its waiter's reads 14.5 a round -> 1.
    private func nextReadyLane() -> TCPLane {
        for lane in asking {
            do throws(TCPLane.Failure) {
                if try lane.peekHeader() != nil { return lane }
            } catch {
                failed(lane, error)
            }
        }
        let start = monotonicNanoseconds()
        var timeout: Int32 = 0
        while true {
            var count: Int32 = 0
            let code = replyReady.withUnsafeMutableBufferPointer {
                cplatform_epoll_wait(replyEvents, $0.baseAddress!, Int32($0.count), timeout, &count)
            }
            systemCheck(code, "epoll_wait (tcp replies)")
            for index in 0..<Int(count) {
                let lane = asking[Int(replyReady[index])]
                do throws(TCPLane.Failure) {
                    if try lane.fill(), try lane.peekHeader() != nil { return lane }
                } catch {
                    failed(lane, error)
                }
            }
            if count == 0 { timeout = nextTimeout(after: timeout, since: start) }
        }
    }

    // MARK: serving requests

    func serve(_ deliver: (Int, UnsafeRawBufferPointer) -> Void) {
        var ready = [UInt64](repeating: 0, count: 64)
        var stopping = false
        // After a request, the next one often follows within microseconds (a fault's
        // read-ahead, a release after a grant): look again for a while before sleeping.
        var lastRequest: UInt64 = 0
        while !stopping {
            let awake = monotonicNanoseconds() - lastRequest < spinNanoseconds
            var count: Int32 = 0
            let code = ready.withUnsafeMutableBufferPointer {
                cplatform_epoll_wait(serviceEvents, $0.baseAddress!, Int32($0.count), awake ? 0 : -1, &count)
            }
            systemCheck(code, "epoll_wait (tcp service thread)")
            if count > 0 { lastRequest = monotonicNanoseconds() }
            for index in 0..<Int(max(count, 0)) {
                if ready[index] == Self.stopData {
                    stopping = true
                    continue
                }
                let lane = serving[Int(ready[index])]
                do throws(TCPLane.Failure) {
                    // Until a read leaves the socket empty (not until one fails: one system
                    // call a request instead of two); what comes later wakes epoll again.
                    while try lane.fill() {
                        while let frame = try lane.nextFrame() {
                            guard frame.header.tag == Tag.request else {
                                throw .malformed(MalformedMessage(reason: "a reply on the lane that carries requests"))
                            }
                            deliver(lane.peer, frame.payload)
                        }
                        lane.compactIfEmpty()
                        if lane.drained { break }
                    }
                } catch {
                    failed(lane, error)
                }
            }
        }
    }

    func stopServing() { cplatform_eventfd_signal(stopEvent) }

    func prepareToClose() { closing.store(true, ordering: .releasing) }

    func close() {
        for lane in asking + serving { Glibc.close(lane.fd) }
        for fd in [serviceEvents, replyEvents, stopEvent] { Glibc.close(fd) }
    }

    /// Flips a byte of the next frame to `rank`'s service thread after sealing it (tests
    /// only); false without a codec on the lane.
    func tamperWithNextRequestForTesting(to rank: Int) -> Bool { asking[rank].tamperWithNextFrameForTesting() }

    /// Sends a frame with a broken header checksum to `rank`'s service thread (tests only).
    func sendCorruptFrameForTesting(to rank: Int) { asking[rank].sendCorruptFrameForTesting() }
}
