// Locks, barriers, jia_wait and condition variables; time spent waiting is not computation for jia_loadcheck.
import CMPI
import Collectives
@preconcurrency import Glibc
import Foundation
import SwiftDSM

@inline(__always)
func timedSync(_ body: () -> Void) {
    let start = monotonicNanoseconds()
    body()
    LoadBalance.synchronizationNanoseconds += monotonicNanoseconds() &- start
}

@_cdecl("jia_lock")
public func c_jia_lock(_ lockid: Int32) { timedSync { jia_lock(Int(lockid)) } }

@_cdecl("jia_unlock")
public func c_jia_unlock(_ lockid: Int32) { timedSync { jia_unlock(Int(lockid)) } }

@_cdecl("jia_barrier")
public func c_jia_barrier() { timedSync { jia_barrier() } }

@_cdecl("jia_wait")
public func c_jia_wait() { timedSync { jia_wait() } }

@_cdecl("jia_setcv")
public func c_jia_setcv(_ cv: Int32) { jia_setcv(Int(cv)) }

@_cdecl("jia_resetcv")
public func c_jia_resetcv(_ cv: Int32) { jia_resetcv(Int(cv)) }

@_cdecl("jia_waitcv")
public func c_jia_waitcv(_ cv: Int32) { timedSync { jia_waitcv(Int(cv)) } }
