import Glibc

/// A system call or C helper (CPlatform) that failed: which call, on what, and the errno.
struct SystemCallError: Error, CustomStringConvertible {
    let call: String
    let code: Int32

    var description: String { "\(call) failed: \(errnoText(code))" }
}

/// The system's text for `code`, with the number (for searching).
func errnoText(_ code: Int32) -> String { "\(String(cString: strerror(code))) (errno \(code))" }

/// The C helpers return 0 or an errno (values through out-parameters). A result a caller
/// can handle goes through here, as a thrown error naming the call.
@inline(__always)
func systemCall(_ code: Int32, _ call: @autoclosure () -> String) throws(SystemCallError) {
    if code != 0 { throw SystemCallError(call: call(), code: code) }
}

/// A result that leaves nothing to do but stop: the job stops, naming the call.
@inline(__always)
func systemCheck(_ code: Int32, _ call: @autoclosure () -> String) {
    if code != 0 { Fatal.stop(SystemCallError(call: call(), code: code).description) }
}

/// Moves `count` bytes with a read or write that may move fewer (`step` moves from byte
/// `done` on and returns what read or write returned), retrying EINTR. Returns nil once all
/// moved, or why not: the errno's text, or that nothing moved (end of file).
func moveAll(_ count: Int, _ step: (_ done: Int) -> Int) -> String? {
    var done = 0
    while done < count {
        let moved = step(done)
        if moved < 0 && errno == EINTR { continue }
        if moved < 0 { return errnoText(errno) }
        if moved == 0 { return "nothing moved (end of file)" }
        done += moved
    }
    return nil
}
