/// Counters of one rank's DSM activity. Plain integers: each instance is written by one
/// thread only (the main thread's or the service thread's), so counting costs an add.
public struct Statistics: Sendable {
    public var readFaults: UInt64 = 0
    public var writeFaults: UInt64 = 0
    public var homeWriteFaults: UInt64 = 0
    public var pagesFetched: UInt64 = 0
    public var fetchOperations: UInt64 = 0
    public var fetchNanoseconds: UInt64 = 0
    public var diffsSent: UInt64 = 0
    public var diffBytesSent: UInt64 = 0
    public var invalidations: UInt64 = 0
    public var evictions: UInt64 = 0
    public var dirtyEvictions: UInt64 = 0
    public var lockAcquires: UInt64 = 0
    public var lockWaitNanoseconds: UInt64 = 0
    public var barriers: UInt64 = 0
    public var barrierWaitNanoseconds: UInt64 = 0
    public var conditionWaits: UInt64 = 0
    public var protectionCalls: UInt64 = 0
    public var requestsServed: UInt64 = 0

    public init() {}
}
