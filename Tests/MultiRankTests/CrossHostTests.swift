import Foundation
import XCTest

/// The multi-rank tests across hosts: ranks in network namespaces of this machine
/// (`scripts/testbed`, each with its own hostname and address on a bridge), so MPI and
/// SwiftDSM talk over kernel TCP and never over shared memory; `auto` then takes the
/// native tcp transport, and the core scenarios run on the MPI message path too. Layouts:
/// 2 hosts x 1 rank, 2 hosts x 2 ranks, 4 hosts x 1 rank. Where no namespace can be made
/// (not root, no iproute2), every test is skipped with the reason.
final class CrossHostTests: XCTestCase {
    nonisolated(unsafe) private static var unavailable: String?
    nonisolated(unsafe) private static var broken: String?
    private static let testbed = MPIRun.root.appendingPathComponent("scripts/testbed").path
    private static let layouts = [(hosts: 2, ranksPerHost: 1), (hosts: 2, ranksPerHost: 2), (hosts: 4, ranksPerHost: 1)]

    /// The key of the runs with security (made by dsm-keygen at set-up).
    nonisolated(unsafe) private static var keyFile = ""
    /// The settings of the protected runs: the whole tier runs with them too.
    private static var protected: [String] {
        ["--jia-security=encrypt", "--jia-key-file=\(keyFile)", "--jia-compression=lz4"]
    }
    /// SWIFTDSM_PROTECTED_TIER=all runs every scenario protected on every layout (by
    /// default on 2 hosts x 2 ranks, where lanes join ranks on one host and across hosts).
    private static let protectedEverywhere = ProcessInfo.processInfo.environment["SWIFTDSM_PROTECTED_TIER"] == "all"

    override class func setUp() {
        super.setUp()
        let directory = NSTemporaryDirectory() + "swiftdsm-keys-\(getpid())"
        mkdir(directory, 0o700)
        keyFile = directory + "/key"
        let keygen = MPIRun.execute(MPIRun.binaryDirectory.appendingPathComponent("dsm-keygen").path, [keyFile],
                                    environment: [:], directory: nil, timeout: 60)
        if keygen.status != 0 { broken = "dsm-keygen failed:\n\(keygen.output)" }
        let up = MPIRun.execute(testbed, ["up", "4"], environment: [:], directory: nil, timeout: 120)
        switch up.status {
        case 0: break
        case 2:
            unavailable = "no test bed here: " + up.output.trimmingCharacters(in: .whitespacesAndNewlines)
            print("CrossHostTests skipped: \(unavailable!)")
        default: broken = "scripts/testbed up 4 failed:\n\(up.output)"
        }
    }

    override class func tearDown() {
        try? FileManager.default.removeItem(atPath: (keyFile as NSString).deletingLastPathComponent)
        let down = MPIRun.execute(testbed, ["down"], environment: [:], directory: nil, timeout: 120)
        if down.status != 0 { print("scripts/testbed down failed:\n\(down.output)") }
        super.tearDown()
    }

    override func setUpWithError() throws {
        if let reason = Self.unavailable { throw XCTSkip(reason) }
        if let broken = Self.broken { XCTFail(broken) }
    }

    /// Runs a scenario on every layout, on the transport `auto` picks (tcp) or on `transport`;
    /// on tcp and message also with encryption and compression (`protected`).
    private func scenario(_ name: String, _ extra: [String] = [], transport: String? = nil,
                          file: StaticString = #filePath, line: UInt = #line) {
        let expected = transport ?? "tcp"
        let arguments = [name] + extra + (transport.map { ["--jia-transport=\($0)"] } ?? [])
        var runs = Self.layouts.map { (layout: $0, protected: false) }
        if transport == nil || transport == "message" {
            runs += Self.layouts.filter { Self.protectedEverywhere || ($0.hosts == 2 && $0.ranksPerHost == 2) }
                .map { (layout: $0, protected: true) }
        }
        for (layout, protected) in runs {
            let result = MPIRun.runAcrossHosts("dsm-check", arguments + (protected ? Self.protected : []),
                                               hosts: layout.hosts, ranksPerHost: layout.ranksPerHost)
            let label = "\(name) on \(layout.hosts) hosts x \(layout.ranksPerHost) ranks (\(expected)"
                + (protected ? ", encrypted and compressed)" : ")")
            XCTAssertFalse(result.timedOut, "\(label) hung:\n\(result.output)", file: file, line: line)
            XCTAssertEqual(result.status, 0, "\(label) failed:\n\(result.output)", file: file, line: line)
            for name in name.split(separator: ",") {
                XCTAssertTrue(result.output.contains("dsm-check \(name): PASS"), "\(label):\n\(result.output)",
                              file: file, line: line)
            }
            XCTAssertTrue(result.output.contains("transport \(expected)"), "\(label) should take \(expected):\n"
                          + result.output, file: file, line: line)
        }
    }

    func testRanksSeeDifferentHosts() {
        let result = MPIRun.execute(Self.testbed, ["mpirun", "-np", "2", "--map-by", "node", "hostname"],
                                    environment: [:], directory: nil, timeout: 120)
        XCTAssertEqual(result.status, 0, result.output)
        XCTAssertEqual(Set(result.output.split(separator: "\n").filter { $0.hasPrefix("dsmhost") }),
                       ["dsmhost1", "dsmhost2"], result.output)
    }

    func testLockProtectedCounters() { scenario("counter") }
    func testScopeConsistency() { scenario("scope") }
    func testMultipleWriters() { scenario("multiwriter") }
    func testCacheSweep() { scenario("sweep", ["--jia-cache-pages=16"]) }
    func testSeveralThreadsPerRank() { scenario("threads", ["--jia-cache-pages=16"]) }
    func testRandomizedStressAgainstTheModel() { scenario("stress") }
    func testAdaptiveProtocols() { scenario("adaptive") }
    func testAdaptiveProtocolsOff() { scenario("stress", ["--jia-hmig=off", "--jia-adwd=off", "--jia-wvec=off"]) }
    func testWriteVectors() { scenario("wvec") }
    func testBroadcastOfReadSharedPages() { scenario("broadcast", ["--jia-broadcast=on"]) }
    func testLockHandOff() { scenario("handoff") }
    func testDeferredReleases() { scenario("deferred") }
    func testDirectReads() { scenario("read") }
    func testEveryAdaptiveProtocolOn() { scenario("stress", ["--jia-broadcast=on"]) }
    /// The MPI message path stays selectable across hosts and keeps working.
    func testTheMessagePathAcrossHosts() {
        scenario("counter,scope,multiwriter,stress", transport: "message")
        scenario("wvec", transport: "message")
        scenario("sweep", ["--jia-cache-pages=16"], transport: "message")
    }

    /// Snapshot reads across hosts: the program checks itself (see ExampleTests), here with
    /// its expired copies refreshed by gathered fetches over the tcp lanes and over UCX.
    func testPageRankWithSnapshotReadsAcrossHosts() {
        for (ranksPerHost, transport) in [(1, "tcp"), (2, "tcp"), (1, "ucx")] {
            let result = MPIRun.runAcrossHosts("example-pagerank", ["50000", "2", "--jia-transport=\(transport)"],
                                               hosts: 2, ranksPerHost: ranksPerHost)
            let label = "example-pagerank on 2 hosts x \(ranksPerHost) over \(transport)"
            XCTAssertEqual(result.status, 0, "\(label):\n\(result.output)")
            XCTAssertTrue(result.output.contains("pagerank: PASS"), "\(label):\n\(result.output)")
        }
    }

    /// A frame that fails its header check, sent across hosts: every rank stops, naming the
    /// sender and its host.
    func testACorruptFrameStopsEveryRankOnEveryHost() {
        let result = MPIRun.runAcrossHosts("dsm-check", ["error-malformed-frame"], hosts: 2, ranksPerHost: 2,
                                           timeout: 120)
        XCTAssertFalse(result.timedOut, result.output)
        XCTAssertNotEqual(result.status, 0, result.output)
        XCTAssertTrue(result.output.contains("rank 0 on host dsmhost1 sent a malformed frame"), result.output)
        for rank in 0..<4 { XCTAssertTrue(result.output.contains("SwiftDSM error on rank \(rank):"), result.output) }
    }

    /// What a peer on the wire sees: a marker that rank 0 wrote to shared memory and rank 1
    /// read crosses host 2's port of the bridge in plain text without security (which
    /// proves the capture sees the pages) and under authenticate, and never under encrypt.
    /// On the message transport the pages cross inside MPI's own TCP traffic, the same.
    func testEncryptionHidesPagesOnTheWire() throws {
        let marker = Data("SWIFTDSM-CAPTURE-MARKER-7f3a9c".utf8)
        let runs = [("tcp", "off"), ("tcp", "authenticate"), ("tcp", "encrypt"), ("message", "off"), ("message", "encrypt")]
        for (transport, security) in runs {
            let capture = try PacketCapture(interface: "dsmveth2")
            let result = MPIRun.runAcrossHosts("dsm-check", ["marker", "--jia-security=\(security)",
                                                             "--jia-key-file=\(Self.keyFile)",
                                                             "--jia-transport=\(transport)"],
                                               hosts: 2, ranksPerHost: 1, timeout: 120)
            let seen = capture.stop()
            let label = "transport \(transport), security \(security)"
            XCTAssertEqual(result.status, 0, "marker with \(label):\n\(result.output)")
            XCTAssertTrue(result.output.contains("dsm-check marker: PASS"), result.output)
            XCTAssertGreaterThan(seen.count, 10_000, "the capture saw the run's traffic")
            XCTAssertEqual(seen.range(of: marker) != nil, security != "encrypt",
                           "the marker on the wire with \(label) (\(seen.count) bytes captured)")
        }
    }

    /// Runs dsm-check with `arguments` on 2 hosts x 1 rank, which must stop every rank with
    /// `phrase` in the output; returns the run for further checks.
    @discardableResult
    private func expectStopOnTwoHosts(_ arguments: [String], _ phrase: String,
                                      file: StaticString = #filePath, line: UInt = #line) -> MPIRun.Result {
        let result = MPIRun.runAcrossHosts("dsm-check", arguments, hosts: 2, ranksPerHost: 1, timeout: 120)
        XCTAssertFalse(result.timedOut, result.output, file: file, line: line)
        XCTAssertNotEqual(result.status, 0, result.output, file: file, line: line)
        XCTAssertTrue(result.output.contains(phrase), result.output, file: file, line: line)
        for rank in 0..<2 {
            XCTAssertTrue(result.output.contains("SwiftDSM error on rank \(rank):"), result.output, file: file, line: line)
        }
        return result
    }

    /// A diff altered on the way after it was sealed: the home refuses it, every rank stops
    /// with the error naming the sender, and the word at its home is unchanged.
    func testATamperedFrameStopsEveryRankAndChangesNothing() {
        for (security, transport) in [("authenticate", "tcp"), ("encrypt", "tcp"), ("encrypt", "message")] {
            let result = expectStopOnTwoHosts(["error-tampered-diff", "--jia-security=\(security)",
                                               "--jia-key-file=\(Self.keyFile)", "--jia-transport=\(transport)"],
                                              "rank 1 on host dsmhost2 sent a frame that fails authentication")
            XCTAssertTrue(result.output.contains("rank 0: home word after the tampered frame: 0"), result.output)
        }
    }

    /// Write notices altered on the way between hosts: every rank refuses them, naming the
    /// rank whose notices they were, and none passes the barrier.
    func testTamperedNoticesStopEveryRank() {
        for transport in ["tcp", "message"] {
            let result = expectStopOnTwoHosts(["error-tampered-notices", "--jia-security=authenticate",
                                               "--jia-key-file=\(Self.keyFile)", "--jia-transport=\(transport)"],
                                              "the write notices and collective call of rank 1 on host dsmhost2 fail "
                                                + "authentication")
            XCTAssertFalse(result.output.contains("passed the barrier with tampered notices"), result.output)
        }
    }

    /// A rank started with another key is refused when the lanes open, on every rank.
    func testARankWithAnotherKeyIsRefused() throws {
        let other = (Self.keyFile as NSString).deletingLastPathComponent + "/other"
        let keygen = MPIRun.execute(MPIRun.binaryDirectory.appendingPathComponent("dsm-keygen").path, [other],
                                    environment: [:], directory: nil, timeout: 60)
        XCTAssertEqual(keygen.status, 0, keygen.output)
        let check = MPIRun.binaryDirectory.appendingPathComponent("dsm-check").path
        let common = ["counter", "--jia-security=encrypt"]
        let result = MPIRun.execute(Self.testbed, ["mpirun", "--host", "dsmhost1:1,dsmhost2:1", "--map-by", "node",
                                                   "-np", "1", check] + common + ["--jia-key-file=\(Self.keyFile)", ":",
                                                   "-np", "1", check] + common + ["--jia-key-file=\(other)"],
                                    environment: [:], directory: nil, timeout: 120)
        XCTAssertFalse(result.timedOut, result.output)
        XCTAssertNotEqual(result.status, 0, result.output)
        XCTAssertTrue(result.output.contains("SwiftDSM error on rank 0: the tcp transport refused rank 1 on host "
            + "dsmhost2: it does not hold this rank's key"), result.output)
        XCTAssertTrue(result.output.contains("SwiftDSM error on rank 1: the tcp transport refused rank 0 on host dsmhost1"),
                      result.output)
        XCTAssertFalse(result.output.contains("choose the network"), "a refusal is not a network problem:\n\(result.output)")
    }

    /// A tcp-interface that does not join the hosts (loopback): every rank says which
    /// connection failed and how to choose the network, instead of hanging.
    func testATCPInterfaceThatDoesNotJoinTheHostsIsReported() {
        let result = MPIRun.runAcrossHosts("dsm-check", ["counter", "--jia-tcp-interface=lo"], hosts: 2,
                                           ranksPerHost: 1, timeout: 120)
        XCTAssertFalse(result.timedOut, result.output)
        XCTAssertNotEqual(result.status, 0, result.output)
        for rank in 0..<2 {
            XCTAssertTrue(result.output.contains("SwiftDSM error on rank \(rank): the tcp transport could not connect to rank"),
                          result.output)
        }
        XCTAssertTrue(result.output.contains("choose the network every host reaches with the tcp-interface setting"),
                      result.output)
    }

    func testConditionVariablesAndApplicationMPI() {
        scenario("cv")
        scenario("mixed-mpi")
    }

    func testAnErrorStopsEveryRankOnEveryHost() {
        let result = MPIRun.runAcrossHosts("dsm-check", ["error-lock-range"], hosts: 2, ranksPerHost: 2, timeout: 120)
        XCTAssertFalse(result.timedOut, result.output)
        XCTAssertNotEqual(result.status, 0, result.output)
        for rank in 0..<4 {
            XCTAssertTrue(result.output.contains("SwiftDSM error on rank \(rank):"), result.output)
        }
    }

    func testAMalformedRequestStopsEveryRankOnEveryHost() {
        let result = MPIRun.runAcrossHosts("dsm-check", ["error-malformed-diff"], hosts: 2, ranksPerHost: 2, timeout: 120)
        XCTAssertFalse(result.timedOut, result.output)
        XCTAssertNotEqual(result.status, 0, result.output)
        XCTAssertTrue(result.output.contains("rank 0 sent a malformed diff request"), result.output)
        for rank in 0..<4 { XCTAssertTrue(result.output.contains("SwiftDSM error on rank \(rank):"), result.output) }
    }

    /// With the messages as UCX active messages (ucx-messages ucx): a request that does not
    /// parse, and a page fetch outside the shared range (seen inside UCX's progress, reported
    /// by the thread that takes the next message), stop every rank naming the sender.
    func testMalformedInputOnTheUCXChannelStopsEveryRank() {
        for (scenario, phrase) in [("error-malformed-kind", "rank 0 sent a request this rank cannot take (kind 99"),
                                   ("error-malformed-ucx-fetch", "rank 0 on host dsmhost1 sent a page fetch outside "
                                    + "the shared range or not of whole pages over UCX")] {
            let result = MPIRun.runAcrossHosts("dsm-check", [scenario], hosts: 2, ranksPerHost: 2,
                                               environment: ["JIA_TRANSPORT": "ucx", "JIA_UCX_MESSAGES": "ucx"],
                                               timeout: 120)
            XCTAssertFalse(result.timedOut, "\(scenario):\n\(result.output)")
            XCTAssertNotEqual(result.status, 0, "\(scenario):\n\(result.output)")
            XCTAssertTrue(result.output.contains(phrase), "\(scenario) lacks '\(phrase)':\n\(result.output)")
            for rank in 0..<4 {
                XCTAssertTrue(result.output.contains("SwiftDSM error on rank \(rank):"), "\(scenario):\n\(result.output)")
            }
        }
    }

    /// kill -9 of the rank on the second host: the job ends within seconds, not a hang,
    /// naming the lost rank and its host.
    func testALostRankEndsTheJobNamingIt() throws { try killTheSecondRank(ucxMessages: false) }

    /// The same with UCX active messages: the endpoint's failure names the rank.
    func testALostRankEndsTheJobNamingItOnUCX() throws { try killTheSecondRank(ucxMessages: true) }

    private func killTheSecondRank(ucxMessages: Bool) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.testbed)
        process.arguments = ["mpirun", "-np", "2", "--map-by", "node",
                             MPIRun.binaryDirectory.appendingPathComponent("example-sor").path, "510", "1000000"]
        if ucxMessages {
            process.environment = ProcessInfo.processInfo.environment.merging(
                ["JIA_TRANSPORT": "ucx", "JIA_UCX_MESSAGES": "ucx"]) { $1 }
        }
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        let collected = OutputCollector()
        pipe.fileHandleForReading.readabilityHandler = { handle in collected.append(handle.availableData) }
        try process.run()
        var victim: Int32?
        for _ in 0..<200 where victim == nil {  // up to 20 s for the rank to start
            usleep(100_000)
            let pids = MPIRun.execute("/usr/bin/env", ["ip", "netns", "pids", "dsmhost2"], environment: [:],
                                      directory: nil, timeout: 10).output
            victim = pids.split(separator: "\n").compactMap { Int32($0) }.first { pid in
                (try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8))?.hasPrefix("example-sor") ?? false
            }
        }
        guard let victim else {
            process.terminate()
            return XCTFail("the rank on dsmhost2 never started:\n\(collected.text)")
        }
        usleep(500_000)  // let it run into the iterations
        let killed = Date()
        kill(victim, SIGKILL)
        while process.isRunning && Date().timeIntervalSince(killed) < 30 { usleep(50_000) }
        let seconds = Date().timeIntervalSince(killed)
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
        pipe.fileHandleForReading.readabilityHandler = nil
        collected.append(pipe.fileHandleForReading.readDataToEndOfFile())
        let output = collected.text
        XCTAssertLessThan(seconds, 30, "the job hung after a rank was killed:\n\(output)")
        XCTAssertNotEqual(process.terminationStatus, 0, output)
        XCTAssertTrue(output.contains("SwiftDSM error on rank 0: lost the connection to rank 1 on host dsmhost2"),
                      "the lost rank is not named:\n\(output)")
    }

    /// Checkpoints on node-local directories (`{host}` in checkpoint-dir: each host writes
    /// its own ranks' parts, rank 0's host the manifest): a rank killed after a checkpoint,
    /// the job restarted across the hosts, the result equal to an uninterrupted run's. On
    /// 2 hosts x 2 ranks also with node-local file home stores, killed inside an interval.
    func testAKilledRankRestartsAcrossHostsFromNodeLocalCheckpoints() throws {
        let base = NSTemporaryDirectory() + "swiftdsm-crosshost-checkpoints-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: base) }
        for layout in [(hosts: 2, ranksPerHost: 1), (hosts: 2, ranksPerHost: 2), (hosts: 4, ranksPerHost: 1)] {
            let label = "\(layout.hosts) hosts x \(layout.ranksPerHost) ranks"
            let root = base + "/\(layout.hosts)x\(layout.ranksPerHost)"
            func run(_ name: String, _ extra: [String]) -> MPIRun.Result {
                MPIRun.runAcrossHosts("dsm-check", ["checkpoint", "--jia-checkpoint-dir=\(root)/\(name)/{host}"] + extra,
                                      hosts: layout.hosts, ranksPerHost: layout.ranksPerHost, timeout: 180)
            }
            func digest(_ output: String) -> String? {
                output.split(separator: "\n").first { $0.hasPrefix("checkpoint: digest ") }.map(String.init)
            }
            let whole = run("whole", [])
            XCTAssertEqual(whole.status, 0, "\(label):\n\(whole.output)")
            let killed = run("killed", ["--kill-after=20"])
            XCTAssertNotEqual(killed.status, 0, "\(label):\n\(killed.output)")
            let restarted = run("killed", ["--jia-restart=latest"])
            XCTAssertEqual(restarted.status, 0, "\(label):\n\(restarted.output)")
            XCTAssertTrue(restarted.output.contains("checkpoint: restored from 20"), "\(label):\n\(restarted.output)")
            XCTAssertNotNil(digest(whole.output), whole.output)
            XCTAssertEqual(digest(restarted.output), digest(whole.output), "\(label):\n\(restarted.output)")
            // One directory per host; the manifests only on rank 0's; every part on exactly one host.
            let hosts = try FileManager.default.contentsOfDirectory(atPath: root + "/killed")
            XCTAssertEqual(hosts.count, layout.hosts, "\(label): \(hosts)")
            var manifests = 0
            var parts: [String] = []
            for host in hosts {
                let checkpoint = root + "/killed/\(host)/checkpoint-000004"
                let files = (try? FileManager.default.contentsOfDirectory(atPath: checkpoint)) ?? []
                if files.contains("manifest.json") { manifests += 1 }
                parts += files.filter { $0.hasSuffix(".part") }
            }
            XCTAssertEqual(manifests, 1, "\(label)")
            XCTAssertEqual(parts.sorted(), (0..<(layout.hosts * layout.ranksPerHost)).map { "rank-\($0).part" }.sorted(),
                           "\(label)")
            guard layout.hosts == 2 && layout.ranksPerHost == 2 else { continue }
            // Node-local persistent homes: killed inside an interval, rolled back on every host.
            let store = ["--jia-home-store=file:\(root)/store/{host}"]
            let storeKilled = run("stored", store + ["--kill-in=25"])
            XCTAssertNotEqual(storeKilled.status, 0, "\(label), file home store:\n\(storeKilled.output)")
            let storeRestarted = run("stored", store + ["--jia-restart=latest"])
            XCTAssertEqual(storeRestarted.status, 0, "\(label), file home store:\n\(storeRestarted.output)")
            XCTAssertTrue(storeRestarted.output.contains("checkpoint: restored from 20"), storeRestarted.output)
            XCTAssertEqual(digest(storeRestarted.output), digest(whole.output),
                           "\(label), file home store:\n\(storeRestarted.output)")
            var stores: [String] = []
            for host in try FileManager.default.contentsOfDirectory(atPath: root + "/store") {
                stores += try FileManager.default.contentsOfDirectory(atPath: root + "/store/\(host)")
                    .filter { $0.hasSuffix(".pages") }
            }
            XCTAssertEqual(stores.sorted(), (0..<4).map { "rank-\($0).pages" }, "\(label): one store per rank")
        }
    }

    /// A JIAJIA C program checkpoints, loses a rank on the second host, and restarts.
    func testAJIAJIAProgramRestartsAcrossHosts() {
        guard let binary = JIAJIATests.compile("Tests/C/checkpoint.c") else { return }
        let directory = NSTemporaryDirectory() + "swiftdsm-crosshost-c-checkpoints-\(getpid())"
        defer { for path in [directory, directory + "-whole"] { try? FileManager.default.removeItem(atPath: path) } }
        let flag = "--jia-checkpoint-dir=\(directory)"
        let whole = MPIRun.runAcrossHosts(path: binary, [flag + "-whole"], hosts: 2, ranksPerHost: 1, timeout: 120)
        XCTAssertEqual(whole.status, 0, whole.output)
        let killed = MPIRun.runAcrossHosts(path: binary, ["10", flag], hosts: 2, ranksPerHost: 1, timeout: 120)
        XCTAssertNotEqual(killed.status, 0, killed.output)
        let restarted = MPIRun.runAcrossHosts(path: binary, [flag, "--jia-restart=latest"], hosts: 2, ranksPerHost: 1,
                                              timeout: 120)
        XCTAssertEqual(restarted.status, 0, restarted.output)
        XCTAssertTrue(restarted.output.contains("checkpoint.c restored 10"), restarted.output)
        let result = { (output: String) in output.split(separator: "\n").filter { $0.hasPrefix("checkpoint.c sweeps") } }
        XCTAssertEqual(result(restarted.output), result(whole.output), restarted.output)
        XCTAssertEqual(result(whole.output).count, 1, whole.output)
    }

    /// UCX's one-sided gets and puts over its tcp transport between the hosts (requests on
    /// the tcp lanes): the core scenarios on every layout, a JIAJIA program and NPB class S,
    /// and the log names the lanes (tcp on the hosts' eth0).
    func testTheUCXTransportAcrossHosts() {
        scenario("counter,scope,multiwriter,stress,cv", transport: "ucx")
        for name in ["adaptive", "lockmove", "read"] { scenario(name, transport: "ucx") }
        scenario("sweep", ["--jia-cache-pages=16"], transport: "ucx")
        scenario("threads", ["--jia-cache-pages=16"], transport: "ucx")
        for name in ["stress", "multiwriter"] { scenario(name, ["--jia-ucx-fetch=get"], transport: "ucx") }
        // The messages as UCX active messages (ucx-messages ucx; auto takes the tcp lanes).
        for name in ["counter", "stress", "cv", "handoff", "deferred", "threads"] {
            scenario(name, ["--jia-ucx-messages=ucx", "--jia-cache-pages=16"], transport: "ucx")
        }
        let lanes = MPIRun.runAcrossHosts("dsm-check", ["counter", "--jia-transport=ucx", "--jia-log-level=info"],
                                          hosts: 2, ranksPerHost: 1)
        XCTAssertEqual(lanes.status, 0, lanes.output)
        XCTAssertTrue(lanes.output.split(separator: "\n").contains { $0.contains("lane[") && $0.contains("tcp/eth0") },
                      "the log should name UCX's tcp lane on eth0:\n\(lanes.output)")
        XCTAssertTrue(lanes.output.contains("transport ucx, messages on tcp"), lanes.output)
        for kernel in ["cg", "mg", "lu"] {
            let result = MPIRun.runAcrossHosts("npb", [kernel, "--class", "S"], hosts: 2, ranksPerHost: 2,
                                               environment: ["JIA_TRANSPORT": "ucx"], timeout: 300)
            XCTAssertEqual(result.status, 0, "npb \(kernel) on ucx:\n\(result.output)")
            XCTAssertTrue(result.output.range(of: #"Verification\s+=\s+SUCCESSFUL"#, options: .regularExpression) != nil,
                          "npb \(kernel) class S on ucx across hosts did not verify:\n\(result.output)")
        }
        guard let binary = JIAJIATests.compile("Examples/C/sor.c") else { return }
        let reference = MPIRun.run(path: binary, [], ranks: 1, network: .sharedMemory, timeout: 120)
        let run = MPIRun.runAcrossHosts(path: binary, [], hosts: 4, ranksPerHost: 1, environment: ["JIA_TRANSPORT": "ucx"],
                                        timeout: 120)
        XCTAssertEqual(run.status, 0, run.output)
        let result = { (output: String) in output.split(separator: "\n").filter { $0.hasPrefix("sor ") } }
        XCTAssertEqual(result(run.output), result(reference.output), run.output)
        XCTAssertEqual(result(reference.output).count, 1, reference.output)
    }

    /// Transport rma across hosts: SwiftDSM starts MPI with Open MPI's osc ucx over any UCX
    /// transport, so windows exist over TCP. When the user pins the osc components, the
    /// error names the flags that would give windows.
    func testRMAAcrossHostsThroughOpenMPIsOscUCX() {
        scenario("counter,scope,multiwriter,stress", transport: "rma")
        scenario("sweep", ["--jia-cache-pages=16"], transport: "rma")
        let pinned = MPIRun.runAcrossHosts("dsm-check", ["counter", "--jia-transport=rma"], hosts: 2, ranksPerHost: 1,
                                           environment: ["OMPI_MCA_osc": "^ucx,pt2pt"], timeout: 60)
        XCTAssertNotEqual(pinned.status, 0, pinned.output)
        for rank in 0..<2 {
            XCTAssertTrue(pinned.output.contains("SwiftDSM error on rank \(rank): transport rma was requested, but MPI "
                + "cannot create RMA windows here (Open MPI over TCP has no one-sided support); across hosts over TCP, "
                + "Open MPI's osc ucx gives windows when mpirun is given --mca osc ucx --mca osc_ucx_tls any "
                + "--mca osc_ucx_devices any"), pinned.output)
        }
    }

    func testJIAJIAWorkloadsEqualTheirOneRankRun() {
        for (name, prefix) in [("sor", "sor "), ("rowsor", "rowsor "), ("tsp", "tsp "), ("is", "is ")] {
            guard let binary = JIAJIATests.compile("Examples/C/\(name).c") else { return }
            let reference = MPIRun.run(path: binary, [], ranks: 1, network: .sharedMemory, timeout: 120)
            let expected = reference.output.split(separator: "\n").filter { $0.hasPrefix(prefix) }
            XCTAssertEqual(expected.count, 1, "\(name) at np 1:\n\(reference.output)")
            for layout in Self.layouts {
                let run = MPIRun.runAcrossHosts(path: binary, [], hosts: layout.hosts, ranksPerHost: layout.ranksPerHost,
                                                timeout: 120)
                let label = "\(name) on \(layout.hosts) hosts x \(layout.ranksPerHost) ranks"
                XCTAssertEqual(run.status, 0, "\(label):\n\(run.output)")
                XCTAssertEqual(run.output.split(separator: "\n").filter { $0.hasPrefix(prefix) }, expected,
                               "\(label) differs from the 1-rank run:\n\(run.output)")
            }
        }
    }

    func testNPBCGWithThreadsInsideEachRank() {
        let result = MPIRun.runAcrossHosts("npb", ["cg", "--class", "S", "--threads", "4"], hosts: 2, ranksPerHost: 1,
                                           timeout: 300)
        XCTAssertEqual(result.status, 0, result.output)
        XCTAssertTrue(result.output.range(of: #"Verification\s+=\s+SUCCESSFUL"#, options: .regularExpression) != nil,
                      result.output)
    }

    func testNPBClassSVerifies() {
        for kernel in ["ep", "is", "cg", "mg", "ft", "lu"] {
            for layout in [(hosts: 2, ranksPerHost: 1), (hosts: 2, ranksPerHost: 2)] {
                let result = MPIRun.runAcrossHosts("npb", [kernel, "--class", "S"], hosts: layout.hosts,
                                                   ranksPerHost: layout.ranksPerHost, timeout: 300)
                let label = "npb \(kernel) class S on \(layout.hosts) hosts x \(layout.ranksPerHost) ranks"
                XCTAssertEqual(result.status, 0, "\(label):\n\(result.output)")
                XCTAssertTrue(result.output.range(of: #"Verification\s+=\s+SUCCESSFUL"#, options: .regularExpression) != nil,
                              "\(label) did not verify:\n\(result.output)")
            }
        }
        // BT and SP take a square rank count: 4 hosts x 1.
        for kernel in ["bt", "sp"] {
            let result = MPIRun.runAcrossHosts("npb", [kernel, "--class", "S"], hosts: 4, ranksPerHost: 1, timeout: 300)
            XCTAssertEqual(result.status, 0, "npb \(kernel) class S on 4 hosts x 1:\n\(result.output)")
            XCTAssertTrue(result.output.range(of: #"Verification\s+=\s+SUCCESSFUL"#, options: .regularExpression) != nil,
                          "npb \(kernel) class S on 4 hosts x 1 did not verify:\n\(result.output)")
        }
    }
}
