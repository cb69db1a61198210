/// The manager of the condition variables homed on one rank (cv c on rank c mod ranks).
/// JIAJIA 2.1 semantics: level-triggered (stays set until reset), no memory coherence.
struct ConditionManager {
    private var isSet: [Int: Bool] = [:]
    private var waiters: [Int: [Int]] = [:]

    /// Sets `cv`; returns the ranks to release.
    mutating func set(_ cv: Int) -> [Int] {
        isSet[cv] = true
        return waiters.removeValue(forKey: cv) ?? []
    }

    mutating func reset(_ cv: Int) { isSet[cv] = false }

    /// The ids of the set condition variables, ascending.
    var setConditions: [Int] { isSet.filter(\.value).map(\.key).sorted() }

    /// `rank` waits on `cv`; returns true if it may continue at once.
    mutating func wait(_ cv: Int, by rank: Int) -> Bool {
        if isSet[cv] == true { return true }
        waiters[cv, default: []].append(rank)
        return false
    }
}
