// invertedindex: word -> sorted list of the documents containing it, over generated
// documents (the word count's Zipf corpus, one chunk per document). Map emits
// (word hash, document) once per distinct word of a document; the reducers group the
// documents of each word and sort them. Rank 0 builds the same index sequentially from
// privately regenerated documents and compares every list exactly.
//
//   mpirun -np 4 .build/release/example-invertedindex [--documents 20000] [--words 100]
//                                      [--vocabulary 50000] [--split 64] [--seed 1]
import Collectives
import ExampleSupport
import MapReduce
import SwiftDSM

func main() -> Never {
    let dsm = DSM.start()
    let options = Options(["documents": "documents", "words": "words per document",
                           "vocabulary": "distinct words to draw from", "split": "documents per split",
                           "seed": "generator seed"])
    let documents = options.int("documents", 20_000, in: 1...1 << 31)
    let perSplit = options.int("split", 64, in: 1...1 << 31)
    let corpus = Corpus(vocabulary: options.int("vocabulary", 50_000, in: 1...456_976), chunks: documents,
                        wordsPerChunk: options.int("words", 100, in: 1...1 << 20), seed: UInt64(options.int("seed", 1)))
    let text = corpus.generateShared(dsm)
    let slot = corpus.slotBytes
    let splits = (documents + perSplit - 1) / perSplit

    let job = MapReduce<UInt64, Int>(dsm)
    let start = monotonicNanoseconds()
    let index = job.grouping(splits: splits, map: { split, emit in
        var words: [UInt64] = []
        for document in (split * perSplit)..<min((split + 1) * perSplit, documents) {
            words.removeAll(keepingCapacity: true)
            Corpus.forEachWordHash(text.base + document * slot, count: slot) { words.append($0) }
            words.sort()
            var previous: UInt64? = nil
            for word in words where word != previous {
                emit(word, document)
                previous = word
            }
        }
    }, reduce: { _, documents in documents.sort() })
    let seconds = slowestSeconds(since: start)

    var digest = Digest()
    var postings = 0
    let keys = index.keys(of: dsm.rank)
    for position in 0..<keys.count {
        var folded: UInt64 = 0
        for document in index.values(of: dsm.rank, at: position) {
            folded = SplitMix64.mix(folded ^ UInt64(document))
            postings += 1
        }
        digest.add(keys[position], folded)
    }
    let total = Collectives.allreduce(digest.value, .sum)
    let totalPostings = Collectives.allreduce(postings, .sum)

    var passed = true
    var detail = ""
    if dsm.rank == 0 {
        let referenceStart = monotonicNanoseconds()
        var reference: [UInt64: [Int]] = [:]
        for document in 0..<documents {
            let bytes = corpus.text(chunk: document)
            bytes.withUnsafeBufferPointer { buffer in
                Corpus.forEachWordHash(buffer.baseAddress!, count: buffer.count) { word in
                    // Documents arrive in order: a repeat of the word in this document is the last entry.
                    if reference[word]?.last != document { reference[word, default: []].append(document) }
                }
            }
        }
        var mismatches = 0
        index.forEach { word, list in
            if let expected = reference[word], expected.elementsEqual(list) { return }
            mismatches += 1
        }
        let expectedPostings = reference.values.reduce(0) { $0 + $1.count }
        passed = mismatches == 0 && index.count == reference.count && totalPostings == expectedPostings
        let referenceSeconds = Double(monotonicNanoseconds() - referenceStart) / 1e9
        print("invertedindex: \(documents) documents of \(corpus.wordsPerChunk) words, \(index.count) words indexed "
            + "(reference \(reference.count)), \(totalPostings) postings (reference \(expectedPostings)), "
            + "\(mismatches) lists differ")
        print("invertedindex digest = \(Digest.hex(total))")
        detail = "reference \(String(format: "%.3f", referenceSeconds)) s"
    }
    finishExample(dsm, name: "example-invertedindex", passed: passed, seconds: seconds, detail: detail)
}

main()
