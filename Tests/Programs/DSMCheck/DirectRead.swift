import SwiftDSM

/// `DSM.read`: a bulk read (at least 256 KiB, so it goes directly even with `broadcast`)
/// copies what the last barrier published, partial first and last pages included, and
/// leaves no read notice at the home: rank 0's next writes to those pages take no write
/// fault. A page another rank reads with plain loads (a cached copy) is still kept
/// coherent: its new value is seen after each barrier.
func directReadScenario(_ dsm: DSM) {
    let ranks = dsm.rankCount, rank = dsm.rank, runtime = dsm.runtime
    let pageWords = runtime.pageSize / MemoryLayout<Int>.stride
    let bulk = 256 << 10  // bytes, from word 1 of page 0: pages 0 ... 64, partly at both ends
    let pages = bulk / runtime.pageSize + 2  // page 65 is read with plain loads
    let data = dsm.allocate(Int.self, count: pages * pageWords, homes: .onRank(0))
    let cached = (pages - 1) * pageWords
    let copy = UnsafeMutablePointer<Int>.allocate(capacity: bulk / 8)
    defer { copy.deallocate() }
    func value(_ word: Int, _ round: Int) -> Int { round * 1_000_000 + word }
    for round in 1...3 {
        if rank == 0 {
            let faults = runtime.statistics.homeWriteFaults
            for page in 0..<(pages - 1) { data[page * pageWords + 1] = value(page * pageWords + 1, round) }
            if ranks > 1 && round > 1 {
                Check.equal(runtime.statistics.homeWriteFaults - faults, 0,
                            "home write faults in round \(round) on pages only read with DSM.read")
            }
            for page in 0..<pages { for word in stride(from: 0, to: pageWords, by: 97) where word != 1 {
                data[page * pageWords + word] = value(page * pageWords + word, round)
            } }
            data[cached] = value(cached, round)
        }
        dsm.barrier()
        if rank != 0 {
            dsm.read(from: data.base + 1, byteCount: bulk, into: copy)
            for page in 0..<(pages - 1) {
                let word = page * pageWords + 1
                if word - 1 < bulk / 8 { Check.equal(copy[word - 1], value(word, round), "DSM.read word \(word) in round \(round)") }
                let sampled = page * pageWords + 97
                if sampled >= 1 && sampled - 1 < bulk / 8 {
                    Check.equal(copy[sampled - 1], value(sampled, round), "DSM.read word \(sampled) in round \(round)")
                }
            }
            Check.equal(data[cached], value(cached, round), "the cached page in round \(round)")
        }
        dsm.barrier()
    }
}
