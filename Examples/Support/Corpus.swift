import SwiftDSM

/// A generated corpus: `chunks` chunks (documents) of `wordsPerChunk` words each, drawn
/// from a vocabulary of `vocabulary` words with a Zipf distribution (exponent 1). Chunk c
/// is a function of (seed, c) alone. Words are lowercase letters separated by one space;
/// word i starts with four letters spelling i in base 26, so words are distinct.
public struct Corpus: Sendable {
    public let vocabulary: Int
    public let chunks: Int
    public let wordsPerChunk: Int
    public let seed: UInt64
    /// Longest word: 4 letters for the index and up to 6 more.
    public static let maxWordLength = 10
    /// Bytes reserved for one chunk's text; the unused tail stays zero.
    public var slotBytes: Int { wordsPerChunk * (Corpus.maxWordLength + 1) }

    /// Words laid end to end, word i at wordStart[i]..<wordStart[i + 1].
    private let letters: [UInt8]
    private let wordStart: [Int]
    /// cumulative[i]: probability that a word has rank <= i.
    private let cumulative: [Double]

    public init(vocabulary: Int, chunks: Int, wordsPerChunk: Int, seed: UInt64) {
        precondition(vocabulary >= 1 && vocabulary <= 26 * 26 * 26 * 26)
        self.vocabulary = vocabulary
        self.chunks = chunks
        self.wordsPerChunk = wordsPerChunk
        self.seed = seed
        var letters: [UInt8] = []
        var wordStart = [0]
        for word in 0..<vocabulary {
            var code = word
            for _ in 0..<4 {
                letters.append(UInt8(ascii: "a") + UInt8(code % 26))
                code /= 26
            }
            var generator = SplitMix64(seed: seed ^ 0x5157_4F52_4453, stream: word)
            for _ in 0..<Int(generator.next() % 7) { letters.append(UInt8(ascii: "a") + UInt8(generator.next() % 26)) }
            wordStart.append(letters.count)
        }
        self.letters = letters
        self.wordStart = wordStart
        var weights = (1...vocabulary).map { 1.0 / Double($0) }
        let total = weights.reduce(0, +)
        var running = 0.0
        for index in weights.indices {
            running += weights[index] / total
            weights[index] = running
        }
        weights[vocabulary - 1] = 1
        cumulative = weights
    }

    /// A word's index drawn from the Zipf distribution.
    @inline(__always)
    func drawWord(_ generator: inout SplitMix64) -> Int {
        let unit = generator.nextUnit()
        var low = 0
        var high = vocabulary - 1
        while low < high {
            let middle = (low + high) / 2
            if cumulative[middle] <= unit { low = middle + 1 } else { high = middle }
        }
        return low
    }

    /// Writes chunk `chunk`'s text at `destination` (at most `slotBytes` bytes); returns its length.
    @discardableResult
    public func write(chunk: Int, to destination: UnsafeMutablePointer<UInt8>) -> Int {
        var generator = SplitMix64(seed: seed, stream: chunk)
        var length = 0
        for word in 0..<wordsPerChunk {
            if word > 0 {
                destination[length] = UInt8(ascii: " ")
                length += 1
            }
            let index = drawWord(&generator)
            for position in wordStart[index]..<wordStart[index + 1] {
                destination[length] = letters[position]
                length += 1
            }
        }
        return length
    }

    /// Chunk `chunk`'s text in private memory.
    public func text(chunk: Int) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: slotBytes)
        let length = bytes.withUnsafeMutableBufferPointer { write(chunk: chunk, to: $0.baseAddress!) }
        bytes.removeLast(bytes.count - length)
        return bytes
    }

    /// Generates the corpus into shared memory, one slot per chunk, each rank writing the
    /// chunks of its `dsm.share(of: chunks)` (collective; ends with a barrier).
    public func generateShared(_ dsm: DSM) -> SharedArray<UInt8> {
        let text = dsm.allocate(UInt8.self, count: chunks * slotBytes, homes: .blocked)
        for chunk in dsm.share(of: chunks) { write(chunk: chunk, to: text.base + chunk * slotBytes) }
        dsm.barrier()
        return text
    }

    /// Calls `body` with the FNV-1a hash of every word of the text at `bytes` (up to
    /// `count` bytes or a zero byte).
    @inline(__always)
    public static func forEachWordHash(_ bytes: UnsafePointer<UInt8>, count: Int, _ body: (UInt64) -> Void) {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        var inWord = false
        var index = 0
        while index < count {
            let byte = bytes[index]
            if byte == 0 { break }
            if byte == UInt8(ascii: " ") {
                if inWord { body(hash) }
                hash = 0xCBF2_9CE4_8422_2325
                inWord = false
            } else {
                hash = (hash ^ UInt64(byte)) &* 0x100_0000_01B3
                inWord = true
            }
            index += 1
        }
        if inWord { body(hash) }
    }
}
