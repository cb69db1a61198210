import Foundation
import XCTest

/// Checkpoint and restart on one host: dsm-check's `checkpoint` scenario (a red-black SOR
/// with a write-once table, migrating homes, lock-summed counters and a condition
/// variable) is killed with SIGKILL after or during a checkpoint and restarted with
/// `restart: latest`; its digest of all shared memory must equal an uninterrupted run's.
/// Damaged checkpoints are refused with a message on every rank.
final class CheckpointTests: XCTestCase {
    private var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("swiftdsm-checkpoints-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: folder)
    }

    private struct Setup {
        let ranks: Int
        let transport: String
    }

    private static let setups = [Setup(ranks: 1, transport: "auto"), Setup(ranks: 2, transport: "shm"),
                                 Setup(ranks: 2, transport: "rma"), Setup(ranks: 2, transport: "message"),
                                 Setup(ranks: 2, transport: "tcp"), Setup(ranks: 4, transport: "shm"),
                                 Setup(ranks: 4, transport: "tcp")]

    private func run(_ setup: Setup, directory: String, _ extra: [String] = []) -> MPIRun.Result {
        MPIRun.run("dsm-check", ["checkpoint", "--jia-checkpoint-dir=\(directory)", "--jia-transport=\(setup.transport)"]
                   + extra, ranks: setup.ranks, network: setup.transport == "message" ? .tcp : .sharedMemory,
                   timeout: 120)
    }

    private func digest(_ output: String) -> String? {
        output.split(separator: "\n").first { $0.hasPrefix("checkpoint: digest ") }.map { String($0.dropFirst(19)) }
    }

    /// An uninterrupted run's digest, with its checkpoints in `directory`.
    private func reference(_ setup: Setup, directory: String, file: StaticString = #filePath,
                           line: UInt = #line) -> String? {
        let whole = run(setup, directory: directory)
        XCTAssertEqual(whole.status, 0, whole.output, file: file, line: line)
        XCTAssertTrue(whole.output.contains("checkpoint: tag 10 full"), whole.output, file: file, line: line)
        XCTAssertTrue(whole.output.contains("checkpoint: tag 20 incremental"), whole.output, file: file, line: line)
        XCTAssertTrue(whole.output.contains("checkpoint: undo log bytes 0\n"), whole.output, file: file, line: line)
        return digest(whole.output)
    }

    /// A restart with `extra` must stop every rank, naming `expectedText`, and print no result.
    private func refused(_ directory: String, _ extra: [String], _ expectedText: String, ranks: Int = 2,
                         line: UInt = #line) {
        let result = run(Setup(ranks: ranks, transport: "shm"), directory: directory, extra)
        XCTAssertFalse(result.timedOut, result.output, line: line)
        XCTAssertNotEqual(result.status, 0, result.output, line: line)
        for rank in 0..<ranks {
            XCTAssertTrue(result.output.contains("SwiftDSM error on rank \(rank):"), result.output, line: line)
        }
        XCTAssertTrue(result.output.contains(expectedText), "expected \"\(expectedText)\" in:\n\(result.output)",
                      line: line)
        XCTAssertFalse(result.output.contains("checkpoint: digest"), result.output, line: line)
    }

    private static func flipByte(_ path: String, at offset: UInt64) throws {
        let handle = try FileHandle(forUpdating: URL(fileURLWithPath: path))
        try handle.seek(toOffset: offset)
        let byte = try handle.read(upToCount: 1)![0]
        try handle.seek(toOffset: offset)
        try handle.write(contentsOf: Data([byte ^ 0x10]))
        try handle.close()
    }

    func testAKilledRankRestartsFromTheLastCheckpointWithTheSameResult() {
        for setup in Self.setups {
            let label = "np \(setup.ranks) on \(setup.transport)"
            let directory = folder.appendingPathComponent("killed-\(setup.ranks)-\(setup.transport)").path
            guard let expected = reference(setup, directory: directory + "-whole") else { continue }
            let killed = run(setup, directory: directory, ["--kill-after=20"])
            XCTAssertNotEqual(killed.status, 0, "\(label): the killed run should fail:\n\(killed.output)")
            XCTAssertFalse(killed.output.contains("checkpoint: digest"), "\(label):\n\(killed.output)")
            let restarted = run(setup, directory: directory, ["--jia-restart=latest"])
            XCTAssertEqual(restarted.status, 0, "\(label):\n\(restarted.output)")
            XCTAssertTrue(restarted.output.contains("checkpoint: restored from 20"), "\(label):\n\(restarted.output)")
            XCTAssertEqual(digest(restarted.output), expected, "\(label): restarted result differs:\n\(restarted.output)")
        }
    }

    /// Killed once every part of checkpoint 30 is written but before its manifest: the
    /// restart skips it (it is incomplete) and continues from 20.
    func testAKillDuringACheckpointRestartsFromThePreviousOne() {
        for setup in [Setup(ranks: 2, transport: "shm"), Setup(ranks: 4, transport: "tcp")] {
            let label = "np \(setup.ranks) on \(setup.transport)"
            let directory = folder.appendingPathComponent("during-\(setup.ranks)").path
            guard let expected = reference(setup, directory: directory + "-whole") else { continue }
            let killed = run(setup, directory: directory, ["--kill-during=30"])
            XCTAssertNotEqual(killed.status, 0, "\(label):\n\(killed.output)")
            XCTAssertFalse(FileManager.default.fileExists(atPath: directory + "/checkpoint-000003/manifest.json"),
                           "\(label): checkpoint 30 must stay incomplete")
            let restarted = run(setup, directory: directory, ["--jia-restart=latest"])
            XCTAssertEqual(restarted.status, 0, "\(label):\n\(restarted.output)")
            XCTAssertTrue(restarted.output.contains("checkpoint: restored from 20"), "\(label):\n\(restarted.output)")
            XCTAssertTrue(restarted.output.contains("checkpoint 3 is incomplete"), "\(label):\n\(restarted.output)")
            XCTAssertEqual(digest(restarted.output), expected, "\(label):\n\(restarted.output)")
        }
    }

    /// Each kind of damage is refused on every rank, naming the file and the problem; with
    /// `restart: latest` a damaged newest checkpoint is skipped for the one before it.
    func testDamagedCheckpointsAreNeverRestored() throws {
        let setup = Setup(ranks: 2, transport: "shm")
        let pristine = folder.appendingPathComponent("pristine").path
        guard let expected = reference(setup, directory: pristine) else { return }
        let manager = FileManager.default
        var number = 0
        func damaged(_ damage: (String) throws -> Void) throws -> String {
            number += 1
            let copy = folder.appendingPathComponent("damaged-\(number)").path
            try manager.copyItem(atPath: pristine, toPath: copy)
            try damage(copy)
            return copy
        }
        let newestPart = "/checkpoint-000004/rank-1.part"

        // A flipped byte in the newest checkpoint: asked for by tag, refused; latest uses the one before.
        let flipped = try damaged { try Self.flipByte($0 + newestPart, at: 5000) }
        refused(flipped, ["--jia-restart=40"], "rank-1.part does not match its checksum in the manifest")
        let fallback = run(setup, directory: flipped, ["--jia-restart=latest"])
        XCTAssertEqual(fallback.status, 0, fallback.output)
        XCTAssertTrue(fallback.output.contains("checkpoint: restored from 30"), fallback.output)
        XCTAssertTrue(fallback.output.contains("newer checkpoints were skipped"), fallback.output)
        XCTAssertEqual(digest(fallback.output), expected, fallback.output)

        // A truncated full checkpoint every later one builds on: nothing can be restored.
        let truncated = try damaged { try FileHandle(forUpdating: URL(fileURLWithPath: $0 + "/checkpoint-000001/rank-0.part")).truncate(atOffset: 1000) }
        refused(truncated, ["--jia-restart=latest"], "rank-0.part has 1000 bytes; the manifest says")

        // A rank's part missing.
        let missing = try damaged { try manager.removeItem(atPath: $0 + newestPart) }
        refused(missing, ["--jia-restart=40"], "rank-1.part is missing or unreadable")

        // An altered manifest.
        let altered = try damaged { try Self.flipByte($0 + "/checkpoint-000004/manifest.json", at: 40) }
        refused(altered, ["--jia-restart=40"], "manifest.json: its checksum does not match its contents")

        // Another rank count, another page size, other allocation calls.
        refused(pristine, ["--jia-restart=latest"], "it was written by 2 ranks and this run has 4; restart with mpirun -np 2",
                ranks: 4)
        refused(pristine, ["--jia-restart=latest", "--jia-page-size=8192"], "it was written with page-size 4096 and this run has 8192")
        refused(pristine, ["--jia-restart=latest", "--other-allocation"],
                "is allocation 2 of this run, but allocation 2 of checkpoint 4 (tag 40) was jia_alloc3(size: 393216")

        // No directory, or a tag never written.
        let noDirectory = MPIRun.run("dsm-check", ["checkpoint", "--jia-restart=latest"], ranks: 2, network: .sharedMemory,
                                     timeout: 60)
        XCTAssertNotEqual(noDirectory.status, 0, noDirectory.output)
        XCTAssertTrue(noDirectory.output.contains("restart latest needs the directory the checkpoints were written to"),
                      noDirectory.output)
        refused(pristine, ["--jia-restart=77"], "holds no complete checkpoint with tag 77")
    }

    // MARK: file home stores

    private static let storeSetups = [Setup(ranks: 1, transport: "auto"), Setup(ranks: 2, transport: "shm"),
                                      Setup(ranks: 2, transport: "rma"), Setup(ranks: 2, transport: "ucx"),
                                      Setup(ranks: 2, transport: "tcp"), Setup(ranks: 4, transport: "shm"),
                                      Setup(ranks: 4, transport: "tcp")]

    /// With `home-store: file:DIR` the store files are the checkpoint. A rank killed in the
    /// middle of an interval, after every rank wrote, leaves files changed since checkpoint
    /// 20; the restart rolls them back with the undo logs and must reach the digest of an
    /// uninterrupted run, which itself equals the memory store's.
    func testAFileHomeStoreIsRolledBackToItsLastCheckpoint() {
        var memoryDigest: String?
        for setup in Self.storeSetups {
            let label = "np \(setup.ranks) on \(setup.transport), file home store"
            let name = "\(setup.ranks)-\(setup.transport)"
            let store = ["--jia-home-store=file:" + folder.appendingPathComponent("store-\(name)").path]
            let wholeStore = ["--jia-home-store=file:" + folder.appendingPathComponent("store-\(name)-whole").path]
            let directory = folder.appendingPathComponent("file-\(name)").path
            let whole = run(setup, directory: directory + "-whole", wholeStore)
            XCTAssertEqual(whole.status, 0, "\(label):\n\(whole.output)")
            XCTAssertTrue(whole.output.contains("checkpoint: tag 10 full"), "\(label):\n\(whole.output)")
            XCTAssertTrue(whole.output.contains("checkpoint: tag 20 incremental"), "\(label):\n\(whole.output)")
            guard let expected = digest(whole.output) else { continue }
            // Rank 0's logs hold whole records (page, checksum, 4 KiB), some in every interval.
            let logged = whole.output.split(separator: "\n").first { $0.hasPrefix("checkpoint: undo log bytes ") }
                .flatMap { Int($0.dropFirst(27)) } ?? 0
            XCTAssertTrue(logged > 0 && logged % (4096 + 16) == 0, "\(label): undo log bytes \(logged)")
            if setup.ranks == 2 && setup.transport == "shm" {
                memoryDigest = reference(setup, directory: directory + "-memory")
                XCTAssertEqual(expected, memoryDigest, "\(label): the file store's result differs from memory's")
            }
            restartsFrom20(setup, directory: directory, store, kill: "--kill-in=25", expected: expected, label)
        }
        XCTAssertNotNil(memoryDigest)
    }

    /// A run killed by `kill`, restarted with `restart: latest`: restored from tag 20, with
    /// the `expected` digest.
    private func restartsFrom20(_ setup: Setup, directory: String, _ extra: [String], kill: String, expected: String,
                                _ label: String, line: UInt = #line) {
        let killed = run(setup, directory: directory, extra + [kill])
        XCTAssertNotEqual(killed.status, 0, "\(label): the killed run should fail:\n\(killed.output)", line: line)
        let restarted = run(setup, directory: directory, extra + ["--jia-restart=latest"])
        XCTAssertEqual(restarted.status, 0, "\(label):\n\(restarted.output)", line: line)
        XCTAssertTrue(restarted.output.contains("checkpoint: restored from 20"), "\(label):\n\(restarted.output)", line: line)
        XCTAssertEqual(digest(restarted.output), expected, "\(label): restarted result differs:\n\(restarted.output)",
                       line: line)
    }

    /// Killed once every part of checkpoint 30 is written (its undo log begun) but before its
    /// manifest: the restart applies the logs of 30 and 20 and continues from 20.
    func testAFileHomeStoreKilledDuringACheckpointRestartsFromThePreviousOne() {
        for setup in [Setup(ranks: 2, transport: "shm"), Setup(ranks: 4, transport: "tcp")] {
            let label = "np \(setup.ranks) on \(setup.transport), file home store"
            let directory = folder.appendingPathComponent("file-during-\(setup.ranks)").path
            let store = ["--jia-home-store=file:" + directory + "-store"]
            guard let expected = reference(setup, directory: directory + "-whole") else { continue }
            restartsFrom20(setup, directory: directory, store, kill: "--kill-during=30", expected: expected, label)
        }
    }

    /// A changed store file, a missing or damaged undo log, or a restart that does not use
    /// the store files is refused on every rank, naming the file.
    func testADamagedFileHomeStoreIsNeverRestored() throws {
        let setup = Setup(ranks: 2, transport: "shm")
        let manager = FileManager.default
        var number = 0
        /// A run killed in iteration 25, its checkpoint and store directories.
        func killedRun() -> (directory: String, store: String) {
            number += 1
            let directory = folder.appendingPathComponent("file-damaged-\(number)").path
            let store = directory + "-store"
            let killed = run(setup, directory: directory, ["--jia-home-store=file:" + store, "--kill-in=25"])
            XCTAssertNotEqual(killed.status, 0, killed.output)
            return (directory, store)
        }
        // A byte of a home page changed outside SwiftDSM (the grid's first page is rank 0's).
        let changed = killedRun()
        let gridPage = try firstDataPage(changed.store + "/rank-0.pages")
        try Self.flipByte(changed.store + "/rank-0.pages", at: gridPage + 100)
        refused(changed.directory, ["--jia-restart=latest", "--jia-home-store=file:" + changed.store], "differs from its digest")

        // The undo log of the checkpoint asked for is missing. `latest` then tries the one
        // before, and takes it only because every page checks out against its digests (the
        // SOR changes the same pages in every interval, so log 1 undoes them all).
        let missing = killedRun()
        try manager.removeItem(atPath: missing.store + "/rank-1.undo-000002")
        refused(missing.directory, ["--jia-home-store=file:" + missing.store, "--jia-restart=20"],
                "rank-1.undo-000002 is missing: the home store's changes since checkpoint 2 cannot be undone")
        let older = run(setup, directory: missing.directory, ["--jia-home-store=file:" + missing.store,
                                                              "--jia-restart=latest"])
        XCTAssertEqual(older.status, 0, older.output)
        XCTAssertTrue(older.output.contains("checkpoint: restored from 10"), older.output)
        XCTAssertTrue(older.output.contains("rank-1.undo-000002 is missing"), older.output)
        XCTAssertEqual(digest(older.output), reference(setup, directory: missing.directory + "-whole"), older.output)

        // A record in the middle of an undo log damaged.
        let damaged = killedRun()
        try Self.flipByte(damaged.store + "/rank-0.undo-000002", at: 64 + 16 + 100)
        refused(damaged.directory, ["--jia-restart=latest", "--jia-home-store=file:" + damaged.store], "fails its checksum")

        // Restarted without the store files.
        let memory = killedRun()
        refused(memory.directory, ["--jia-restart=latest"], "keeps its pages in the home store files")
    }

    /// The offset of the first page of a store file that is not all zero (the scratch
    /// allocation before the grid was freed, so its pages are zero: holes, or zeroed where
    /// the file system cannot punch holes).
    private func firstDataPage(_ path: String) throws -> UInt64 {
        let handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: path))
        defer { try? handle.close() }
        var offset: UInt64 = 0
        while let page = try handle.read(upToCount: 4096), !page.isEmpty {
            if page.contains(where: { $0 != 0 }) { return offset }
            offset += UInt64(page.count)
        }
        throw CocoaError(.fileReadCorruptFile)
    }

    /// Only the newest `checkpoint-keep` complete checkpoints and those they build on stay.
    func testOldCheckpointsAreRemoved() throws {
        let directory = folder.appendingPathComponent("kept").path
        let result = run(Setup(ranks: 2, transport: "shm"), directory: directory,
                         ["--jia-checkpoint-keep=1", "--jia-checkpoint-full-every=2"])
        XCTAssertEqual(result.status, 0, result.output)
        // Full at 10 and 30, incremental at 20 and 40: the newest (40) builds on 30.
        XCTAssertTrue(result.output.contains("checkpoint: tag 30 full"), result.output)
        let left = try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
        XCTAssertEqual(left, ["checkpoint-000003", "checkpoint-000004"])
    }
}
