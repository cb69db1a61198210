import XCTest

/// The Swift examples print a result that must not depend on the number of ranks or on
/// the transport: the run at 2 and 4 ranks must print exactly what the 1-rank run prints.
final class ExampleTests: XCTestCase {
    private func resultLine(_ program: String, _ arguments: [String], ranks: Int, network: MPIRun.Network,
                            prefix: String) -> String? {
        let result = MPIRun.run(program, arguments, ranks: ranks, network: network)
        XCTAssertEqual(result.status, 0, "\(program) at np \(ranks) over \(network.rawValue):\n\(result.output)")
        return result.output.split(separator: "\n").first { $0.hasPrefix(prefix) }.map(String.init)
    }

    private func check(_ program: String, _ arguments: [String], prefix: String) {
        let reference = resultLine(program, arguments, ranks: 1, network: .sharedMemory, prefix: prefix)
        XCTAssertNotNil(reference, "\(program) printed no '\(prefix)' line")
        for network in MPIRun.Network.allCases {
            for ranks in [2, 4] {
                XCTAssertEqual(resultLine(program, arguments, ranks: ranks, network: network, prefix: prefix), reference,
                               "\(program) at np \(ranks) over \(network.rawValue) differs from the 1-rank run")
            }
        }
    }

    func testPiEqualsOneRankRun() { check("example-pi", ["2000000"], prefix: "pi = ") }
    func testMatrixMultiplyEqualsOneRankRun() { check("example-matmul", ["200"], prefix: "matmul checksum = ") }
    func testRedBlackSOREqualsOneRankRun() { check("example-sor", ["130", "20"], prefix: "sor checksum = ") }

    /// Snapshot reads on PageRank: the program checks itself (the strict run equals the
    /// sequential power method bit for bit with no stale read; both runs reach the fixed
    /// point within the tolerance; snapshot reads move fewer pages at 2 and 4 ranks, take
    /// fewer read faults, and refresh their expired copies together: a gathered fetch on
    /// every transport).
    func testPageRankWithSnapshotReads() {
        for (ranks, arguments) in [(1, [String]()), (2, []), (4, []), (2, ["--jia-transport=tcp"]),
                                   (2, ["--jia-transport=rma"]), (2, ["--jia-transport=ucx"]),
                                   (4, ["--jia-transport=message", "--jia-broadcast=off"])] {
            let result = MPIRun.run("example-pagerank", ["50000", "2"] + arguments, ranks: ranks,
                                    network: arguments.contains("--jia-transport=message") ? .tcp : .sharedMemory)
            let label = "example-pagerank at np \(ranks) \(arguments)"
            XCTAssertEqual(result.status, 0, "\(label):\n\(result.output)")
            XCTAssertTrue(result.output.contains("pagerank: PASS"), "\(label):\n\(result.output)")
        }
    }
}
