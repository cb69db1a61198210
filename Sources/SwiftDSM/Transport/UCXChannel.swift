import CUCX
import Glibc

/// The DSM's messages as UCP active messages, under the ucx transport: on InfiniBand or
/// RoCE they travel as RDMA sends on the same rc/dc lanes as the pages, elsewhere on UCX's
/// tcp or shared memory. Arrivals are queued by the worker's progress (`messages.c`); a
/// waiting thread polls the worker for `ucx-spin` microseconds, then sleeps until the
/// progress thread delivers what it waits for. A malformed message, or a peer whose
/// endpoint fails, stops the job naming the rank.
final class UCXChannel: MessageChannel, @unchecked Sendable {
    let name = "ucx"
    let node: UCXNode
    private let spinNanoseconds: UInt64
    /// Drives MPI's progress engine between a waiting thread's sleeps (see `TCPChannel`).
    private let progressMPI: () -> Void
    /// Longest sleep between two calls of `progressMPI` while waiting.
    private static let progressIntervalMilliseconds: Int32 = 16

    init(node: UCXNode, spinMicroseconds: Int, progressMPI: @escaping () -> Void) {
        self.node = node
        spinNanoseconds = UInt64(spinMicroseconds) * 1000
        self.progressMPI = progressMPI
    }

    // MARK: sending

    func send(_ parts: [UnsafeRawBufferPointer], tag: Int32, to destination: Int) {
        let failure: String? = withUnsafeTemporaryAllocation(of: UnsafeRawPointer?.self, capacity: parts.count) { pointers in
            withUnsafeTemporaryAllocation(of: Int.self, capacity: parts.count) { lengths in
                withUnsafeTemporaryAllocation(of: CChar.self, capacity: 128) { reason in
                    for (index, part) in parts.enumerated() {
                        pointers[index] = part.baseAddress
                        lengths[index] = part.count
                    }
                    guard cucx_send_message(node.pointer, Int32(destination), tag, pointers.baseAddress,
                                            lengths.baseAddress, Int32(parts.count), reason.baseAddress,
                                            reason.count) != 0 else { return nil }
                    return String(cString: reason.baseAddress!)
                }
            }
        }
        guard let failure else {
            ThreadStatistics.sent(bytes: parts.reduce(0) { $0 + $1.count })
            return
        }
        if Fatal.isStopping { return }  // reporting an error to a rank that is gone too
        lost(destination, failure)
    }

    private func lost(_ rank: Int, _ reason: String) -> Never {
        Fatal.stop("lost the connection to rank \(rank) on host \(node.hosts[rank]): its process ended or its "
            + "host is unreachable (UCX: \(reason))")
    }

    // MARK: receiving

    func call(_ request: UnsafeRawBufferPointer, to destination: Int, replyTag: Int32,
              into buffer: UnsafeMutableRawBufferPointer, meanwhile: () -> Void) -> Int {
        send([request], tag: Tag.request, to: destination)
        meanwhile()
        return receive(tag: replyTag, from: destination, into: buffer)
    }

    /// The message itself was allocated by the UCX edge as it arrived (C, in UCX's progress).
    func receive(tag replyTag: Int32, from destination: Int, into buffer: UnsafeMutableRawBufferPointer) -> Int {
        let message = take(tag: replyTag, from: destination, until: nil)!
        defer { cucx_release_message(message) }
        let length = message.pointee.length
        guard length <= buffer.count else {
            Fatal.stop("rank \(destination) sent a reply of \(length) bytes to a request for at most "
                + "\(buffer.count); nothing of it was applied")
        }
        if length > 0 { buffer.baseAddress!.copyMemory(from: message.pointee.bytes, byteCount: length) }
        return length
    }

    func receive(tag: Int32, from source: Int?) -> (source: Int, bytes: [UInt8]) {
        let message = take(tag: tag, from: source, until: nil)!
        defer { cucx_release_message(message) }
        return (Int(message.pointee.source), bytes(of: message))
    }

    func receive(tag: Int32, before deadline: UInt64) -> Int? {
        guard let message = take(tag: tag, from: nil, until: deadline) else { return nil }
        defer { cucx_release_message(message) }
        return Int(message.pointee.source)
    }

    private func bytes(of message: UnsafeMutablePointer<cucx_message>) -> [UInt8] {
        Array(UnsafeRawBufferPointer(start: message.pointee.bytes, count: message.pointee.length))
    }

    /// The next message with `tag` from `source` (nil: any), waiting for it; nil only when
    /// `deadline` (monotonic nanoseconds) passes first. A problem the worker's progress saw
    /// stops the job, except while waiting with a deadline (an error report is under way).
    private func take(tag: Int32, from source: Int?, until deadline: UInt64?) -> UnsafeMutablePointer<cucx_message>? {
        var spin = spinNanoseconds
        var timeout: Int32 = 1
        var problem: Int32 = 0
        var problemRank: Int32 = -1
        return withUnsafeTemporaryAllocation(of: CChar.self, capacity: 160) { text in
            while true {
                if let message = cucx_take_message(node.pointer, tag, Int32(source ?? -1), spin, timeout, &problem,
                                                   &problemRank, text.baseAddress, text.count) {
                    ThreadStatistics.received(bytes: message.pointee.length)
                    return message
                }
                if let deadline {
                    if monotonicNanoseconds() >= deadline { return nil }
                    if problem != 0 { usleep(1000) }
                } else if problem != 0 {
                    stop(problem, rank: Int(problemRank), String(cString: text.baseAddress!))
                }
                spin = 0
                progressMPI()
                timeout = min(timeout * 2, Self.progressIntervalMilliseconds)
            }
        }
    }

    private func stop(_ problem: Int32, rank: Int, _ what: String) -> Never {
        if problem == Int32(cucx_problem_lost) { lost(rank, what) }
        let sender = rank >= 0 ? "rank \(rank) on host \(node.hosts[rank])" : "a rank"
        Fatal.stop("\(sender) sent \(what) over UCX; nothing of it was applied")
    }

    // MARK: serving

    func serve(_ deliver: (Int, UnsafeRawBufferPointer) -> Void) {
        while true {
            let message = take(tag: Tag.request, from: nil, until: nil)!
            defer { cucx_release_message(message) }
            guard message.pointee.source >= 0 else { return }
            deliver(Int(message.pointee.source),
                    UnsafeRawBufferPointer(start: message.pointee.bytes, count: message.pointee.length))
        }
    }

    /// The stop marker is queued behind every request that arrived before it.
    func stopServing() { cucx_post_stop(node.pointer, Tag.request) }

    func prepareToClose() { cucx_prepare_to_close(node.pointer) }

    func close() { node.close() }
}
