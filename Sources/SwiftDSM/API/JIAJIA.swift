import Foundation

// JIAJIA 2.1's API in Swift, with JIAJIA's meanings (see docs/JIAJIA-API.md). Every call
// except jia_init needs a started DSM; calling one before jia_init is reported as such.

private func runtime(_ call: String) -> DSMRuntime {
    guard let runtime = DSMRuntime.current else {
        Fatal.local("\(call) called before jia_init (or after jia_exit); call jia_init first")
    }
    return runtime
}

/// Starts the DSM on every rank (collective). MPI is initialized here unless the program
/// already did so (it then needs MPI_THREAD_MULTIPLE). `--jia-<setting>=<value>` flags are
/// taken out of the arguments; the rest is returned.
@discardableResult
public func jia_init(arguments: [String] = CommandLine.arguments) -> [String] {
    let (runtime, remaining) = DSMRuntime.start(arguments: arguments)
    jiaClockOrigin = runtime.startNanoseconds
    return remaining
}

/// Ends the DSM (collective): prints the statistics if enabled, frees MPI resources and
/// finalizes MPI if jia_init initialized it.
public func jia_exit() { runtime("jia_exit").shutdown() }

/// This rank, 0..<jiahosts.
public var jiapid: Int { runtime("jiapid").cluster.rank }
/// The number of ranks.
public var jiahosts: Int { runtime("jiahosts").cluster.size }

/// `size` bytes of shared memory, homed in rounds of `block` bytes (page-rounded) on ranks
/// starthost, starthost+1, ... cyclically. Collective: every rank makes the same calls.
public func jia_alloc3(_ size: Int, _ block: Int, _ starthost: Int) -> UnsafeMutableRawPointer {
    runtime("jia_alloc3").allocate(size: size, block: block, startRank: starthost)
}

/// jia_alloc3(size, block, 0).
public func jia_alloc2(_ size: Int, _ block: Int) -> UnsafeMutableRawPointer {
    runtime("jia_alloc2").allocate(size: size, block: block, startRank: 0,
                                   call: "jia_alloc2(size: \(size), block: \(block))")
}

/// The whole region homed on rank `proc`.
public func jia_alloc2p(_ size: Int, _ proc: Int) -> UnsafeMutableRawPointer {
    runtime("jia_alloc2p").allocate(size: size, block: size, startRank: proc,
                                    call: "jia_alloc2p(size: \(size), proc: \(proc))", startName: "proc")
}

/// The whole region homed on rank 0.
public func jia_alloc1(_ size: Int) -> UnsafeMutableRawPointer {
    runtime("jia_alloc1").allocate(size: size, block: size, startRank: 0, call: "jia_alloc1(size: \(size))")
}

nonisolated(unsafe) private var nextAllocHome = 0

/// JIAJIA 2.1's code behaviour: each call homes its whole region on the next rank,
/// round-robin (the manual's page-cyclic variant is `jia_alloc3(size, pagesize, 0)`).
public func jia_alloc(_ size: Int) -> UnsafeMutableRawPointer {
    let runtime = runtime("jia_alloc")
    let home = nextAllocHome % runtime.cluster.size
    nextAllocHome += 1
    return runtime.allocate(size: size, block: size, startRank: home, call: "jia_alloc(size: \(size))")
}

/// Releases the allocation `address` starts (collective, a barrier first); its range may be
/// reused by later allocations, and any access to it before that is an error.
public func jia_free(_ address: UnsafeRawPointer) {
    runtime("jia_free").free(address, call: "jia_free(\(address))")
}

/// Not in JIAJIA 2.1: copies `length` bytes of shared memory at `source` into private
/// memory at `destination` without faults, straight from the homes where this rank holds
/// no copy (`DSM.read`): for data another rank published that is read once.
public func jia_read(_ destination: UnsafeMutableRawPointer, _ source: UnsafeRawPointer, _ length: Int) {
    runtime("jia_read").read(from: source, byteCount: length, into: destination, call: "jia_read")
}

/// Acquires lock `lockid`; writes published under it by earlier holders become visible.
public func jia_lock(_ lockid: Int) { runtime("jia_lock").sync.lock(lockid) }

/// Releases lock `lockid` (the innermost held), publishing this rank's writes inside it.
public func jia_unlock(_ lockid: Int) { runtime("jia_unlock").sync.unlock(lockid) }

/// Global barrier: all writes before it are visible to all ranks after it.
public func jia_barrier() { runtime("jia_barrier").barrier() }

/// Rendezvous of all ranks without memory coherence.
public func jia_wait() { runtime("jia_wait").sync.wait() }

/// Sets condition variable `cv`, releasing its waiters; it stays set until reset.
public func jia_setcv(_ cv: Int) { runtime("jia_setcv").sync.setCondition(cv) }

/// Clears condition variable `cv`.
public func jia_resetcv(_ cv: Int) { runtime("jia_resetcv").sync.resetCondition(cv) }

/// Waits until `cv` is set (returns at once if it is). Carries no memory coherence.
public func jia_waitcv(_ cv: Int) { runtime("jia_waitcv").sync.waitCondition(cv) }

nonisolated(unsafe) private var jiaClockOrigin: UInt64 = 0

/// Seconds since jia_init.
public func jia_clock() -> Float {
    Float(Double(monotonicNanoseconds() - jiaClockOrigin) / 1e9)
}

/// Stops every rank with `message`.
public func jia_error(_ message: String) -> Never {
    Fatal.stop("jia_error: \(message)")
}
