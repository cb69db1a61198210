import CMPI

/// MPI calls return an error code; SwiftDSM sets MPI_ERRORS_RETURN on its communicators,
/// so every call site checks the code and stops the job with a message naming the call and
/// MPI's own text for the code. Public for the layers above (Collectives, the C face).
@inline(__always)
public func mpiCheck(_ code: Int32, _ call: @autoclosure () -> String) {
    if code != MPI_SUCCESS { mpiFailure(code, call()) }
}

public func mpiErrorText(_ code: Int32) -> String {
    var buffer = [CChar](repeating: 0, count: Int(MPI_MAX_ERROR_STRING) + 1)
    var length: Int32 = 0
    MPI_Error_string(code, &buffer, &length)
    return String(decoding: buffer.prefix(Int(length)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

@usableFromInline
func mpiFailure(_ code: Int32, _ call: String) -> Never {
    Fatal.stop("MPI call \(call) failed: \(mpiErrorText(code)) (code \(code))")
}
