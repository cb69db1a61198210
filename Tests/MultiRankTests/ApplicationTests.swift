import XCTest

/// The MapReduce examples and sample sort at small sizes: every run must exit 0 and print
/// its PASS line (each checks itself against a one-rank computation inside the run), and
/// the result digests of word count, inverted index and k-means must equal the 1-rank
/// run's at 1, 2 and 4 ranks over both MPI networks and on the tcp and message transports.
final class ApplicationTests: XCTestCase {
    private struct Run {
        let ranks: Int
        let network: MPIRun.Network
        let transport: [String]
        var label: String { "np \(ranks) over \(network.rawValue)\(transport.isEmpty ? "" : " " + transport[0])" }
    }

    private static let runs: [Run] = [1, 2, 4].flatMap { ranks in
        MPIRun.Network.allCases.map { Run(ranks: ranks, network: $0, transport: []) }
    } + [Run(ranks: 4, network: .sharedMemory, transport: ["--jia-transport=tcp"]),
         Run(ranks: 4, network: .sharedMemory, transport: ["--jia-transport=message"])]

    /// Runs `program` every way, comparing each digest line (when `digestPrefix` is given) with the first run's.
    private func check(_ program: String, _ arguments: [String], digestPrefix: String?) {
        var reference: String?
        for run in ApplicationTests.runs {
            let result = MPIRun.run(program, arguments + run.transport, ranks: run.ranks, network: run.network,
                                    timeout: 120)
            let lines = result.output.split(separator: "\n").map(String.init)
            XCTAssertEqual(result.status, 0, "\(program) at \(run.label):\n\(result.output)")
            XCTAssertNotNil(lines.first { $0.hasPrefix("PASS \(program): np \(run.ranks)") },
                            "\(program) at \(run.label) printed no PASS line:\n\(result.output)")
            guard let digestPrefix else { continue }
            let digest = lines.first { $0.hasPrefix(digestPrefix) }
            XCTAssertNotNil(digest, "\(program) at \(run.label) printed no '\(digestPrefix)' line:\n\(result.output)")
            if reference == nil {
                reference = digest
            } else {
                XCTAssertEqual(digest, reference, "\(program) at \(run.label) differs from the 1-rank run")
            }
        }
    }

    func testWordCount() {
        check("example-wordcount", ["--words", "300000", "--vocabulary", "20000", "--chunk", "4096"],
              digestPrefix: "wordcount digest = ")
    }

    func testInvertedIndex() {
        check("example-invertedindex", ["--documents", "3000", "--words", "80", "--vocabulary", "20000"],
              digestPrefix: "invertedindex digest = ")
    }

    func testKMeans() {
        check("example-kmeans", ["--points", "100000", "--clusters", "16", "--split", "4096"],
              digestPrefix: "kmeans digest = ")
    }

    func testSampleSort() {
        check("example-samplesort", ["--keys", "300000"], digestPrefix: nil)
    }

    /// A bad option is a mistake every rank sees: each says so and the job exits non-zero.
    func testBadOptionStopsEveryRank() {
        let result = MPIRun.run("example-wordcount", ["--words", "many"], ranks: 2, network: .sharedMemory,
                                timeout: 60)
        XCTAssertNotEqual(result.status, 0, result.output)
        for rank in 0..<2 {
            XCTAssertTrue(result.output.contains("SwiftDSM error on rank \(rank): --words: 'many' is not an integer"),
                          result.output)
        }
    }

    /// Ranks that run different jobs (here 20 splits against 10, from different options with
    /// the same input size) are stopped by MapReduce's check, each naming the other's job.
    func testRanksDisagreeingOnAJobStopEveryRank() {
        let binary = MPIRun.binaryDirectory.appendingPathComponent("example-wordcount").path
        let result = MPIRun.execute("/usr/bin/mpirun", ["--allow-run-as-root", "--oversubscribe",
                                                        "-np", "1", binary, "--words", "81920", "--chunk", "4096", ":",
                                                        "-np", "1", binary, "--words", "81920", "--chunk", "8192"],
                                    environment: [:], directory: nil, timeout: 60)
        XCTAssertNotEqual(result.status, 0, result.output)
        XCTAssertTrue(result.output.contains("SwiftDSM error on rank 0: MapReduce.combining: rank 1 and rank 0 disagree"),
                      result.output)
        XCTAssertTrue(result.output.contains("SwiftDSM error on rank 1: MapReduce.combining: rank 0 and rank 1 disagree"),
                      result.output)
    }
}
