import Foundation
import XCTest
@testable import SwiftDSM

/// The layered settings: defaults < YAML file < environment < flags, and every bad value's message.
final class LayeredSettingsTests: XCTestCase {
    private var directory: URL!

    override func setUp() {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("swiftdsm-settings-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDown() { try? FileManager.default.removeItem(at: directory) }

    private func write(_ text: String, _ name: String = "jia.yaml") -> String {
        let path = directory.appendingPathComponent(name).path
        _ = FileManager.default.createFile(atPath: path, contents: text.data(using: .utf8))
        return path
    }

    private func load(environment: [String: String] = [:], arguments: [String] = []) throws -> (Settings, [String]) {
        try Settings.load(environment: environment, arguments: arguments, directory: directory.path)
    }

    private func error(environment: [String: String] = [:], arguments: [String] = [],
                       file: StaticString = #filePath, line: UInt = #line) -> String {
        do {
            _ = try load(environment: environment, arguments: arguments)
            XCTFail("no error", file: file, line: line)
            return ""
        } catch {
            return "\(error)"
        }
    }

    func testDefaultsWithoutAnyFile() throws {
        let (settings, remaining) = try load(arguments: ["prog", "7"])
        XCTAssertEqual(settings.cachePages, 32_768)
        XCTAssertEqual(settings.transport, .auto)
        XCTAssertFalse(settings.statistics)
        XCTAssertEqual(settings.sources, [:])
        XCTAssertEqual(remaining, ["prog", "7"])
    }

    func testBroadcastIsAutoUnlessSwitched() throws {
        XCTAssertNil(try load().0.broadcast, "auto: decided by the transport")
        XCTAssertEqual(try load(arguments: ["--jia-broadcast=on"]).0.broadcast, true)
        XCTAssertEqual(try load(environment: ["JIA_BROADCAST": "off"]).0.broadcast, false)
        XCTAssertNil(try load(arguments: ["--jia-broadcast=AUTO"]).0.broadcast)
        XCTAssertTrue(error(arguments: ["--jia-broadcast=sometimes"]).contains("on, off or auto"))
    }

    func testTCPTransportAndItsNetwork() throws {
        let defaults = try load().0
        XCTAssertEqual(defaults.tcpInterface, "", "auto: follow MPI, else loopback or the first interface")
        XCTAssertEqual(defaults.tcpSpin, 50)
        let (settings, _) = try load(environment: ["JIA_TRANSPORT": "TCP", "JIA_TCP_INTERFACE": "10.77.0.0/24"],
                                     arguments: ["--jia-tcp-spin=0"])
        XCTAssertEqual(settings.transport, .tcp)
        XCTAssertEqual(settings.tcpInterface, "10.77.0.0/24")
        XCTAssertEqual(settings.tcpSpin, 0)
        XCTAssertEqual(try load(arguments: ["--jia-tcp-interface=auto"]).0.tcpInterface, "")
        XCTAssertTrue(error(arguments: ["--jia-transport=udp"]).contains("auto, shm, rma, message, tcp or ucx"))
        XCTAssertTrue(error(arguments: ["--jia-tcp-spin=-1"]).contains("an integer from 0 to 100000"))
        XCTAssertTrue(error(arguments: ["--jia-tcp-interface=eth 0"]).contains("an interface name"))
    }

    func testUCXTransportAndItsSettings() throws {
        let defaults = try load().0
        XCTAssertEqual(defaults.ucxTransports, "", "auto: UCX's own choice")
        XCTAssertEqual(defaults.ucxFetch, .auto)
        XCTAssertEqual(defaults.ucxSpin, 100)
        XCTAssertEqual(defaults.ucxMessages, .auto)
        let (settings, _) = try load(environment: ["JIA_TRANSPORT": "ucx", "JIA_UCX_TRANSPORTS": "rc,sm"],
                                     arguments: ["--jia-ucx-fetch=GET", "--jia-ucx-spin=0", "--jia-ucx-messages=UCX"])
        XCTAssertEqual(settings.transport, .ucx)
        XCTAssertEqual(settings.ucxTransports, "rc,sm")
        XCTAssertEqual(settings.ucxFetch, .get)
        XCTAssertEqual(settings.ucxSpin, 0)
        XCTAssertEqual(settings.ucxMessages, .ucx)
        XCTAssertTrue(error(arguments: ["--jia-ucx-messages=rdma"]).contains("auto, ucx, tcp or mpi"))
        XCTAssertEqual(try load(arguments: ["--jia-ucx-transports=auto"]).0.ucxTransports, "")
        XCTAssertTrue(error(arguments: ["--jia-ucx-fetch=put"]).contains("auto, get or request"))
        XCTAssertTrue(error(arguments: ["--jia-ucx-transports=rc sm"]).contains("a UCX transport list"))
        XCTAssertTrue(error(arguments: ["--jia-ucx-spin=100001"]).contains("an integer from 0 to 100000"))
    }

    func testAutomaticBalanceModeAndInterval() throws {
        XCTAssertNil(try load().0.balance)
        let (settings, _) = try load(arguments: ["--jia-balance=memory", "--jia-balance-interval=4"])
        XCTAssertEqual(settings.balance, .memory)
        XCTAssertEqual(settings.balanceInterval, 4)
        XCTAssertTrue(error(arguments: ["--jia-balance=sometimes"]).contains("off, computing, memory or hybrid"))
        XCTAssertTrue(error(arguments: ["--jia-balance-interval=0"]).contains("an integer from 1"))
    }

    func testPrecedenceDefaultsFileEnvironmentFlags() throws {
        _ = write("cache-pages: 100\nprefetch-pages: 4\nstatistics: on\nlog_level: info\ntransport: message\n")
        let environment = ["JIA_PREFETCH_PAGES": "8", "JIA_TRANSPORT": "rma", "HOME": "/root"]
        let (settings, remaining) = try load(environment: environment,
                                             arguments: ["prog", "--jia-transport=shm", "x", "--jia-max-locks=9"])
        XCTAssertEqual(settings.cachePages, 100)           // file over default
        XCTAssertEqual(settings.prefetchPages, 8)          // environment over file
        XCTAssertEqual(settings.transport, .shm)           // flag over environment over file
        XCTAssertEqual(settings.maxLocks, 9)               // flag over default
        XCTAssertTrue(settings.statistics)
        XCTAssertEqual(settings.logLevel, "info")          // underscores accepted in the file
        XCTAssertEqual(settings.pageSize, 4096)            // default
        XCTAssertEqual(remaining, ["prog", "x"])           // --jia- flags stripped, order kept
        XCTAssertEqual(settings.sources["cache-pages"], "file jia.yaml line 1 (cache-pages: 100)")
        XCTAssertEqual(settings.sources["prefetch-pages"], "environment variable JIA_PREFETCH_PAGES=8")
        XCTAssertEqual(settings.sources["transport"], "flag --jia-transport=shm")
        XCTAssertNil(settings.sources["page-size"])
        let table = settings.configurationTable
        XCTAssertTrue(table.contains("cache-pages"), table)
        XCTAssertTrue(table.split(separator: "\n").contains { $0.hasPrefix("page-size") && $0.hasSuffix("default") },
                      table)
    }

    func testConfigVariableNamesTheFileAndJiaYamlIsThenIgnored() throws {
        _ = write("cache-pages: 100\n")
        let other = write("cache-pages: 200\nhmig: off\nloadbal: yes\nstatistics-json: /tmp/s.json\n", "other.yaml")
        let (settings, _) = try load(environment: ["JIA_CONFIG": other])
        XCTAssertEqual(settings.cachePages, 200)
        XCTAssertFalse(settings.hmig)
        XCTAssertTrue(settings.loadbal)
        XCTAssertTrue(settings.wvec)  // the default
        XCTAssertEqual(settings.statisticsJSON, "/tmp/s.json")
        XCTAssertEqual(settings.sources["cache-pages"], "file \(other) line 1 (cache-pages: 200)")
        let missing = error(environment: ["JIA_CONFIG": directory.appendingPathComponent("none.yaml").path])
        XCTAssertTrue(missing.hasPrefix("environment variable JIA_CONFIG="), missing)
        XCTAssertTrue(missing.contains("cannot read"), missing)
    }

    func testEmptyFileAndCommentsAreFine() throws {
        _ = write("# nothing set\n\n")
        XCTAssertEqual(try load().0, Settings())
    }

    func testYAMLSyntaxErrorNamesFileAndLine() {
        _ = write("cache-pages: 100\nstatistics: on\ntransport: [shm\n")
        let message = error()
        XCTAssertTrue(message.hasPrefix("file jia.yaml line "), message)
        XCTAssertTrue(message.contains("YAML syntax error"), message)
        _ = write("cache-pages: 100\n  statistics: on\n")
        let indented = error()
        XCTAssertTrue(indented.hasPrefix("file jia.yaml line 2 column "), indented)
    }

    func testUnknownKeyInFile() {
        _ = write("cache-pages: 100\n\ncache-size: 5\n")
        let message = error()
        XCTAssertTrue(message.hasPrefix("file jia.yaml line 3: unknown setting cache-size; known: transport, "), message)
        XCTAssertTrue(message.contains("cache-pages"), message)
    }

    func testWrongTypeInFile() {
        _ = write("statistics: on\ncache-pages: [1, 2]\n")
        XCTAssertEqual(error(), "file jia.yaml line 2: cache-pages must be an integer from 1 to 16777216, not a list")
        _ = write("statistics: maybe\n")
        XCTAssertEqual(error(), "file jia.yaml line 1 (statistics: maybe): statistics must be on or off")
        _ = write("transport:\n  kind: shm\n")
        XCTAssertTrue(error().hasPrefix("file jia.yaml line 1: transport must be auto, shm, rma, message, tcp or ucx, not a mapping"))
        _ = write("- cache-pages: 1\n")
        XCTAssertTrue(error().hasPrefix("file jia.yaml line 1: the settings file must be a mapping"))
    }

    func testOutOfRangeInEachSource() {
        _ = write("page-size: 3000\n")
        XCTAssertEqual(error(), "file jia.yaml line 1 (page-size: 3000): page-size must be a power of two "
            + "from the system page size to 1M")
        try? FileManager.default.removeItem(at: directory.appendingPathComponent("jia.yaml"))
        XCTAssertEqual(error(environment: ["JIA_CACHE_PAGES": "0"]),
                       "environment variable JIA_CACHE_PAGES=0: cache-pages must be an integer from 1 to 16777216")
        XCTAssertEqual(error(arguments: ["--jia-capacity=12"]),
                       "flag --jia-capacity=12: capacity must be a byte count from 1M to 64T, with an optional K, M, G or T suffix")
        XCTAssertTrue(error(environment: ["JIA_CACHE_PAGEZ": "1"])
            .hasPrefix("environment variable JIA_CACHE_PAGEZ: unknown setting; known: JIA_TRANSPORT"))
        XCTAssertTrue(error(arguments: ["--jia-wvec"]).hasPrefix("flag --jia-wvec: needs a value"))
        XCTAssertTrue(error(arguments: ["--jia-frob=1"]).hasPrefix("flag --jia-frob=1: unknown setting"))
    }

    func testFileErrorComesBeforeLaterSources() {
        _ = write("cache-pages: lots\n")
        XCTAssertEqual(error(environment: ["JIA_CACHE_PAGES": "5"]),
                       "file jia.yaml line 1 (cache-pages: lots): cache-pages must be an integer from 1 to 16777216")
    }
}

/// The fixed-memory latency histogram and the statistics arithmetic.
final class StatisticsTests: XCTestCase {
    func testBucketsCoverValuesInOrder() {
        var previous = -1
        for value in [0, 1, 7, 8, 9, 15, 16, 17, 100, 1000, 4095, 4096, 1 << 30, 1 << 40] as [UInt64] {
            let bucket = LatencyHistogram.bucket(of: value)
            XCTAssertGreaterThanOrEqual(bucket, previous, "\(value)")
            XCTAssertLessThanOrEqual(LatencyHistogram.lowerBound(ofBucket: bucket), value, "\(value)")
            XCTAssertGreaterThanOrEqual(LatencyHistogram.upperBound(ofBucket: bucket), value, "\(value)")
            previous = bucket
        }
        XCTAssertEqual(LatencyHistogram.bucket(of: .max), LatencyHistogram.bucketCount - 1)
    }

    func testPercentilesWithinOneEighth() {
        var histogram = LatencyHistogram()
        for value in 1...1000 { histogram.record(UInt64(value) * 1000) }
        XCTAssertEqual(histogram.count, 1000)
        XCTAssertEqual(histogram.maximum, 1_000_000)
        for (fraction, exact) in [(0.5, 500_000.0), (0.9, 900_000.0), (0.99, 990_000.0)] {
            let estimate = Double(histogram.percentile(fraction))
            XCTAssertGreaterThanOrEqual(estimate, exact, "p\(fraction)")
            XCTAssertLessThanOrEqual(estimate, exact * 1.125, "p\(fraction)")
        }
        XCTAssertEqual(histogram.percentile(1), 1_000_000)
        XCTAssertEqual(LatencyHistogram().percentile(0.5), 0)
    }

    func testAddSubtractAndFlattenRoundTrip() {
        var a = Statistics()
        a.readFaults = 5
        a.lockWaitNanoseconds = 700
        a.fetchLatency.record(300)
        var b = Statistics()
        b.readFaults = 2
        b.fetchLatency.record(40)
        var sum = a
        sum.add(b)
        XCTAssertEqual(sum.readFaults, 7)
        XCTAssertEqual(sum.fetchLatency.count, 2)
        let difference = sum.subtracting(b)
        XCTAssertEqual(difference.readFaults, 5)
        XCTAssertEqual(difference.lockWaitNanoseconds, 700)
        XCTAssertEqual(difference.fetchLatency.count, 1)
        let flat = sum.flattened
        XCTAssertEqual(flat.count, Statistics.flattenedCount)
        let back = Statistics(flattened: flat[...])
        XCTAssertEqual(back.flattened, flat)
        XCTAssertEqual(back.fetchLatency.count, 2)
    }

    func testJSONHasOneObjectPerRankWithEveryCounter() throws {
        var one = Statistics()
        one.barriers = 3
        one.barrierWaitNanoseconds = 1500
        one.barrierLatency.record(1500)
        let text = StatisticsReport.json([Statistics(), one], elapsed: [10, 20], transport: "shm")
        let array = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(text.utf8)) as? [[String: Any]])
        XCTAssertEqual(array.count, 2)
        XCTAssertEqual(array[1]["rank"] as? Int, 1)
        let counters = try XCTUnwrap(array[1]["counters"] as? [String: Any])
        XCTAssertEqual(counters.count, Statistics.counters.count)
        XCTAssertEqual(counters["barriers"] as? Int, 3)
        let histograms = try XCTUnwrap(array[1]["histograms"] as? [String: [String: Any]])
        XCTAssertEqual(histograms["barrierLatency"]?["count"] as? Int, 1)
        let table = StatisticsReport.text([Statistics(), one], elapsed: [10, 20], transport: "shm")
        XCTAssertTrue(table.contains("barriers"), table)
        XCTAssertTrue(table.contains("slowest: rank 1"), table)
    }
}
