/// The debug trace of faults and fetches (log-level debug). A fault runs in a signal
/// handler, where logging (locks, allocation, stdio) may not happen, so the fault path only
/// records into this ring, preallocated at start-up; the engine logs the records at its
/// next call from outside a fault (an interval's end, an invalidation).
struct FaultTrace {
    enum Event {
        case fault(page: Int, home: Int32, isWrite: Bool, nanoseconds: UInt64)
        case fetch(page: Int, count: Int, home: Int32, nanoseconds: UInt64)
    }

    private var events: [Event]
    private var next = 0
    private var recorded = 0
    private var dropped = 0

    /// No room unless tracing is on: the ring costs nothing otherwise.
    init(enabled: Bool, capacity: Int = 4096) {
        events = enabled ? [Event](repeating: .fault(page: 0, home: 0, isWrite: false, nanoseconds: 0), count: capacity) : []
    }

    /// Records `event`, overwriting the oldest one when the ring is full. Allocates nothing.
    mutating func record(_ event: Event) {
        guard !events.isEmpty else { return }
        if recorded == events.count { dropped += 1 } else { recorded += 1 }
        events[next] = event
        next = next + 1 == events.count ? 0 : next + 1
    }

    /// Logs the recorded events in order and empties the ring (not from a fault).
    mutating func flush() {
        guard recorded > 0 else { return }
        if dropped > 0 { DSMLog.trace("\(dropped) fault trace records were dropped (the ring holds \(events.count))") }
        var index = (next - recorded + events.count) % events.count
        for _ in 0..<recorded {
            switch events[index] {
            case let .fault(page, home, isWrite, nanoseconds):
                DSMLog.trace("fault \(isWrite ? "write" : "read") page \(page) home \(home) in \(nanoseconds) ns")
            case let .fetch(page, count, home, nanoseconds):
                DSMLog.trace("fetch pages \(page)..<\(page + count) from rank \(home) in \(nanoseconds) ns")
            }
            index = index + 1 == events.count ? 0 : index + 1
        }
        recorded = 0
        dropped = 0
    }
}
