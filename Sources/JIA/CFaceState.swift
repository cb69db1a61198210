// The C face of SwiftDSM: JIAJIA 2.1's entry points (include/jia.h) as thin exports of the
// Swift implementation. One implementation, two faces: the files of this module forward
// to the jia_* functions of SwiftDSM or to the Collectives module, convert C types, and
// add what exists only in the C API (message helpers, jia_config, load balancing, JIAJIA's
// statistics table). This file: the C face's own state.
import CMPI
import Collectives
@preconcurrency import Glibc
import Foundation
import SwiftDSM

/// Identity as JIAJIA's globals held it: readable before jia_init (0 and 1) and after jia_exit.
nonisolated(unsafe) var cachedPid: Int32 = 0
nonisolated(unsafe) var cachedHosts: Int32 = 1
nonisolated(unsafe) let lockIndex: UnsafeMutablePointer<Int32> = {
    let pointer = UnsafeMutablePointer<Int32>.allocate(capacity: 1)
    pointer.initialize(to: 0)
    return pointer
}()

var runtime: DSMRuntime {
    guard let runtime = DSM.current?.runtime else {
        Fatal.stop("a jia_* function was called before jia_init (or after jia_exit); call jia_init first")
    }
    return runtime
}
