/// The DSM's point-to-point messages between ranks: requests to a rank's service thread
/// (tag `Tag.request`) and replies to the thread waiting for them (the other tags). Two
/// implementations: MPI's two-sided messages on the DSM's own communicators, and the
/// native tcp lanes, which wake a waiting thread on arrival instead of being polled.
protocol MessageChannel: AnyObject, Sendable {
    /// "mpi" or "tcp", for reports.
    var name: String { get }

    /// Sends `parts`, concatenated, as one message with `tag` to `destination` (any rank,
    /// this one included). Any thread may send; the parts may be reused on return.
    func send(_ parts: [UnsafeRawBufferPointer], tag: Int32, to destination: Int)

    /// Sends `request` to `destination`'s service thread, runs `meanwhile` (work that needs
    /// no reply, done while the reply is on its way), and receives the reply with `replyTag`
    /// into `buffer`. Returns the reply's length (at most `buffer.count`: a longer reply is
    /// malformed and stops the job).
    func call(_ request: UnsafeRawBufferPointer, to destination: Int, replyTag: Int32,
              into buffer: UnsafeMutableRawBufferPointer, meanwhile: () -> Void) -> Int

    /// The next reply with `tag` from `source` (nil: from any rank), waiting for it.
    func receive(tag: Int32, from source: Int?) -> (source: Int, bytes: [UInt8])

    /// The next reply with `tag` from `source` into `buffer`, waiting for it; returns its
    /// length (a longer reply is malformed and stops the job). Allocates nothing where the
    /// channel can (the fault path waits here for a diff's acknowledgement).
    func receive(tag: Int32, from source: Int, into buffer: UnsafeMutableRawBufferPointer) -> Int

    /// The source of the next reply with `tag` from any rank, or nil if none came before
    /// `deadline` (monotonic nanoseconds). For error reports only: it never stops the job.
    func receive(tag: Int32, before deadline: UInt64) -> Int?

    /// Runs the service loop on the calling thread, handing every request to `deliver`
    /// (source rank, bytes) until `stopServing` is called.
    func serve(_ deliver: (Int, UnsafeRawBufferPointer) -> Void)

    /// Ends `serve` after the requests that arrived before this call.
    func stopServing()

    /// Called on every rank after the last DSM message of the run (collectively, before the
    /// barrier that precedes `close`): peers closing their lanes from now on is no failure.
    func prepareToClose()

    /// Releases the channel's resources (after a barrier that follows `prepareToClose`).
    func close()
}

extension MessageChannel {
    func send(_ bytes: [UInt8], tag: Int32, to destination: Int) {
        bytes.withUnsafeBytes { send([$0], tag: tag, to: destination) }
    }

    /// Sends a request built by `writer` to `destination`'s service thread.
    func send(_ writer: MessageWriter, to destination: Int) {
        send(writer.bytes, tag: Tag.request, to: destination)
    }
}

/// A channel that seals its frames under `security` (the tcp lanes, MPI messages framed):
/// the job's keys, which also seal what travels beside it (page pushes, collective calls),
/// and each rank's host, for messages naming a peer.
protocol SealingChannel: MessageChannel {
    var keys: JobKeys? { get }
    var hosts: [String] { get }
}

extension MessageChannel {
    /// A call with nothing to do while the reply is on its way.
    func call(_ request: UnsafeRawBufferPointer, to destination: Int, replyTag: Int32,
              into buffer: UnsafeMutableRawBufferPointer) -> Int {
        call(request, to: destination, replyTag: replyTag, into: buffer, meanwhile: {})
    }
}
