/// Computing balance, JIAJIA's LOADBAL rule: each rank's share of divisible work is
/// proportional to its power, the inverse of the time it spent computing (elapsed time less
/// the time waiting in locks, barriers and condition variables) since the last check.
/// Every rank computes the same powers from the same gathered times.
public enum ComputeShares {
    /// JIAJIA's threshold: rebalance when the coefficient of variation of the times is at least this.
    public static let delta = 0.05

    /// New powers (summing to 1) from `powers` and each rank's computing seconds, or nil
    /// when the times are within `delta` of each other and the powers should stay.
    public static func rebalanced(_ powers: [Double], times: [Double]) -> [Double]? {
        precondition(powers.count == times.count && !times.isEmpty, "SwiftDSM: one power and one time per rank")
        let mean = times.reduce(0, +) / Double(times.count)
        let variance = times.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(times.count)
        guard variance >= delta * delta * mean * mean else { return nil }
        let updated = zip(powers, times).map { $0 / max($1, 1e-9) }
        let total = updated.reduce(0, +)
        return updated.map { $0 / total }
    }

    /// Rank `rank`'s part of `0..<count`, proportional to `powers` (the last rank takes what
    /// rounding leaves).
    public static func share(of count: Int, powers: [Double], rank: Int) -> Range<Int> {
        guard count > 0, powers.count > 1 else { return 0..<max(count, 0) }
        let before = powers[..<rank].reduce(0, +)
        let first = min(count, Int((Double(count) * before).rounded(.down)))
        if rank == powers.count - 1 { return first..<count }
        let end = min(count, Int((Double(count) * (before + powers[rank])).rounded(.down)))
        return first..<max(first, end)
    }
}

/// What `DSM.balance` (C: `jia_balance`) balances.
public enum BalanceMode: Int32, Sendable {
    /// Work: `DSM.share(of:)` (C: `jia_divtask`) splits by each rank's measured speed.
    case computing = 1
    /// Memory: pages move their home to the rank that fetches them most.
    case memory = 2
    /// Both.
    case hybrid = 3
}
