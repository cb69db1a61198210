import Glibc

/// Counters of one rank's DSM activity, always counted. Plain integers: each instance is
/// written by one thread only (the main thread's, the service thread's, or one of the two
/// per-thread slots of `ThreadStatistics`), so counting costs an add. Times are monotonic
/// nanoseconds (`monotonicNanoseconds`).
public struct Statistics: Sendable {
    // Faults (JIAJIA's SEGVs). Home pages are always readable, so they never take a read fault.
    public var readFaults: UInt64 = 0
    public var writeFaults: UInt64 = 0
    public var homeWriteFaults: UInt64 = 0
    // Page fetches (JIAJIA's getpages).
    public var pagesFetched: UInt64 = 0
    public var fetchOperations: UInt64 = 0
    public var fetchNanoseconds: UInt64 = 0
    // Diffs, invalidations, replacement.
    public var diffsSent: UInt64 = 0
    public var diffBytesSent: UInt64 = 0
    public var invalidations: UInt64 = 0
    public var evictions: UInt64 = 0
    public var dirtyEvictions: UInt64 = 0
    // Adaptive protocols: pages kept writable across an interval, homes moved.
    public var pagesKeptWritable: UInt64 = 0
    public var pagesMigratedIn: UInt64 = 0
    public var pagesMigratedOut: UInt64 = 0
    public var lockManagersMovedIn: UInt64 = 0
    /// Locks this rank released straight to the next waiter (its grant sent from here).
    public var locksHandedOff: UInt64 = 0
    /// Bytes a refetch did not move because write vectors showed them unchanged.
    public var refetchBytesSaved: UInt64 = 0
    /// Pages this rank broadcast as their home, and copies a broadcast installed here.
    public var pagesBroadcastOut: UInt64 = 0
    public var pagesBroadcastIn: UInt64 = 0
    // Synchronization.
    public var lockAcquires: UInt64 = 0
    public var lockWaitNanoseconds: UInt64 = 0
    public var lockReleases: UInt64 = 0
    public var barriers: UInt64 = 0
    public var barrierWaitNanoseconds: UInt64 = 0
    public var conditionWaits: UInt64 = 0
    public var conditionWaitNanoseconds: UInt64 = 0
    // Messages of the DSM's own protocol (requests, replies, page data), both threads.
    public var messagesSent: UInt64 = 0
    public var messageBytesSent: UInt64 = 0
    public var messagesReceived: UInt64 = 0
    public var messageBytesReceived: UInt64 = 0
    /// Bytes of frames sent (tcp lanes, MPI messages framed): headers, bodies, seals' tags.
    public var wireBytesSent: UInt64 = 0
    /// Under `security`: bytes sealed and opened (frames, page pushes, collective-call
    /// blocks), and the time that took.
    public var sealedBytes: UInt64 = 0
    public var sealNanoseconds: UInt64 = 0
    /// Payloads offered to compression, what they became, and the time it took.
    public var compressionBytesIn: UInt64 = 0
    public var compressionBytesOut: UInt64 = 0
    public var compressionNanoseconds: UInt64 = 0
    /// Snapshot reads: stale copies used instead of a fetch (one per copy each time it went stale).
    public var staleReads: UInt64 = 0
    /// Snapshot reads: refreshes of a region's expired copies, one gathered fetch per home each.
    public var snapshotRefreshes: UInt64 = 0
    /// Checkpoints taken, pages and bytes this rank wrote to them, and the time they took.
    public var checkpoints: UInt64 = 0
    public var checkpointPages: UInt64 = 0
    public var checkpointBytes: UInt64 = 0
    public var checkpointNanoseconds: UInt64 = 0
    /// A file home store's undo logs: bytes logged in the intervals that ended at a checkpoint.
    public var undoLogBytes: UInt64 = 0
    // Ours: one-sided MPI operations, mapping changes, the service thread's work.
    public var rmaOperations: UInt64 = 0
    public var protectionCalls: UInt64 = 0
    public var protectionNanoseconds: UInt64 = 0
    public var requestsServed: UInt64 = 0
    /// Time in the fault handler (fetch, mapping, twinning), main thread.
    public var faultNanoseconds: UInt64 = 0

    /// Latency distributions (nanoseconds) of page fetches, lock acquires and barriers.
    public var faultLatency = LatencyHistogram()
    public var fetchLatency = LatencyHistogram()
    public var lockLatency = LatencyHistogram()
    public var barrierLatency = LatencyHistogram()

    public init() {}

    /// Every counter with its name in the JSON output and the tables; `isTime` marks nanoseconds.
    nonisolated(unsafe) public static let counters: [(name: String, key: WritableKeyPath<Statistics, UInt64>, isTime: Bool)] = [
        ("readFaults", \.readFaults, false),
        ("writeFaults", \.writeFaults, false),
        ("homeWriteFaults", \.homeWriteFaults, false),
        ("pagesFetched", \.pagesFetched, false),
        ("fetchOperations", \.fetchOperations, false),
        ("fetchNanoseconds", \.fetchNanoseconds, true),
        ("diffsSent", \.diffsSent, false),
        ("diffBytesSent", \.diffBytesSent, false),
        ("invalidations", \.invalidations, false),
        ("evictions", \.evictions, false),
        ("dirtyEvictions", \.dirtyEvictions, false),
        ("pagesKeptWritable", \.pagesKeptWritable, false),
        ("pagesMigratedIn", \.pagesMigratedIn, false),
        ("pagesMigratedOut", \.pagesMigratedOut, false),
        ("lockManagersMovedIn", \.lockManagersMovedIn, false),
        ("locksHandedOff", \.locksHandedOff, false),
        ("refetchBytesSaved", \.refetchBytesSaved, false),
        ("pagesBroadcastOut", \.pagesBroadcastOut, false),
        ("pagesBroadcastIn", \.pagesBroadcastIn, false),
        ("lockAcquires", \.lockAcquires, false),
        ("lockWaitNanoseconds", \.lockWaitNanoseconds, true),
        ("lockReleases", \.lockReleases, false),
        ("barriers", \.barriers, false),
        ("barrierWaitNanoseconds", \.barrierWaitNanoseconds, true),
        ("conditionWaits", \.conditionWaits, false),
        ("conditionWaitNanoseconds", \.conditionWaitNanoseconds, true),
        ("messagesSent", \.messagesSent, false),
        ("messageBytesSent", \.messageBytesSent, false),
        ("messagesReceived", \.messagesReceived, false),
        ("messageBytesReceived", \.messageBytesReceived, false),
        ("wireBytesSent", \.wireBytesSent, false),
        ("sealedBytes", \.sealedBytes, false),
        ("sealNanoseconds", \.sealNanoseconds, true),
        ("compressionBytesIn", \.compressionBytesIn, false),
        ("compressionBytesOut", \.compressionBytesOut, false),
        ("compressionNanoseconds", \.compressionNanoseconds, true),
        ("staleReads", \.staleReads, false),
        ("snapshotRefreshes", \.snapshotRefreshes, false),
        ("checkpoints", \.checkpoints, false),
        ("checkpointPages", \.checkpointPages, false),
        ("checkpointBytes", \.checkpointBytes, false),
        ("checkpointNanoseconds", \.checkpointNanoseconds, true),
        ("undoLogBytes", \.undoLogBytes, false),
        ("rmaOperations", \.rmaOperations, false),
        ("protectionCalls", \.protectionCalls, false),
        ("protectionNanoseconds", \.protectionNanoseconds, true),
        ("requestsServed", \.requestsServed, false),
        ("faultNanoseconds", \.faultNanoseconds, true),
    ]

    nonisolated(unsafe) public static let histograms: [(name: String, key: WritableKeyPath<Statistics, LatencyHistogram>)] = [
        ("faultLatency", \.faultLatency),
        ("fetchLatency", \.fetchLatency),
        ("lockLatency", \.lockLatency),
        ("barrierLatency", \.barrierLatency),
    ]

    /// Adds `other`'s counts to these (counters of several threads make one rank's figures).
    public mutating func add(_ other: Statistics) {
        for counter in Self.counters { self[keyPath: counter.key] &+= other[keyPath: counter.key] }
        for histogram in Self.histograms { self[keyPath: histogram.key].add(other[keyPath: histogram.key]) }
    }

    /// These counts less `baseline`'s (what was counted since `baseline` was taken).
    public func subtracting(_ baseline: Statistics) -> Statistics {
        var result = self
        for counter in Self.counters {
            result[keyPath: counter.key] = self[keyPath: counter.key] &- min(baseline[keyPath: counter.key],
                                                                              self[keyPath: counter.key])
        }
        for histogram in Self.histograms {
            result[keyPath: histogram.key].subtract(baseline[keyPath: histogram.key])
        }
        return result
    }

    /// All counters, then every histogram's buckets: the fixed-size vector ranks exchange.
    public var flattened: [UInt64] {
        var values = Self.counters.map { self[keyPath: $0.key] }
        for histogram in Self.histograms { values += self[keyPath: histogram.key].bucketArray }
        return values
    }

    public static var flattenedCount: Int { counters.count + histograms.count * LatencyHistogram.bucketCount }

    public init(flattened values: ArraySlice<UInt64>) {
        var index = values.startIndex
        for counter in Self.counters {
            self[keyPath: counter.key] = values[index]
            index += 1
        }
        for histogram in Self.histograms {
            self[keyPath: histogram.key] = LatencyHistogram(
                buckets: values[index..<(index + LatencyHistogram.bucketCount)])
            index += LatencyHistogram.bucketCount
        }
    }
}

/// A latency distribution in fixed memory: HdrHistogram-style logarithmic buckets, each
/// power of two split into 8 linear sub-buckets (values below 8 ns exact, others within
/// 12.5%), 384 buckets covering 0 to about 39 hours.
public struct LatencyHistogram: Sendable, Equatable {
    public static let bucketCount = 384
    static let subBucketBits = 3
    static let subBuckets = 1 << subBucketBits

    private var buckets = InlineArray<384, UInt64>(repeating: 0)
    public private(set) var count: UInt64 = 0
    public private(set) var maximum: UInt64 = 0

    public init() {}

    init(buckets values: ArraySlice<UInt64>) {
        var index = 0
        for value in values {
            buckets[index] = value
            count &+= value
            if value > 0 { maximum = Self.upperBound(ofBucket: index) }
            index += 1
        }
    }

    public static func == (lhs: LatencyHistogram, rhs: LatencyHistogram) -> Bool {
        lhs.bucketArray == rhs.bucketArray && lhs.maximum == rhs.maximum
    }

    @inline(__always)
    static func bucket(of value: UInt64) -> Int {
        if value < UInt64(subBuckets) { return Int(value) }
        let exponent = 63 - value.leadingZeroBitCount
        let sub = Int((value >> UInt64(exponent - subBucketBits)) & UInt64(subBuckets - 1))
        return min((exponent - subBucketBits + 1) * subBuckets + sub, bucketCount - 1)
    }

    /// The smallest value that falls in bucket `index`.
    public static func lowerBound(ofBucket index: Int) -> UInt64 {
        if index < subBuckets { return UInt64(index) }
        let exponent = index / subBuckets + subBucketBits - 1
        let sub = UInt64(index % subBuckets)
        return (UInt64(subBuckets) + sub) << UInt64(exponent - subBucketBits)
    }

    /// The largest value that falls in bucket `index`.
    public static func upperBound(ofBucket index: Int) -> UInt64 {
        index + 1 < bucketCount ? lowerBound(ofBucket: index + 1) - 1 : UInt64.max
    }

    @inline(__always)
    public mutating func record(_ nanoseconds: UInt64) {
        buckets[Self.bucket(of: nanoseconds)] &+= 1
        count &+= 1
        if nanoseconds > maximum { maximum = nanoseconds }
    }

    mutating func add(_ other: LatencyHistogram) {
        for index in 0..<Self.bucketCount { buckets[index] &+= other.buckets[index] }
        count &+= other.count
        maximum = max(maximum, other.maximum)
    }

    mutating func subtract(_ other: LatencyHistogram) {
        for index in 0..<Self.bucketCount { buckets[index] &-= min(other.buckets[index], buckets[index]) }
        count &-= min(other.count, count)
    }

    public var bucketArray: [UInt64] { (0..<Self.bucketCount).map { buckets[$0] } }

    /// The value below which `fraction` of the recorded values lie (a bucket's upper bound,
    /// capped at the largest value recorded), or 0 when nothing was recorded.
    public func percentile(_ fraction: Double) -> UInt64 {
        guard count > 0 else { return 0 }
        let rank = max(1, UInt64((Double(count) * fraction).rounded(.up)))
        var seen: UInt64 = 0
        for index in 0..<Self.bucketCount {
            seen &+= buckets[index]
            if seen >= rank { return min(Self.upperBound(ofBucket: index), maximum) }
        }
        return maximum
    }
}

/// Counters of code that runs on either thread (message sends and receives): one slot per
/// thread, chosen by comparing the calling thread with the service thread.
enum ThreadStatistics {
    nonisolated(unsafe) static var serviceThread: pthread_t = 0
    nonisolated(unsafe) static let slots: UnsafeMutablePointer<Statistics> = {
        let pointer = UnsafeMutablePointer<Statistics>.allocate(capacity: 2)
        pointer.initialize(repeating: Statistics(), count: 2)
        return pointer
    }()

    @inline(__always)
    static var current: UnsafeMutablePointer<Statistics> {
        pthread_equal(pthread_self(), serviceThread) != 0 ? slots + 1 : slots
    }

    @inline(__always)
    static func sent(bytes: Int) {
        let slot = current
        slot.pointee.messagesSent &+= 1
        slot.pointee.messageBytesSent &+= UInt64(bytes)
    }

    @inline(__always)
    static func received(bytes: Int) {
        let slot = current
        slot.pointee.messagesReceived &+= 1
        slot.pointee.messageBytesReceived &+= UInt64(bytes)
    }

    static var total: Statistics {
        var sum = slots[0]
        sum.add(slots[1])
        return sum
    }
}
