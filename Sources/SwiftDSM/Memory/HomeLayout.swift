/// Where the pages of one allocation live: JIAJIA's block-cyclic rule. The region is cut
/// into blocks of `blockPages` pages; block k is homed on rank (startRank + k) mod ranks.
enum HomeLayout {
    struct Run: Equatable {
        let firstPage: Int
        let count: Int
        let home: Int
    }

    static func runs(firstPage: Int, pages: Int, blockPages: Int, startRank: Int, ranks: Int) -> [Run] {
        var runs: [Run] = []
        var page = firstPage
        var home = startRank % ranks
        let end = firstPage + pages
        while page < end {
            let count = min(blockPages, end - page)
            runs.append(Run(firstPage: page, count: count, home: home))
            page += count
            home = (home + 1) % ranks
        }
        return runs
    }
}
