import Foundation

/// Something the service thread hands requests to. Handlers run on the service thread
/// only, one request at a time, so their state needs no locking. A handler checks what it
/// reads and throws before it changes anything when the request is malformed.
protocol RequestHandler: AnyObject {
    func handle(_ kind: RequestKind, from source: Int, body: inout MessageReader) throws(MalformedMessage)
}

/// One thread per rank that serves other ranks' requests (page fetches and diffs on the
/// message paths, lock and condition-variable managers on every path), as they arrive on
/// the rank's message channel. Stored properties unchecked for exclusivity at run time, as
/// `CoherenceEngine` says why.
final class ServiceThread: @unchecked Sendable {
    let channel: MessageChannel
    @exclusivity(unchecked) private var handlers: [Int64: (kind: RequestKind, handler: RequestHandler)] = [:]
    private let finished = DispatchSemaphore(value: 0)
    @exclusivity(unchecked) private var running = false
    /// Written by the service thread only.
    @exclusivity(unchecked) private(set) var statistics = Statistics()

    init(channel: MessageChannel) { self.channel = channel }

    /// Routes `kinds` to `handler`. Call before `start`.
    func register(_ handler: RequestHandler, for kinds: [RequestKind]) {
        for kind in kinds {
            if let taken = handlers[kind.rawValue] {
                preconditionFailure("request kind \(kind.rawValue) (\(kind)) is already \(taken.kind)'s")
            }
            handlers[kind.rawValue] = (kind, handler)
        }
    }

    func start() {
        running = true
        let thread = Thread { [self] in
            ThreadStatistics.serviceThread = pthread_self()
            self.channel.serve { source, bytes in self.handle(bytes, from: source) }
            self.finished.signal()
        }
        thread.name = "SwiftDSM service"
        thread.stackSize = 1 << 20
        thread.start()
    }

    /// Stops the thread after the requests that arrived before this call.
    func stop() {
        guard running else { return }
        channel.stopServing()
        finished.wait()
        running = false
    }

    /// Sends a request to rank `destination`'s service thread.
    func send(_ writer: inout MessageWriter, to destination: Int) {
        channel.send(writer, to: destination)
    }

    private func handle(_ bytes: UnsafeRawBufferPointer, from source: Int) {
        var reader = MessageReader(bytes)
        let code = (try? reader.int64()) ?? -1
        guard let (kind, handler) = handlers[code] else {
            Fatal.stop("rank \(source) sent a request this rank cannot take (kind \(code), \(bytes.count) bytes): "
                + "a malformed message, or a program of another SwiftDSM build; nothing of it was applied")
        }
        statistics.requestsServed += 1
        do throws(MalformedMessage) {
            try handler.handle(kind, from: source, body: &reader)
        } catch {
            Fatal.stop("rank \(source) sent a malformed \(kind) request (\(error.reason)); nothing of it was applied")
        }
    }
}
