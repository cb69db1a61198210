import Dispatch

/// Runs `body` over `threads` contiguous chunks of `0..<count` at once, one thread each
/// (the calling thread takes one). With one thread, or nothing to split, runs inline.
/// The chunks' threads may fault on shared memory: the DSM serves them one at a time.
func parallelChunks(_ count: Int, threads: Int, _ body: (Range<Int>) -> Void) {
    guard threads > 1, count > 1 else {
        body(0..<count)
        return
    }
    withoutActuallyEscaping(body) { body in
        let shared = UncheckedSendable(body)
        DispatchQueue.concurrentPerform(iterations: threads) { thread in
            let chunk = (count * thread / threads)..<(count * (thread + 1) / threads)
            if !chunk.isEmpty { shared.value(chunk) }
        }
    }
}

/// A value handed to the threads of `parallelChunks`, which touch disjoint parts of it.
struct UncheckedSendable<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
