import Glibc

/// How a thread waits for MPI progress without burning a core: re-test at once for a
/// short while (requests usually complete within microseconds), then re-test between
/// yields (a runnable rank or service thread on the same core gets the CPU at once, which
/// matters with more threads than cores), then sleep with doubling intervals up to a cap.
struct Backoff {
    private var attempts = 0
    private var sleepNanoseconds = 1_000
    private let spinAttempts: Int
    private let yieldAttempts: Int
    private let capNanoseconds: Int

    /// `capMicroseconds` bounds the extra latency a waiter adds once it has gone to sleep.
    init(spinAttempts: Int = 50, yieldAttempts: Int = 400, capMicroseconds: Int = 250) {
        self.spinAttempts = spinAttempts
        self.yieldAttempts = yieldAttempts
        self.capNanoseconds = capMicroseconds * 1_000
    }

    /// For replies that are on their way (page data, diff acknowledgements): a large message
    /// over TCP moves in fragments, each needing this side's progress, so a long sleep between
    /// tests would stretch every fragment.
    static let transfer = Backoff(spinAttempts: 200, yieldAttempts: 4_000, capMicroseconds: 20)

    /// Spinning and yielding are over: the next pause sleeps.
    var wouldSleep: Bool { attempts >= spinAttempts + yieldAttempts }

    mutating func reset() {
        attempts = 0
        sleepNanoseconds = 1_000
    }

    mutating func pause() {
        attempts += 1
        if attempts <= spinAttempts { return }
        if attempts <= spinAttempts + yieldAttempts {
            sched_yield()
            return
        }
        var request = timespec(tv_sec: 0, tv_nsec: sleepNanoseconds)
        nanosleep(&request, nil)
        sleepNanoseconds = min(sleepNanoseconds * 2, capNanoseconds)
    }
}
