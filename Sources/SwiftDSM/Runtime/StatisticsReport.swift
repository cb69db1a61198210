import CMPI
import Foundation

/// What jia_exit reports (collective): rank 0 gathers every rank's counters and latency
/// histograms, prints one table (each counter's total, smallest and largest per-rank value
/// with the rank; for times the largest is the slowest rank) and the latency percentiles
/// over all ranks, and writes the raw per-rank figures as one JSON array.
enum StatisticsReport {
    /// `lanes`: what carries the transport's traffic where it says (UCX's lanes), for the table.
    static func report(_ statistics: Statistics, elapsed: UInt64, cluster: Cluster, transport: String,
                       lanes: String = "", table: Bool, jsonPath: String) {
        let values = statistics.flattened + [elapsed]
        let width = values.count
        var all = [UInt64](repeating: 0, count: cluster.rank == 0 ? width * cluster.size : 1)
        values.withUnsafeBufferPointer { input in
            all.withUnsafeMutableBufferPointer { output in
                mpiCheck(MPI_Gather(input.baseAddress, Int32(width), cmpi_uint64(), output.baseAddress,
                                    Int32(width), cmpi_uint64(), 0, cluster.syncComm), "MPI_Gather (statistics)")
            }
        }
        guard cluster.rank == 0 else { return }
        let ranks = (0..<cluster.size).map { rank in
            Statistics(flattened: all[(rank * width)..<(rank * width + width - 1)])
        }
        let elapsedByRank = (0..<cluster.size).map { all[$0 * width + width - 1] }
        let shown = lanes.isEmpty ? transport : "\(transport) over \(lanes)"
        if table { Swift.print(text(ranks, elapsed: elapsedByRank, transport: shown), terminator: "") }
        if !jsonPath.isEmpty {
            let json = self.json(ranks, elapsed: elapsedByRank, transport: transport, lanes: lanes)
            do {
                try json.write(toFile: jsonPath, atomically: true, encoding: .utf8)
            } catch {
                DSMLog.logger.error("statistics-json: cannot write \(jsonPath): \(error)")
                Fatal.printLine("SwiftDSM: statistics-json: cannot write \(jsonPath): \(error)")
            }
        }
    }

    /// The table rank 0 prints.
    static func text(_ ranks: [Statistics], elapsed: [UInt64], transport: String) -> String {
        var text = "SwiftDSM statistics (\(ranks.count) ranks, transport \(transport), "
            + "slowest rank \(format(elapsed.max() ?? 0, isTime: true)) ms)\n"
        text += pad("counter", 28) + pad("total", 16) + pad("min (rank)", 20) + pad("max (rank)", 20) + "\n"
        for counter in Statistics.counters {
            let column = ranks.map { $0[keyPath: counter.key] }
            let total = column.reduce(0, &+)
            let low = column.enumerated().min { $0.element < $1.element }!
            let high = column.enumerated().max { $0.element < $1.element }!
            let name = counter.isTime
                ? String(counter.name.dropLast("Nanoseconds".count)) + " time (ms)" : counter.name
            text += pad(name, 28) + pad(format(total, isTime: counter.isTime), 16)
                + pad("\(format(low.element, isTime: counter.isTime)) (\(low.offset))", 20)
                + pad("\(format(high.element, isTime: counter.isTime)) (\(high.offset))", 20)
                + (counter.isTime ? "slowest: rank \(high.offset)" : "") + "\n"
        }
        text += pad("latency (us, all ranks)", 28) + pad("count", 12) + pad("p50", 10) + pad("p90", 10)
            + pad("p99", 10) + pad("max", 10) + "\n"
        for histogram in Statistics.histograms {
            var merged = LatencyHistogram()
            for rank in ranks { merged.add(rank[keyPath: histogram.key]) }
            text += pad(histogram.name, 28) + pad("\(merged.count)", 12)
            for fraction in [0.5, 0.9, 0.99] { text += pad(microseconds(merged.percentile(fraction)), 10) }
            text += pad(microseconds(merged.maximum), 10) + "\n"
        }
        return text
    }

    /// One JSON array, one object per rank: counters by name, and each histogram's count,
    /// percentiles and non-empty buckets ([lowest ns, highest ns, count]).
    static func json(_ ranks: [Statistics], elapsed: [UInt64], transport: String, lanes: String = "") -> String {
        var objects: [String] = []
        for (rank, statistics) in ranks.enumerated() {
            var fields = ["\"rank\": \(rank)", "\"ranks\": \(ranks.count)", "\"transport\": \"\(transport)\"",
                          "\"elapsedNanoseconds\": \(elapsed[rank])"]
            if !lanes.isEmpty { fields.append("\"lanes\": \"\(lanes)\"") }
            let counters = Statistics.counters.map { "\"\($0.name)\": \(statistics[keyPath: $0.key])" }
            fields.append("\"counters\": {" + counters.joined(separator: ", ") + "}")
            var histograms: [String] = []
            for histogram in Statistics.histograms {
                let value = statistics[keyPath: histogram.key]
                let buckets = value.bucketArray.enumerated().filter { $0.element > 0 }.map {
                    "[\(LatencyHistogram.lowerBound(ofBucket: $0.offset)), "
                        + "\(LatencyHistogram.upperBound(ofBucket: $0.offset)), \($0.element)]"
                }
                histograms.append("\"\(histogram.name)\": {\"count\": \(value.count), "
                    + "\"p50\": \(value.percentile(0.5)), \"p90\": \(value.percentile(0.9)), "
                    + "\"p99\": \(value.percentile(0.99)), \"max\": \(value.maximum), "
                    + "\"buckets\": [" + buckets.joined(separator: ", ") + "]}")
            }
            fields.append("\"histograms\": {" + histograms.joined(separator: ", ") + "}")
            objects.append("  {" + fields.joined(separator: ", ") + "}")
        }
        return "[\n" + objects.joined(separator: ",\n") + "\n]\n"
    }

    private static func format(_ value: UInt64, isTime: Bool) -> String {
        isTime ? String(format: "%.3f", Double(value) / 1e6) : "\(value)"
    }

    private static func microseconds(_ nanoseconds: UInt64) -> String {
        String(format: "%.1f", Double(nanoseconds) / 1e3)
    }

    private static func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text + " " : text + String(repeating: " ", count: width - text.count)
    }
}
