import Foundation
import SwiftDSM

/// One slab of shared memory per rank, homed on that rank, page-aligned, in `buffers`
/// copies used in turn. A rank writes only its own slab (home writes: no fetch, no diff),
/// then after a barrier the others pull what they need from it. Alternating copies means
/// a fast rank writing exchange n+1 can never overwrite what a slow rank is still
/// reading from exchange n: to reuse a copy it must first pass the barrier of exchange
/// n+1, which the slow rank only reaches once done reading.
struct SlabBoard {
    let dsm: DSM
    /// Bytes of each slab, a multiple of the page size.
    let slabBytes: Int
    let bases: [UnsafeMutableRawPointer]

    /// Collective.
    init(_ dsm: DSM, slabBytes: Int, buffers: Int = 2) {
        self.dsm = dsm
        let page = dsm.pageSize
        let rounded = max(1, (slabBytes + page - 1) / page) * page
        self.slabBytes = rounded
        var bases: [UnsafeMutableRawPointer] = []
        for _ in 0..<buffers {
            // .blocked over P equal slabs: exactly one slab per rank, homed on it.
            let array = dsm.allocate(UInt8.self, count: rounded * dsm.rankCount, homes: .blocked)
            bases.append(UnsafeMutableRawPointer(array.base))
        }
        self.bases = bases
    }

    @inline(__always)
    func slab(_ rank: Int, buffer: Int) -> UnsafeMutableRawPointer { bases[buffer] + rank * slabBytes }

    /// Makes `bytes` of this rank's slab writable in one pass (one protection change per
    /// page without a SIGSEGV per page), before it is filled.
    func prepareWrite(_ pointer: UnsafeMutableRawPointer, bytes: Int) {
        guard dsm.rankCount > 1, bytes > 0 else { return }
        dsm.runtime.prepare(UnsafeRawPointer(pointer), length: bytes, forWriting: true)
    }
}

/// All-to-all blocks through shared memory: slab s holds P page-aligned blocks, block d
/// being what rank s sends to rank d. The sender packs each destination's data
/// contiguously into its own slab; after the barrier the receiver reads whole blocks.
struct Mailbox {
    let board: SlabBoard
    let blockBytes: Int
    var turn = 0

    init(_ dsm: DSM, blockBytes: Int) {
        let page = dsm.pageSize
        let rounded = max(1, (blockBytes + page - 1) / page) * page
        self.blockBytes = rounded
        board = SlabBoard(dsm, slabBytes: rounded * dsm.rankCount)
    }

    /// Where this rank writes what it sends to `destination` in the current turn.
    @inline(__always)
    func outbox(to destination: Int) -> UnsafeMutableRawPointer {
        board.slab(board.dsm.rank, buffer: turn) + destination * blockBytes
    }

    /// Where this rank reads what `source` sent it in the current turn (after the barrier).
    @inline(__always)
    func inbox(from source: Int) -> UnsafeMutableRawPointer {
        board.slab(source, buffer: turn) + board.dsm.rank * blockBytes
    }

    /// Copies the first `bytes` of what `source` sent this rank into `destination` (after the
    /// barrier) with `DSM.read`: no faults, no cache slots; across hosts one bulk fetch.
    func receive(from source: Int, bytes: Int, into destination: UnsafeMutableRawPointer) {
        readShared(board.dsm, destination, inbox(from: source), bytes)
    }

    /// The barrier that publishes the outboxes.
    func deliver() {
        board.dsm.barrier()
    }

    /// After the inboxes are read: the next exchange uses the other buffer.
    mutating func finishTurn() { turn ^= 1 }
}

/// Copies `bytes` of another rank's published data out of shared memory without mapping it
/// here (`DSM.read`): for data used once after the barrier that published it.
@inline(__always)
func readShared(_ dsm: DSM, _ destination: UnsafeMutableRawPointer, _ source: UnsafeRawPointer, _ bytes: Int) {
    guard bytes > 0 else { return }
    dsm.read(from: source, byteCount: bytes, into: destination)
}

/// Copies `bytes` out of shared memory, first touching its pages in ascending order so the
/// read faults come in address order and each one prefetches a run of following pages
/// (glibc's memcpy may walk large copies backwards or in interleaved streams, which would
/// make every fault fetch a single page).
@inline(__always)
func pullShared(_ destination: UnsafeMutableRawPointer, _ source: UnsafeRawPointer, _ bytes: Int) {
    guard bytes > 0 else { return }
    touchShared(source, bytes)
    memcpy(destination, source, bytes)
}

/// Reads one byte of every page of [source, source + bytes) in ascending order.
@inline(__always)
func touchShared(_ source: UnsafeRawPointer, _ bytes: Int) {
    guard bytes > 0 else { return }
    let page = 4096
    var sink: UInt8 = 0
    var offset = 0
    while offset < bytes {
        sink &+= source.load(fromByteOffset: offset, as: UInt8.self)
        offset += page
    }
    sink &+= source.load(fromByteOffset: bytes - 1, as: UInt8.self)
    touchSink = sink
}

nonisolated(unsafe) var touchSink: UInt8 = 0
