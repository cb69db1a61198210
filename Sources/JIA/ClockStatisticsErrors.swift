// jia_clock, jia_startstat/jia_stopstat, jia_error and JIAJIA's two-argument assert.
import CMPI
import Collectives
@preconcurrency import Glibc
import Foundation
import SwiftDSM

@_cdecl("jia_clock")
public func c_jia_clock() -> Float { jia_clock() }

@_cdecl("jia_startstat")
public func c_jia_startstat() -> UInt32 {
    JIAStatistics.start()
    return JIAStatistics.microseconds()
}

@_cdecl("jia_stopstat")
public func c_jia_stopstat() -> UInt32 {
    JIAStatistics.stop()
    return JIAStatistics.microseconds()
}

@_cdecl("jia_error_message")
public func c_jia_error_message(_ message: UnsafePointer<CChar>?) {
    fflush(nil)
    jia_error(message.map { String(cString: $0) } ?? "")
}

/// JIAJIA 2.1's `assert(int, char *)`: a false condition stops every rank with the message.
@_cdecl("assert")
public func c_jia_assert(_ condition: Int32, _ message: UnsafePointer<CChar>?) {
    guard condition == 0 else { return }
    fflush(nil)
    Fatal.stop("assert failed: " + (message.map { String(cString: $0) } ?? "(no message)"))
}
