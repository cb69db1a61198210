// wordcount: counts the words of a generated corpus (Zipf-distributed over a vocabulary)
// with MapReduce. The text lies in shared memory, one split per chunk; map hashes each
// word (FNV-1a) and emits (hash, 1), the per-rank combiner and the reducers add. Rank 0
// then counts the same corpus, regenerated privately, in one pass and compares every
// key. The digest is a sum over (word, count) pairs: the same at any number of ranks.
//
//   mpirun -np 4 .build/release/example-wordcount [--words 2000000] [--vocabulary 50000]
//                                                 [--chunk 8192] [--seed 1]
import Collectives
import ExampleSupport
import MapReduce
import SwiftDSM

func main() -> Never {
    let dsm = DSM.start()
    let options = Options(["words": "words in the corpus (rounded up to whole chunks)",
                           "vocabulary": "distinct words to draw from", "chunk": "words per split",
                           "seed": "generator seed"])
    let chunkWords = options.int("chunk", 8192, in: 1...1 << 24)
    let chunks = (options.int("words", 2_000_000, in: 1...1 << 36) + chunkWords - 1) / chunkWords
    let corpus = Corpus(vocabulary: options.int("vocabulary", 50_000, in: 1...456_976), chunks: chunks,
                        wordsPerChunk: chunkWords, seed: UInt64(options.int("seed", 1)))
    let text = corpus.generateShared(dsm)
    let slot = corpus.slotBytes

    let job = MapReduce<UInt64, Int>(dsm)
    let start = monotonicNanoseconds()
    let counts = job.combining(splits: chunks, map: { chunk, emit in
        Corpus.forEachWordHash(text.base + chunk * slot, count: slot) { emit($0, 1) }
    }, combine: +)
    let seconds = slowestSeconds(since: start)

    // Every reducer digests its own keys (home reads); the sums add up to the whole.
    var digest = Digest()
    var words = 0
    let keys = counts.keys(of: dsm.rank)
    let values = counts.values(of: dsm.rank)
    for index in 0..<keys.count {
        digest.add(keys[index], UInt64(values[index]))
        words += values[index]
    }
    let total = Collectives.allreduce(digest.value, .sum)
    let totalWords = Collectives.allreduce(words, .sum)

    var passed = true
    var detail = ""
    if dsm.rank == 0 {
        let referenceStart = monotonicNanoseconds()
        var reference: [UInt64: Int] = [:]
        for chunk in 0..<chunks {
            let bytes = corpus.text(chunk: chunk)
            bytes.withUnsafeBufferPointer { buffer in
                Corpus.forEachWordHash(buffer.baseAddress!, count: buffer.count) { reference[$0, default: 0] += 1 }
            }
        }
        var mismatches = 0
        counts.forEach { key, count in if reference[key] != count { mismatches += 1 } }
        passed = mismatches == 0 && counts.count == reference.count && totalWords == chunks * chunkWords
        let referenceSeconds = Double(monotonicNanoseconds() - referenceStart) / 1e9
        print("wordcount: \(chunks * chunkWords) words, vocabulary \(corpus.vocabulary), \(counts.count) distinct "
            + "(reference \(reference.count)), \(mismatches) counts differ, most frequent word "
            + "\(reference.values.max() ?? 0) times")
        print("wordcount digest = \(Digest.hex(total))")
        detail = "reference \(String(format: "%.3f", referenceSeconds)) s, "
            + "shuffled \(job.statistics.shuffled) records into rank 0"
    }
    finishExample(dsm, name: "example-wordcount", passed: passed, seconds: seconds, detail: detail)
}

main()
