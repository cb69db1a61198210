import Foundation
import XCTest

/// The C face: C programs written for JIAJIA 2.1 (Tests/C: every function and macro of
/// jia.h; Examples/C: the classic workloads) are compiled with scripts/jiacc against
/// libjia.so and run under mpirun at 1, 2 and 4 ranks over shared memory and TCP.
///
/// libjia.so must be built (`swift build -c release`, or `--product jia`): the tests look
/// for it in $JIACC_BUILD_DIR, else in the folder of the other programs (MPIRun.binaryDirectory).
final class JIAJIATests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    static let libraryDirectory: URL = {
        if let path = ProcessInfo.processInfo.environment["JIACC_BUILD_DIR"] { return URL(fileURLWithPath: path) }
        return MPIRun.binaryDirectory
    }()

    /// The compiled programs and what they write; removed when the test run ends.
    static let outputDirectory: URL = {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("swiftdsm-jiajia-\(getpid())")
        try? FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        XCTestObservationCenter.shared.addTestObserver(RemoveAtEnd(folder))
        return folder
    }()

    private final class RemoveAtEnd: NSObject, XCTestObservation {
        let folder: URL
        init(_ folder: URL) { self.folder = folder }
        func testBundleDidFinish(_ testBundle: Bundle) { try? FileManager.default.removeItem(at: folder) }
    }

    nonisolated(unsafe) private static var compiled: [String: String] = [:]
    private static let compileLock = NSLock()

    /// Compiles `sources` (relative to the repository) into one program with scripts/jiacc
    /// once; returns the binary's path (named after the first source).
    static func compile(_ sources: String..., file: StaticString = #filePath, line: UInt = #line) -> String? {
        Self.compileLock.lock()
        defer { Self.compileLock.unlock() }
        let source = sources.joined(separator: " ")
        if let path = Self.compiled[source] { return path }
        let library = Self.libraryDirectory.appendingPathComponent("libjia.so").path
        guard FileManager.default.fileExists(atPath: library) else {
            XCTFail("\(library) is missing: run `swift build -c release` (or --product jia) first", file: file, line: line)
            return nil
        }
        let name = URL(fileURLWithPath: sources[0]).deletingPathExtension().lastPathComponent
        let binary = Self.outputDirectory.appendingPathComponent(name).path
        let process = Process()
        process.executableURL = Self.root.appendingPathComponent("scripts/jiacc")
        process.arguments = ["-O2", "-Wall", "-Werror"] + sources.map { Self.root.appendingPathComponent($0).path }
            + ["-o", binary]
        var environment = ProcessInfo.processInfo.environment
        environment["JIACC_BUILD_DIR"] = Self.libraryDirectory.path
        environment["JIACC_NO_BUILD"] = "1"
        process.environment = environment
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        do { try process.run() } catch {
            XCTFail("cannot run scripts/jiacc: \(error)", file: file, line: line)
            return nil
        }
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            XCTFail("scripts/jiacc \(source) failed:\n\(output)", file: file, line: line)
            return nil
        }
        Self.compiled[source] = binary
        return binary
    }

    private static let configurations: [(ranks: Int, network: MPIRun.Network)] =
        [(1, .sharedMemory), (2, .sharedMemory), (4, .sharedMemory), (1, .tcp), (2, .tcp), (4, .tcp)]

    private func lines(_ output: String, prefix: String) -> [String] {
        output.split(separator: "\n").map(String.init).filter { $0.hasPrefix(prefix) }
    }

    // MARK: every function and macro of jia.h

    func testEveryFunctionAndMacro() {
        guard let binary = Self.compile("Tests/C/coverage.c") else { return }
        let parts = ["identity", "alloc3 alloc2 alloc2p alloc1 alloc G_MALLOC G2_MALLOC", "divtask",
                     "lock unlock LOCK UNLOCK ALOCK AULOCK BARRIER", "setcv resetcv waitcv wait",
                     "clock CLOCK startstat stopstat", "config", "send recv", "bcast", "reduce",
                     "LOADBAL loadcheck", "balance", "free restarted", "read", "wtnt PAUSE GS MAIN_ENV WAIT_FOR_END"]
        for (ranks, network) in Self.configurations {
            let run = MPIRun.run(path: binary, ["alpha", "7"], ranks: ranks, network: network, timeout: 120)
            let context = "coverage at np \(ranks) over \(network.rawValue):\n\(run.output)"
            XCTAssertEqual(run.status, 0, context)
            XCTAssertFalse(run.output.contains("FAIL"), context)
            XCTAssertEqual(lines(run.output, prefix: "coverage: "), ["coverage: all ok"], context)
            XCTAssertEqual(lines(run.output, prefix: "hosts "), ["hosts \(ranks) args 3 alpha 7"], context)
            for part in parts {
                XCTAssertEqual(lines(run.output, prefix: "ok \(part)").count, 1, "ok \(part): \(context)")
            }
            for option in ["HMIG", "ADWD", "BROADCAST", "WVEC"] {  // implemented: nothing to report
                XCTAssertEqual(lines(run.output, prefix: "SwiftDSM: jia_config: \(option) ").count, 0,
                               "\(option) not reported: \(context)")
            }
        }
    }

    func testStatisticsAreCountedBetweenStartstatAndStopstat() {
        guard let binary = Self.compile("Tests/C/stats.c") else { return }
        for network in MPIRun.Network.allCases {
            let run = MPIRun.run(path: binary, [], ranks: 2, network: network,
                                 environment: ["JIA_STATISTICS": "on"], timeout: 120)
            let context = "stats over \(network.rawValue):\n\(run.output)"
            XCTAssertEqual(run.status, 0, context)
            func total(_ row: String) -> Int? {
                guard let line = lines(run.output, prefix: row).first else { return nil }
                return Int(line.dropFirst(30).split(separator: " ").first ?? "")
            }
            XCTAssertEqual(total("Barriers"), 8, context)          // 4 per rank: the 50 after jia_stopstat are not counted
            XCTAssertEqual(total("Locks"), 2, context)
            XCTAssertEqual(total("Msgs sent (jia_send)"), 2, context)
            XCTAssertEqual(total("Msgs received (jia_recv)"), 2, context)
            XCTAssertEqual(total("Msg bytes sent"), 8, context)
            XCTAssertEqual(total("SEGVs remote (cached pages)"), 16, context)   // 8 pages of the other rank each
            XCTAssertEqual(total("SEGVs local (home pages)"), 2, context)
            XCTAssertEqual(lines(run.output, prefix: "JIAJIA statistics (2 ranks").count, 1, context)
            // One set of counters, one table: the core's table is not printed for C programs.
            XCTAssertFalse(run.output.contains("SwiftDSM statistics ("), context)
        }
    }

    /// jia_error, jia_errexit and a jia_read into shared memory stop every rank, naming the mistake.
    func testJiaErrorStopsEveryRankWithTheFormattedMessage() {
        guard let binary = Self.compile("Tests/C/error.c") else { return }
        for network in MPIRun.Network.allCases {
            let run = MPIRun.run(path: binary, [], ranks: 2, network: network, timeout: 60)
            XCTAssertNotEqual(run.status, 0, run.output)
            XCTAssertTrue(run.output.contains("bad value 42 on host 1"), run.output)
            XCTAssertFalse(run.output.contains("not reached"), run.output)
            let alias = MPIRun.run(path: binary, ["errexit"], ranks: 2, network: network, timeout: 60)
            XCTAssertNotEqual(alias.status, 0, alias.output)
            XCTAssertTrue(alias.output.contains("alias used by host 0"), alias.output)
            let read = MPIRun.run(path: binary, ["read"], ranks: 2, network: network, timeout: 60)
            XCTAssertNotEqual(read.status, 0, read.output)
            XCTAssertTrue(read.output.contains("jia_read: 4096 bytes from"), read.output)
            XCTAssertTrue(read.output.contains("the destination is shared memory"), read.output)
            XCTAssertFalse(read.output.contains("not reached"), read.output)
        }
    }

    /// JIAJIA 2.1's programs return from main without jia_exit: the run still ends cleanly.
    func testReturningFromMainWithoutJiaExit() {
        guard let binary = Self.compile("Tests/C/noexit.c") else { return }
        for configuration in Self.configurations {
            let run = MPIRun.run(path: binary, [], ranks: configuration.ranks, network: configuration.network,
                                 timeout: 60)
            let label = "noexit at np \(configuration.ranks) over \(configuration.network.rawValue)"
            XCTAssertFalse(run.timedOut, "\(label) hung:\n\(run.output)")
            XCTAssertEqual(run.status, 0, "\(label):\n\(run.output)")
            let sum = configuration.ranks * (configuration.ranks + 1) / 2
            XCTAssertEqual(lines(run.output, prefix: "noexit rank").count, configuration.ranks, run.output)
            XCTAssertTrue(lines(run.output, prefix: "noexit rank").allSatisfy { $0.hasSuffix("sum \(sum)") }, run.output)
            XCTAssertFalse(run.output.contains("exiting improperly") || run.output.contains("MPI_FINALIZE"),
                           "\(label) ended improperly:\n\(run.output)")
        }
    }

    /// jia_checkpoint and jia_restarted: a C program killed after a checkpoint continues,
    /// restarted, to the result of an uninterrupted run; with memory and file home stores.
    func testACProgramRestartsFromItsCheckpoint() {
        guard let binary = Self.compile("Tests/C/checkpoint.c") else { return }
        for configuration in Self.configurations where configuration.ranks > 1 {
            let label = "checkpoint.c at np \(configuration.ranks) over \(configuration.network.rawValue)"
            let directory = Self.outputDirectory.appendingPathComponent("checkpoints-\(configuration.ranks)-"
                + configuration.network.rawValue).path
            let flag = "--jia-checkpoint-dir=\(directory)"
            func run(_ arguments: [String]) -> MPIRun.Result {
                MPIRun.run(path: binary, arguments, ranks: configuration.ranks, network: configuration.network, timeout: 60)
            }
            let whole = run([flag + "-whole"])
            XCTAssertEqual(whole.status, 0, "\(label):\n\(whole.output)")
            XCTAssertTrue(whole.output.contains("checkpoint.c restored -1"), "\(label):\n\(whole.output)")
            let killed = run(["10", flag])
            XCTAssertNotEqual(killed.status, 0, "\(label):\n\(killed.output)")
            let restarted = run([flag, "--jia-restart=latest"])
            XCTAssertEqual(restarted.status, 0, "\(label):\n\(restarted.output)")
            XCTAssertTrue(restarted.output.contains("checkpoint.c restored 10"), "\(label):\n\(restarted.output)")
            let sweeps = configuration.ranks * 20
            XCTAssertEqual(lines(whole.output, prefix: "checkpoint.c sweeps \(sweeps) checksum").count, 1, whole.output)
            XCTAssertEqual(lines(restarted.output, prefix: "checkpoint.c sweeps"), lines(whole.output, prefix: "checkpoint.c sweeps"),
                           "\(label): the restarted result differs")
            // The same with the homes in files (home-store file): restored in place.
            let store = "--jia-home-store=file:\(directory)-store"
            let storeKilled = run(["10", flag + "-stored", store])
            XCTAssertNotEqual(storeKilled.status, 0, "\(label), file home store:\n\(storeKilled.output)")
            let storeRestarted = run([flag + "-stored", store, "--jia-restart=latest"])
            XCTAssertEqual(storeRestarted.status, 0, "\(label), file home store:\n\(storeRestarted.output)")
            XCTAssertTrue(storeRestarted.output.contains("checkpoint.c restored 10"), storeRestarted.output)
            XCTAssertEqual(lines(storeRestarted.output, prefix: "checkpoint.c sweeps"),
                           lines(whole.output, prefix: "checkpoint.c sweeps"), "\(label), file home store")
        }
    }

    /// The two-argument assert JIAJIA's library exported (its water application calls it).
    func testJIAJIAsAssertStopsEveryRankWithTheMessage() {
        guard let binary = Self.compile("Tests/C/assert.c") else { return }
        for network in MPIRun.Network.allCases {
            let run = MPIRun.run(path: binary, [], ranks: 2, network: network, timeout: 60)
            XCTAssertNotEqual(run.status, 0, run.output)
            XCTAssertEqual(lines(run.output, prefix: "rank").filter { $0.hasSuffix("passed the first assert") }.count,
                           2, run.output)
            XCTAssertTrue(run.output.contains("assert failed: the last rank's check failed"), run.output)
            for rank in 0..<2 { XCTAssertTrue(run.output.contains("SwiftDSM error on rank \(rank):"), run.output) }
            XCTAssertFalse(run.output.contains("not reached"), run.output)
        }
    }

    /// A program's own SIGSEGV handler, set with jia_set_segv_handler after jia_init, takes
    /// the faults outside the shared range while shared memory keeps faulting in; read(2)
    /// into another rank's page works after jia_prepare.
    func testTheProgramsOwnSegvHandlerAndPreparedMemory() {
        guard let binary = Self.compile("Tests/C/segv.c") else { return }
        for configuration in Self.configurations where configuration.ranks <= 2 {
            let run = MPIRun.run(path: binary, [], ranks: configuration.ranks, network: configuration.network,
                                 timeout: 60)
            let label = "segv at np \(configuration.ranks) over \(configuration.network.rawValue)"
            XCTAssertEqual(run.status, 0, "\(label):\n\(run.output)")
            for rank in 0..<configuration.ranks {
                let writer = (rank - 1 + configuration.ranks) % configuration.ranks
                XCTAssertTrue(run.output.contains("segv rank \(rank) read 4096 caught 1 private 7 shared \(1 + writer)"),
                              "\(label), rank \(rank):\n\(run.output)")
            }
        }
    }

    /// That era's C shares tentative definitions between files; scripts/jiacc links them.
    func testTentativeDefinitionsSharedBetweenFiles() {
        guard let binary = Self.compile("Tests/C/common_main.c", "Tests/C/common_part.c") else { return }
        let run = MPIRun.run(path: binary, [], ranks: 2, network: .sharedMemory, timeout: 60)
        XCTAssertEqual(run.status, 0, run.output)
        XCTAssertTrue(run.output.contains("common tally 3 local 1"), run.output)
    }

    func testJiahostsFileIsIgnoredWithOneNotice() throws {
        guard let binary = Self.compile("Tests/C/stats.c") else { return }
        let folder = Self.outputDirectory.appendingPathComponent("with-jiahosts")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try "localhost user password\nlocalhost user password\n".write(
            to: folder.appendingPathComponent(".jiahosts"), atomically: true, encoding: .utf8)
        let run = MPIRun.run(path: binary, [], ranks: 2, network: .sharedMemory, directory: folder, timeout: 60)
        XCTAssertEqual(run.status, 0, run.output)
        XCTAssertEqual(lines(run.output, prefix: "SwiftDSM: .jiahosts is ignored").count, 1, run.output)
    }

    // MARK: the classic JIAJIA workloads, ported (Examples/C)

    /// The result line at 2 and 4 ranks, over both networks (and at 4 with every adaptive
    /// protocol on), must equal the 1-rank run's.
    private func checkWorkload(_ name: String, _ arguments: [String] = [], prefix: String, expect: String? = nil) {
        guard let binary = Self.compile("Examples/C/\(name).c") else { return }
        func resultLine(ranks: Int, network: MPIRun.Network, environment: [String: String] = [:]) -> String? {
            let run = MPIRun.run(path: binary, arguments, ranks: ranks, network: network, environment: environment,
                                 timeout: 120)
            XCTAssertEqual(run.status, 0, "\(name) at np \(ranks) over \(network.rawValue):\n\(run.output)")
            let found = lines(run.output, prefix: prefix)
            XCTAssertEqual(found.count, 1, "\(name) at np \(ranks) over \(network.rawValue):\n\(run.output)")
            return found.first
        }
        let reference = resultLine(ranks: 1, network: .sharedMemory)
        XCTAssertNotNil(reference, "\(name) printed no '\(prefix)' line")
        if let expect, let reference { XCTAssertTrue(reference.contains(expect), "\(name): \(reference)") }
        for network in MPIRun.Network.allCases {
            for ranks in [2, 4] {
                XCTAssertEqual(resultLine(ranks: ranks, network: network), reference,
                               "\(name) at np \(ranks) over \(network.rawValue) differs from the 1-rank run")
            }
            XCTAssertEqual(resultLine(ranks: 4, network: network, environment: ["JIA_BROADCAST": "on"]), reference,
                           "\(name) at np 4 over \(network.rawValue) with broadcast on differs from the 1-rank run")
        }
    }

    func testPi() { checkWorkload("pi", prefix: "pi = ", expect: "pi = 3.1415926535") }
    func testMatrixMultiply() { checkWorkload("matmul", prefix: "matmul ") }
    func testRedBlackSOR() { checkWorkload("sor", prefix: "sor ") }
    func testRedBlackSORWithARowPerAllocation() { checkWorkload("rowsor", prefix: "rowsor ") }
    func testIntegerSort() { checkWorkload("is", prefix: "is ", expect: ": sorted checksum") }
    func testEP() { checkWorkload("ep", prefix: "ep ", expect: "counts agree") }
    func testLU() { checkWorkload("lu", prefix: "lu ", expect: "L*U equals A") }
    func testTSPBranchAndBound() { checkWorkload("tsp", prefix: "tsp ", expect: "every job done once") }
}
