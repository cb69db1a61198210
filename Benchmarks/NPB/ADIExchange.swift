import Foundation
import SwiftDSM

/// The two transposes of each BT and SP step, through shared memory (`Mailbox`: each
/// rank packs what it sends into page-aligned blocks of its own slab, one barrier, then
/// each rank copies its blocks out of the others' slabs with `DSM.read`):
///
/// - `toZ`, before the z sweep: each rank sends rhs of its planes, on the j-rows of rank
///   s, to rank s. u need not go: the z box already holds it, since the z box made the
///   last update u += rhs itself (and both boxes start from the same `initialize`);
/// - `fromZ`, after the z sweep and the update u += rhs (done in the z box): each rank
///   sends u of its j-rows back, on the planes of rank r and on r's two ghost planes each
///   side, to rank r. That is the next residual's ghost exchange too, so a step has two
///   barriers.
///
/// A row (fixed j and k, every i) is contiguous in both boxes, and so are the rows of one
/// plane that a block carries, so each plane's part moves in one copy.
final class ADIExchange {
    let dsm: DSM
    let grid: ADIGrid
    var mailbox: Mailbox
    /// Seconds in the transposes (packing, barrier, unpacking), and of them at the
    /// barriers, for --progress.
    var seconds = 0.0
    var barrierSeconds = 0.0

    /// Collective.
    init(_ dsm: DSM, _ grid: ADIGrid) {
        self.dsm = dsm
        self.grid = grid
        let n = grid.n
        // Rank 0's share of planes and rows is the largest (the first parts get the extra).
        let planes = ADIGrid.interior(n, grid.ranks, 0).count
        let forward = planes * planes * 5 * n
        let backward = (planes + 4) * planes * 5 * n
        mailbox = Mailbox(dsm, blockBytes: max(forward, backward) * 8)
        inbox = .allocate(byteCount: mailbox.blockBytes, alignment: 64)
    }

    /// One received block, unpacked from here plane by plane.
    private let inbox: UnsafeMutableRawPointer

    /// `source`'s block for this rank (`bytes`), copied into `inbox`.
    private func receive(from source: Int, bytes: Int) -> UnsafePointer<Double> {
        mailbox.receive(from: source, bytes: bytes, into: inbox)
        return UnsafePointer(inbox.assumingMemoryBound(to: Double.self))
    }

    /// The barrier that publishes the outboxes, timed.
    private func deliver() {
        let start = wallSeconds()
        mailbox.deliver()
        barrierSeconds += wallSeconds() - start
    }

    /// The planes of rank r's box that are interior: what `fromZ` sends it.
    private func boxInterior(_ r: Int) -> Range<Int> {
        let planes = ADIGrid.interior(grid.n, grid.ranks, r)
        return max(planes.lowerBound - 2, 1)..<min(planes.upperBound + 2, grid.n - 1)
    }

    /// rhs of the interior rows, from the k box to the z box (collective).
    func toZ(_ from: ADIFields, _ to: ADIFields) {
        guard grid.ranks > 1 else { return }
        let start = wallSeconds()
        defer { seconds += wallSeconds() - start }
        let n = grid.n
        for s in 0..<grid.ranks {
            let rows = ADIGrid.interior(n, grid.ranks, s), chunk = rows.count * 5 * n
            let out = mailbox.outbox(to: s)
            mailbox.board.prepareWrite(out, bytes: grid.planes.count * chunk * 8)
            var o = out.assumingMemoryBound(to: Double.self)
            for k in grid.planes {
                o.update(from: from.rhs + 5 * from.box.at(0, rows.lowerBound, k), count: chunk)
                o += chunk
            }
        }
        deliver()
        let chunk = grid.rows.count * 5 * n
        for r in 0..<grid.ranks {
            let planes = ADIGrid.interior(n, grid.ranks, r)
            var i = receive(from: r, bytes: planes.count * chunk * 8)
            for k in planes {
                (to.rhs + 5 * to.box.at(0, grid.rows.lowerBound, k)).update(from: i, count: chunk)
                i += chunk
            }
        }
        mailbox.finishTurn()
    }

    /// u of the interior rows, from the z box back to the k box, ghost planes included
    /// (collective).
    func fromZ(_ from: ADIFields, _ to: ADIFields) {
        guard grid.ranks > 1 else { return }
        let start = wallSeconds()
        defer { seconds += wallSeconds() - start }
        let n = grid.n
        let chunk = grid.rows.count * 5 * n
        for r in 0..<grid.ranks {
            let planes = boxInterior(r)
            let out = mailbox.outbox(to: r)
            mailbox.board.prepareWrite(out, bytes: planes.count * chunk * 8)
            var o = out.assumingMemoryBound(to: Double.self)
            for k in planes {
                o.update(from: from.u + 5 * from.box.at(0, grid.rows.lowerBound, k), count: chunk)
                o += chunk
            }
        }
        deliver()
        let planes = boxInterior(grid.rank)
        for s in 0..<grid.ranks {
            let rows = ADIGrid.interior(n, grid.ranks, s), chunk = rows.count * 5 * n
            var i = receive(from: s, bytes: planes.count * chunk * 8)
            for k in planes {
                (to.u + 5 * to.box.at(0, rows.lowerBound, k)).update(from: i, count: chunk)
                i += chunk
            }
        }
        mailbox.finishTurn()
    }
}
