import CPlatform

/// Routes SIGSEGVs inside the shared range to the registered handler. Memory knows
/// nothing of coherence: the layer above registers what a fault means.
enum FaultTrampoline {
    /// Returns true when the fault was resolved and the access may retry.
    typealias Handler = (_ address: UnsafeMutableRawPointer, _ isWrite: Bool) -> Bool

    nonisolated(unsafe) private static var handler: Handler?

    /// Installs the process-wide handler. Call after MPI_Init: MPI and the Swift runtime
    /// install their own, and ours chains to whichever was there.
    static func install(range base: UnsafeMutableRawPointer, length: Int, handler: @escaping Handler) {
        self.handler = handler
        let code = cplatform_install_fault_handler(base, length) { address, isWrite in
            guard let address, let handler = FaultTrampoline.handler else { return 0 }
            return handler(address, isWrite != 0) ? 1 : 0
        }
        if code != 0 { Fatal.stop("cannot install the SIGSEGV handler (errno \(code))") }
    }

    static func remove() {
        cplatform_remove_fault_handler()
        handler = nil
    }
}
