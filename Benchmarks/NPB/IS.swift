import Foundation
import SwiftDSM
import Collectives

struct ISParameters {
    let totalKeysLog2: Int
    let maxKeyLog2: Int
    let bucketsLog2: Int
    let testIndex: [Int]
    let testRank: [Int]

    init(_ problemClass: ProblemClass) {
        switch problemClass {
        case .S:
            (totalKeysLog2, maxKeyLog2, bucketsLog2) = (16, 11, 9)
            testIndex = [48427, 17148, 23627, 62548, 4431]
            testRank = [0, 18, 346, 64917, 65463]
        case .W:
            (totalKeysLog2, maxKeyLog2, bucketsLog2) = (20, 16, 10)
            testIndex = [357773, 934767, 875723, 898999, 404505]
            testRank = [1249, 11698, 1039987, 1043896, 1048018]
        case .A:
            (totalKeysLog2, maxKeyLog2, bucketsLog2) = (23, 19, 10)
            testIndex = [2112377, 662041, 5336171, 3642833, 4250760]
            testRank = [104, 17523, 123928, 8288932, 8388264]
        case .B:
            (totalKeysLog2, maxKeyLog2, bucketsLog2) = (25, 21, 10)
            testIndex = [41869, 812306, 5102857, 18232239, 26860214]
            testRank = [33422937, 10244, 59149, 33135281, 99]
        }
    }

    /// The expected rank of test key `i` in iteration `iteration` (NPB's per-class shifts).
    func expectedRank(_ i: Int, iteration: Int, _ problemClass: ProblemClass) -> Int {
        let base = testRank[i]
        switch problemClass {
        case .S: return i <= 2 ? base + iteration : base - iteration
        case .W: return i < 2 ? base + iteration - 2 : base - iteration
        case .A: return i <= 2 ? base + iteration - 1 : base - (iteration - 1)
        case .B: return (i == 1 || i == 2 || i == 4) ? base + iteration : base - iteration
        }
    }
}

/// IS: bucket sort of integer keys. Each rank generates its N/P keys, counts them into
/// buckets, and the buckets are split into contiguous key ranges, one per rank (NPB-MPI's
/// scheme); only the bucket counts (with the hidden test keys, as NPB does) go through an
/// allreduce. The key redistribution goes through shared memory: rank s scatters its keys
/// into bucket order as offsets within their bucket, then packs the run of each other rank
/// d, as 16-bit offsets after a header of per-bucket counts, into block d of its own slab
/// (page-aligned, homed on s); after one barrier rank d pulls block d of every other slab
/// and counts the keys as it reads them. NPB-MPI instead sends 32-bit keys with an
/// all-to-all and counts them from the receive buffer: twice the bytes, and one more copy.
final class ISBenchmark {
    let context: RunContext
    let parameters: ISParameters
    let totalKeys: Int
    let maxKey: Int
    let buckets: Int
    let shift: Int
    let numKeys: Int
    let ranks: Int
    let rank: Int
    let testCount = 5
    let iterations = 10

    let keyArray: UnsafeMutablePointer<Int32>
    /// Every key as its offset within its bucket, in bucket order (NPB's key_buff1 layout),
    /// so each rank's keys are one run. 32 bits wide although the blocks carry 16: on this
    /// machine 4-byte scattered stores measured 1.6x faster than 2-byte ones (BENCHMARKS),
    /// and packing a run into its block afterwards is one sequential pass.
    let staged: UnsafeMutablePointer<UInt32>
    let keyBuff2: UnsafeMutablePointer<Int32>
    let keyBuff2Capacity: Int
    let bucketSize: UnsafeMutablePointer<Int32>
    let bucketTotals: UnsafeMutablePointer<Int32>
    /// Where the next key of each bucket goes during the scatter.
    let bucketOffsets: UnsafeMutablePointer<UnsafeMutablePointer<UInt32>>
    /// How many received keys have each value of this rank's range, then (summed) how many
    /// are at most each value.
    let keyCounts: UnsafeMutablePointer<Int32>
    var mailbox: Mailbox
    /// Private room for one block received (copied out of the sender's slab).
    let inbox: UnsafeMutableRawPointer

    var passed = 0
    /// Seconds spent counting the buckets (with their allreduce), scattering to the blocks,
    /// in the publishing barrier, and pulling and counting the keys (for --progress).
    var phaseTimes = (0.0, 0.0, 0.0, 0.0)
    var totalLocalKeys = 0
    var minKeyValue = 0

    init(_ context: RunContext) {
        self.context = context
        parameters = ISParameters(context.problemClass)
        totalKeys = 1 << parameters.totalKeysLog2
        maxKey = 1 << parameters.maxKeyLog2
        buckets = 1 << parameters.bucketsLog2
        shift = parameters.maxKeyLog2 - parameters.bucketsLog2
        ranks = context.ranks
        rank = context.rank
        numKeys = totalKeys / ranks
        keyArray = .allocate(capacity: numKeys)
        staged = .allocate(capacity: numKeys)
        keyBuff2Capacity = totalKeys
        keyBuff2 = .allocate(capacity: keyBuff2Capacity)
        bucketSize = .allocate(capacity: buckets + testCount)
        bucketTotals = .allocate(capacity: buckets + testCount)
        bucketOffsets = .allocate(capacity: buckets)
        keyCounts = .allocate(capacity: maxKey)
        // A block holds a header and at most all of the sender's keys, 2 bytes each.
        mailbox = Mailbox(context.dsm, blockBytes: ISBenchmark.headerBytes(buckets) + numKeys * 2)
        inbox = .allocate(byteCount: mailbox.blockBytes, alignment: 4096)
    }

    deinit {
        keyArray.deallocate(); staged.deallocate(); keyBuff2.deallocate()
        bucketSize.deallocate(); bucketTotals.deallocate(); bucketOffsets.deallocate(); keyCounts.deallocate()
        inbox.deallocate()
    }

    /// Bytes before the keys in a mailbox block: the count and `buckets` per-bucket counts, 64-byte aligned.
    static func headerBytes(_ buckets: Int) -> Int { (8 + 4 * buckets + 63) / 64 * 64 }

    /// NPB find_my_seed: the stream position 4 * rank * N/P.
    func findMySeed() -> Double {
        let nn = 4 * totalKeys
        var nq = nn / ranks
        var mq = 0
        while nq > 1 { mq += 1; nq /= 2 }
        var t1 = npbMultiplier
        for _ in 0..<mq { _ = randlc(&t1, t1) }
        return npbSkipAhead(314_159_265.0, strides: rank, strideMultiplier: t1)
    }

    func createSequence(_ startSeed: Double) {
        var seed = startSeed
        let k = Double(maxKey / 4)
        let a = npbMultiplier
        let keys = keyArray
        for i in 0..<numKeys {
            var x = randlc(&seed, a)
            x += randlc(&seed, a)
            x += randlc(&seed, a)
            x += randlc(&seed, a)
            keys[i] = Int32(k * x)
        }
    }

    func rankKeys(_ iteration: Int) {
        let keys = keyArray
        let buff2 = keyBuff2
        let sizes = bucketSize
        let totals = bucketTotals
        let shift = self.shift
        let numKeys = self.numKeys
        let buckets = self.buckets

        if rank == 0 {
            keys[iteration] = Int32(iteration)
            keys[iteration + iterations] = Int32(maxKey - iteration)
        }
        let countStart = wallSeconds()
        sizes.initialize(repeating: 0, count: buckets + testCount)
        for i in 0..<testCount where parameters.testIndex[i] / numKeys == rank {
            sizes[buckets + i] = keys[parameters.testIndex[i] % numKeys]
        }
        for i in 0..<numKeys { sizes[Int(keys[i]) &>> shift] &+= 1 }
        Collectives.allreduce(UnsafePointer(sizes), into: totals, count: buckets + testCount, .sum)
        phaseTimes.0 += wallSeconds() - countStart

        // Buckets to ranks: accumulate totals until they pass (j+1) * N/P.
        var sendCount = [Int](repeating: 0, count: ranks)
        var firstBucket = [Int](repeating: 0, count: ranks)
        var lastBucket = [Int](repeating: 0, count: ranks)
        var accumulated = 0
        var localAccumulated = 0
        var j = 0
        for i in 0..<buckets {
            accumulated += Int(totals[i])
            localAccumulated += Int(sizes[i])
            if j < ranks && accumulated >= (j + 1) * numKeys {
                sendCount[j] = localAccumulated
                if j != 0 { firstBucket[j] = lastBucket[j - 1] + 1 }
                lastBucket[j] = i
                j += 1
                localAccumulated = 0
            }
        }
        while j < ranks {
            sendCount[j] = 0
            firstBucket[j] = 1
            j += 1
        }

        // Redistribution through shared memory. A block is a header (key count, then the
        // sender's count for each bucket the receiver owns) and the keys as 16-bit offsets
        // within their bucket (a bucket spans 2^shift <= 2^11 key values): half the pages of
        // 32-bit keys. The scatter puts every offset in bucket order into `staged`; each other
        // rank's run is then packed into its block.
        let packStart = wallSeconds()
        let offsets = bucketOffsets
        var next = staged
        for bucket in 0..<buckets {
            offsets[bucket] = next
            next += Int(sizes[bucket])
        }
        let mask = UInt32(truncatingIfNeeded: (1 << shift) - 1)
        for i in 0..<numKeys {
            let key = keys[i]
            let bucket = Int(key) &>> shift
            offsets[bucket].pointee = UInt32(truncatingIfNeeded: key) & mask
            offsets[bucket] += 1
        }
        // Where each rank's run starts in `staged` (the buckets go to the ranks in order).
        var runStart = [Int](repeating: 0, count: ranks + 1)
        for destination in 0..<ranks { runStart[destination + 1] = runStart[destination] + sendCount[destination] }
        for destination in 0..<ranks where destination != rank {
            // Every receiver reads its block, so one without buckets gets a count of 0.
            let first = firstBucket[destination], last = lastBucket[destination]
            let count = sendCount[destination]
            let block = mailbox.outbox(to: destination)
            let header = ISBenchmark.headerBytes(max(0, last - first + 1))
            mailbox.board.prepareWrite(block, bytes: header + count * 2)
            block.storeBytes(of: Int64(count), as: Int64.self)
            let counts = (block + 8).assumingMemoryBound(to: Int32.self)
            for bucket in first..<(last + 1) { counts[bucket - first] = sizes[bucket] }
            let packed = (block + header).assumingMemoryBound(to: UInt16.self)
            let run = staged + runStart[destination]
            for i in 0..<count { packed[i] = UInt16(truncatingIfNeeded: run[i]) }
        }
        phaseTimes.1 += wallSeconds() - packStart
        if ranks > 1 {
            let deliverStart = wallSeconds()
            mailbox.deliver()
            phaseTimes.2 += wallSeconds() - deliverStart
        }

        let pullStart = wallSeconds()
        defer { phaseTimes.3 += wallSeconds() - pullStart }
        let minKey = firstBucket[rank] << shift
        let maxKeyValue = ((lastBucket[rank] + 1) << shift) - 1
        let width = maxKeyValue - minKey + 1
        if width > 0 { keyCounts.initialize(repeating: 0, count: width) }
        let counts = keyCounts - minKey
        // Keys are counted as they arrive. Only the last iteration keeps them too (in
        // keyBuff2, for the full verification): the ranks need nothing but the counts.
        let keep = iteration == iterations
        let myFirst = firstBucket[rank]
        let myBuckets = max(0, lastBucket[rank] - myFirst + 1)
        var received = 0
        /// Counts (and, in the last iteration, keeps) `count` keys from `source`: for each of
        /// this rank's buckets, `bucketCounts[b]` offsets in `payload`.
        func take<Offset: FixedWidthInteger>(_ payload: UnsafePointer<Offset>, bucketCounts: UnsafePointer<Int32>,
                                             count: Int, from source: Int) {
            precondition(received + count <= keyBuff2Capacity, "IS receive buffer overflow")
            var read = 0
            let target = buff2 + received
            for b in 0..<myBuckets {
                let n = Int(bucketCounts[b])
                precondition(n >= 0 && read + n <= count, "IS: block from rank \(source) overruns its \(count) keys")
                // A bucket's counts start at its first key: offsets index them directly.
                let valueCounts = counts + ((myFirst + b) << shift)
                if keep {
                    let base = Int32((myFirst + b) << shift)
                    for i in 0..<n { target[read + i] = base &+ Int32(payload[read + i]) }
                }
                for i in 0..<n { valueCounts[Int(payload[read + i])] &+= 1 }
                read += n
            }
            precondition(read == count, "IS: block from rank \(source) holds \(read) keys, header says \(count)")
            received += count
        }
        for source in 0..<ranks {
            if source == rank {
                take(UnsafePointer(staged + runStart[rank]), bucketCounts: sizes + myFirst, count: sendCount[rank], from: rank)
                continue
            }
            // Copied out (DSM.read), not faulted in: each block is read once, after the
            // barrier that published it.
            let block = mailbox.inbox(from: source)
            let header = ISBenchmark.headerBytes(myBuckets)
            readShared(context.dsm, inbox, block, header)
            let count = Int(inbox.load(as: Int64.self))
            precondition(count >= 0 && header + count * 2 <= mailbox.blockBytes, "IS: block from rank \(source) too long")
            readShared(context.dsm, inbox + header, block + header, count * 2)
            take((inbox + header).assumingMemoryBound(to: UInt16.self),
                 bucketCounts: (inbox + 8).assumingMemoryBound(to: Int32.self), count: count, from: source)
        }
        mailbox.finishTurn()

        var lesser = 0
        for k in 0..<rank where firstBucket[k] <= lastBucket[k] {
            for i in firstBucket[k]...lastBucket[k] { lesser += Int(totals[i]) }
        }
        var local = 0
        if firstBucket[rank] <= lastBucket[rank] {
            for i in firstBucket[rank]...lastBucket[rank] { local += Int(totals[i]) }
        }
        precondition(local == received, "IS: received \(received) keys, expected \(local)")

        if width > 1 {
            for i in minKey..<maxKeyValue { counts[i + 1] &+= counts[i] }
        }

        for i in 0..<testCount {
            let k = Int(totals[buckets + i])
            if minKey <= k && k <= maxKeyValue {
                let below = k - 1 >= minKey ? Int(counts[k - 1]) : 0
                let keyRank = below + lesser
                let expected = parameters.expectedRank(i, iteration: iteration, context.problemClass)
                if keyRank == expected {
                    passed += 1
                } else {
                    err("Failed partial verification: iteration \(iteration), processor \(rank), test key \(i), key rank \(keyRank)")
                }
            }
        }
        if iteration == iterations {
            totalLocalKeys = local
            minKeyValue = minKey
        }
    }

    /// Sorts the last ranked keys (untimed) and checks the order here and across ranks.
    func fullVerify() {
        let local = totalLocalKeys
        let sorted = UnsafeMutablePointer<Int32>.allocate(capacity: max(local, 1))
        defer { sorted.deallocate() }
        let counts = keyCounts - minKeyValue
        for i in 0..<local {
            let key = Int(keyBuff2[i])
            counts[key] -= 1
            sorted[Int(counts[key])] = keyBuff2[i]
        }
        var wrong = 0
        if local > 1 { for i in 1..<local where sorted[i - 1] > sorted[i] { wrong += 1 } }
        let ends = Collectives.allgather([Int64(local), local > 0 ? Int64(sorted[0]) : 0,
                                          local > 0 ? Int64(sorted[local - 1]) : 0])
        if rank > 0 && local > 0 {
            // The largest key of the nearest lower rank holding keys.
            var previous = rank - 1
            while previous >= 0 && ends[3 * previous] == 0 { previous -= 1 }
            if previous >= 0 && ends[3 * previous + 2] > Int64(sorted[0]) { wrong += 1 }
        }
        if wrong != 0 {
            err("Processor \(rank):  Full_verify: number of keys out of sort: \(wrong)")
        } else {
            passed += 1
        }
    }
}

func runIS(_ context: RunContext) {
    let benchmark = ISBenchmark(context)
    context.say("")
    context.say("")
    context.say(" NAS Parallel Benchmarks 3.4 -- IS Benchmark")
    context.say("")
    context.say(" Size:  \(benchmark.totalKeys)  (class \(context.problemClass.rawValue))")
    context.say(" Iterations:   \(benchmark.iterations)")
    context.say(" Number of processes:     \(context.ranks)")

    benchmark.createSequence(benchmark.findMySeed())
    benchmark.rankKeys(1)  // untimed warm-up
    benchmark.passed = 0
    if context.problemClass != .S { context.say("\n   iteration") }

    context.dsm.barrier()
    let start = wallSeconds()
    for iteration in 1...benchmark.iterations {
        if context.problemClass != .S { context.say("        \(iteration)") }
        let t0 = wallSeconds()
        benchmark.rankKeys(iteration)
        context.note("IS iteration \(iteration): \(String(format: "%.4f", wallSeconds() - t0)) s")
    }
    let elapsed = Collectives.allreduce(wallSeconds() - start, .max)
    if context.progress {
        let t = benchmark.phaseTimes
        err(String(format: "[npb] IS rank %d: buckets %.4f s, scatter %.4f s, barrier %.4f s, pull+rank %.4f s "
                   + "(11 iterations)", context.rank, t.0, t.1, t.2, t.3))
    }

    benchmark.fullVerify()
    let passed = Collectives.allreduce(benchmark.passed, .sum)
    guard context.isRoot else { return }
    let verified = passed == 5 * benchmark.iterations + context.ranks
    let mops = Double(benchmark.iterations) * Double(benchmark.totalKeys) / elapsed / 1_000_000.0
    Report(name: "IS", problemClass: context.problemClass, size: .count(benchmark.totalKeys),
           iterations: benchmark.iterations, seconds: elapsed, processes: context.ranks, mops: mops,
           operation: "keys ranked", verified: verified, cStyle: true).print()
}
