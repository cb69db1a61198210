// jia_clock, jia_startstat/jia_stopstat and jia_error.
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
