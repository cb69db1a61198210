import Collectives
import Foundation
import SwiftDSM

/// Failure bookkeeping shared by the scenarios: every mismatch is printed with its rank,
/// and the verdict is agreed over all ranks.
enum Check {
    nonisolated(unsafe) static var failures = 0

    static func expect(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String) {
        if !condition() {
            failures += 1
            if failures <= 20 { print("rank \(jiapid): FAILED: \(message())") }
        }
    }

    static func equal<T: Equatable>(_ actual: T, _ expected: T, _ what: @autoclosure () -> String) {
        expect(actual == expected, "\(what()): expected \(expected), found \(actual)")
    }

    /// Agrees the verdict over all ranks; rank 0 prints it. Returns the total of mismatches.
    static func verdict(_ name: String, _ dsm: DSM) -> Int {
        let total = Collectives.allreduce(failures, .sum)
        if dsm.rank == 0 {
            print(total == 0 ? "dsm-check \(name): PASS (\(dsm.rankCount) ranks, transport \(dsm.runtime.transportName))"
                  : "dsm-check \(name): FAIL (\(total) mismatches)")
        }
        return total
    }
}

/// A small deterministic generator, identical on every rank for the same seed.
struct SplitMix {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func below(_ bound: Int) -> Int { Int(next() % UInt64(bound)) }
}
