/// Under `security`, what each rank contributes to a collective call's allgathers (its
/// call, its write notices) ends in a tag under that rank's own key (`JobKeys.noticeSeal`),
/// with the call's sequence number as the nonce: a contribution changed on the way, or
/// replayed from an earlier call, stops the job before any of it is used. Page numbers
/// are no secret, so they are authenticated, not encrypted.
struct NoticeSeals {
    static let tagWords = FrameSeal.tagLength / 8

    /// By rank.
    let seals: [FrameSeal]
    /// By rank, for the message.
    let hosts: [String]
    /// Flip a notice of the next contribution this rank seals, after sealing it (tests only).
    var tamperWithNext = false

    /// The two allgathers of a call: the fixed block, and the long notice lists.
    enum Part: UInt32 {
        case block = 0
        case list = 1
    }

    /// Seals `words[0..<count]`, this rank's contribution, into the `tagWords` after them.
    mutating func seal(_ words: inout [Int64], count: Int, rank: Int, sequence: Int, part: Part) {
        words.withUnsafeMutableBytes { raw in
            seals[rank].seal(UnsafeMutableRawBufferPointer(rebasing: raw[0..<(count * 8)]), headerLength: count * 8,
                             tag: raw.baseAddress! + count * 8, counter: UInt64(sequence), direction: part.rawValue)
        }
        if tamperWithNext && count > 0 {
            tamperWithNext = false
            words[count - 1] ^= 1
        }
    }

    /// Whether `rank`'s contribution, `count` words at `offset` of `words` followed by its
    /// tag, is the one it sealed for this call.
    func intact(_ words: inout [Int64], offset: Int, count: Int, rank: Int, sequence: Int, part: Part) -> Bool {
        words.withUnsafeMutableBytes { raw in
            seals[rank].open(UnsafeMutableRawBufferPointer(rebasing: raw[(offset * 8)..<((offset + count) * 8)]),
                             headerLength: count * 8, tag: raw.baseAddress! + (offset + count) * 8,
                             counter: UInt64(sequence), direction: part.rawValue)
        }
    }

    /// `intact`, or the job stops naming the rank.
    func check(_ words: inout [Int64], offset: Int, count: Int, rank: Int, sequence: Int, part: Part) {
        guard intact(&words, offset: offset, count: count, rank: rank, sequence: sequence, part: part) else {
            Fatal.stop("the write notices and collective call of rank \(rank) on host \(hosts[rank]) fail "
                + "authentication (changed on the way, replayed, or sealed with another key); none of them was used")
        }
    }
}
