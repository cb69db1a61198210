import Glibc
import Synchronization

/// One thread at a time in a rank's coherence engine. Any thread of a rank may read and
/// write shared memory between the rank's synchronization calls, so faults arrive from
/// several threads at once: each takes this lock, and one that waited finds the page it
/// wanted already fetched (one fetch per page; the waiters sleep in the mutex meanwhile).
/// Synchronization calls (locks, barriers, condition variables, collective calls) take it
/// too, so a fault of another thread waits for them instead of racing their page-table
/// changes; they are calls of one thread per rank, and a second thread calling one while
/// another is inside one is stopped with a message. The lock is recursive for its holder:
/// a synchronization call may fault (or prepare memory) on its own thread.
final class EngineLock: @unchecked Sendable {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    /// The thread holding `mutex`, 0 for none. Only the holder stores its own id, so a
    /// thread reading its own id here holds the lock.
    private let owner = Atomic<UInt>(0)
    /// The synchronization call in progress on this rank and its thread.
    private let activeCall = Mutex<(name: StaticString, thread: UInt)?>(nil)

    init() {
        mutex = .allocate(capacity: 1)
        pthread_mutex_init(mutex, nil)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    private static var currentThread: UInt { UInt(pthread_self()) }

    /// Takes the lock unless the calling thread holds it already; returns whether it took it.
    private func take() -> Bool {
        let thread = Self.currentThread
        if owner.load(ordering: .relaxed) == thread { return false }
        pthread_mutex_lock(mutex)
        owner.store(thread, ordering: .relaxed)
        return true
    }

    private func give(_ took: Bool) {
        guard took else { return }
        owner.store(0, ordering: .relaxed)
        pthread_mutex_unlock(mutex)
    }

    /// Runs a fault's (or a preparation's) work on the engine.
    func whileFaulting<T>(_ body: () -> T) -> T {
        let took = take()
        defer { give(took) }
        return body()
    }

    /// Runs synchronization call `name` on the engine (nested calls of its thread included).
    func whileCalling<T>(_ name: StaticString, _ body: () -> T) -> T {
        let thread = Self.currentThread
        let (other, outermost) = activeCall.withLock { active -> (StaticString?, Bool) in
            if let active { return (active.thread == thread ? nil : active.name, false) }
            active = (name, thread)
            return (nil, true)
        }
        if let other {
            Fatal.stop("\(name) was called by a second thread while another thread of this rank is inside "
                + "\(other): locks, barriers, condition variables and the collective calls are made by one "
                + "thread per rank, while its other threads wait or have joined")
        }
        let took = take()
        defer {
            give(took)
            if outermost { activeCall.withLock { $0 = nil } }
        }
        return body()
    }
}
