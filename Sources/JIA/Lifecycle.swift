// jia_init and jia_exit for C programs.
import CMPI
import Collectives
@preconcurrency import Glibc
import Foundation
import SwiftDSM

@_cdecl("jia_init")
public func c_jia_init(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) {
    // Output of every rank goes to mpirun line by line, as printf-debugging programs expect.
    setvbuf(stdout, nil, _IOLBF, 0)
    var arguments: [String] = []
    if let argv {
        for index in 0..<Int(max(argc, 0)) {
            if let argument = argv[index] { arguments.append(String(cString: argument)) }
        }
    }
    if arguments.isEmpty { arguments = CommandLine.arguments }
    // The program's argv is left as it is: SwiftDSM reads its --jia- flags from the copy.
    jia_init(arguments: arguments)
    cachedPid = Int32(jiapid)
    cachedHosts = Int32(jiahosts)
    Messages.open()
    LoadBalance.reset(hosts: Int(cachedHosts))
    // JIAJIA's table replaces the core's; the statistics-json file is still written.
    runtime.printsStatisticsTable = false
    applyConfigurationSettings(runtime.settings)
    JIAStatistics.start()
    // JIAJIA's programs may return from main without jia_exit (its library did not mind):
    // the DSM then ends when the process does, as jia_exit would have ended it.
    atexit(endAtProcessExit)
    if cachedPid == 0 && FileManager.default.fileExists(atPath: ".jiahosts") {
        print("SwiftDSM: .jiahosts is ignored; the \(cachedHosts) ranks come from mpirun")
    }
}

@_cdecl("jia_exit")
public func c_jia_exit() {
    guard DSM.current != nil else { return }
    fflush(nil)
    Messages.close()
    JIAStatistics.printTable()
    jia_exit()
    fflush(nil)
}

/// Runs jia_exit at process exit if the program did not, unless the job is stopping on an error.
private let endAtProcessExit: @convention(c) () -> Void = {
    if DSMRuntime.isRunning { c_jia_exit() }
}

@_cdecl("jia_getpid")
public func c_jia_getpid() -> Int32 { cachedPid }

@_cdecl("jia_gethosts")
public func c_jia_gethosts() -> Int32 { cachedHosts }

@_cdecl("jia_lock_index_location")
public func c_jia_lock_index_location() -> UnsafeMutablePointer<Int32> { lockIndex }

/// The application's SIGSEGV handler for faults outside the shared range (a program's own
/// sigaction(SIGSEGV, ...) after jia_init would replace SwiftDSM's). 0 or errno.
@_cdecl("jia_set_segv_handler")
public func c_jia_set_segv_handler(_ action: UnsafePointer<sigaction>?, _ old: UnsafeMutablePointer<sigaction>?) -> Int32 {
    DSMRuntime.setApplicationFaultHandler(action, replaced: old)
}

/// Makes [address, address+length) ready for reading (writing != 0: for writing) without
/// faults, for memory handed to MPI or to a system call (which would fail with EFAULT).
@_cdecl("jia_prepare")
public func c_jia_prepare(_ address: UnsafeRawPointer?, _ length: Int, _ writing: Int32) {
    guard let address, let dsm = DSM.current else { return }
    dsm.prepare(address, length: length, for: writing != 0 ? .writing : .reading)
}

/// Copies `length` bytes of shared memory at `source` into private `destination` without
/// faults (`DSM.read`).
@_cdecl("jia_read")
public func c_jia_read(_ destination: UnsafeMutableRawPointer?, _ source: UnsafeRawPointer?, _ length: Int) {
    guard length > 0 else { return }
    guard let destination, let source else {
        Fatal.stop("jia_read(\(String(describing: destination)), \(String(describing: source)), \(length)): "
            + "a NULL pointer; pass private memory to read into and shared memory from jia_alloc*")
    }
    jia_read(destination, source, length)
}
