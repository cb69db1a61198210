/// How BT and SP split the n x n x n grid over the ranks: a transpose scheme. For the
/// residual and the sweeps in x and y a rank holds a slab of k-planes (`kBox`); for the
/// sweep in z it holds a slab of j-rows over every k (`zBox`). The interior points
/// 1...n-2 of each direction are split evenly (the first (n - 2) % P parts one larger); the
/// boundary points never change after `initialize`, so every rank computes the ones it
/// needs itself and only interior values move between ranks.
struct ADIGrid {
    let n: Int
    let ranks: Int
    let rank: Int
    /// This rank's interior k-planes (the residual, x and y sweeps) and interior j-rows
    /// (the z sweep), as half-open ranges.
    let planes: Range<Int>
    let rows: Range<Int>
    /// The box of the x and y sweeps: every i and j, the planes plus two ghost planes on
    /// each side (the residual's fourth differences reach two planes out).
    let kBox: ADIBox
    /// The box of the z sweep: every i and k, this rank's interior j-rows.
    let zBox: ADIBox

    init(n: Int, ranks: Int, rank: Int) {
        self.n = n
        self.ranks = ranks
        self.rank = rank
        planes = ADIGrid.interior(n, ranks, rank)
        rows = planes
        kBox = ADIBox(n: n, j: 0..<n, k: max(planes.lowerBound - 2, 0)..<min(planes.upperBound + 2, n))
        zBox = ranks == 1 ? kBox : ADIBox(n: n, j: rows, k: 0..<n)
    }

    /// Rank r's share of the interior points 1...n-2.
    static func interior(_ n: Int, _ ranks: Int, _ rank: Int) -> Range<Int> {
        let points = n - 2, extra = points % ranks, base = points / ranks
        let first = 1 + rank * base + min(rank, extra)
        return first..<(first + base + (rank < extra ? 1 : 0))
    }

    /// Why `ranks` processes cannot run a grid of n points, or nil if they can: each
    /// needs at least one interior plane (the square rule is checked apart, in main).
    static func problem(n: Int, ranks: Int) -> String? {
        if ranks > n - 2 { return "its \(n - 2) interior planes allow at most \(n - 2) processes" }
        return nil
    }

    /// Whether `ranks` is a perfect square (NPB-MPI's rule for BT and SP).
    static func isSquare(_ ranks: Int) -> Bool {
        var root = 0
        while (root + 1) * (root + 1) <= ranks { root += 1 }
        return root * root == ranks
    }
}

/// A box of grid points: every i in 0..<n, j and k in the given ranges. Vector fields
/// (five values per point) are laid out m fastest, then i, j, k, as NPB's u(5, i, j, k);
/// scalar fields the same without m.
struct ADIBox: Equatable {
    let n: Int
    let j: Range<Int>
    let k: Range<Int>
    /// Points between neighbours in j and in k.
    let strideJ: Int
    let strideK: Int
    let points: Int

    init(n: Int, j: Range<Int>, k: Range<Int>) {
        self.n = n
        self.j = j
        self.k = k
        strideJ = n
        strideK = n * j.count
        points = strideK * k.count
    }

    /// The point index of (i, j, k); a vector field's values start at 5 times it.
    @inline(__always)
    func at(_ i: Int, _ j: Int, _ k: Int) -> Int {
        i + strideJ * (j - self.j.lowerBound) + strideK * (k - self.k.lowerBound)
    }
}
