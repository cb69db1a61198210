/// LU's processor grid and this rank's subdomain, as NPB 3.4-MPI lays them out
/// (proc_grid.f, neighbors.f, subdomain.f): xdim x ydim ranks, the grid split in i and
/// j (k is never split), rank r at row r % xdim and column r / xdim. Indices here are
/// NPB's: local i in 1...nx, j in 1...ny, k in 1...nz, global i = ipt + i.
struct LUGrid {
    let nx0: Int, ny0: Int, nz0: Int
    let xdim: Int, ydim: Int
    /// 0-based position in the processor grid.
    let row: Int, col: Int
    let nx: Int, ny: Int, nz: Int
    let ipt: Int, jpt: Int
    /// The interior points this rank updates (the global boundary excluded).
    let ist: Int, iend: Int, jst: Int, jend: Int
    /// Neighbour ranks: north has the smaller i, west the smaller j.
    let north: Int?, south: Int?, west: Int?, east: Int?

    init(n: Int, ranks: Int, rank: Int) {
        nx0 = n
        ny0 = n
        nz0 = n
        (xdim, ydim) = LUGrid.dimensions(ranks) ?? (ranks, 1)
        row = rank % xdim
        col = rank / xdim
        (nx, ipt) = LUGrid.split(n, parts: xdim, part: row)
        (ny, jpt) = LUGrid.split(n, parts: ydim, part: col)
        nz = n
        north = row > 0 ? rank - 1 : nil
        south = row < xdim - 1 ? rank + 1 : nil
        west = col > 0 ? rank - xdim : nil
        east = col < ydim - 1 ? rank + xdim : nil
        ist = north == nil ? 2 : 1
        iend = south == nil ? nx - 1 : nx
        jst = west == nil ? 2 : 1
        jend = east == nil ? ny - 1 : ny
    }

    /// proc_grid: xdim from isqrt2 (a near-square factorisation with xdim >= ydim), or nil.
    static func dimensions(_ ranks: Int) -> (Int, Int)? {
        guard ranks > 0 else { return nil }
        var x = 1
        var square = 0
        while square <= ranks {
            square = x * x
            if square == ranks { return (x, x) }
            x += 1
        }
        x -= 1
        var y = ranks / x
        while x * y != ranks && 2 * y >= x {
            x += 1
            y = ranks / x
        }
        guard x * y == ranks && 2 * y >= x else { return nil }
        return (x, y)
    }

    /// subdomain: the first n % parts parts get one point more. Returns (points, offset).
    static func split(_ n: Int, parts: Int, part: Int) -> (Int, Int) {
        let extra = n % parts
        if part < extra { return (n / parts + 1, part * (n / parts + 1)) }
        return (n / parts, part * (n / parts) + extra)
    }

    /// Why `ranks` processes cannot run a problem of size n, or nil if they can.
    static func problem(n: Int, ranks: Int) -> String? {
        guard let (x, y) = dimensions(ranks) else { return "no processor grid for \(ranks) processes" }
        // NPB needs at least 3 points per subdomain in i and j.
        if n / x < 3 || n / y < 3 { return "a \(x) x \(y) processor grid leaves fewer than 3 points per rank" }
        return nil
    }
}

/// Five values per point (NPB's u(5, -1:nx+2, -1:ny+2, nz)): m fastest, then i, j, k, with
/// two ghost layers in i and j for the neighbours' boundary values.
struct LUField {
    let base: UnsafeMutablePointer<Double>
    let strideJ: Int
    let strideK: Int
    let count: Int

    init(nx: Int, ny: Int, nz: Int) {
        strideJ = 5 * (nx + 4)
        strideK = strideJ * (ny + 4)
        count = strideK * nz
        base = .allocate(capacity: count)
        base.initialize(repeating: 0, count: count)
    }

    /// The five values at (i, j, k); i, j from -1, k from 1.
    @inline(__always)
    func at(_ i: Int, _ j: Int, _ k: Int) -> UnsafeMutablePointer<Double> {
        base + (5 * (i + 1) + strideJ * (j + 1) + strideK * (k - 1))
    }
}
