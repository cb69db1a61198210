import CPlatform

/// Routes SIGSEGVs inside the shared range to the registered handler. Memory knows
/// nothing of coherence: the layer above registers what a fault means.
enum FaultTrampoline {
    /// Returns true when the fault was resolved and the access may retry.
    typealias Handler = (_ address: UnsafeMutableRawPointer, _ isWrite: Bool) -> Bool

    /// What the C trampoline hands back to Swift: the handler, reached through the
    /// context pointer rather than a global.
    private final class Context {
        let handler: Handler
        init(_ handler: @escaping Handler) { self.handler = handler }
    }

    nonisolated(unsafe) private static var context: Unmanaged<AnyObject>?

    /// Installs the process-wide handler. Call after MPI_Init: MPI and the Swift runtime
    /// install their own, and ours chains to whichever was there.
    static func install(range base: UnsafeMutableRawPointer, length: Int, handler: @escaping Handler) {
        let retained = Unmanaged<AnyObject>.passRetained(Context(handler))
        context?.release()
        context = retained
        let code = cplatform_install_fault_handler(base, length, { context, address, isWrite in
            guard let context, let address else { return 0 }
            let box = Unmanaged<AnyObject>.fromOpaque(context).takeUnretainedValue()
            return unsafeDowncast(box, to: Context.self).handler(address, isWrite != 0) ? 1 : 0
        }, retained.toOpaque())
        if code != 0 { Fatal.stop("cannot install the SIGSEGV handler (errno \(code))") }
    }

    static func remove() {
        cplatform_remove_fault_handler()
        context?.release()
        context = nil
    }
}
