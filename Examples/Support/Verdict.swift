import Collectives
import Foundation
import SwiftDSM

/// The end of an example: the result of the check (made on one rank or on all), agreed on
/// by every rank, printed by rank 0 as a `PASS` or `FAIL` line with the job's time; a
/// failure makes every rank exit with status 1.
public func finishExample(_ dsm: DSM, name: String, passed: Bool, seconds: Double, detail: String = "") -> Never {
    let failures = Collectives.allreduce(passed ? 0 : 1, .sum)
    if dsm.rank == 0 {
        let verdict = failures == 0 ? "PASS" : "FAIL"
        let extra = detail.isEmpty ? "" : ", \(detail)"
        print("\(verdict) \(name): np \(dsm.rankCount), time \(String(format: "%.3f", seconds)) s\(extra)")
    }
    dsm.finish()
    exit(failures == 0 ? 0 : 1)
}

/// Seconds since `start` (from `monotonicNanoseconds`), the slowest rank's.
public func slowestSeconds(since start: UInt64) -> Double {
    Collectives.allreduce(Double(monotonicNanoseconds() - start) / 1e9, .max)
}

/// An order-independent digest of a set of (key, value) pairs: the wrapping sum of a mix
/// of each pair, so it does not depend on which reducer held which key.
public struct Digest {
    public private(set) var value: UInt64 = 0
    public init() {}

    public mutating func add(_ key: UInt64, _ item: UInt64) {
        value &+= SplitMix64.mix(key ^ SplitMix64.mix(item &+ 0x632B_E59B_D9B4_E019))
    }

    public var hex: String { Digest.hex(value) }
    public static func hex(_ value: UInt64) -> String { "0x" + String(value, radix: 16) }
}
