import Foundation
import XCTest

/// Runs a program of this package under `mpirun` and captures what it printed.
struct MPIRun {
    enum Network: String, CaseIterable {
        /// Open MPI's default on one host: shared memory (RMA windows work).
        case sharedMemory = "shm"
        /// Plain TCP, as on a cluster without RDMA: no one-sided MPI, the message path runs.
        case tcp
    }

    struct Result {
        let status: Int32
        let output: String
        let timedOut: Bool
    }

    /// The folder with the built programs: $SWIFTDSM_BIN_DIR, else .build/release, else .build/debug.
    static let binaryDirectory: URL = {
        if let path = ProcessInfo.processInfo.environment["SWIFTDSM_BIN_DIR"] { return URL(fileURLWithPath: path) }
        for configuration in ["release", "debug"] {
            let folder = root.appendingPathComponent(".build/\(configuration)")
            if FileManager.default.fileExists(atPath: folder.appendingPathComponent("dsm-check").path) { return folder }
        }
        return root.appendingPathComponent(".build/release")
    }()

    static func run(_ program: String, _ arguments: [String], ranks: Int, network: Network,
                    environment: [String: String] = [:], timeout: TimeInterval = 240) -> Result {
        let binary = binaryDirectory.appendingPathComponent(program).path
        guard FileManager.default.isExecutableFile(atPath: binary) else {
            return Result(status: -1, output: "\(binary) is not built: run `swift build -c release` first "
                + "(scripts/test does)", timedOut: false)
        }
        return run(path: binary, quickStart(program, arguments), ranks: ranks, network: network,
                   environment: environment, timeout: timeout)
    }

    /// `arguments` with the page cache left unpopulated at start-up, for dsm-check (unless
    /// they name `cache-prefault` themselves). Populating the default 128 MiB cache of each
    /// rank was a third of the run time of a short scenario at 4 ranks, and the scenarios
    /// touch a few MiB; populated slots change only how long a fetch into them takes.
    /// The NPB kernels, the examples and the C programs run with the default, and so does
    /// `testTheFaultPathAllocatesNothing`.
    static func quickStart(_ program: String, _ arguments: [String]) -> [String] {
        guard program == "dsm-check", !arguments.contains(where: { $0.hasPrefix("--jia-cache-prefault=") }) else {
            return arguments
        }
        return arguments + ["--jia-cache-prefault=off"]
    }

    /// Runs the program at the absolute path `binary` (a C program built with scripts/jiacc, say),
    /// in `directory` when given.
    static func run(path binary: String, _ arguments: [String], ranks: Int, network: Network,
                    environment: [String: String] = [:], directory: URL? = nil,
                    timeout: TimeInterval = 240) -> Result {
        guard FileManager.default.isExecutableFile(atPath: binary) else {
            return Result(status: -1, output: "\(binary) is not an executable", timedOut: false)
        }
        var mpirunArguments = ["--allow-run-as-root", "--oversubscribe", "-np", "\(ranks)",
                               "--mca", "orte_base_help_aggregate", "0"] + pointToPoint(environment)
        if network == .tcp { mpirunArguments += ["--mca", "btl", "self,tcp"] }
        return execute("/usr/bin/mpirun", mpirunArguments + [binary] + arguments, environment: environment,
                       directory: directory, timeout: timeout)
    }

    /// Open MPI's ob1 for point-to-point messages, as the test bed's runs take it (unless the
    /// caller names a PML). Left to choose, Open MPI also probes its PSM and PSM2 components
    /// at each start (Debian's configuration excludes only OFI and UCX), which took 0.2 s of
    /// a 0.35 s start-up here and then selected ob1 all the same on a machine without their
    /// hardware.
    private static func pointToPoint(_ environment: [String: String]) -> [String] {
        environment["OMPI_MCA_pml"] == nil && ProcessInfo.processInfo.environment["OMPI_MCA_pml"] == nil
            ? ["--mca", "pml", "ob1"] : []
    }

    /// The repository's root folder.
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// Runs `program` of this package across the hosts of the test bed (`scripts/testbed`,
    /// which must be up), `ranksPerHost` ranks on each of the first `hosts` hosts.
    static func runAcrossHosts(_ program: String, _ arguments: [String], hosts: Int, ranksPerHost: Int,
                               environment: [String: String] = [:], timeout: TimeInterval = 240) -> Result {
        let binary = binaryDirectory.appendingPathComponent(program).path
        return runAcrossHosts(path: binary, quickStart(program, arguments), hosts: hosts, ranksPerHost: ranksPerHost,
                              environment: environment, timeout: timeout)
    }

    static func runAcrossHosts(path binary: String, _ arguments: [String], hosts: Int, ranksPerHost: Int,
                               environment: [String: String] = [:], timeout: TimeInterval = 240) -> Result {
        let hostList = (1...hosts).map { "dsmhost\($0):\(ranksPerHost)" }.joined(separator: ",")
        let testbed = root.appendingPathComponent("scripts/testbed").path
        return execute(testbed, ["mpirun", "-np", "\(hosts * ranksPerHost)", "--host", hostList,
                                 "--map-by", "node", binary] + arguments,
                       environment: environment, directory: nil, timeout: timeout)
    }

    /// Key files for `security`, made by dsm-keygen in a new private directory named after
    /// `label`: their paths by name, and the directory (the caller removes it).
    static func makeKeys(_ names: [String], label: String) -> (directory: String, paths: [String: String]) {
        let directory = NSTemporaryDirectory() + "swiftdsm-keys-\(getpid())-\(label)"
        mkdir(directory, 0o700)
        var paths: [String: String] = [:]
        for name in names {
            let path = directory + "/" + name
            let made = execute(binaryDirectory.appendingPathComponent("dsm-keygen").path, [path], environment: [:],
                               directory: nil, timeout: 60)
            XCTAssertEqual(made.status, 0, "dsm-keygen \(path): " + made.output)
            paths[name] = path
        }
        return (directory, paths)
    }

    /// Runs a command with `environment` added to this process's, collecting what it prints;
    /// a run past `timeout` is terminated and reported as timed out.
    static func execute(_ executable: String, _ arguments: [String], environment: [String: String],
                        directory: URL?, timeout: TimeInterval) -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        if let directory { process.currentDirectoryURL = directory }
        process.arguments = arguments
        var processEnvironment = ProcessInfo.processInfo.environment
        for (key, value) in environment { processEnvironment[key] = value }
        process.environment = processEnvironment
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        let collected = OutputCollector()
        pipe.fileHandleForReading.readabilityHandler = { handle in collected.append(handle.availableData) }
        let exited = DispatchSemaphore(value: 0)
        process.terminationHandler = { _ in exited.signal() }
        do { try process.run() } catch {
            return Result(status: -1, output: "cannot start \(executable): \(error)", timedOut: false)
        }
        let timedOut = exited.wait(timeout: .now() + timeout) == .timedOut
        if timedOut {
            process.terminate()
            usleep(500_000)
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        }
        process.waitUntilExit()
        pipe.fileHandleForReading.readabilityHandler = nil
        collected.append(pipe.fileHandleForReading.readDataToEndOfFile())
        return Result(status: process.terminationStatus, output: collected.text, timedOut: timedOut)
    }
}

final class OutputCollector: @unchecked Sendable {
    private let lock = NSLock()
    private var data = Data()

    func append(_ chunk: Data) {
        lock.lock()
        data.append(chunk)
        lock.unlock()
    }

    var text: String {
        lock.lock()
        defer { lock.unlock() }
        return String(decoding: data, as: UTF8.self)
    }
}
