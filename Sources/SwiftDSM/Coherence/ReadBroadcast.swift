/// Broadcast of read-shared pages (the `broadcast` setting, JIAJIA's BROADCAST): a page
/// that every rank but its home reads, written before a barrier, is sent by its home to
/// everyone once, inside the barrier, instead of being fetched again by each rank after it.
///
/// A rank subscribes to a page when it fetches it (or uses a broadcast copy) and is not
/// subscribed yet; it unsubscribes when `unusedLimit` broadcasts of the page in a row
/// reached it unused. Both travel in its barrier notices, and every rank keeps the same
/// count of subscribers per page from the gathered lists, so every rank decides the same
/// pages, and the broadcast itself is one MPI allgather of page contents. A copy a
/// broadcast installs stays inaccessible until its first use (a fault with no fetch), so
/// the rank sees whether it was used.
struct ReadBroadcast {
    private static let flag: Int64 = 1 << 62
    private static let leaving: Int64 = 1 << 61

    static func subscription(_ page: Int) -> Int64 { flag | Int64(page) }
    static func unsubscription(_ page: Int) -> Int64 { flag | leaving | Int64(page) }

    /// A subscription or unsubscription, not a page's write notice or a lock's statistics.
    static func isSubscription(_ notice: Int64) -> Bool { notice >= 0 && notice & flag != 0 }

    /// Broadcasts of a page in a row that reach a subscribed rank unused before it unsubscribes
    /// (2 would drop a page written twice between two reads, as a conservative notice does).
    static let unusedLimit: UInt8 = 3

    /// At most this many bytes of pages move in one barrier's broadcast (MPI counts are 32-bit).
    static let limitBytes = 256 << 20

    /// Per page: how many ranks other than its home are subscribed.
    private let subscribers: PageArray<UInt16>

    init(pageCount: Int) { subscribers = PageArray(count: pageCount) }

    func release() { subscribers.release() }

    /// Applies this barrier's subscriptions, then returns the written pages every rank but
    /// their home is subscribed to, in page order, at most `limit` of them.
    func pages(ranks: Int, lists: (Int) -> ArraySlice<Int64>, home: (Int) -> Int, limit: Int) -> [Int] {
        guard ranks > 1 else { return [] }
        var pages: [Int] = []
        for rank in 0..<ranks {
            for notice in lists(rank) where Self.isSubscription(notice) {
                let page = Int(notice & ~(Self.flag | Self.leaving))
                guard home(page) != rank else { continue }
                if notice & Self.leaving != 0 {
                    if subscribers[page] > 0 { subscribers[page] -= 1 }
                } else if subscribers[page] < UInt16.max {
                    subscribers[page] += 1
                }
            }
        }
        for rank in 0..<ranks {
            for notice in lists(rank) where HomeMigration.isWriteNotice(notice) {
                let page = HomeMigration.page(notice)
                if Int(subscribers[page]) >= ranks - 1 { pages.append(page) }
            }
        }
        pages.sort()
        pages.removeDuplicatesFromSorted()
        return Array(pages.prefix(limit))
    }

    /// A page whose home moved: every rank forgets its subscriptions (`CoherenceEngine`
    /// does the same for its own).
    func forget(_ page: Int) { subscribers[page] = 0 }
}
