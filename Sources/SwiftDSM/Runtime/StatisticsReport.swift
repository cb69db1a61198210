import CMPI
import Glibc

/// The statistics table rank 0 prints at exit: each counter's total over ranks and its
/// smallest and largest per-rank value.
enum StatisticsReport {
    static func print(_ statistics: Statistics, cluster: Cluster, transport: String) {
        let rows: [(String, UInt64)] = [
            ("read faults", statistics.readFaults),
            ("write faults (cached pages)", statistics.writeFaults),
            ("write faults (home pages)", statistics.homeWriteFaults),
            ("pages fetched", statistics.pagesFetched),
            ("fetch operations", statistics.fetchOperations),
            ("fetch time (us)", statistics.fetchNanoseconds / 1000),
            ("diffs sent (pages)", statistics.diffsSent),
            ("diff bytes sent", statistics.diffBytesSent),
            ("invalidations", statistics.invalidations),
            ("evictions", statistics.evictions),
            ("dirty evictions", statistics.dirtyEvictions),
            ("lock acquires", statistics.lockAcquires),
            ("lock wait (us)", statistics.lockWaitNanoseconds / 1000),
            ("barriers", statistics.barriers),
            ("barrier wait (us)", statistics.barrierWaitNanoseconds / 1000),
            ("condition waits", statistics.conditionWaits),
            ("mmap/mprotect calls", statistics.protectionCalls),
            ("requests served", statistics.requestsServed),
        ]
        var values = rows.map { $0.1 }
        var sums = values, minima = values, maxima = values
        let count = Int32(values.count)
        MPI_Reduce(&values, &sums, count, cmpi_uint64(), cmpi_op_sum(), 0, cluster.syncComm)
        MPI_Reduce(&values, &minima, count, cmpi_uint64(), cmpi_op_min(), 0, cluster.syncComm)
        MPI_Reduce(&values, &maxima, count, cmpi_uint64(), cmpi_op_max(), 0, cluster.syncComm)
        guard cluster.rank == 0 else { return }
        var text = "SwiftDSM statistics (\(cluster.size) ranks, transport \(transport))\n"
        text += pad("counter", 30) + pad("total", 16) + pad("min rank", 14) + pad("max rank", 14) + "\n"
        for (index, row) in rows.enumerated() {
            text += pad(row.0, 30) + pad("\(sums[index])", 16) + pad("\(minima[index])", 14)
                + pad("\(maxima[index])", 14) + "\n"
        }
        Swift.print(text, terminator: "")
    }

    private static func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text + " " : text + String(repeating: " ", count: width - text.count)
    }
}
