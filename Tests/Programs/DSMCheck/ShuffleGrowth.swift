import MapReduce
import SwiftDSM

/// A MapReduce shuffle whose buckets must grow again and again: every round sends each
/// rank a quarter more records than the last. The buckets it outgrows add up to more than
/// the DSM's capacity (the test passes --jia-capacity=8M, and the scenario checks it
/// really was exceeded), so the run only succeeds if each growth frees the old buckets.
/// Every record read must be the one its sender wrote, in every round.
func shuffleGrowthScenario(_ dsm: DSM) {
    var shuffle = Shuffle<UInt64>(dsm)
    // The buckets hold ranks x ranks regions: the same sizes at every rank count.
    var perDestination = max(1024 / (dsm.rankCount * dsm.rankCount), 1)
    var allocated = 0
    var allocations = 0
    for round in 0..<30 {
        let counts = [Int](repeating: perDestination, count: dsm.rankCount)
        let expected = perDestination
        var wrong = 0
        shuffle.exchange(counts: counts, write: { destination, region in
            for index in 0..<region.count { region[index] = record(round, dsm.rank, destination, index) }
        }, read: { source, region in
            if region.count != expected { wrong += 1 }
            for index in 0..<region.count where region[index] != record(round, source, dsm.rank, index) { wrong += 1 }
        })
        Check.equal(wrong, 0, "round \(round): every record read as its sender wrote it")
        if shuffle.bucketAllocations != allocations {
            allocations = shuffle.bucketAllocations
            allocated += shuffle.bucketBytes * dsm.rankCount
        }
        perDestination = perDestination * 5 / 4 + 1
    }
    Check.expect(allocations > 4, "the buckets grew several times (\(allocations) allocations)")
    Check.expect(allocated > dsm.runtime.settings.capacity,
                 "the buckets allocated in all (\(allocated) bytes) exceed the capacity (\(dsm.runtime.settings.capacity))")
}

private func record(_ round: Int, _ source: Int, _ destination: Int, _ index: Int) -> UInt64 {
    UInt64(round) << 56 | UInt64(source) << 48 | UInt64(destination) << 40 | UInt64(index)
}
