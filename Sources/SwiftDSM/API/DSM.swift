import Glibc

/// The Swift face of SwiftDSM: typed shared arrays, locks as values with a closure form,
/// and barriers, over the same runtime as the jia_* functions.
///
///     let dsm = DSM.start()
///     let counts = dsm.allocate(Int.self, count: 1024, homes: .blocked)
///     dsm.lock(0).withLock { counts[0] += 1 }
///     dsm.barrier()
///     dsm.finish()
public struct DSM: Sendable {
    public let runtime: DSMRuntime

    /// Starts the DSM on every rank (collective); see `jia_init`.
    public static func start(arguments: [String] = CommandLine.arguments) -> DSM {
        jia_init(arguments: arguments)
        return DSM(runtime: DSMRuntime.current!)
    }

    /// The running DSM, if `start` or `jia_init` was called.
    public static var current: DSM? { DSMRuntime.current.map(DSM.init) }

    public var rank: Int { runtime.cluster.rank }
    public var rankCount: Int { runtime.cluster.size }
    public var pageSize: Int { runtime.pageSize }

    /// Where the pages of an allocation live.
    public enum Homes: Sendable, Equatable {
        /// One contiguous, page-aligned block per rank, in rank order.
        case blocked
        /// Blocks of `bytes` (page-rounded) dealt cyclically from `startRank`.
        case blockCyclic(bytes: Int, startRank: Int = 0)
        /// Everything on one rank.
        case onRank(Int)
    }

    /// What a read of an allocation's page that other ranks wrote sees.
    public enum Consistency: Sendable, Equatable {
        /// The newest data (scope consistency): a stale copy is always refetched.
        case strict
        /// A copy already held may be read for `maxAge` (1 to 255) synchronizations after
        /// other ranks' writes made it stale, instead of being refetched at once: for
        /// iterations that converge from older values too (asynchronous Jacobi, PageRank).
        /// Writes always see the current page. Stale copies used count as `staleReads`.
        case snapshot(maxAge: Int)
    }

    /// Allocates a shared array of `count` elements (collective), zero-filled.
    public func allocate<Element: BitwiseCopyable>(_ type: Element.Type, count: Int,
                                                   homes: Homes = .blocked,
                                                   consistency: Consistency = .strict) -> SharedArray<Element> {
        var age = 0
        if case .snapshot(let maxAge) = consistency {
            guard (1...255).contains(maxAge) else {
                Fatal.stop("allocate(consistency: .snapshot(maxAge: \(maxAge))): maxAge must be from 1 to 255 synchronizations")
            }
            age = maxAge
        }
        let bytes = max(count, 1) * MemoryLayout<Element>.stride
        let raw: UnsafeMutableRawPointer
        switch homes {
        case .blocked:
            let pages = (bytes + pageSize - 1) / pageSize
            let blockPages = (pages + rankCount - 1) / rankCount
            raw = runtime.allocate(size: bytes, block: max(blockPages, 1) * pageSize, startRank: 0, snapshotAge: age)
        case .blockCyclic(let blockBytes, let startRank):
            raw = runtime.allocate(size: bytes, block: blockBytes, startRank: startRank, snapshotAge: age)
        case .onRank(let home):
            raw = runtime.allocate(size: bytes, block: bytes, startRank: home, snapshotAge: age)
        }
        return SharedArray(base: raw.bindMemory(to: Element.self, capacity: count), count: count)
    }

    /// Releases `array`'s allocation (collective, a barrier first): its pages return to the
    /// system at their homes and in every cache, and later allocations may reuse its range.
    /// Any use of it afterwards stops the job naming the allocation. See `jia_free`.
    public func free<Element>(_ array: SharedArray<Element>) {
        runtime.free(UnsafeRawPointer(array.base), call: "dsm.free(\(array.count) elements at \(array.base))")
    }

    public func lock(_ id: Int) -> SharedLock { SharedLock(id: id) }
    public func condition(_ id: Int) -> SharedCondition { SharedCondition(id: id) }

    /// Global barrier with coherence.
    public func barrier() { runtime.barrier() }
    /// Rendezvous without coherence.
    public func rendezvous() { runtime.sync.wait() }

    /// Balances work (`.computing`), homes (`.memory`) or both (`.hybrid`); collective.
    /// Returns the number of pages whose home moved. See `DSMRuntime.balance`.
    @discardableResult
    public func balance(_ mode: BalanceMode) -> Int { runtime.balance(mode) }

    /// The contiguous share of `0..<count` that `rank` works on: an even split, the
    /// remainder spread over the first ranks; after `balance(.computing)`, a split in
    /// proportion to each rank's measured speed.
    public func share(of count: Int, for rank: Int? = nil) -> Range<Int> {
        let rank = rank ?? self.rank
        if let powers = runtime.computePowers { return ComputeShares.share(of: count, powers: powers, rank: rank) }
        let base = count / rankCount
        let extra = count % rankCount
        let start = rank * base + min(rank, extra)
        return start..<(start + base + (rank < extra ? 1 : 0))
    }

    /// Makes `length` bytes at `address` ready for `access` without a fault: valid copies,
    /// and writable ones (whose writes become diffs) for `.writing`. Needed for shared
    /// memory handed to MPI or to a system call: the kernel does not raise SIGSEGV for
    /// them, so `read(2)` or `recv(2)` into a page the DSM protects fails with EFAULT
    /// instead of fetching it. Valid until this rank's next synchronization call.
    public func prepare(_ address: UnsafeRawPointer, length: Int, for access: MemoryAccess) {
        runtime.prepare(address, length: length, forWriting: access == .writing)
    }

    /// Copies `byteCount` bytes of shared memory at `address` into private memory at
    /// `destination`, as reading them would, but without faults: pages this rank holds are
    /// copied from where they are, the others straight from their homes into `destination`
    /// (one gathered fetch per home), and nothing is mapped or cached. The fetch leaves no
    /// read notice, so the home need not watch its later writes for a copy nobody keeps.
    /// (With `broadcast`, a read under 256 KiB caches its pages instead, where the homes'
    /// pushes can land.) For bulk reads of data another rank published (a halo, a block of
    /// an all-to-all) that is used once: a copy instead of faults, cache slots and
    /// protection changes.
    public func read(from address: UnsafeRawPointer, byteCount: Int, into destination: UnsafeMutableRawPointer) {
        runtime.read(from: address, byteCount: byteCount, into: destination)
    }

    /// `prepare` for elements `range` of `array`.
    public func prepare<Element>(_ array: SharedArray<Element>, _ range: Range<Int>, for access: MemoryAccess) {
        precondition(range.lowerBound >= 0 && range.upperBound <= array.count, "range \(range) outside the array")
        prepare(UnsafeRawPointer(array.base + range.lowerBound), length: range.count * MemoryLayout<Element>.stride,
                for: access)
    }

    /// Makes `action` the process's handler of segmentation faults outside the shared
    /// range and returns the one it replaces. `sigaction(SIGSEGV, ...)` after the DSM
    /// started would replace the DSM's own handler (and break every fault of shared
    /// memory); this keeps the DSM's in front and hands it the rest.
    @discardableResult
    public func setSegmentationFaultHandler(_ action: sigaction) -> sigaction {
        var replaced = sigaction()
        var new = action
        let code = DSMRuntime.setApplicationFaultHandler(&new, replaced: &replaced)
        if code != 0 { Fatal.stop("cannot set the application's SIGSEGV handler (errno \(code))") }
        return replaced
    }

    /// Saves the shared memory with `tag` (collective, a barrier first), to the
    /// checkpoint-dir setting's directory; a run started with `restart: latest` continues
    /// from it. See `jia_checkpoint`.
    @discardableResult
    public func checkpoint(tag: Int) -> CheckpointReport { runtime.checkpoint(tag: tag) }

    /// The tag of the checkpoint this run was restored from, or nil for a fresh start. The
    /// allocation calls, repeated in the same order, return memory holding its contents.
    public var restoredTag: Int? { runtime.restoredTag }

    /// Ends the DSM (collective); see `jia_exit`.
    public func finish() { runtime.shutdown() }
}

/// What memory is prepared for (`DSM.prepare`).
public enum MemoryAccess: Sendable {
    case reading
    case writing
}

/// A lock of the DSM. Writes made while holding it become visible to the next holder.
public struct SharedLock: Sendable {
    public let id: Int

    public func lock() { jia_lock(id) }
    public func unlock() { jia_unlock(id) }

    public func withLock<Result>(_ body: () throws -> Result) rethrows -> Result {
        jia_lock(id)
        defer { jia_unlock(id) }
        return try body()
    }
}

/// A condition variable of the DSM (level-triggered, no coherence; see `jia_setcv`).
public struct SharedCondition: Sendable {
    public let id: Int
    public func set() { jia_setcv(id) }
    public func reset() { jia_resetcv(id) }
    public func wait() { jia_waitcv(id) }
}

/// A typed view of shared memory. Copies share the same memory; indexing is unchecked
/// beyond a debug assertion, as with an `UnsafeMutableBufferPointer`.
public struct SharedArray<Element: BitwiseCopyable>: RandomAccessCollection, MutableCollection, @unchecked Sendable {
    public let base: UnsafeMutablePointer<Element>
    public let count: Int

    public init(base: UnsafeMutablePointer<Element>, count: Int) {
        self.base = base
        self.count = count
    }

    public var startIndex: Int { 0 }
    public var endIndex: Int { count }

    @inlinable public subscript(index: Int) -> Element {
        get {
            assert(index >= 0 && index < count, "SharedArray index \(index) out of range 0..<\(count)")
            return base[index]
        }
        nonmutating set {
            assert(index >= 0 && index < count, "SharedArray index \(index) out of range 0..<\(count)")
            base[index] = newValue
        }
    }

    public var buffer: UnsafeMutableBufferPointer<Element> { UnsafeMutableBufferPointer(start: base, count: count) }
}
