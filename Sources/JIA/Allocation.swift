// The allocation family: JIAJIA returns addresses as unsigned long.
import CMPI
import Collectives
@preconcurrency import Glibc
import Foundation
import SwiftDSM

func address(_ pointer: UnsafeMutableRawPointer) -> UInt { UInt(bitPattern: pointer) }

@_cdecl("jia_alloc3")
public func c_jia_alloc3(_ size: Int32, _ block: Int32, _ starthost: Int32) -> UInt {
    address(jia_alloc3(Int(size), Int(block), Int(starthost)))
}

@_cdecl("jia_alloc2")
public func c_jia_alloc2(_ size: Int32, _ block: Int32) -> UInt { address(jia_alloc2(Int(size), Int(block))) }

@_cdecl("jia_alloc2p")
public func c_jia_alloc2p(_ size: Int32, _ proc: Int32) -> UInt { address(jia_alloc2p(Int(size), Int(proc))) }

@_cdecl("jia_alloc1")
public func c_jia_alloc1(_ size: Int32) -> UInt { address(jia_alloc1(Int(size))) }

@_cdecl("jia_alloc")
public func c_jia_alloc(_ size: Int32) -> UInt { address(jia_alloc(Int(size))) }

@_cdecl("jia_free")
public func c_jia_free(_ pointer: UnsafeMutableRawPointer?) {
    guard let pointer else { Fatal.stop("jia_free(NULL): pass the pointer a jia_alloc* call returned") }
    timedSync { jia_free(pointer) }
}
