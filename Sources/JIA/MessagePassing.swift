// jia_send, jia_recv, jia_bcast, jia_reduce over the Collectives module.
import CMPI
import Collectives
@preconcurrency import Glibc
import Foundation
import SwiftDSM

@_cdecl("jia_send")
public func c_jia_send(_ buf: UnsafeMutablePointer<CChar>?, _ len: Int32, _ topid: Int32, _ tag: Int32) {
    Messages.send(buf.map(UnsafeRawPointer.init), length: Int(len), to: Int(topid), tag: Int(tag))
}

@_cdecl("jia_recv")
public func c_jia_recv(_ buf: UnsafeMutablePointer<CChar>?, _ len: Int32, _ frompid: Int32, _ tag: Int32) -> Int32 {
    var bytes = 0
    timedSync {
        bytes = Messages.receive(buf.map(UnsafeMutableRawPointer.init), capacity: Int(len), from: Int(frompid),
                                 tag: Int(tag)).bytes
    }
    return Int32(bytes)
}

@_cdecl("jia_bcast")
public func c_jia_bcast(_ buf: UnsafeMutablePointer<CChar>?, _ len: Int32, _ root: Int32) {
    guard let buf else {
        if len > 0 { Fatal.stop("jia_bcast: the buffer is NULL") }
        return
    }
    timedSync { Messages.broadcast(UnsafeMutableRawPointer(buf), length: Int(len), root: Int(root)) }
}

func reduce<T: CollectiveElement>(_ type: T.Type, _ send: UnsafeMutableRawPointer, _ receive: UnsafeMutableRawPointer,
                                          count: Int, _ operation: ReduceOperation, root: Int) {
    let bytes = count * MemoryLayout<T>.stride
    // JIAJIA allows snd == rcv; MPI does not: reduce from a private copy then.
    if send == receive {
        let copy = UnsafeMutablePointer<T>.allocate(capacity: count)
        defer { copy.deallocate() }
        memcpy(copy, send, bytes)
        Collectives.reduce(UnsafePointer(copy), into: receive.assumingMemoryBound(to: T.self), count: count,
                           operation, root: root)
    } else {
        Collectives.reduce(UnsafePointer(send.assumingMemoryBound(to: T.self)),
                           into: receive.assumingMemoryBound(to: T.self), count: count, operation, root: root)
    }
}

@_cdecl("jia_reduce")
public func c_jia_reduce(_ snd: UnsafeMutablePointer<CChar>?, _ rcv: UnsafeMutablePointer<CChar>?, _ cnt: Int32,
                         _ op: Int32, _ root: Int32) {
    let hosts = Int(cachedHosts)
    guard root >= 0 && Int(root) < hosts else { Fatal.stop("jia_reduce: root \(root) is not a rank (0..\(hosts - 1))") }
    guard cnt > 0 else { return }
    guard let snd, let rcv else { Fatal.stop("jia_reduce: a buffer is NULL") }
    let operations: [ReduceOperation] = [.sum, .max, .min]
    let kind = Int(op) / 10, index = Int(op) % 10
    guard op >= 0, index < 3, kind < 3 else {
        Fatal.stop("jia_reduce: unknown operation \(op) (SUM/MAX/MIN_INT 0-2, _FLOAT 10-12, _DOUBLE 20-22)")
    }
    let send = UnsafeMutableRawPointer(snd), receive = UnsafeMutableRawPointer(rcv)
    timedSync {
        switch kind {
        case 0: reduce(Int32.self, send, receive, count: Int(cnt), operations[index], root: Int(root))
        case 1: reduce(Float.self, send, receive, count: Int(cnt), operations[index], root: Int(root))
        default: reduce(Double.self, send, receive, count: Int(cnt), operations[index], root: Int(root))
        }
    }
}
