/// Broadcast of read-shared pages (the `broadcast` setting, JIAJIA's BROADCAST): a page
/// that other ranks read, written before a barrier, is sent by its home inside the barrier
/// to the ranks that read it, instead of being fetched again by each of them after it:
/// by one MPI allgather of the pages every rank but their home reads, and one all-to-all
/// of those only some ranks read (a neighbour's boundary rows).
///
/// A rank subscribes to a page when it fetches it (or uses a pushed copy) and is not
/// subscribed yet; it unsubscribes when `unusedLimit` pushes of the page in a row reached
/// it unused. Both travel in its barrier notices, and every rank keeps the same subscribers
/// per page from the gathered lists, so every rank decides the same pushes. A copy a push
/// installs stays inaccessible until its first use (a fault with no fetch), so the rank
/// sees whether it was used.
struct ReadBroadcast: ~Copyable {
    private static let flag: Int64 = 1 << 62
    private static let leaving: Int64 = 1 << 61

    static func subscription(_ page: Int) -> Int64 { flag | Int64(page) }
    static func unsubscription(_ page: Int) -> Int64 { flag | leaving | Int64(page) }

    /// A subscription or unsubscription, not a page's write notice or a lock's statistics.
    static func isSubscription(_ notice: Int64) -> Bool { notice >= 0 && notice & flag != 0 }
    /// The page of a subscription or unsubscription.
    static func page(ofSubscription notice: Int64) -> Int { Int(notice & ~(flag | leaving)) }

    /// Pushes of a page in a row that reach a subscribed rank unused before it unsubscribes
    /// (2 would drop a page written twice between two reads, as a conservative notice does).
    static let unusedLimit: UInt8 = 3

    /// At most this many bytes of pages move in one barrier's pushes (MPI counts are 32-bit).
    static let limitBytes = 256 << 20

    /// Pushes to only some ranks name them in a 64-bit mask: with more ranks, only pages
    /// every other rank reads are pushed.
    static let maskRanks = 64

    /// The pages one barrier pushes, in page order: to every rank, and to the ranks in a mask.
    struct Pushes {
        var everyone: [Int] = []
        var some: [(page: Int, ranks: UInt64)] = []
        var isEmpty: Bool { everyone.isEmpty && some.isEmpty }
    }

    /// Per page: how many ranks other than its home are subscribed, and which (ranks below 64).
    private let subscriberCount: PageArray<UInt16>
    private let subscriberMask: PageArray<UInt64>

    init(pageCount: Int) {
        subscriberCount = PageArray(count: pageCount)
        subscriberMask = PageArray(count: pageCount)
    }


    /// Applies this barrier's subscriptions, then returns the pushes of the pages written
    /// before it that other ranks are subscribed to, at most `limit` pages.
    func pushes(ranks: Int, lists: (Int) -> ArraySlice<Int64>, home: (Int) -> Int, limit: Int) -> Pushes {
        var pushes = Pushes()
        guard ranks > 1 else { return pushes }
        for rank in 0..<ranks {
            for notice in lists(rank) where Self.isSubscription(notice) {
                let page = Int(notice & ~(Self.flag | Self.leaving))
                guard home(page) != rank else { continue }
                let bit: UInt64 = rank < Self.maskRanks ? 1 << UInt64(rank) : 0
                if notice & Self.leaving != 0 {
                    if subscriberCount[page] > 0 { subscriberCount[page] -= 1 }
                    subscriberMask[page] &= ~bit
                } else if subscriberCount[page] < UInt16.max {
                    subscriberCount[page] += 1
                    subscriberMask[page] |= bit
                }
            }
        }
        var written: [Int] = []
        for rank in 0..<ranks {
            for notice in lists(rank) where HomeMigration.isWriteNotice(notice) {
                let page = HomeMigration.page(notice)
                if subscriberCount[page] > 0 { written.append(page) }
            }
        }
        written.sort()
        written.removeDuplicatesFromSorted()
        for page in written.prefix(limit) {
            if Int(subscriberCount[page]) >= ranks - 1 {
                pushes.everyone.append(page)
            } else if ranks <= Self.maskRanks {
                pushes.some.append((page, subscriberMask[page]))
            }
        }
        return pushes
    }

    /// A page whose home moved: every rank forgets its subscriptions (`CoherenceEngine`
    /// does the same for its own).
    func forget(_ page: Int) {
        subscriberCount[page] = 0
        subscriberMask[page] = 0
    }
}
