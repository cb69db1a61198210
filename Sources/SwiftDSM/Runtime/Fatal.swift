import CMPI
import Synchronization
import Glibc

/// Tells the other ranks about an error seen on this rank alone (their service threads
/// print it): the layer that owns the messages implements it (`ErrorReports`).
protocol FailureNotifier: AnyObject {
    func notifyOthers(_ message: String)
}

/// Stopping the job on a user mistake or an unrecoverable failure, with a message on
/// every rank naming what was wrong. A hang is never an acceptable way to fail.
///
/// Every layer stops the job through here, and this layer knows none above it: what it
/// needs of them is injected as the run starts (`install`) and taken back at its end. It is
/// global rather than passed to every object because the fault handler and C callbacks
/// (UCX's progress) stop the job from contexts that carry no Swift state.
public enum Fatal {
    /// The other ranks' error reports; before the service threads run (and after), an
    /// error is printed here and the job aborted.
    nonisolated(unsafe) private(set) static var notifier: FailureNotifier?
    /// The communicator of the DSM's collective checks, for `everyRank` from the layers
    /// above (Collectives, MapReduce, the C face); nil outside a run.
    nonisolated(unsafe) private(set) static var collectiveComm: MPI_Comm?
    nonisolated(unsafe) private(set) static var rank: Int = -1
    /// Runs on the thread that stops the job, after its message (tests only: what a rank
    /// looked like when it stopped).
    nonisolated(unsafe) static var lastWordsForTesting: (() -> Void)?

    /// Called by the cluster as MPI starts: this process's rank, for every message.
    static func install(rank: Int) { self.rank = rank }

    /// Called by the runtime once its collective communicator and its error reports exist.
    static func install(collectiveComm: MPI_Comm, notifier: FailureNotifier) {
        self.collectiveComm = collectiveComm
        self.notifier = notifier
    }

    /// Called at the end of the run, before the communicators and the service thread go.
    static func uninstall() {
        notifier = nil
        collectiveComm = nil
    }

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
        notifier?.notifyOthers(message)
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
        guard let comm = collectiveComm else { local(message) }
        everyRank(message, comm: comm)
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
