import CMPI
import Synchronization
import Glibc

/// Stopping the job on a user mistake or an unrecoverable failure, with a message on
/// every rank naming what was wrong. A hang is never an acceptable way to fail.
public enum Fatal {
    /// Tells the other ranks about an error seen on this rank alone. Installed once the
    /// service threads run; before that an error is printed here and the job aborted.
    nonisolated(unsafe) static var notifyOthers: ((String) -> Void)?
    nonisolated(unsafe) static var rank: Int = -1
    /// Runs on the thread that stops the job, after its message (tests only: what a rank
    /// looked like when it stopped).
    nonisolated(unsafe) static var lastWordsForTesting: (() -> Void)?

    static func prefix(_ rank: Int) -> String {
        rank >= 0 ? "SwiftDSM error on rank \(rank): " : "SwiftDSM error: "
    }

    static func printLine(_ text: String) {
        let line = Array((text + "\n").utf8)
        _ = line.withUnsafeBytes { write(STDERR_FILENO, $0.baseAddress, $0.count) }
    }

    /// The first thread to stop the job sets this; a second one (the service thread seeing
    /// the same lost peer as the application thread) waits for the job to end instead.
    private static let stopClaim = Atomic<Bool>(false)

    /// True once a thread of this rank is stopping the job, or another rank's report of an
    /// error arrived: failures seen after that (a peer gone away) are consequences, not news.
    static var isStopping: Bool { stopClaim.load(ordering: .acquiring) }

    /// Marks this rank as stopping (a report from another rank arrived). Returns false if it already was.
    @discardableResult
    static func claimStop() -> Bool {
        stopClaim.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged
    }

    /// A mistake seen by this rank alone: printed here, reported to every other rank, then the job stops.
    public static func stop(_ message: String) -> Never {
        guard claimStop() else {
            // Another thread is stopping the job, or a rank that reported an error is: let it end the job.
            sleep(10)
            abortJob()
        }
        printLine(prefix(rank) + message)
        lastWordsForTesting?()
        if let notify = notifyOthers {
            notify(message)
        }
        abortJob()
    }

    /// A mistake every rank detects at the same point (a collective check): each rank
    /// prints it, waits for the others to have printed, then the job stops.
    static func everyRank(_ message: String, comm: MPI_Comm) -> Never {
        printLine(prefix(rank) + message)
        MPI_Barrier(comm)
        abortJob()
    }

    /// `everyRank` for libraries above the DSM: a mistake every rank detects at the same
    /// point of a collective call (after an exchange of the arguments, say).
    public static func everyRank(_ message: String) -> Never {
        guard let runtime = DSMRuntime.current else { local(message) }
        everyRank(message, comm: runtime.cluster.syncComm)
    }

    /// Before MPI is usable: print and exit this process.
    static func local(_ message: String) -> Never {
        printLine(prefix(rank) + message)
        claimStop()
        exit(1)
    }

    static func abortJob() -> Never {
        // Whatever runs at exit (jia_exit for a C program that did not call it) must not
        // start a collective shutdown now.
        claimStop()
        var initialized: Int32 = 0
        MPI_Initialized(&initialized)
        if initialized != 0 { MPI_Abort(cmpi_comm_world(), 1) }
        exit(1)
    }
}
