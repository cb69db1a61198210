// samplesort: sorts N random UInt64 keys across the ranks. Each rank draws a random
// sample of its keys; the gathered sample, sorted, gives P-1 splitters; each rank sends
// every key to the owner of its range through buckets homed on the owners (`Shuffle`),
// each owner sorts what it received and writes it to shared output homed on itself.
// Checks, exactly: each rank's output is sorted, the ranks' ranges are in order, and the
// output is a permutation of the input (count, sum, sum and xor of a mix of the keys, on
// every rank); and rank 0 sorts the regenerated input alone and compares every key.
//
//   mpirun -np 4 .build/release/example-samplesort [--keys 4194304] [--samples 64]
//                                                  [--seed 1] [--reference 1]
import Collectives
import ExampleSupport
import MapReduce
import SwiftDSM

/// [count, sum, sum of mix, xor of another mix]: equal for two multisets of keys if they are
/// permutations of each other (and, with overwhelming probability, only then).
func checksums<Keys: Sequence>(_ keys: Keys) -> [UInt64] where Keys.Element == UInt64 {
    var result: [UInt64] = [0, 0, 0, 0]
    for key in keys {
        result[0] += 1
        result[1] &+= key
        result[2] &+= SplitMix64.mix(key)
        result[3] ^= SplitMix64.mix(key ^ 0x243F_6A88_85A3_08D3)
    }
    return result
}

/// Every rank's checksums folded together.
func combined(_ gathered: [UInt64]) -> [UInt64] {
    var result: [UInt64] = [0, 0, 0, 0]
    for rank in 0..<(gathered.count / 4) {
        result[0] &+= gathered[rank * 4]
        result[1] &+= gathered[rank * 4 + 1]
        result[2] &+= gathered[rank * 4 + 2]
        result[3] ^= gathered[rank * 4 + 3]
    }
    return result
}

func key(_ index: Int, seed: UInt64) -> UInt64 {
    var generator = SplitMix64(seed: seed, stream: index)
    return generator.next()
}

func main() -> Never {
    let dsm = DSM.start()
    let options = Options(["keys": "keys to sort", "samples": "sample keys drawn per rank",
                           "seed": "generator seed", "reference": "1: rank 0 also sorts alone and compares"])
    let total = options.int("keys", 1 << 22, in: 0...1 << 34)
    let samplesPerRank = options.int("samples", 64, in: 1...1 << 20)
    let seed = UInt64(options.int("seed", 1))
    let ranks = dsm.rankCount
    let input = dsm.share(of: total).map { key($0, seed: seed) }
    let inputSums = combined(Collectives.allgather(checksums(input)))
    dsm.barrier()

    let start = monotonicNanoseconds()
    // Splitters from a random sample (the same gathered sample on every rank).
    var random = SplitMix64(seed: seed ^ 0x5A3D_1E5A, stream: dsm.rank)
    let sample = (0..<samplesPerRank).map { _ in input.isEmpty ? random.next() : input[Int(random.next() % UInt64(input.count))] }
    let pool = Collectives.allgather(sample).sorted()
    let splitters = (1..<max(ranks, 1)).map { pool[$0 * pool.count / ranks] }
    // A key goes to the first rank whose splitter exceeds it (equal keys share a rank).
    var outgoing = [[UInt64]](repeating: [], count: ranks)
    for key in input {
        var low = 0
        var high = splitters.count
        while low < high {
            let middle = (low + high) / 2
            if splitters[middle] <= key { low = middle + 1 } else { high = middle }
        }
        outgoing[low].append(key)
    }
    var shuffle = Shuffle<UInt64>(dsm)
    var received: [UInt64] = []
    shuffle.exchange(counts: outgoing.map(\.count), write: { owner, region in
        _ = region.initialize(from: outgoing[owner])
    }, read: { _, keys in received.append(contentsOf: keys) })
    outgoing = []
    received.sort()
    let sizes = Collectives.allgather([received.count])
    var output = RankBlocks(dsm)
    output.reserve(bytes: (sizes.max() ?? 0) * MemoryLayout<UInt64>.stride)
    func sorted(_ rank: Int) -> UnsafeMutableBufferPointer<UInt64> {
        UnsafeMutableBufferPointer(start: output.block(rank).bindMemory(to: UInt64.self, capacity: max(sizes[rank], 1)),
                                   count: sizes[rank])
    }
    _ = sorted(dsm.rank).initialize(from: received)
    received = []
    dsm.barrier()
    let seconds = slowestSeconds(since: start)

    // Checks on every rank: its own part (home reads), then the neighbours' ends.
    let mine = sorted(dsm.rank)
    let inOrder = zip(mine, mine.dropFirst()).allSatisfy { $0 <= $1 }
    let ends = Collectives.allgather([UInt64(mine.count), mine.first ?? 0, mine.last ?? 0, inOrder ? 1 : 0])
    var rangesInOrder = true
    var previousLast: UInt64? = nil
    for rank in 0..<ranks where ends[rank * 4] > 0 {
        if ends[rank * 4 + 3] == 0 { rangesInOrder = false }
        if let last = previousLast, last > ends[rank * 4 + 1] { rangesInOrder = false }
        previousLast = ends[rank * 4 + 2]
    }
    let outputSums = combined(Collectives.allgather(checksums(mine)))
    var passed = rangesInOrder && outputSums == inputSums && inputSums[0] == UInt64(total)

    var detail = ""
    if dsm.rank == 0 {
        let largest = sizes.max() ?? 0
        let balance = total == 0 ? 1 : Double(largest) / (Double(total) / Double(ranks))
        var referenceNote = "no reference"
        if options.int("reference", 1, in: 0...1) == 1 {
            let referenceStart = monotonicNanoseconds()
            let reference = (0..<total).map { key($0, seed: seed) }.sorted()
            var position = 0
            var equal = true
            for rank in 0..<ranks {
                for key in sorted(rank) {
                    if position >= total || reference[position] != key { equal = false }
                    position += 1
                }
            }
            equal = equal && position == total
            passed = passed && equal
            referenceNote = "reference \(String(format: "%.3f", Double(monotonicNanoseconds() - referenceStart) / 1e9)) s "
                + (equal ? "equal" : "DIFFERENT")
        }
        print("samplesort: \(total) keys, \(ranks) ranks, \(pool.count) samples, largest bucket \(largest) "
            + "(\(String(format: "%.2f", balance))x the mean), sorted \(rangesInOrder), "
            + "checksums \(outputSums == inputSums ? "equal" : "DIFFERENT"), \(referenceNote)")
        var digest = Digest()
        digest.add(inputSums[1], inputSums[2] ^ inputSums[3])
        print("samplesort digest = \(digest.hex)")
        detail = referenceNote
    }
    finishExample(dsm, name: "example-samplesort", passed: passed, seconds: seconds, detail: detail)
}

main()
