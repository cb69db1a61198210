import Foundation
import SwiftDSM

/// LU's boundary traffic through shared memory, in slabs homed on their writer (a rank
/// writes only its own slab: no fetch, no diff), published by a barrier:
///
/// - the wavefront lines of the SSOR sweeps (NPB-MPI's exchange_1): in each step of a
///   sweep a rank solves a block of k-planes and writes, for each plane, the line of it
///   that each downstream neighbour needs (i = nx for the south, j = ny for the east in the
///   lower sweep; i = 1 and j = 1 for the north and west in the upper one). After the
///   step's barrier the neighbours copy those lines into their ghost layers and solve the
///   same planes. The lines along j of a step lie together, apart from the lines along i,
///   so each neighbour fetches only its own pages; steps alternate between two copies, so
///   a fast rank never overwrites lines still to be read;
/// - the two ghost layers of u in i and j before each residual (exchange_3);
/// - the surface values the surface integral needs, gathered on rank 0 (pintgr).
final class LUExchange {
    let dsm: DSM
    let grid: LUGrid
    /// Planes solved in one step of a sweep (at most `maxDepth`): fewer barriers, but the
    /// ranks downstream start later (`LUBenchmark.chooseDepth`).
    var depth = 1
    static let maxDepth = 8
    /// One step's lines: `maxDepth` lines at fixed i (5 x ny values each), then from a page
    /// boundary `maxDepth` lines at fixed j (5 x nx values each).
    let lines: SlabBoard
    let iLineBytes: Int
    let jLineBytes: Int
    let jLinesOffset: Int
    var lineTurn = 0
    /// The u ghost layers: four page-aligned regions (to north, south, west, east).
    let halo: SlabBoard
    let haloRegion: (i: Int, j: Int)
    var haloTurn = 0
    /// The surface values of pintgr, one slab per rank.
    let surfaces: SlabBoard
    /// Packing space for a line along j (strided in the field).
    let packed: UnsafeMutablePointer<Double>
    /// For --progress: barriers of the sweeps, and seconds in them, in reading lines and in
    /// the ghost exchanges.
    var steps = 0
    var stepSeconds = 0.0
    var lineSeconds = 0.0
    var ghostSeconds = 0.0
    /// Each step's seconds at the barrier and reading lines, while `sampling` (warm-up).
    var sampling = true
    var stepSamples: [Double] = []
    private var linesThisStep = 0.0

    /// Collective.
    init(_ dsm: DSM, _ grid: LUGrid) {
        self.dsm = dsm
        self.grid = grid
        // Every rank allocates the same slabs: sized for the largest subdomain.
        let nxMax = (grid.nx0 + grid.xdim - 1) / grid.xdim
        let nyMax = (grid.ny0 + grid.ydim - 1) / grid.ydim
        let page = dsm.pageSize
        let rounded = { (bytes: Int) in (bytes + page - 1) / page * page }
        iLineBytes = 5 * nyMax * 8
        jLineBytes = 5 * nxMax * 8
        jLinesOffset = rounded(LUExchange.maxDepth * iLineBytes)
        lines = SlabBoard(dsm, slabBytes: jLinesOffset + LUExchange.maxDepth * jLineBytes)
        haloRegion = (rounded(10 * nyMax * grid.nz * 8), rounded(10 * nxMax * grid.nz * 8))
        halo = SlabBoard(dsm, slabBytes: 2 * haloRegion.i + 2 * haloRegion.j)
        surfaces = SlabBoard(dsm, slabBytes: SurfaceLayout(nx: nxMax, ny: nyMax, nz: grid.nz).count * 8, buffers: 1)
        packed = .allocate(capacity: 5 * max(nxMax, nyMax) + 5)
    }

    var distributed: Bool { dsm.rankCount > 1 }

    // MARK: wavefront lines

    /// Ends a step of a sweep: publishes this step's lines (collective).
    func finishStep() {
        guard distributed else { return }
        let start = wallSeconds()
        dsm.barrier()
        let waited = wallSeconds() - start
        stepSeconds += waited
        if sampling { stepSamples.append(waited + linesThisStep) }
        linesThisStep = 0
        lineTurn ^= 1
        steps += 1
    }

    /// Lower sweep, before plane k: the ghost rows i = 0 (from the north) and j = 0 (from
    /// the west) of `v`, written by those neighbours in the previous step.
    func receiveLower(_ v: LUField, _ k: Int, slot: Int) {
        let start = wallSeconds()
        defer { countLines(since: start) }
        if let north = grid.north { readILine(v, from: north, into: 0, k, slot) }
        if let west = grid.west { readJLine(v, from: west, into: 0, k, slot) }
    }

    private func countLines(since start: Double) {
        let seconds = wallSeconds() - start
        lineSeconds += seconds
        linesThisStep += seconds
    }

    /// Lower sweep, after plane k: row i = nx for the south, column j = ny for the east.
    func sendLower(_ v: LUField, _ k: Int, slot: Int) {
        if grid.south != nil { writeILine(v, from: grid.nx, k, slot) }
        if grid.east != nil { writeJLine(v, from: grid.ny, k, slot) }
    }

    /// Upper sweep, before plane k: the ghosts i = nx+1 (south) and j = ny+1 (east).
    func receiveUpper(_ v: LUField, _ k: Int, slot: Int) {
        let start = wallSeconds()
        defer { countLines(since: start) }
        if let south = grid.south { readILine(v, from: south, into: grid.nx + 1, k, slot) }
        if let east = grid.east { readJLine(v, from: east, into: grid.ny + 1, k, slot) }
    }

    /// Upper sweep, after plane k: row i = 1 for the north, column j = 1 for the west.
    func sendUpper(_ v: LUField, _ k: Int, slot: Int) {
        if grid.north != nil { writeILine(v, from: 1, k, slot) }
        if grid.west != nil { writeJLine(v, from: 1, k, slot) }
    }

    /// The line at fixed i over j = jst...jend (strided in the field, packed in the slab).
    private func writeILine(_ v: LUField, from i: Int, _ k: Int, _ slot: Int) {
        let count = 5 * (grid.jend - grid.jst + 1)
        let slab = lines.slab(dsm.rank, buffer: lineTurn) + slot * iLineBytes
        lines.prepareWrite(slab, bytes: count * 8)
        let out = slab.assumingMemoryBound(to: Double.self)
        for j in grid.jst...grid.jend {
            let p = v.at(i, j, k), o = out + 5 * (j - grid.jst)
            o[0] = p[0]; o[1] = p[1]; o[2] = p[2]; o[3] = p[3]; o[4] = p[4]
        }
    }

    private func readILine(_ v: LUField, from source: Int, into i: Int, _ k: Int, _ slot: Int) {
        let count = 5 * (grid.jend - grid.jst + 1)
        pullShared(packed, lines.slab(source, buffer: lineTurn ^ 1) + slot * iLineBytes, count * 8)
        for j in grid.jst...grid.jend {
            let p = v.at(i, j, k), o = packed + 5 * (j - grid.jst)
            p[0] = o[0]; p[1] = o[1]; p[2] = o[2]; p[3] = o[3]; p[4] = o[4]
        }
    }

    /// The line at fixed j over i = ist...iend (contiguous in the field).
    private func writeJLine(_ v: LUField, from j: Int, _ k: Int, _ slot: Int) {
        let bytes = 5 * (grid.iend - grid.ist + 1) * 8
        let slab = lines.slab(dsm.rank, buffer: lineTurn) + jLinesOffset + slot * jLineBytes
        lines.prepareWrite(slab, bytes: bytes)
        memcpy(slab, v.at(grid.ist, j, k), bytes)
    }

    private func readJLine(_ v: LUField, from source: Int, into j: Int, _ k: Int, _ slot: Int) {
        let bytes = 5 * (grid.iend - grid.ist + 1) * 8
        let theirs = lines.slab(source, buffer: lineTurn ^ 1) + jLinesOffset + slot * jLineBytes
        pullShared(v.at(grid.ist, j, k), theirs, bytes)
    }

    // MARK: ghost layers of u

    /// exchange_3 in both directions: rows i = 1, 2 and nx-1, nx to the north and south,
    /// columns j = 1, 2 and ny-1, ny to the west and east, for every k (collective).
    func exchangeGhosts(_ u: LUField) {
        guard distributed else { return }
        let start = wallSeconds()
        defer { ghostSeconds += wallSeconds() - start }
        let g = grid
        let mine = halo.slab(dsm.rank, buffer: haloTurn)
        let regions = [mine, mine + haloRegion.i, mine + 2 * haloRegion.i, mine + 2 * haloRegion.i + haloRegion.j]
        let rowBytes = 10 * g.ny * g.nz * 8, columnBytes = 10 * g.nx * g.nz * 8
        // Two neighbouring points in i are 10 contiguous values; a column in j is 5 nx.
        func packRows(_ region: UnsafeMutableRawPointer, _ first: Int) {
            halo.prepareWrite(region, bytes: rowBytes)
            let out = region.assumingMemoryBound(to: Double.self)
            for k in 1...g.nz {
                for j in 1...g.ny { memcpy(out + 10 * ((k - 1) * g.ny + (j - 1)), u.at(first, j, k), 80) }
            }
        }
        func packColumns(_ region: UnsafeMutableRawPointer, _ first: Int) {
            halo.prepareWrite(region, bytes: columnBytes)
            let out = region.assumingMemoryBound(to: Double.self)
            for k in 1...g.nz {
                for c in 0..<2 { memcpy(out + 5 * g.nx * (2 * (k - 1) + c), u.at(1, first + c, k), 5 * g.nx * 8) }
            }
        }
        if g.north != nil { packRows(regions[0], 1) }
        if g.south != nil { packRows(regions[1], g.nx - 1) }
        if g.west != nil { packColumns(regions[2], 1) }
        if g.east != nil { packColumns(regions[3], g.ny - 1) }
        dsm.barrier()
        func unpackRows(_ source: Int, region: Int, _ first: Int) {
            let theirs = halo.slab(source, buffer: haloTurn) + region
            touchShared(theirs, rowBytes)
            let data = theirs.assumingMemoryBound(to: Double.self)
            for k in 1...g.nz {
                for j in 1...g.ny { memcpy(u.at(first, j, k), data + 10 * ((k - 1) * g.ny + (j - 1)), 80) }
            }
        }
        func unpackColumns(_ source: Int, region: Int, _ first: Int) {
            let theirs = halo.slab(source, buffer: haloTurn) + region
            touchShared(theirs, columnBytes)
            let data = theirs.assumingMemoryBound(to: Double.self)
            for k in 1...g.nz {
                for c in 0..<2 { memcpy(u.at(1, first + c, k), data + 5 * g.nx * (2 * (k - 1) + c), 5 * g.nx * 8) }
            }
        }
        // The north neighbour's rows for the south (its nx-1, nx) are my -1, 0; and so on.
        if let north = g.north { unpackRows(north, region: haloRegion.i, -1) }
        if let south = g.south { unpackRows(south, region: 0, g.nx + 1) }
        if let west = g.west { unpackColumns(west, region: 2 * haloRegion.i + haloRegion.j, -1) }
        if let east = g.east { unpackColumns(east, region: 2 * haloRegion.i, g.ny + 1) }
        haloTurn ^= 1
    }

    // MARK: gather

    /// Every rank's `values` (rank r's holding `count(r)` values), on rank 0; nil on the
    /// others (collective).
    func gatherOnRoot(_ values: [Double], count: (Int) -> Int) -> [[Double]]? {
        let mine = surfaces.slab(dsm.rank, buffer: 0)
        surfaces.prepareWrite(mine, bytes: values.count * 8)
        values.withUnsafeBytes { _ = memcpy(mine, $0.baseAddress!, $0.count) }
        dsm.barrier()
        guard dsm.rank == 0 else { return nil }
        return (0..<dsm.rankCount).map { source in
            [Double](unsafeUninitializedCapacity: count(source)) { buffer, initialized in
                pullShared(buffer.baseAddress!, surfaces.slab(source, buffer: 0), count(source) * 8)
                initialized = count(source)
            }
        }
    }
}
