import Foundation
import SwiftDSM

/// The marker a capture on the wire looks for: rank 0 writes it into a page it is home
/// of, at offsets no TCP segment boundary can split all of, and every other rank reads it.
let captureMarker = Array("SWIFTDSM-CAPTURE-MARKER-7f3a9c".utf8)

func markerScenario(_ dsm: DSM) {
    let page = dsm.allocate(UInt8.self, count: 4096, homes: .onRank(0))
    let offsets = [64, 1000, 2100, 3300]
    if dsm.rank == 0 {
        for offset in offsets {
            for (index, byte) in captureMarker.enumerated() { page[offset + index] = byte }
        }
    }
    dsm.barrier()
    for offset in offsets {
        let read = (0..<captureMarker.count).map { page[offset + $0] }
        Check.expect(read == captureMarker, "the marker at offset \(offset) reads back as written")
    }
    dsm.barrier()
}

/// The last rank writes a word of a page homed on rank 0, then has the frame of its diff
/// altered after sealing, as if on the wire: rank 0 must refuse it, stop the job, and show
/// that the word at its home never changed.
func tamperedDiffScenario(_ dsm: DSM) {
    let words = dsm.allocate(UInt64.self, count: 512, homes: .onRank(0))
    if dsm.rank == 0 {  // before the barrier: the tampered frame may come while rank 0 is still leaving it
        let home = UnsafeSendable(words.base)
        dsm.runtime.whenStoppingForTesting {
            FileHandle.standardError.write(Data("rank 0: home word after the tampered frame: \(home.value[0])\n".utf8))
        }
    }
    dsm.barrier()
    if dsm.rank == dsm.rankCount - 1 {
        words[0] = 0x5EC7
        guard dsm.runtime.tamperWithNextRequestForTesting(to: 0) else {
            FileHandle.standardError.write(Data("error-tampered-diff needs the tcp or message transport with security\n".utf8))
            exit(2)
        }
    }
    dsm.barrier()
    for _ in 0..<2000 { usleep(10_000) }
}

/// The last rank writes a word of a page homed on rank 0, then has its barrier notices
/// altered after sealing, as if on the way: every rank must refuse them, naming that rank,
/// before any copy is invalidated or any home moves.
func tamperedNoticesScenario(_ dsm: DSM) {
    let words = dsm.allocate(UInt64.self, count: 512, homes: .onRank(0))
    dsm.barrier()
    if dsm.rank == dsm.rankCount - 1 {
        words[0] = 0x5EC7
        guard dsm.runtime.tamperWithNextNoticesForTesting() else {
            FileHandle.standardError.write(Data("error-tampered-notices needs security\n".utf8))
            exit(2)
        }
    }
    dsm.barrier()
    FileHandle.standardError.write(Data("rank \(dsm.rank): passed the barrier with tampered notices\n".utf8))
    for _ in 0..<2000 { usleep(10_000) }
}

struct UnsafeSendable<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
