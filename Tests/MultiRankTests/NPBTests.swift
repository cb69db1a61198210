import XCTest

/// Every NPB kernel (and LU, BT, SP) verifies at class S on 1, 2 and 4 ranks (BT and SP: 1 and
/// 4, their square counts), over shared memory and TCP, and at 4 ranks with every adaptive
/// protocol on (broadcast is off by default).
final class NPBTests: XCTestCase {
    private func verify(_ kernel: String, rankCounts: [Int] = [1, 2, 4], file: StaticString = #filePath,
                        line: UInt = #line) {
        let runs = [(1, [String: String]()), (2, [:]), (4, [:]), (4, ["JIA_BROADCAST": "on"])]
            .filter { rankCounts.contains($0.0) }
        for network in MPIRun.Network.allCases {
            for (ranks, environment) in runs {
                let result = MPIRun.run("npb", [kernel, "--class", "S"], ranks: ranks, network: network,
                                        environment: environment, timeout: 300)
                let label = "npb \(kernel) class S at np \(ranks) over \(network.rawValue) \(environment)"
                XCTAssertFalse(result.timedOut, "\(label) hung:\n\(result.output)", file: file, line: line)
                XCTAssertEqual(result.status, 0, "\(label) failed:\n\(result.output)", file: file, line: line)
                XCTAssertTrue(result.output.range(of: #"Verification\s+=\s+SUCCESSFUL"#, options: .regularExpression) != nil,
                              "\(label) did not verify:\n\(result.output)", file: file, line: line)
            }
        }
    }

    func testEP() { verify("ep") }
    func testIS() { verify("is") }
    func testCG() { verify("cg") }
    func testMG() { verify("mg") }
    func testFT() { verify("ft") }
    func testLU() { verify("lu") }
    func testBT() { verify("bt", rankCounts: [1, 4]) }
    func testSP() { verify("sp", rankCounts: [1, 4]) }

    /// BT and SP refuse a rank count that is not a square, on every rank.
    func testBTAndSPNeedASquareRankCount() {
        for kernel in ["bt", "sp"] {
            let result = MPIRun.run("npb", [kernel, "--class", "S"], ranks: 2, network: .sharedMemory, timeout: 120)
            XCTAssertNotEqual(result.status, 0, "npb \(kernel) at 2 ranks should be refused:\n\(result.output)")
            for rank in 0..<2 {
                XCTAssertTrue(result.output.contains("npb: error (rank \(rank) of 2): \(kernel) needs a square number "
                    + "of processes (1, 4, 9, ...); got 2"), result.output)
            }
        }
    }

    /// CG with 4 threads in each rank (its exchange reads shared pages from all of them at
    /// once) verifies at 1, 2 and 4 ranks, on the default transport and on tcp.
    func testCGWithThreadsInsideEachRank() {
        for (ranks, arguments) in [(1, [String]()), (2, []), (4, []), (2, ["--jia-transport=tcp"]),
                                   (4, ["--jia-transport=tcp", "--jia-cache-pages=64"])] {
            let result = MPIRun.run("npb", ["cg", "--class", "S", "--threads", "4"] + arguments, ranks: ranks,
                                    network: .sharedMemory, timeout: 300)
            let label = "npb cg class S --threads 4 at np \(ranks) \(arguments)"
            XCTAssertEqual(result.status, 0, "\(label) failed:\n\(result.output)")
            XCTAssertTrue(result.output.range(of: #"Verification\s+=\s+SUCCESSFUL"#, options: .regularExpression) != nil,
                          "\(label) did not verify:\n\(result.output)")
        }
        let refused = MPIRun.run("npb", ["mg", "--class", "S", "--threads", "2"], ranks: 2, network: .sharedMemory,
                                 timeout: 120)
        XCTAssertNotEqual(refused.status, 0, refused.output)
        XCTAssertTrue(refused.output.contains("--threads applies to cg only"), refused.output)
    }

    /// LU with a fixed number of k-planes per wavefront step (one, and more than a class S
    /// sweep has in the last block) verifies at 2 and 4 ranks; --planes elsewhere is refused.
    func testLUWithPlanesPerStep() {
        for (ranks, planes) in [(2, "1"), (2, "8"), (4, "1"), (4, "3")] {
            let result = MPIRun.run("npb", ["lu", "--class", "S", "--planes", planes], ranks: ranks,
                                    network: .sharedMemory, timeout: 300)
            let label = "npb lu class S --planes \(planes) at np \(ranks)"
            XCTAssertEqual(result.status, 0, "\(label) failed:\n\(result.output)")
            XCTAssertTrue(result.output.range(of: #"Verification\s+=\s+SUCCESSFUL"#, options: .regularExpression) != nil,
                          "\(label) did not verify:\n\(result.output)")
        }
        for arguments in [["mg", "--class", "S", "--planes", "2"], ["lu", "--class", "S", "--planes", "9"]] {
            let refused = MPIRun.run("npb", arguments, ranks: 2, network: .sharedMemory, timeout: 120)
            XCTAssertNotEqual(refused.status, 0, refused.output)
            XCTAssertTrue(refused.output.contains("--planes"), refused.output)
        }
    }

    func testBadArgumentsGetAUsageError() {
        for arguments in [["xx", "--class", "S"], ["cg", "--class", "Q"]] {
            let result = MPIRun.run("npb", arguments, ranks: 2, network: .sharedMemory, timeout: 120)
            XCTAssertNotEqual(result.status, 0, "npb \(arguments) should fail:\n\(result.output)")
        }
        let result = MPIRun.run("npb", ["cg", "--class", "S"], ranks: 3, network: .sharedMemory, timeout: 120)
        XCTAssertNotEqual(result.status, 0, "npb cg at 3 ranks should be refused:\n\(result.output)")
        XCTAssertTrue(result.output.contains("power-of-two"), result.output)
    }
}
