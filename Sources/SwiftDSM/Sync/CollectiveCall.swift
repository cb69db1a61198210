/// What a rank is calling when it enters a collective DSM operation, in the fixed-size
/// block every rank contributes to the first allgather (see `Synchronizer.collectiveCall`).
/// Plain values, no arrays: a barrier builds and reads one per rank without allocating.
struct CollectiveCall {
    enum Operation: Int64 {
        case barrier = 1
        case wait
        case allocate
        case exit
        case balance
        case checkpoint
        case free
    }

    static let headerWords = 7
    static let inlineNotices = 25
    /// The words a `NoticeSeals` tag covers; the tag follows them (zero without security).
    static let sealedWords = headerWords + inlineNotices
    static let blockWords = sealedWords + NoticeSeals.tagWords

    var operation: Operation
    var arguments: (Int, Int, Int) = (0, 0, 0)
    var sequence = 0
    var noticeCount = 0

    init(_ operation: Operation, _ first: Int = 0, _ second: Int = 0, _ third: Int = 0) {
        self.operation = operation
        arguments = (first, second, third)
    }

    /// A barrier names whether home migration, lock migration and the broadcast of
    /// read-shared pages are on: every rank decides them alike, so a rank that differs is a
    /// mistake (jia_config(HMIG) called on some ranks only).
    static func barrier(homeMigration: Bool, lockMigration: Bool = false, broadcast: Bool = false) -> CollectiveCall {
        CollectiveCall(.barrier, homeMigration ? 1 : 0, lockMigration ? 1 : 0, broadcast ? 1 : 0)
    }
    static let wait = CollectiveCall(.wait)
    static let exit = CollectiveCall(.exit)
    static func balance(_ mode: BalanceMode) -> CollectiveCall { CollectiveCall(.balance, Int(mode.rawValue)) }

    static func free(address: Int) -> CollectiveCall { CollectiveCall(.free, address) }
    static func checkpoint(tag: Int) -> CollectiveCall { CollectiveCall(.checkpoint, tag) }

    static func allocate(size: Int, block: Int, startRank: Int) -> CollectiveCall {
        CollectiveCall(.allocate, size, block, startRank)
    }

    /// Layout: operation, sequence, three arguments, notice count, reserved, then notices,
    /// then the seal's tag.
    func write(sequence: Int, noticeCount: Int, into block: inout [Int64]) {
        block[0] = operation.rawValue
        block[1] = Int64(sequence)
        block[2] = Int64(arguments.0)
        block[3] = Int64(arguments.1)
        block[4] = Int64(arguments.2)
        block[5] = Int64(noticeCount)
    }

    init(reading all: [Int64], rank: Int) {
        let base = rank * Self.blockWords
        operation = Operation(rawValue: all[base]) ?? .barrier
        sequence = Int(all[base + 1])
        arguments = (Int(all[base + 2]), Int(all[base + 3]), Int(all[base + 4]))
        noticeCount = Int(all[base + 5])
    }

    func matches(_ other: CollectiveCall) -> Bool {
        operation == other.operation && sequence == other.sequence && arguments == other.arguments
    }

    var description: String {
        let call: String
        switch operation {
        case .barrier:
            call = "jia_barrier() with home migration \(arguments.0 == 1 ? "on" : "off"), "
                + "lock migration \(arguments.1 == 1 ? "on" : "off"), broadcast \(arguments.2 == 1 ? "on" : "off")"
        case .wait: call = "jia_wait()"
        case .exit: call = "jia_exit()"
        case .balance: call = "jia_balance(\(arguments.0))"
        case .checkpoint: call = "jia_checkpoint(\(arguments.0))"
        case .free: call = "jia_free(0x\(String(arguments.0, radix: 16)))"
        case .allocate: call = "jia_alloc3(size: \(arguments.0), block: \(arguments.1), starthost: \(arguments.2))"
        }
        return "\(call) as collective call #\(sequence)"
    }
}
