// JIAJIA's DOSTAT table, printed by rank 0 at jia_exit.
import CMPI
import Collectives
@preconcurrency import Glibc
import Foundation
import SwiftDSM

/// jia_startstat / jia_stopstat and the table jia_exit prints on rank 0 (with
/// --jia-statistics=on or JIA_STATISTICS=on): JIAJIA's DOSTAT counters, as far as
/// SwiftDSM counts them, over the counting interval. The counters are the core's
/// (DSMRuntime.startStatistics/stopStatistics bracket them); only jia_send/jia_recv's
/// message counts are the C face's own. The core's table is not printed for C programs.
enum JIAStatistics {
    nonisolated(unsafe) static var frozen: Messages.Counts?

    static func microseconds() -> UInt32 {
        var now = timeval()
        gettimeofday(&now, nil)
        return UInt32(truncatingIfNeeded: Int(now.tv_sec) &* 1_000_000 &+ Int(now.tv_usec))
    }

    static func start() {
        runtime.startStatistics()
        Messages.counts = Messages.Counts()
        frozen = nil
    }

    static func stop() {
        guard frozen == nil else { return }
        runtime.stopStatistics()
        frozen = Messages.counts
    }

    static func printTable() {
        let runtime = runtime
        guard runtime.settings.statistics else { return }
        let statistics = runtime.statistics
        let counts = frozen ?? Messages.counts
        let rows: [(String, UInt64)] = [
            ("Msgs sent (jia_send)", counts.sent),
            ("Msg bytes sent", counts.bytesSent),
            ("Msgs received (jia_recv)", counts.received),
            ("Msg bytes received", counts.bytesReceived),
            ("SEGVs local (home pages)", statistics.homeWriteFaults),
            ("SEGVs remote (cached pages)", statistics.readFaults + statistics.writeFaults),
            ("  of them read faults", statistics.readFaults),
            ("  of them write faults", statistics.writeFaults),
            ("Requests served (SIGIOs)", statistics.requestsServed),
            ("Barriers", statistics.barriers),
            ("Barrier time (ms)", statistics.barrierWaitNanoseconds / 1_000_000),
            ("Locks", statistics.lockAcquires),
            ("Lock time (ms)", statistics.lockWaitNanoseconds / 1_000_000),
            ("Condition waits", statistics.conditionWaits),
            ("Getpages (fetch operations)", statistics.fetchOperations),
            ("Pages fetched", statistics.pagesFetched),
            ("Getpage time (ms)", statistics.fetchNanoseconds / 1_000_000),
            ("MWdiffs (page diffs sent)", statistics.diffsSent),
            ("Diff bytes sent", statistics.diffBytesSent),
            ("Invalidations", statistics.invalidations),
            ("Replaced pages", statistics.evictions),
            ("Replaced RW pages", statistics.dirtyEvictions),
            ("Pages migrated in", statistics.pagesMigratedIn),
            ("Pages migrated out", statistics.pagesMigratedOut),
            ("Refetch bytes saved (WVEC)", statistics.refetchBytesSaved),
            ("Pages broadcast (as home)", statistics.pagesBroadcastOut),
            ("Pages from broadcasts", statistics.pagesBroadcastIn),
            ("Lock releases", statistics.lockReleases),
            ("Condition wait time (ms)", statistics.conditionWaitNanoseconds / 1_000_000),
            ("DSM msgs sent", statistics.messagesSent),
            ("DSM msg bytes sent", statistics.messageBytesSent),
            ("DSM msgs received", statistics.messagesReceived),
            ("DSM msg bytes received", statistics.messageBytesReceived),
            ("RMA operations", statistics.rmaOperations),
            ("mmap/mprotect calls", statistics.protectionCalls),
            ("mmap/mprotect time (ms)", statistics.protectionNanoseconds / 1_000_000),
        ]
        let values = rows.map { $0.1 }
        let hosts = Int(cachedHosts)
        let all = [UInt64](unsafeUninitializedCapacity: values.count * hosts) { buffer, count in
            values.withUnsafeBufferPointer { input in
                Collectives.gather(input.baseAddress!, count: values.count, into: buffer.baseAddress, root: 0)
            }
            count = values.count * hosts
        }
        guard cachedPid == 0 else { return }
        var text = "JIAJIA statistics (\(hosts) ranks, counted \(frozen == nil ? "from jia_startstat/jia_init to jia_exit" : "from jia_startstat to jia_stopstat"))\n"
        text += pad("", 30) + pad("total", 14)
        let shown = min(hosts, 8)
        for host in 0..<shown { text += pad("host \(host)", 12) }
        text += "\n"
        for (index, row) in rows.enumerated() {
            var total: UInt64 = 0
            for host in 0..<hosts { total &+= all[host * values.count + index] }
            text += pad(row.0, 30) + pad("\(total)", 14)
            for host in 0..<shown { text += pad("\(all[host * values.count + index])", 12) }
            text += "\n"
        }
        print(text, terminator: "")
        fflush(nil)
    }

    private static func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text + " " : text + String(repeating: " ", count: width - text.count)
    }
}
