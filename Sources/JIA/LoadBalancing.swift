// jia_divtask and jia_loadcheck.
import CMPI
import Collectives
@preconcurrency import Glibc
import Foundation
import SwiftDSM

/// JIAJIA's LOADBAL: each rank's share of a jia_divtask range is proportional to its
/// power, which jia_loadcheck measures as the inverse of its computation time (elapsed
/// time minus the time in locks, barriers, waits and receives) since the last check.
enum LoadBalance {
    nonisolated(unsafe) static var enabled = false
    /// Set by jia_balance(JIA_BALANCE_COMPUTING or _HYBRID): jia_divtask splits by powers.
    nonisolated(unsafe) static var balanced = false
    nonisolated(unsafe) static var powers: [Double] = [1]
    nonisolated(unsafe) static var synchronizationNanoseconds: UInt64 = 0
    nonisolated(unsafe) static var lastCheck: UInt64 = 0
    static func reset(hosts: Int) {
        powers = Array(repeating: 1 / Double(hosts), count: hosts)
        balanced = false
        synchronizationNanoseconds = 0
        lastCheck = monotonicNanoseconds()
    }

    /// Every rank computes the same powers from the same gathered times.
    static func check() {
        let now = monotonicNanoseconds()
        let elapsed = now &- lastCheck
        let computing = elapsed > synchronizationNanoseconds ? elapsed - synchronizationNanoseconds : 0
        let times = Collectives.allgather([max(Double(computing) / 1e9, 1e-9)])
        lastCheck = monotonicNanoseconds()
        synchronizationNanoseconds = 0
        if let updated = ComputeShares.rebalanced(powers, times: times) { powers = updated }
    }

    /// The inclusive share of [begin, end] of rank `pid`.
    static func share(begin: Int, end: Int, pid: Int, hosts: Int) -> (Int, Int) {
        let count = end - begin + 1
        guard count > 0, hosts > 1 else { return (begin, end) }
        if !(enabled || balanced) || powers.count != hosts {
            let chunk = count / hosts
            let first = begin + pid * chunk
            return (first, pid == hosts - 1 ? end : first + chunk - 1)
        }
        let range = ComputeShares.share(of: count, powers: powers, rank: pid)
        return (begin + range.lowerBound, begin + range.upperBound - 1)
    }
}

@_cdecl("jia_divtask")
public func c_jia_divtask(_ begin: UnsafeMutablePointer<Int32>?, _ end: UnsafeMutablePointer<Int32>?) {
    guard let begin, let end else { Fatal.stop("jia_divtask: begin or end is NULL") }
    let (first, last) = LoadBalance.share(begin: Int(begin.pointee), end: Int(end.pointee), pid: Int(cachedPid),
                                          hosts: Int(cachedHosts))
    begin.pointee = Int32(first)
    end.pointee = Int32(last)
}

@_cdecl("jia_balance")
public func c_jia_balance(_ mode: Int32) {
    guard let balance = BalanceMode(rawValue: mode) else {
        Fatal.stop("jia_balance(\(mode)): unknown mode; use JIA_BALANCE_COMPUTING (1), JIA_BALANCE_MEMORY (2) "
            + "or JIA_BALANCE_HYBRID (3)")
    }
    let runtime = runtime
    runtime.balance(balance)
    if balance != .memory, let powers = runtime.computePowers {
        LoadBalance.powers = powers
        LoadBalance.balanced = true
    }
}

@_cdecl("jia_loadcheck")
public func c_jia_loadcheck() {
    guard LoadBalance.enabled else { return }
    _ = runtime
    LoadBalance.check()
}
