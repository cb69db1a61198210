/// The error reports between ranks, on the message channel: the handler of the reports
/// others send, and the `FailureNotifier` that `Fatal` is given at start-up.
extension RequestKind {
    static let reportError = RequestKind(8, "reportError")
}

extension Tag {
    static let errorAcknowledgement: Int32 = 14
}

/// Reports an error seen on one rank to every other rank, each of which prints it.
final class ErrorReports: RequestHandler, FailureNotifier {
    private let cluster: Cluster
    private let channel: MessageChannel

    init(cluster: Cluster, channel: MessageChannel) {
        self.cluster = cluster
        self.channel = channel
    }

    func handle(_ kind: RequestKind, from source: Int, body: inout MessageReader) throws(MalformedMessage) {
        let message = try body.string()
        // This rank stops with the reporter: what fails here from now on (its lanes closing) is no news.
        Fatal.claimStop()
        Fatal.printLine(Fatal.prefix(cluster.rank) + "stopping because rank \(source) reported: \(message)")
        channel.send([1], tag: Tag.errorAcknowledgement, to: source)
    }

    /// Sends the message to every other rank and waits (at most two seconds) until each has printed it.
    func notifyOthers(_ message: String) {
        guard cluster.size > 1 else { return }
        for rank in 0..<cluster.size where rank != cluster.rank {
            var writer = MessageWriter(kind: .reportError)
            writer.append(message)
            channel.send(writer, to: rank)
        }
        let deadline = monotonicNanoseconds() + 2_000_000_000
        var acknowledged = 0
        while acknowledged < cluster.size - 1, channel.receive(tag: Tag.errorAcknowledgement, before: deadline) != nil {
            acknowledged += 1
        }
    }
}
