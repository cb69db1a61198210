import Foundation
import XCTest

/// The ucx transport on one host (UCX's shared-memory transports, and its tcp transport
/// when asked): the JIAJIA C programs and NPB class S give their 1-rank results, the log
/// names the UCX lanes that carry the traffic, and mistakes stop every rank with UCX's
/// reason. Across hosts: CrossHostTests.testTheUCXTransportAcrossHosts.
final class UCXTests: XCTestCase {
    private static let ucx = ["JIA_TRANSPORT": "ucx"]

    func testJIAJIAProgramsEqualTheirOneRankRun() {
        for (name, prefix) in [("sor", "sor "), ("is", "is "), ("lu", "lu "), ("tsp", "tsp ")] {
            guard let binary = JIAJIATests.compile("Examples/C/\(name).c") else { return }
            let reference = MPIRun.run(path: binary, [], ranks: 1, network: .sharedMemory, timeout: 120)
            let expected = reference.output.split(separator: "\n").filter { $0.hasPrefix(prefix) }
            XCTAssertEqual(expected.count, 1, "\(name) at np 1:\n\(reference.output)")
            for (ranks, transports) in [(2, "auto"), (4, "auto"), (2, "tcp")] {
                var environment = Self.ucx
                environment["JIA_UCX_TRANSPORTS"] = transports
                let run = MPIRun.run(path: binary, [], ranks: ranks, network: .sharedMemory, environment: environment,
                                     timeout: 120)
                let label = "\(name) at np \(ranks) on ucx (UCX transports \(transports))"
                XCTAssertEqual(run.status, 0, "\(label):\n\(run.output)")
                XCTAssertEqual(run.output.split(separator: "\n").filter { $0.hasPrefix(prefix) }, expected,
                               "\(label) differs from the 1-rank run:\n\(run.output)")
            }
        }
    }

    /// Fetches as UCP gets (what RDMA lanes use), which here UCX emulates: the coherence
    /// scenarios hold on that path too (the suite runs the request path, auto's choice here).
    func testFetchesByGet() {
        for scenario in ["counter", "scope", "multiwriter", "stress", "threads", "adaptive", "read"] {
            for ranks in [2, 4] {
                let cache = scenario == "threads" ? ["--jia-cache-pages=16"] : []
                let result = MPIRun.run("dsm-check", [scenario, "--jia-transport=ucx", "--jia-ucx-fetch=get"] + cache,
                                        ranks: ranks, network: .sharedMemory)
                let label = "\(scenario) at np \(ranks) on ucx with gets"
                XCTAssertFalse(result.timedOut, "\(label) hung:\n\(result.output)")
                XCTAssertTrue(result.output.contains("dsm-check \(scenario): PASS (\(ranks) ranks, transport ucx)"),
                              "\(label):\n\(result.output)")
            }
        }
    }

    func testNPBClassSVerifies() {
        for kernel in ["ep", "is", "cg", "mg", "ft", "lu"] {
            for ranks in [2, 4] {
                let result = MPIRun.run("npb", [kernel, "--class", "S"], ranks: ranks, network: .sharedMemory,
                                        environment: Self.ucx, timeout: 300)
                let label = "npb \(kernel) class S at np \(ranks) on ucx"
                XCTAssertEqual(result.status, 0, "\(label):\n\(result.output)")
                XCTAssertTrue(result.output.range(of: #"Verification\s+=\s+SUCCESSFUL"#, options: .regularExpression) != nil,
                              "\(label) did not verify:\n\(result.output)")
            }
        }
    }

    /// The lanes UCX chose are in the log (info), in --jia-print-config's output and in the
    /// statistics table's head: its
    /// shared-memory transports by default on one host, its tcp transport when asked.
    func testTheLogNamesTheUCXLanes() {
        for (transports, lane) in [("auto", "/memory"), ("tcp", "tcp/")] {
            let result = MPIRun.run("dsm-check", ["counter", "--jia-transport=ucx", "--jia-ucx-transports=\(transports)",
                                                  "--jia-log-level=info", "--jia-print-config=on", "--jia-statistics=on"],
                                    ranks: 2, network: .sharedMemory)
            XCTAssertEqual(result.status, 0, result.output)
            XCTAssertTrue(result.output.contains("dsm-check counter: PASS (2 ranks, transport ucx)"), result.output)
            let laneLines = result.output.split(separator: "\n").filter { $0.contains("lane[") }
            XCTAssertTrue(laneLines.contains { $0.contains(lane) }, "UCX transports \(transports) should use \(lane):\n"
                          + result.output)
            XCTAssertTrue(result.output.contains("UCX lanes to rank 1"), result.output)
            // On one host the messages go through MPI's shared memory (faster here for locks).
            XCTAssertTrue(result.output.contains("transport ucx, messages on mpi"), result.output)
            XCTAssertTrue(result.output.contains("UCX lanes from rank 0 to rank 1"), result.output)
            let json = NSTemporaryDirectory() + "swiftdsm-ucx-lanes-\(getpid()).json"
            defer { try? FileManager.default.removeItem(atPath: json) }
            let withJSON = MPIRun.run("dsm-check", ["counter", "--jia-transport=ucx", "--jia-ucx-transports=\(transports)",
                                                    "--jia-statistics-json=\(json)"], ranks: 2, network: .sharedMemory)
            XCTAssertEqual(withJSON.status, 0, withJSON.output)
            let written = (try? String(contentsOfFile: json, encoding: .utf8)) ?? ""
            XCTAssertTrue(written.range(of: "\"lanes\": \"[^\"]*\(lane)", options: .regularExpression) != nil,
                          "the statistics JSON should name the lanes: \(written.prefix(300))")
            XCTAssertTrue(result.output.range(of: "SwiftDSM statistics \\(2 ranks, transport ucx over [^)]*\(lane)",
                                              options: .regularExpression) != nil,
                          "the statistics should name the lanes:\n" + result.output)
        }
    }

    /// The messages as UCX active messages over shared memory (ucx-messages ucx; auto takes
    /// MPI's here), and as tcp lanes on one host: the scenarios that message most.
    func testEveryMessageChannelUnderUCX() {
        let scenarios = [("ucx", ["counter", "stress", "cv", "handoff", "deferred", "threads"]), ("tcp", ["counter", "cv"])]
        for (channel, scenarios) in scenarios {
            for scenario in scenarios {
                for ranks in [2, 4] {
                    let result = MPIRun.run("dsm-check", [scenario, "--jia-transport=ucx", "--jia-ucx-messages=\(channel)",
                                                          "--jia-cache-pages=16", "--jia-log-level=info"],
                                            ranks: ranks, network: .sharedMemory)
                    let label = "\(scenario) at np \(ranks) on ucx with messages on \(channel)"
                    XCTAssertFalse(result.timedOut, "\(label) hung:\n\(result.output)")
                    XCTAssertEqual(result.status, 0, "\(label):\n\(result.output)")
                    XCTAssertTrue(result.output.contains("dsm-check \(scenario): PASS (\(ranks) ranks, transport ucx)"),
                                  "\(label):\n\(result.output)")
                    XCTAssertTrue(result.output.contains("transport ucx, messages on \(channel)"), "\(label):\n\(result.output)")
                }
            }
        }
    }

    /// rc needs an RDMA device: every rank stops with UCX's reason and the setting to change.
    func testAUCXTransportThatCannotRunHereStopsEveryRank() {
        let result = MPIRun.run("dsm-check", ["counter", "--jia-transport=ucx", "--jia-ucx-transports=rc"],
                                ranks: 2, network: .sharedMemory, timeout: 60)
        XCTAssertFalse(result.timedOut, result.output)
        XCTAssertNotEqual(result.status, 0, result.output)
        for rank in 0..<2 {
            XCTAssertTrue(result.output.contains("SwiftDSM error on rank \(rank): transport ucx could not open UCX with "
                + "ucx-transports rc: UCX said ucp_init: No such device; set ucx-transports (JIA_UCX_TRANSPORTS)"),
                          result.output)
        }
    }

    /// A fetch request outside the shared range stops every rank, the home naming the sender.
    func testAMalformedFetchRequestStopsEveryRank() {
        for ranks in [2, 4] {
            let result = MPIRun.run("dsm-check", ["error-malformed-ucx-fetch", "--jia-transport=ucx"], ranks: ranks,
                                    network: .sharedMemory, timeout: 60)
            XCTAssertFalse(result.timedOut, result.output)
            XCTAssertNotEqual(result.status, 0, result.output)
            XCTAssertTrue(result.output.range(of: "SwiftDSM error on rank \(ranks - 1): rank 0 on host [^ ]+ sent a page fetch "
                + "outside the shared range or not of whole pages over UCX; nothing of it was applied",
                                              options: .regularExpression) != nil, result.output)
            for rank in 0..<ranks {
                XCTAssertTrue(result.output.contains("SwiftDSM error on rank \(rank):"), result.output)
            }
        }
    }

    /// Security seals frames; UCX's gets and puts have none: refused on every rank.
    func testSecurityIsRefusedOnUCX() {
        let result = MPIRun.run("dsm-check", ["counter", "--jia-transport=ucx", "--jia-security=authenticate",
                                              "--jia-key-file=/nonexistent"], ranks: 2, network: .sharedMemory,
                                timeout: 60)
        XCTAssertNotEqual(result.status, 0, result.output)
        for rank in 0..<2 {
            XCTAssertTrue(result.output.contains("SwiftDSM error on rank \(rank): security authenticate protects the "
                + "frames of the tcp and message transports, but transport ucx moves pages with UCX's one-sided gets "
                + "and puts"),
                          result.output)
        }
    }
}
