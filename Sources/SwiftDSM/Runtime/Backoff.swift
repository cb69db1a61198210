import Glibc

/// How a thread waits for MPI progress without burning a core: re-test at once for a
/// short while (requests usually complete within microseconds), then re-test between
/// yields (a runnable rank or service thread on the same core gets the CPU at once, which
/// matters with more threads than cores), then sleep with doubling intervals up to a cap.
struct Backoff {
    private var attempts = 0
    private var yieldsStarted: UInt64 = 0
    private var sleeping = false
    private var sleepNanoseconds = 1_000
    private let spinAttempts: Int
    private let yieldAttempts: Int
    /// How long the yields may last (`boundedInTime`); nil: only their count ends them.
    private var yieldBound: UInt64? = nil
    private let capNanoseconds: Int

    /// `capMicroseconds` bounds the extra latency a waiter adds once it has gone to sleep.
    init(spinAttempts: Int = 50, yieldAttempts: Int = 400, capMicroseconds: Int = 250) {
        self.spinAttempts = spinAttempts
        self.yieldAttempts = yieldAttempts
        self.capNanoseconds = capMicroseconds * 1_000
    }

    /// This backoff with its yields also ending after about the time they take on an idle
    /// core (a yield there takes under a microsecond; 0.77 us on this machine).
    ///
    /// For waits on ranks of other hosts, whose threads a yield cannot hand the core to.
    /// Where threads that never yield share the cores (a computation, another job), a yield
    /// takes up to a time slice, and counted yields stretched every wait: the message path
    /// with 4 ranks on 2 test-bed hosts ran about ten times slower beside one busy process,
    /// five to seven times with the bound. Between the ranks of one host the yields stay
    /// counted: there a yield is how a waiting thread hands the core to the thread it waits
    /// for, which a sleep does slower.
    func boundedInTime() -> Backoff { yielding(atMostNanoseconds: UInt64(yieldAttempts) * 750) }

    /// This backoff with its yields also ending once they have lasted `nanoseconds`.
    func yielding(atMostNanoseconds nanoseconds: UInt64) -> Backoff {
        var bounded = self
        bounded.yieldBound = nanoseconds
        return bounded
    }

    /// For replies that are on their way (page data, diff acknowledgements): a large message
    /// over TCP moves in fragments, each needing this side's progress, so a long sleep between
    /// tests would stretch every fragment.
    static let transfer = Backoff(spinAttempts: 200, yieldAttempts: 4_000, capMicroseconds: 20)

    /// Spinning and yielding are over: the next pause sleeps.
    var wouldSleep: Bool { sleeping }

    mutating func reset() {
        attempts = 0
        sleeping = false
        sleepNanoseconds = 1_000
    }

    mutating func pause() {
        if !sleeping {
            attempts += 1
            if attempts <= spinAttempts { return }
            if attempts <= spinAttempts + yieldAttempts {
                if yieldBound != nil && attempts == spinAttempts + 1 { yieldsStarted = monotonicNanoseconds() }
                sched_yield()
                sleeping = attempts == spinAttempts + yieldAttempts
                    || yieldBound.map { monotonicNanoseconds() - yieldsStarted >= $0 } ?? false
                return
            }
            sleeping = true  // no yields at all
        }
        var request = timespec(tv_sec: 0, tv_nsec: sleepNanoseconds)
        nanosleep(&request, nil)
        sleepNanoseconds = min(sleepNanoseconds * 2, capNanoseconds)
    }
}
