import Foundation
import XCTest

/// Statistics counted exactly for a known access pattern (dsm-check statistics), the JSON
/// file, and the settings file's errors stopping every rank.
final class StatisticsConfigTests: XCTestCase {
    private func temporary(_ name: String) -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("swiftdsm-\(getpid())-\(name)").path
    }

    func testCountersMatchAKnownAccessPatternExactly() {
        for (network, arguments, ranks) in [(MPIRun.Network.sharedMemory, [String](), [1, 2, 4]),
                                            (.sharedMemory, ["--jia-transport=rma"], [3]),
                                            (.tcp, [], [2, 3])] {
            for np in ranks {
                let result = MPIRun.run("dsm-check", ["statistics", "--jia-statistics=on"] + arguments, ranks: np,
                                        network: network)
                let label = "statistics at np \(np) over \(network.rawValue) \(arguments)"
                XCTAssertEqual(result.status, 0, "\(label):\n\(result.output)")
                XCTAssertTrue(result.output.contains("dsm-check statistics: PASS"), "\(label):\n\(result.output)")
                // One table, from rank 0, with the percentiles.
                XCTAssertEqual(result.output.components(separatedBy: "SwiftDSM statistics (").count, 2, result.output)
                XCTAssertTrue(result.output.contains("lockLatency"), result.output)
            }
        }
    }

    func testStatisticsJSONHasEveryRank() throws {
        let path = temporary("statistics.json")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let result = MPIRun.run("dsm-check", ["statistics", "--jia-prefetch-pages=2"], ranks: 3, network: .sharedMemory,
                                environment: ["JIA_STATISTICS_JSON": path])
        XCTAssertEqual(result.status, 0, result.output)
        XCTAssertFalse(result.output.contains("SwiftDSM statistics ("), "the table is off by default:\n\(result.output)")
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        let ranks = try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [[String: Any]])
        XCTAssertEqual(ranks.map { $0["rank"] as? Int }, [0, 1, 2])
        for rank in ranks {
            let counters = try XCTUnwrap(rank["counters"] as? [String: Int])
            let reader = (rank["rank"] as? Int) != 0
            XCTAssertEqual(counters["readFaults"], reader ? 11 : 0)
            XCTAssertEqual(counters["pagesFetched"], reader ? 21 : 0)
            XCTAssertEqual(counters["lockAcquires"], 12)
            XCTAssertEqual(counters["barriers"], 3)
            let histograms = try XCTUnwrap(rank["histograms"] as? [String: [String: Any]])
            XCTAssertEqual(histograms["lockLatency"]?["count"] as? Int, 12)
        }
    }

    func testBadSettingsFileStopsEveryRankWithFileAndLine() throws {
        let path = temporary("bad.yaml")
        defer { try? FileManager.default.removeItem(atPath: path) }
        for (text, expected) in [("statistics: on\ncache-pages: 0\n", "line 2 (cache-pages: 0): cache-pages must be an integer from 1 to 16777216"),
                                 ("statistics: on\ntransport: [shm\n", "YAML syntax error"),
                                 ("cache-size: 4\n", "line 1: unknown setting cache-size")] {
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            let result = MPIRun.run("dsm-check", ["counter"], ranks: 2, network: .sharedMemory,
                                    environment: ["JIA_CONFIG": path], timeout: 60)
            XCTAssertFalse(result.timedOut, result.output)
            XCTAssertNotEqual(result.status, 0, result.output)
            for rank in 0..<2 {
                XCTAssertTrue(result.output.contains("SwiftDSM error on rank \(rank): file \(path) line"), result.output)
            }
            XCTAssertTrue(result.output.contains(expected), "\(expected):\n\(result.output)")
        }
    }

    func testPrintConfigShowsValuesAndSources() throws {
        let path = temporary("print.yaml")
        defer { try? FileManager.default.removeItem(atPath: path) }
        try "cache-pages: 512\nloadbal: on\n".write(toFile: path, atomically: true, encoding: .utf8)
        let result = MPIRun.run("dsm-check", ["barrier", "--jia-print-config=on", "--jia-max-locks=77"], ranks: 2,
                                network: .sharedMemory, environment: ["JIA_CONFIG": path, "JIA_PREFETCH_PAGES": "3"])
        XCTAssertEqual(result.status, 0, result.output)
        let lines = result.output.split(separator: "\n").map(String.init)
        func line(_ setting: String) -> String { lines.first { $0.hasPrefix(setting + " ") } ?? "" }
        XCTAssertTrue(line("cache-pages").contains("512"), result.output)
        XCTAssertTrue(line("cache-pages").hasSuffix("file \(path) line 1 (cache-pages: 512)"), result.output)
        XCTAssertTrue(line("prefetch-pages").hasSuffix("environment variable JIA_PREFETCH_PAGES=3"), result.output)
        XCTAssertTrue(line("max-locks").hasSuffix("flag --jia-max-locks=77"), result.output)
        XCTAssertTrue(line("page-size").hasSuffix("default"), result.output)
        XCTAssertEqual(lines.filter { $0.hasPrefix("cache-pages ") }.count, 1, "rank 0 alone prints:\n\(result.output)")
    }
}
