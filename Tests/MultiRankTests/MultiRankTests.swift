import XCTest

/// The dsm-check scenarios under mpirun at 1, 2 and 4 ranks: over shared memory with the
/// default transport (ranks map each other's memory), over shared memory with MPI RMA
/// forced, over TCP (the message path), on SwiftDSM's own tcp lanes, and on UCX's one-sided
/// gets and puts (its shared-memory transports).
final class ScenarioTests: XCTestCase {
    struct Configuration {
        let network: MPIRun.Network
        let arguments: [String]
        let transport: String
        let ranks: [Int]
    }

    static let configurations = [
        Configuration(network: .sharedMemory, arguments: [], transport: "shm", ranks: [1, 2, 4]),
        Configuration(network: .sharedMemory, arguments: ["--jia-transport=rma"], transport: "rma", ranks: [2, 4]),
        Configuration(network: .tcp, arguments: [], transport: "message", ranks: [1, 2, 4]),
        Configuration(network: .sharedMemory, arguments: ["--jia-transport=tcp"], transport: "tcp", ranks: [2, 4]),
        Configuration(network: .sharedMemory, arguments: ["--jia-transport=ucx"], transport: "ucx", ranks: [2, 4]),
    ]

    private func runEverywhere(_ scenario: String, _ extra: [String] = [],
                               file: StaticString = #filePath, line: UInt = #line) {
        for configuration in Self.configurations {
            for ranks in configuration.ranks {
                let result = MPIRun.run("dsm-check", [scenario] + extra + configuration.arguments, ranks: ranks,
                                        network: configuration.network)
                let label = "\(scenario) at np \(ranks) over \(configuration.network.rawValue) "
                    + "(\(configuration.transport))"
                XCTAssertFalse(result.timedOut, "\(label) hung:\n\(result.output)", file: file, line: line)
                XCTAssertEqual(result.status, 0, "\(label) failed:\n\(result.output)", file: file, line: line)
                for name in scenario.split(separator: ",") {
                    XCTAssertTrue(result.output.contains("dsm-check \(name): PASS"), "\(label):\n\(result.output)",
                                  file: file, line: line)
                }
                // One rank never moves a page, and Open MPI offers it no window: any path is fine.
                guard ranks > 1 else { continue }
                XCTAssertTrue(result.output.contains("transport \(configuration.transport)"),
                              "\(label) should use \(configuration.transport):\n\(result.output)", file: file, line: line)
            }
        }
    }

    func testLockProtectedCountersLoseNoIncrement() { runEverywhere("counter") }
    func testBarrierMakesAllWritesVisible() { runEverywhere("barrier") }
    func testScopeConsistencyThroughLocks() { runEverywhere("scope") }
    func testNestedLocksPublishInnerWrites() { runEverywhere("nested") }
    func testConditionVariables() { runEverywhere("cv") }
    func testMultipleWritersOfOnePage() { runEverywhere("multiwriter") }
    func testSixteenPageCacheSweepsAThousandPages() { runEverywhere("sweep", ["--jia-cache-pages=16"]) }
    func testAllocationDistributions() { runEverywhere("alloc") }
    func testRandomizedStressAgainstSequentialModel() { runEverywhere("stress") }
    func testApplicationMPIAlongsideTheDSM() { runEverywhere("mixed-mpi") }
    func testCollectivesOnSharedAndPrivateBuffers() { runEverywhere("collectives") }
    func testApplicationInitializesAndFinalizesMPI() { runEverywhere("preinit") }

    /// Four threads per rank write interleaved and disjoint words between barriers and sum
    /// the whole array, with a 16-page cache (faults of several threads on one page, and
    /// evictions of pages other threads use), against the model.
    func testSeveralThreadsPerRank() { runEverywhere("threads", ["--jia-cache-pages=16"]) }

    /// SwiftDSM's fault path (it runs in a signal handler) makes no heap allocation in a
    /// release build: fetched runs, writes to copies and home pages, refetches, clean
    /// evictions of a 16-page cache (MPI's and UCX's own allocations are printed, not counted).
    /// With the cache's slots populated at start-up, as by default (`MPIRun.quickStart`).
    func testTheFaultPathAllocatesNothing() {
        runEverywhere("fault-allocations", ["--jia-cache-pages=16", "--jia-cache-prefault=on"])
    }

    /// Home migration and adaptive write detection, each on and off, seen acting through
    /// their counters (and a migrated page served by its new home).
    func testAdaptiveProtocolsAct() {
        for hmig in ["off", "on"] {
            for adwd in ["off", "on"] { runEverywhere("adaptive", ["--jia-hmig=\(hmig)", "--jia-adwd=\(adwd)"]) }
        }
    }

    /// A lock's manager moves to the rank that takes it most, and counting stays exact.
    func testLockManagersMoveToTheirUsers() {
        runEverywhere("lockmove")
        runEverywhere("lockmove", ["--jia-lock-migration=off"])
    }

    /// Write vectors: refetches over the message path move only changed blocks, and every
    /// value read is right, on and off (and nothing changes where pages are read directly).
    func testWriteVectorsMoveOnlyChangedBlocks() {
        runEverywhere("wvec")
        runEverywhere("wvec", ["--jia-wvec=off"])
    }

    /// Read-shared pages broadcast by their home inside the barrier: readers then fetch
    /// nothing and read the newest values; off, they fetch every round.
    func testBroadcastOfReadSharedPages() {
        runEverywhere("broadcast", ["--jia-broadcast=on"])
        runEverywhere("broadcast")
    }

    /// A release grants the lock straight to the next waiter, with its notices.
    func testLockHandOffToTheNextWaiter() {
        runEverywhere("handoff")
        runEverywhere("handoff", ["--jia-lock-handoff=off"])
    }

    /// DSM.read copies what the barrier published and leaves no read notice: the home's
    /// next writes to pages only read that way take no write fault; a cached copy stays coherent.
    func testDirectReadsLeaveNoReadNotices() { runEverywhere("read") }

    /// A lock one rank takes alone costs one message a round (the request carries the last
    /// release); another rank still gets it, from the holder's service thread, while the
    /// holder blocks in plain MPI. Off, every release is sent.
    func testDeferredReleases() {
        runEverywhere("deferred")
        runEverywhere("deferred", ["--jia-lock-handoff=off"])
    }

    /// jia_balance: a memory balance moves homes to the rank that keeps fetching them.
    func testBalanceMovesHomesToTheirReaders() { runEverywhere("balance") }
    /// jia_free: freed ranges are reused (200 MiB through a 32 MiB space), read as zeros, merge.
    func testFreedMemoryIsReused() { runEverywhere("free", ["--jia-capacity=32M"]) }
    /// MapReduce's shuffle frees the buckets it outgrows (more in all than the capacity).
    func testAGrowingShuffleFreesItsOldBuckets() { runEverywhere("shuffle-growth", ["--jia-capacity=8M"]) }

    /// The balance setting: barriers balance by themselves every balance-interval barriers.
    func testAutomaticBalance() {
        runEverywhere("autobalance", ["--jia-balance=memory", "--jia-balance-interval=4", "--jia-hmig=off"])
        runEverywhere("autobalance", ["--jia-hmig=off"])
    }

    /// The scenarios that check coherence against a model, with the adaptive protocols at
    /// the opposite of their defaults (the other tests run the defaults).
    /// The model scenarios run one after another in one session (`coherence`).
    func testCoherenceWithAdaptiveProtocolsOff() {
        runEverywhere(Self.coherence, ["--jia-hmig=off", "--jia-adwd=off", "--jia-lock-migration=off", "--jia-wvec=off",
                                       "--jia-lock-handoff=off", "--jia-broadcast=on"])
        runEverywhere("sweep", ["--jia-cache-pages=16", "--jia-hmig=off", "--jia-adwd=off", "--jia-broadcast=on"])
    }

    /// The coherence scenarios with every adaptive protocol on at once.
    func testCoherenceWithEveryAdaptiveProtocolOn() { runEverywhere(Self.coherence, ["--jia-broadcast=on"]) }

    /// The scenarios checked against a model, run in one DSM session (dsm-check takes a
    /// list) where settings vary: each has its own test alone with the defaults, and a run
    /// is mostly MPI's start-up.
    static let coherence = "counter,scope,nested,multiwriter,stress"

    /// Security under `auto` takes the tcp transport even on one host, sealed and compressed.
    func testSecurityTakesTheTCPTransport() throws {
        let (directory, keys) = MPIRun.makeKeys(["key"], label: "scenario")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let key = keys["key"]!
        for (scenario, ranks) in [("counter", 2), ("stress", 4), ("broadcast", 4)] {
            let result = MPIRun.run("dsm-check", [scenario, "--jia-security=encrypt", "--jia-key-file=\(key)",
                                                  "--jia-compression=auto"], ranks: ranks, network: .sharedMemory)
            XCTAssertEqual(result.status, 0, result.output)
            XCTAssertTrue(result.output.contains("dsm-check \(scenario): PASS (\(ranks) ranks, transport tcp)"), result.output)
        }
    }

    /// Security and compression on the message transport: MPI's messages carried as sealed,
    /// compressed frames, on one host and (CrossHostTests) across hosts.
    func testSecurityOnTheMessageTransport() throws {
        let (directory, keys) = MPIRun.makeKeys(["key"], label: "message")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let key = keys["key"]!
        let protected = ["--jia-transport=message", "--jia-security=encrypt", "--jia-key-file=\(key)",
                         "--jia-compression=auto"]
        let runs: [(String, Int, [String])] = [("counter", 2, protected), ("stress", 4, protected),
                                               ("broadcast", 4, protected), ("wvec", 2, protected),
                                               ("sweep", 2, protected + ["--jia-cache-pages=16"]),
                                               ("stress", 2, ["--jia-transport=message", "--jia-compression=lz4"])]
        for (scenario, ranks, arguments) in runs {
            let result = MPIRun.run("dsm-check", [scenario] + arguments, ranks: ranks, network: .tcp)
            XCTAssertEqual(result.status, 0, result.output)
            XCTAssertTrue(result.output.contains("dsm-check \(scenario): PASS (\(ranks) ranks, transport message)"),
                          result.output)
        }
    }

    func testMessageTransportOnSharedMemoryToo() {
        for scenario in ["stress", "sweep"] {
            let result = MPIRun.run("dsm-check", [scenario, "--jia-transport=message", "--jia-cache-pages=16"],
                                    ranks: 2, network: .sharedMemory)
            XCTAssertEqual(result.status, 0, result.output)
            XCTAssertTrue(result.output.contains("transport message"), result.output)
        }
    }
}

/// Every user mistake stops every rank with a message naming it, and a non-zero exit.
final class ErrorReportTests: XCTestCase {
    private func expectError(_ scenario: String, _ phrase: String, ranks: [Int] = [2, 4],
                             arguments: [String] = [], environment: [String: String] = [:],
                             file: StaticString = #filePath, line: UInt = #line) {
        for network in MPIRun.Network.allCases {
            for count in ranks {
                let result = MPIRun.run("dsm-check", [scenario] + arguments, ranks: count, network: network,
                                        environment: environment, timeout: 120)
                let label = "\(scenario) at np \(count) over \(network.rawValue)"
                XCTAssertFalse(result.timedOut, "\(label) hung instead of failing:\n\(result.output)", file: file, line: line)
                XCTAssertNotEqual(result.status, 0, "\(label) exited 0:\n\(result.output)", file: file, line: line)
                XCTAssertTrue(result.output.contains(phrase), "\(label) lacks '\(phrase)':\n\(result.output)",
                              file: file, line: line)
                for rank in 0..<count {
                    XCTAssertTrue(result.output.contains("SwiftDSM error on rank \(rank):"),
                                  "\(label): rank \(rank) printed no error:\n\(result.output)", file: file, line: line)
                }
            }
        }
    }

    func testLockIdOutOfRange() { expectError("error-lock-range", "lock id out of range") }
    func testUnlockOfALockNotHeld() { expectError("error-unlock-unheld", "holds no lock") }
    func testUnlockOutOfOrder() { expectError("error-unlock-order", "unlock nested locks innermost first") }
    func testLockNestedInItself() { expectError("error-lock-twice", "already holds lock 1") }
    func testBarrierInsideCriticalSection() { expectError("error-barrier-in-lock", "inside a critical section") }
    func testAllocationSizesDiffer() { expectError("error-alloc-size", "collective calls differ between ranks") }
    func testAllocationOrderDiffers() { expectError("error-alloc-order", "rank 1 called jia_barrier()") }
    func testAllocationBeyondCapacity() { expectError("error-alloc-full", "the shared space is full") }
    func testAccessOutsideAllocatedMemory() { expectError("error-outside", "outside the allocated shared memory") }
    func testReadIntoSharedMemory() { expectError("error-read-into-shared", "the destination is shared memory") }
    func testUseAfterFree() { expectError("error-use-after-free", "is in shared memory released by jia_free: allocation 1") }
    func testDoubleFree() { expectError("error-double-free", "was already freed") }
    func testFreeOfAnAddressInsideAnAllocation() { expectError("error-free-inside", "is not the start of a shared allocation") }
    func testConditionVariableOutOfRange() { expectError("error-cv-range", "condition variable id out of range") }

    /// Input from the network that does not parse stops every rank with a message naming
    /// the sender, and nothing of it is applied (the decoder's own test checks that part).
    func testMalformedRequestsFromAPeer() {
        expectError("error-malformed-kind", "rank 0 sent a request this rank cannot take (kind 99")
        expectError("error-malformed-truncated", "rank 0 sent a malformed fetchPages request (truncated")
        expectError("error-malformed-fetch", "page offset 1125899906842624 is outside")
        expectError("error-malformed-diff", "rank 0 sent a malformed diff request (run offset")
        expectError("error-malformed-release", "release of lock 3, which rank 0 does not hold")
        expectError("error-malformed-refetch", "refetch of 2 pages carries 8 bytes of versions")
        expectError("error-malformed-fetch-runs", "rank 0 sent a malformed fetchRuns request (page offset 1125899906842624 is outside")
    }

    /// On the tcp transport: a frame that fails its header check closes the lane and stops
    /// every rank naming the sender; malformed requests inside good frames as everywhere.
    func testMalformedInputOnTheTCPLanes() {
        let tcp = ["--jia-transport=tcp"]
        expectError("error-malformed-frame", "sent a malformed frame (a frame header fails its checksum); "
            + "its connection was closed and nothing of it was applied", arguments: tcp)
        expectError("error-malformed-diff", "rank 0 sent a malformed diff request (run offset", arguments: tcp)
        expectError("error-malformed-kind", "rank 0 sent a request this rank cannot take (kind 99", arguments: tcp)
        expectError("counter", "the tcp transport found no interface that is up with an IPv4 address matching nosuch0",
                    ranks: [2], arguments: tcp + ["--jia-tcp-interface=nosuch0"])
    }

    /// A key file others can read, a missing key file, and security or LZ4 where there are
    /// no frames to apply them to: each named on every rank, with the fix.
    /// Ranks started with different compression settings are refused at connection time,
    /// each naming the other's setting (not at the first compressed frame).
    func testDifferentCompressionIsRefusedAtConnection() {
        let check = MPIRun.binaryDirectory.appendingPathComponent("dsm-check").path
        let result = MPIRun.execute("/usr/bin/mpirun", ["--allow-run-as-root", "--oversubscribe", "-np", "1", check,
                                                        "counter", "--jia-transport=tcp", "--jia-compression=lz4", ":",
                                                        "-np", "1", check, "counter", "--jia-transport=tcp"],
                                    environment: [:], directory: nil, timeout: 60)
        XCTAssertFalse(result.timedOut, result.output)
        XCTAssertNotEqual(result.status, 0, result.output)
        XCTAssertTrue(result.output.contains("SwiftDSM error on rank 0: the tcp transport refused rank 1 on host")
                      && result.output.contains("it runs with compression off, this rank with compression lz4"), result.output)
        XCTAssertTrue(result.output.contains("it runs with compression lz4, this rank with compression off"), result.output)
    }

    func testSecurityMistakesAreNamed() throws {
        let (directory, keys) = MPIRun.makeKeys(["key", "open"], label: "mistakes")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let key = keys["key"]!
        let open = keys["open"]!
        chmod(open, 0o644)
        let tcp = ["--jia-transport=tcp", "--jia-security=encrypt"]
        expectError("counter", "can be read or written by others (mode 644); make it the owner's only: chmod 600 \(open)",
                    ranks: [2], arguments: tcp + ["--jia-key-file=\(open)"])
        expectError("counter", "needs a key file for security encrypt: name one with the key-file setting",
                    ranks: [2], arguments: tcp)
        expectError("counter", "security encrypt protects the frames of the tcp and message transports, but "
            + "transport shm maps the other ranks' memory", ranks: [2],
            arguments: ["--jia-transport=shm", "--jia-security=encrypt", "--jia-key-file=\(key)"])
        expectError("counter", "compression lz4 applies to the frames of the tcp and message transports, but "
            + "transport rma moves pages with MPI's one-sided operations", ranks: [2],
            arguments: ["--jia-transport=rma", "--jia-compression=lz4"])
        expectError("counter", "the message transport needs a key file for security authenticate", ranks: [2],
                    arguments: ["--jia-transport=message", "--jia-security=authenticate"])
    }

    /// On the message transport (MPI's messages, framed): a diff altered after sealing is
    /// refused at its home, which stays unchanged; notices altered after sealing are refused
    /// by every rank (on tcp too); a rank with another key, or other settings, is refused at
    /// start-up. Each stops every rank naming the rank at fault.
    func testForgedMessagesAndNoticesAreRefused() throws {
        let (directory, keys) = MPIRun.makeKeys(["key", "other"], label: "forged")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let key = keys["key"]!
        let other = keys["other"]!
        let message = ["--jia-transport=message", "--jia-key-file=\(key)"]
        for security in ["authenticate", "encrypt"] {
            expectError("error-tampered-diff", "sent a frame that fails authentication: it was changed on the way, "
                + "replayed, or sealed with another key; nothing of it was applied", ranks: [2],
                arguments: message + ["--jia-security=\(security)", "--jia-compression=lz4"])
        }
        let diff = MPIRun.run("dsm-check", ["error-tampered-diff", "--jia-security=encrypt"] + message, ranks: 2,
                              network: .sharedMemory, timeout: 120)
        XCTAssertTrue(diff.output.contains("rank 0: home word after the tampered frame: 0"), diff.output)
        XCTAssertTrue(diff.output.contains("SwiftDSM error on rank 0: rank 1 on host"), diff.output)
        for transport in ["message", "tcp"] {
            expectError("error-tampered-notices", "the write notices and collective call of rank 2 on host",
                        ranks: [3], arguments: ["--jia-transport=\(transport)", "--jia-security=authenticate",
                                                "--jia-key-file=\(key)"])
        }
        let notices = MPIRun.run("dsm-check", ["error-tampered-notices", "--jia-security=encrypt"] + message, ranks: 2,
                                 network: .sharedMemory, timeout: 120)
        XCTAssertFalse(notices.output.contains("passed the barrier with tampered notices"), notices.output)

        let check = MPIRun.binaryDirectory.appendingPathComponent("dsm-check").path
        func mixed(_ first: [String], _ second: [String]) -> MPIRun.Result {
            MPIRun.execute("/usr/bin/mpirun", ["--allow-run-as-root", "--oversubscribe", "-np", "1", check, "counter",
                                               "--jia-transport=message"] + first + [":", "-np", "1", check, "counter",
                                               "--jia-transport=message"] + second,
                           environment: [:], directory: nil, timeout: 60)
        }
        let twoKeys = mixed(["--jia-security=encrypt", "--jia-key-file=\(key)"],
                            ["--jia-security=encrypt", "--jia-key-file=\(other)"])
        XCTAssertNotEqual(twoKeys.status, 0, twoKeys.output)
        for rank in 0..<2 {
            XCTAssertTrue(twoKeys.output.contains("SwiftDSM error on rank \(rank): the message transport refused rank "
                + "\(1 - rank) on host"), twoKeys.output)
        }
        XCTAssertTrue(twoKeys.output.contains("it does not hold this rank's key"), twoKeys.output)
        let settings = mixed(["--jia-security=encrypt", "--jia-key-file=\(key)"], ["--jia-compression=lz4"])
        XCTAssertNotEqual(settings.status, 0, settings.output)
        XCTAssertTrue(settings.output.contains("it runs with security off, this rank with security encrypt"), settings.output)
        XCTAssertTrue(settings.output.contains("it runs with security encrypt, this rank with security off"), settings.output)
    }

    func testASecondThreadInsideASynchronizationCall() {
        expectError("error-second-thread", "jia_lock was called by a second thread while another thread of this "
            + "rank is inside jia_barrier", ranks: [2])
    }

    func testMPIInitializedWithoutThreadSupport() {
        expectError("error-thread-level", "needs MPI_THREAD_MULTIPLE", ranks: [2])
    }

    func testBadSettingValues() {
        expectError("counter", "JIA_CACHE_PAGES=many", ranks: [2], environment: ["JIA_CACHE_PAGES": "many"])
        expectError("counter", "--jia-transport=udp", ranks: [2], arguments: ["--jia-transport=udp"])
    }

    /// A fault inside the fault handler (a bug there) is reported with both addresses and the
    /// job ends; it neither hangs nor dies without a word.
    func testAFaultInsideTheHandlerIsReported() {
        for ranks in [2, 4] {
            let result = MPIRun.run("dsm-check", ["error-fault-in-handler"], ranks: ranks, network: .sharedMemory,
                                    timeout: 60)
            XCTAssertFalse(result.timedOut, result.output)
            XCTAssertNotEqual(result.status, 0, result.output)
            XCTAssertTrue(result.output.contains("inside the fault handler, while it resolved a fault at 0x"), result.output)
            XCTAssertFalse(result.output.contains("the mistake was not reported"), result.output)
        }
    }

    func testRealSegmentationFaultStillCrashesWithTheAddress() {
        let result = MPIRun.run("dsm-check", ["error-segv"], ranks: 2, network: .sharedMemory, timeout: 120)
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.output.contains("segmentation fault at address 0x10"), result.output)
    }

    func testRMARequestedOverTCPIsRefused() {
        let result = MPIRun.run("dsm-check", ["counter", "--jia-transport=rma"], ranks: 2, network: .tcp, timeout: 120)
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.output.contains("cannot create RMA windows"), result.output)
    }
}
