import CPlatform
import Glibc
import Synchronization

/// One direction of conversation with one peer over one TCP connection: either the lane
/// this rank asks the peer on (requests out, the peer's replies in) or the lane the peer
/// asks this rank on (its requests in, this rank's replies out). Frames go out with
/// `sendmsg` straight from the caller's buffers; what comes in is read into the lane's
/// buffer, or, for a reply the caller gave a buffer for, straight into that buffer. A lane
/// with a `FrameCodec` (compression or security) builds and opens frames through it.
final class TCPLane: @unchecked Sendable {
    enum Failure: Error {
        /// The peer closed the connection (its process ended).
        case closed
        /// A system call failed with this errno.
        case system(Int32)
        case malformed(MalformedMessage)
        /// A frame failed to open (`FrameSeal`): forged, altered or replayed.
        case forged
    }

    let fd: Int32
    let peer: Int
    /// Next sequence number to send (the header carries its low 32 bits; a seal's nonce all
    /// 64); the lock also keeps frames of two sending threads apart.
    private let sending = Mutex<UInt64>(0)
    /// Used under `sending` for outgoing frames, by the receiving thread for incoming ones.
    private let codec: FrameCodec?
    /// The vectors of the frame being sent (under `sending`): reused, so a send from the
    /// fault handler allocates nothing.
    private var vectors: [iovec] = []
    /// The receive side belongs to one thread at a time (the service thread, or the thread
    /// holding the channel's receive lock).
    private var storage: UnsafeMutableRawPointer
    private var capacity: Int
    private var head = 0
    private var tail = 0
    private var receiveSequence: UInt64 = 0
    private let maxPayload: Int

    init(fd: Int32, peer: Int, maxPayload: Int, codec: FrameCodec? = nil) {
        self.fd = fd
        self.peer = peer
        self.maxPayload = maxPayload
        self.codec = codec
        capacity = 1 << 18
        storage = .allocate(byteCount: capacity, alignment: 16)
        vectors.reserveCapacity(8)
    }

    deinit { storage.deallocate() }

    // MARK: sending

    /// Sends one frame of `tag` whose payload is `parts`, waiting while the socket is full.
    func send(tag: Int32, _ parts: [UnsafeRawBufferPointer]) throws(Failure) {
        let length = parts.reduce(0) { $0 + $1.count }
        if length > Int(UInt32.max) {
            Fatal.stop("a message of \(length) bytes to rank \(peer) exceeds the tcp transport's 4 GiB frames")
        }
        var header = (UInt64(0), UInt64(0), UInt64(0))
        let result: Int32 = sending.withLock { sequence in
            defer { sequence &+= 1 }
            if let codec {
                let frame = codec.encode(tag: tag, parts, length: length, counter: sequence)
                vectors.removeAll(keepingCapacity: true)
                vectors.append(iovec(iov_base: UnsafeMutableRawPointer(mutating: frame.baseAddress), iov_len: frame.count))
                ThreadStatistics.current.pointee.wireBytesSent &+= UInt64(frame.count)
                return write(&vectors)
            }
            ThreadStatistics.current.pointee.wireBytesSent &+= UInt64(FrameHeader.length + length)
            withUnsafeMutableBytes(of: &header) { raw in
                FrameHeader(tag: tag, payloadLength: length, sequence: UInt32(truncatingIfNeeded: sequence))
                    .encode(into: raw.baseAddress!)
            }
            return withUnsafeBytes(of: &header) { headerBytes in
                vectors.removeAll(keepingCapacity: true)
                vectors.append(iovec(iov_base: UnsafeMutableRawPointer(mutating: headerBytes.baseAddress),
                                     iov_len: FrameHeader.length))
                for part in parts where part.count > 0 {
                    vectors.append(iovec(iov_base: UnsafeMutableRawPointer(mutating: part.baseAddress), iov_len: part.count))
                }
                return write(&vectors)
            }
        }
        guard result == 0 else { throw result == -1 ? .closed : .system(result) }
    }

    /// Writes every vector; 0, -1 when the peer is gone, or an errno.
    private func write(_ vectors: inout [iovec]) -> Int32 {
        var first = 0
        while first < vectors.count {
            let chunk = min(vectors.count - first, 1024)  // IOV_MAX
            var sent = 0
            let error = vectors.withUnsafeBufferPointer { cplatform_sendv(fd, $0.baseAddress! + first, Int32(chunk), &sent) }
            if error != 0 {
                if error == EINTR { continue }
                if error == EAGAIN || error == EWOULDBLOCK {
                    var ready: Int32 = 0
                    _ = cplatform_wait_fd(fd, 1, -1, &ready)  // a failure shows at the next send
                    continue
                }
                return error == EPIPE || error == ECONNRESET ? -1 : error
            }
            var remaining = Int(sent)
            while remaining > 0 {
                let length = vectors[first].iov_len
                if remaining >= length {
                    remaining -= length
                    first += 1
                } else {
                    vectors[first].iov_base += remaining
                    vectors[first].iov_len -= remaining
                    remaining = 0
                }
            }
            while first < vectors.count && vectors[first].iov_len == 0 { first += 1 }
        }
        return 0
    }

    // MARK: receiving

    /// A complete frame in the buffer: its header and payload (valid until the next read).
    struct Frame {
        let header: FrameHeader
        let payload: UnsafeRawBufferPointer
    }

    /// Whether the last `fill` left the socket empty (it read less than it had room for, or
    /// nothing): another read now would only fail with EAGAIN.
    private(set) var drained = false

    /// Reads what the socket holds into the buffer without waiting. Returns false when
    /// nothing was there.
    func fill() throws(Failure) -> Bool {
        if tail == capacity { makeRoom(for: head > 0 ? capacity : capacity * 2) }
        drained = true
        while true {
            var count = 0
            let room = capacity - tail
            let error = cplatform_receive(fd, storage + tail, room, &count)
            if error == 0 && count > 0 {
                tail += count
                drained = count < room
                return true
            }
            if error == 0 { throw .closed }
            if error == EINTR { continue }
            if error == EAGAIN || error == EWOULDBLOCK { return false }
            throw error == ECONNRESET ? .closed : .system(error)
        }
    }

    /// The header of the next frame if it has fully arrived in the buffer.
    func peekHeader() throws(Failure) -> FrameHeader? {
        guard tail - head >= FrameHeader.length else { return nil }
        let header: FrameHeader
        do {
            header = try FrameHeader.decode(storage + head, expectedSequence: UInt32(truncatingIfNeeded: receiveSequence),
                                            maxPayload: maxPayload, seal: codec?.seal)
        } catch {
            throw .malformed(error)
        }
        // Without a codec a body is taken as it lies: a compressed one would be misread.
        guard codec != nil || header.flags.isEmpty else {
            throw .malformed(MalformedMessage(reason: "a compressed frame, but this rank runs with compression off; "
                + "set the same compression on every rank"))
        }
        return header
    }

    /// The next frame if it is complete in the buffer (consumed: its payload stays valid
    /// until the next call on this lane). Makes room for a frame larger than the buffer.
    func nextFrame() throws(Failure) -> Frame? {
        guard let header = try peekHeader() else { return nil }
        let total = FrameHeader.length + header.wireLength
        guard tail - head >= total else {
            if total > capacity - head { makeRoom(for: total) }
            return nil
        }
        var payload = UnsafeRawBufferPointer(start: storage + head + FrameHeader.length, count: header.payloadLength)
        if let codec {
            payload = try codec.decode(storage + head, header: header, counter: receiveSequence, into: nil)
        }
        head += total
        receiveSequence &+= 1
        ThreadStatistics.received(bytes: header.payloadLength)
        return Frame(header: header, payload: payload)
    }

    /// Whether `receiveReply` can read the next frame: nothing is buffered, and no codec opens frames.
    var readsRepliesDirectly: Bool { codec == nil && head == tail }

    /// Reads the next frame with one `recvmsg`, its header into the lane's buffer and its
    /// payload straight into `buffer`, if it is a reply of `tag` that fits: then finishes
    /// it and returns its length (bytes of `buffer` past it may have changed). Otherwise
    /// (another frame, a partial header, nothing yet) what was read ends up in the lane's
    /// buffer as `fill` would leave it, and nil says to read on the usual way. Saves a
    /// fetch the copy of its page out of the lane's buffer.
    func receiveReply(tag: Int32, into buffer: UnsafeMutableRawBufferPointer,
                      waiting wait: () throws(Failure) -> Void) throws(Failure) -> Int? {
        let headerLength = FrameHeader.length
        guard readsRepliesDirectly, buffer.count > 0, buffer.count <= capacity - headerLength else { return nil }
        head = 0
        tail = 0
        var count = 0
        while true {
            let error = cplatform_receive2(fd, storage, headerLength, buffer.baseAddress, buffer.count, &count)
            if error == 0 && count == 0 { throw .closed }
            if error == 0 { break }
            if error == EINTR { continue }
            if error == EAGAIN || error == EWOULDBLOCK { return nil }
            throw error == ECONNRESET ? .closed : .system(error)
        }
        let inBuffer = max(count - headerLength, 0)
        tail = count - inBuffer
        guard tail == headerLength, let header = try peekHeader(), header.tag == tag,
              header.payloadLength <= buffer.count else {
            // Not the awaited reply: its bytes go where `fill` would have put them.
            memcpy(storage + tail, buffer.baseAddress!, inBuffer)
            tail += inBuffer
            return nil
        }
        // Bytes past the payload begin the next frame.
        let extra = max(inBuffer - header.payloadLength, 0)
        tail = extra
        memcpy(storage, buffer.baseAddress! + header.payloadLength, extra)
        receiveSequence &+= 1
        try receive(into: buffer.baseAddress!, holding: inBuffer - extra, until: header.payloadLength, waiting: wait)
        ThreadStatistics.received(bytes: header.payloadLength)
        return header.payloadLength
    }

    /// Reads from the socket into `buffer`, which holds `received` bytes, until it holds `length`.
    private func receive(into buffer: UnsafeMutableRawPointer, holding received: Int, until length: Int,
                         waiting wait: () throws(Failure) -> Void) throws(Failure) {
        var received = received
        while received < length {
            var count = 0
            let error = cplatform_receive(fd, buffer + received, length - received, &count)
            if error == 0 && count > 0 {
                received += count
                continue
            }
            if error == 0 { throw .closed }
            if error == EINTR { continue }
            guard error == EAGAIN || error == EWOULDBLOCK else { throw error == ECONNRESET ? .closed : .system(error) }
            try wait()
        }
    }

    /// Consumes the frame whose header `peekHeader` just returned, moving its payload into
    /// `buffer` (which must hold it): what is buffered is copied, the rest read straight in.
    func receivePayload(of header: FrameHeader, into buffer: UnsafeMutableRawPointer,
                        waiting wait: () throws(Failure) -> Void) throws(Failure) {
        if let codec {
            // The whole frame must be here before any of it is opened.
            let total = FrameHeader.length + header.wireLength
            while tail - head < total {
                if total > capacity - head { makeRoom(for: total) }
                if try !fill() { try wait() }
            }
            _ = try codec.decode(storage + head, header: header, counter: receiveSequence, into: buffer)
            head += total
            receiveSequence &+= 1
            compactIfEmpty()
            ThreadStatistics.received(bytes: header.payloadLength)
            return
        }
        head += FrameHeader.length
        receiveSequence &+= 1
        let buffered = min(tail - head, header.payloadLength)
        memcpy(buffer, storage + head, buffered)
        head += buffered
        try receive(into: buffer, holding: buffered, until: header.payloadLength, waiting: wait)
        if head == tail { head = 0; tail = 0 }
        ThreadStatistics.received(bytes: header.payloadLength)
    }

    /// Moves the unread bytes to the front, growing the buffer to at least `needed`.
    private func makeRoom(for needed: Int) {
        let unread = tail - head
        if needed > capacity {
            var grown = capacity
            while grown < needed { grown *= 2 }
            let larger = UnsafeMutableRawPointer.allocate(byteCount: grown, alignment: 16)
            memcpy(larger, storage + head, unread)
            storage.deallocate()
            storage = larger
            capacity = grown
        } else if head > 0 {
            memmove(storage, storage + head, unread)
        }
        head = 0
        tail = unread
    }

    /// Compacts the buffer once every frame in it was consumed (cheap: no bytes move).
    func compactIfEmpty() {
        if head == tail { head = 0; tail = 0 }
    }

    /// Flips one byte of the next frame this lane sends, after sealing it (tests only);
    /// false if the lane has no codec.
    func tamperWithNextFrameForTesting() -> Bool {
        sending.withLock { _ in
            guard let codec else { return false }
            codec.tamperWithNextFrame = true
            return true
        }
    }

    /// Writes a frame whose header checksum is wrong: for tests of what a peer does with it.
    func sendCorruptFrameForTesting() {
        var header = (UInt64(0), UInt64(0), UInt64(0))
        let sequence = sending.withLock { $0 }
        withUnsafeMutableBytes(of: &header) { raw in
            FrameHeader(tag: Tag.request, payloadLength: 0, sequence: UInt32(truncatingIfNeeded: sequence))
                .encode(into: raw.baseAddress!)
            raw[20] ^= 0x5a
            var vectors = [iovec(iov_base: raw.baseAddress, iov_len: raw.count)]
            _ = write(&vectors)
        }
    }
}
