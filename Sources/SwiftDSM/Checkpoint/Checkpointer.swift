import CMPI
import Foundation
import Glibc

/// What one checkpoint wrote, summed over every rank.
public struct CheckpointReport: Sendable, Equatable {
    public let sequence: Int
    public let tag: Int
    /// Full (every non-zero home page), or only the pages changed since the checkpoint before.
    public let full: Bool
    public let pages: Int
    /// Bytes of every rank's part (pages, their list and a header each).
    public let bytes: Int
    public let seconds: Double
}

/// Checkpoints of the shared memory and restarts from them (`jia_checkpoint`, the restart
/// setting). A checkpoint is collective and happens at a barrier: every write is then at
/// its home, so each rank saves only its own home pages, to its own part file, from its
/// home store; rank 0 writes the home of every page and, once every part is on disk, the
/// manifest that makes the checkpoint complete. A restart finds the newest complete
/// checkpoint whose files all check out, and each repeated allocation call fills its
/// region from it, homes included. Where the home store is a file, the file is the
/// checkpoint: a checkpoint syncs it and lists each home page's digest, and an undo log
/// (`UndoLog`) keeps what every later change replaces, so that a restart rolls the file
/// back and maps it without copying.
final class Checkpointer {
    private let cluster: Cluster
    private let settings: Settings
    private let directory: CheckpointDirectory?
    private let engine: CoherenceEngine
    private let store: PageStore
    private let conditions: SyncService
    private var nextSequence = 1
    /// The checkpoint the next incremental one builds on, and the length of its chain (1:
    /// it is full).
    private var base: (sequence: Int, chain: Int)?
    /// The tag of the checkpoint this run was restored from.
    private(set) var restoredTag: Int?
    private var restore: Restore?
    /// A file home store's undo log, and its pages' digests at the last checkpoint.
    private let undo: UndoLog?
    private let digests: PageDigests
    /// Pages from here on were allocated after the undo log's interval began: hashed again
    /// at the next checkpoint, though never logged.
    private var intervalAllocatedPages = 0
    /// Tests only: called on every rank once every part of a checkpoint is written, before
    /// its manifest (with the checkpoint's tag): where a crash leaves an incomplete one.
    var partsWrittenForTesting: ((Int) -> Void)?

    /// What a restart still has to put into the regions the program allocates again.
    private struct Restore {
        let manifest: CheckpointManifest
        let homes: [Int32]
        /// The chain's parts of this rank, newest first.
        let parts: [CheckpointPart.Reader]
        /// Where each page homed here is saved: (part, entry); absent pages are zero.
        let index: [Int: (part: Int, entry: Int)]
        /// The pages are in the home store already (a file home store's checkpoint).
        let inStore: Bool
    }

    init(cluster: Cluster, settings: Settings, engine: CoherenceEngine, store: PageStore, conditions: SyncService) {
        self.cluster = cluster
        self.settings = settings
        self.engine = engine
        self.store = store
        self.conditions = conditions
        if case .file = settings.homeStore, !settings.checkpointDirectory.isEmpty {
            let undo = UndoLog(directory: store.directory!, rank: cluster.rank, store: store,
                               pageCount: engine.space.pageCount)
            store.undo = undo
            self.undo = undo
            digests = PageDigests(pageCount: engine.space.pageCount)
        } else {
            undo = nil
            digests = PageDigests(pageCount: 0)
        }
        directory = settings.checkpointDirectory.isEmpty ? nil
            : CheckpointDirectory(root: settings.checkpointDirectory.replacingOccurrences(of: "{host}", with: Cluster.hostName()))
        guard let directory else {
            if settings.restart != .off {
                Fatal.everyRank("restart \(settings.restart) needs the directory the checkpoints were written to: "
                    + "set checkpoint-dir (JIA_CHECKPOINT_DIR or --jia-checkpoint-dir=)", comm: cluster.syncComm)
            }
            return
        }
        engine.checkpointChanges = ChangedPages(pageCount: engine.space.pageCount)
        // New checkpoints are numbered after every one rank 0 sees, complete or not.
        let newest = broadcast(cluster.rank == 0 ? Array(String(directory.sequences().first ?? 0).utf8) : [])
        nextSequence = (Int(String(decoding: newest, as: UTF8.self)) ?? 0) + 1
        if settings.restart != .off { prepareRestart(directory) }
    }

    // MARK: checkpoint

    /// Saves the shared memory (collective, after the caller's barrier). `allocations`: the
    /// run's allocation calls so far.
    func checkpoint(tag: Int, allocations: [CheckpointManifest.Allocation]) -> CheckpointReport {
        let call = "jia_checkpoint(\(tag))"
        guard let directory else {
            Fatal.everyRank("\(call): no checkpoint directory is set; set checkpoint-dir (JIA_CHECKPOINT_DIR=path, "
                + "--jia-checkpoint-dir=path or checkpoint-dir: in jia.yaml) to a directory every rank can write",
                comm: cluster.syncComm)
        }
        let start = monotonicNanoseconds()
        let sequence = nextSequence
        nextSequence += 1
        let base = (self.base?.chain ?? Int.max) < settings.checkpointFullEvery ? self.base : nil
        let set = conditions.snapshotConditions()
        let pageSize = engine.space.pageSize
        var pages = engine.homePagesForCheckpoint(full: base == nil || undo != nil)
        // A full checkpoint leaves zero pages out: a page absent from every part is zero.
        if base == nil && undo == nil { pages.removeAll { isZero(store.aliasAddress(ofPage: $0), pageSize) } }
        // A file home store's part lists every live home page.
        if undo != nil { pages.removeAll { engine.table.state($0) == .freed } }
        // A file home store's checkpoint hashes every page only at the first; later ones, the changed pages.
        let full = undo.map { !$0.isLogging } ?? (base == nil)

        var outcome: String
        var homesRecord: CheckpointManifest.FileRecord?
        do {
            try directory.create(sequence: sequence)
            if cluster.rank == 0 { homesRecord = try writeHomes(directory, sequence: sequence) }
            let header = CheckpointPart.Header(rank: cluster.rank, ranks: cluster.size, pageSize: pageSize,
                                               sequence: sequence, tag: tag, pageCount: pages.count,
                                               conditionCount: set.count, digests: undo != nil)
            if let undo {
                let changed = try writeStorePart(directory, undo: undo, header: header, pages: pages, conditions: set)
                outcome = "ok \(changed.record.bytes) \(changed.record.sha256) \(pages.count) \(changed.pages)"
            } else {
                let record = try CheckpointPart.write(directory, header: header, pages: pages, conditions: set) {
                    UnsafeRawPointer(store.aliasAddress(ofPage: $0))
                }
                outcome = "ok \(record.bytes) \(record.sha256) \(pages.count) \(pages.count)"
            }
        } catch {
            outcome = "rank \(cluster.rank): \(error.description)"
        }
        let outcomes = exchange(outcome)
        let problems = outcomes.filter { !$0.hasPrefix("ok ") }
        if !problems.isEmpty {
            Fatal.everyRank("\(call) failed: " + problems.joined(separator: "; ")
                + "; check that checkpoint-dir (\(directory.root)) is writable and has room on every host",
                comm: cluster.syncComm)
        }
        partsWrittenForTesting?(tag)
        let parts = outcomes.enumerated().map { rank, text -> CheckpointManifest.Part in
            let fields = text.split(separator: " ")
            return CheckpointManifest.Part(rank: rank, file: CheckpointManifest.FileRecord(
                name: CheckpointDirectory.partName(rank: rank), bytes: Int(fields[1])!, sha256: String(fields[2])),
                pages: Int(fields[3])!)
        }
        // Pages saved: in the parts, or (a file home store) changed since the last checkpoint and synced.
        let saved = outcomes.map { Int($0.split(separator: " ")[4])! }
        let synced = undo == nil ? 0 : saved.reduce(0, +) * pageSize
        let written = parts.reduce(0) { $0 + $1.file.bytes } + synced
        var removals = ""
        if cluster.rank == 0 {
            let manifest = CheckpointManifest(sequence: sequence, tag: tag, base: undo == nil ? base?.sequence : nil,
                                              ranks: cluster.size, pageSize: pageSize, allocations: allocations,
                                              homes: homesRecord!, parts: parts, writtenBytes: written,
                                              homeStore: undo == nil ? nil : settings.homeStore.description)
            do {
                _ = try directory.write(sequence: sequence, file: CheckpointDirectory.manifestName) { file throws(CheckpointProblem) in
                    try file.append(manifest.encoded())
                }
                removals = "ok " + obsolete(directory, newest: manifest).map(String.init).joined(separator: " ")
            } catch {
                removals = error.description
            }
        }
        let decision = String(decoding: broadcast(Array(removals.utf8)), as: UTF8.self)
        guard decision.hasPrefix("ok") else {
            Fatal.everyRank("\(call) failed on rank 0: \(decision)", comm: cluster.syncComm)
        }
        let removed = decision.dropFirst(2).split(separator: " ").compactMap { Int($0) }
        for old in removed { directory.remove(sequence: old, rank: cluster.rank) }
        undo?.remove(removed)
        self.base = (sequence, (base?.chain ?? 0) + 1)
        // The checkpoint is complete for everyone once this returns on any rank.
        cluster.quietBarrier()
        let elapsed = monotonicNanoseconds() - start
        engine.statistics.checkpoints += 1
        engine.statistics.checkpointPages += UInt64(saved[cluster.rank])
        engine.statistics.checkpointBytes += UInt64(parts[cluster.rank].file.bytes
            + (undo == nil ? 0 : saved[cluster.rank] * pageSize))
        engine.statistics.checkpointNanoseconds += elapsed
        DSMLog.logger.info("checkpoint \(sequence) (tag \(tag), \(full ? "full" : "incremental")): \(written) bytes")
        return CheckpointReport(sequence: sequence, tag: tag, full: full, pages: saved.reduce(0, +), bytes: written,
                                seconds: Double(elapsed) / 1e9)
    }

    /// A file home store's part (the pages stay in the store): hashes the pages changed
    /// since the last checkpoint (every page at the first), syncs the store, writes the
    /// list of home pages with their digests, and starts this checkpoint's undo log.
    /// Returns the part and how many pages changed.
    private func writeStorePart(_ directory: CheckpointDirectory, undo: UndoLog, header: CheckpointPart.Header,
                                pages: [Int], conditions: [Int]) throws(CheckpointProblem)
        -> (record: CheckpointManifest.FileRecord, pages: Int) {
        let pageSize = engine.space.pageSize
        let logging = undo.isLogging
        var changed = 0
        for page in pages where !logging || undo.changed(page) || page >= intervalAllocatedPages {
            digests[page] = PageDigests.of(store.aliasAddress(ofPage: page), bytes: pageSize)
            changed += 1
        }
        do {
            try store.sync()
        } catch {
            throw CheckpointProblem(error.description)
        }
        let record = try CheckpointPart.write(directory, header: header, pages: pages, conditions: conditions) {
            digests[$0]
        }
        engine.statistics.undoLogBytes += UInt64(undo.loggedBytes)
        try undo.begin(sequence: header.sequence)
        intervalAllocatedPages = engine.table.allocatedPages
        return (record, changed)
    }

    private func writeHomes(_ directory: CheckpointDirectory, sequence: Int) throws(CheckpointProblem)
        -> CheckpointManifest.FileRecord {
        let count = engine.table.allocatedPages
        let homes = UnsafeRawBufferPointer(start: engine.table.home.pointer, count: count * 4)
        return try directory.write(sequence: sequence, file: CheckpointDirectory.homesName) { file throws(CheckpointProblem) in
            try file.append(homes)
        }
    }

    /// The checkpoints to remove after `newest` (rank 0): all but the newest `checkpoint-keep`
    /// complete ones and the ones they build on, incomplete ones included.
    private func obsolete(_ directory: CheckpointDirectory, newest: CheckpointManifest) -> [Int] {
        var complete: [Int: CheckpointManifest] = [newest.sequence: newest]
        let sequences = directory.sequences()
        for sequence in sequences where sequence != newest.sequence {
            if let manifest = try? readManifest(directory, sequence) { complete[sequence] = manifest }
        }
        var kept = Set<Int>()
        for sequence in complete.keys.sorted(by: >).prefix(settings.checkpointKeep) {
            var next: Int? = sequence
            while let current = next, kept.insert(current).inserted { next = complete[current]?.base }
        }
        return sequences.filter { !kept.contains($0) }
    }

    private func readManifest(_ directory: CheckpointDirectory, _ sequence: Int) throws(CheckpointProblem) -> CheckpointManifest {
        let path = directory.path(sequence: sequence, file: CheckpointDirectory.manifestName)
        do {
            return try CheckpointManifest.decode(try CheckpointFileReader.read(path))
        } catch {
            throw CheckpointProblem(error.description.hasPrefix(path) ? error.description : "\(path): \(error.description)")
        }
    }

    private func isZero(_ page: UnsafeRawPointer, _ bytes: Int) -> Bool {
        let words = page.assumingMemoryBound(to: UInt64.self)
        for index in 0..<(bytes / 8) where words[index] != 0 { return false }
        return true
    }

    // MARK: restart

    /// One round of the restart's search: rank 0 proposes a checkpoint (its chain of
    /// manifests), or says there is none to use.
    private struct Proposal: Codable {
        var chain: [CheckpointManifest] = []
        var stop: String?
        var fresh: String?
    }

    /// Finds the checkpoint to restore (collective): rank 0 goes through the complete
    /// checkpoints newest first and proposes each that fits this run; every rank checks its
    /// own parts of it; the first every rank accepts is used. With `restart: latest` a
    /// checkpoint that fails is reported and the next older one is tried; with a tag only
    /// that tag's newest checkpoint may be used.
    private func prepareRestart(_ directory: CheckpointDirectory) {
        var candidates = cluster.rank == 0 ? directory.sequences() : []
        var rejected: [String] = []
        while true {
            var proposal = Proposal()
            var homes: [UInt8] = []
            if cluster.rank == 0 {
                (proposal, homes) = propose(directory, candidates: &candidates, rejected: &rejected)
            }
            proposal = decodeProposal(broadcast(encodeProposal(proposal)))
            if let stop = proposal.stop { Fatal.everyRank(stop, comm: cluster.syncComm) }
            if let fresh = proposal.fresh {
                if cluster.rank == 0 { DSMLog.logger.warning("\(fresh)") }
                if undo != nil { store.zero(firstPage: 0, count: engine.space.pageCount) }
                return
            }
            var problem = ""
            var parts: [CheckpointPart.Reader] = []
            var storeDigests: [PageDigests.Digest] = []
            do {
                parts = try openParts(directory, chain: proposal.chain)
                if let kept = proposal.chain[0].homeStore {
                    storeDigests = try rollBackStore(to: proposal.chain[0], kept: kept, part: parts[0])
                }
            } catch {
                problem = "rank \(cluster.rank): \(error.description)"
            }
            let problems = exchange(problem).filter { !$0.isEmpty }
            let target = proposal.chain[0]
            if problems.isEmpty {
                let homeBytes = broadcast(homes)
                adopt(target, homes: homeBytes, parts: parts, storeDigests: storeDigests)
                if cluster.rank == 0 && !rejected.isEmpty {
                    DSMLog.logger.warning("restart latest: newer checkpoints were skipped: \(rejected.joined(separator: "; "))")
                }
                return
            }
            let described = "checkpoint \(target.sequence) (tag \(target.tag)) cannot be restored: "
                + problems.joined(separator: "; ")
            if settings.restart != .latest {
                Fatal.everyRank(described, comm: cluster.syncComm)
            }
            if cluster.rank == 0 { rejected.append(described) }
        }
    }

    /// Rank 0: the next candidate that fits this run, with its home map, or why none does.
    private func propose(_ directory: CheckpointDirectory, candidates: inout [Int],
                         rejected: inout [String]) -> (Proposal, [UInt8]) {
        let root = directory.root
        while !candidates.isEmpty {
            let sequence = candidates.removeFirst()
            let manifestPath = directory.path(sequence: sequence, file: CheckpointDirectory.manifestName)
            guard FileManager.default.fileExists(atPath: manifestPath) else {
                rejected.append("checkpoint \(sequence) is incomplete (\(manifestPath) is missing: the run "
                    + "stopped while writing it)")
                continue
            }
            do throws(CheckpointProblem) {
                let manifest = try readManifest(directory, sequence)
                if case .tag(let wanted) = settings.restart, manifest.tag != wanted { continue }
                guard manifest.ranks == cluster.size else {
                    throw CheckpointProblem("\(manifestPath): it was written by \(manifest.ranks) ranks and this run "
                        + "has \(cluster.size); restart with mpirun -np \(manifest.ranks)")
                }
                guard manifest.pageSize == engine.space.pageSize else {
                    throw CheckpointProblem("\(manifestPath): it was written with page-size \(manifest.pageSize) and "
                        + "this run has \(engine.space.pageSize); restart with page-size \(manifest.pageSize)")
                }
                var chain = [manifest]
                while let older = chain[chain.count - 1].base {
                    let next = try readManifest(directory, older)
                    guard next.ranks == manifest.ranks, next.pageSize == manifest.pageSize else {
                        throw CheckpointProblem("checkpoint \(older), which checkpoint \(sequence) builds on, was "
                            + "written by another run shape")
                    }
                    chain.append(next)
                }
                let homes = try CheckpointFileReader.read(
                    directory.path(sequence: sequence, file: manifest.homes.name), expecting: manifest.homes)
                return (Proposal(chain: chain), homes)
            } catch {
                rejected.append("checkpoint \(sequence) cannot be restored: \(error.description)")
            }
        }
        let wanted: String
        if case .tag(let tag) = settings.restart { wanted = "complete checkpoint with tag \(tag)" } else {
            wanted = "complete checkpoint"
        }
        if rejected.isEmpty && settings.restart == .latest {
            return (Proposal(fresh: "restart latest: no checkpoint in \(root); starting from the beginning"), [])
        }
        let shown = rejected.prefix(3).joined(separator: "; ")
        let reasons = rejected.isEmpty ? "" : ": " + shown
            + (rejected.count > 3 ? "; and \(rejected.count - 3) older ones" : "")
        return (Proposal(stop: "restart \(settings.restart): \(root) holds no \(wanted) that can be restored" + reasons
                         + "; restart with restart: off to start from the beginning"), [])
    }

    /// This rank's parts of a chain, each checked against its manifest.
    private func openParts(_ directory: CheckpointDirectory, chain: [CheckpointManifest])
        throws(CheckpointProblem) -> [CheckpointPart.Reader] {
        var parts: [CheckpointPart.Reader] = []
        for manifest in chain {
            let part = manifest.parts[cluster.rank]
            let path = directory.path(sequence: manifest.sequence, file: part.file.name)
            try CheckpointFileReader.verify(path, part.file)
            parts.append(try CheckpointPart.Reader(path: path, expecting: CheckpointPart.Header(
                rank: cluster.rank, ranks: manifest.ranks, pageSize: manifest.pageSize, sequence: manifest.sequence,
                tag: manifest.tag, pageCount: part.pages, conditionCount: 0 /* not compared */,
                digests: manifest.homeStore != nil)))
        }
        return parts
    }

    /// A file home store's candidate (every rank): the store rolled back to the checkpoint
    /// with the undo logs, then every home page checked against its digest. Returns the
    /// digests, for `adoptStore`.
    private func rollBackStore(to manifest: CheckpointManifest, kept: String, part: CheckpointPart.Reader)
        throws(CheckpointProblem) -> [PageDigests.Digest] {
        guard let undo else {
            throw CheckpointProblem("checkpoint \(manifest.sequence) keeps its pages in the home store files "
                + "(home-store \(kept)); restart with home-store \(kept) and the same files")
        }
        try undo.rollBack(to: manifest.sequence)
        let pageSize = engine.space.pageSize
        let saved = try part.digests()
        for (page, digest) in zip(part.pages, saved) {
            guard page < engine.space.pageCount,
                  PageDigests.of(store.aliasAddress(ofPage: page), bytes: pageSize) == digest else {
                throw CheckpointProblem("\(store.path!) does not hold checkpoint \(manifest.sequence) once rolled "
                    + "back: page \(page) differs from its digest in \(part.path) (the file was changed outside "
                    + "SwiftDSM, or the host stopped before its undo log reached the disk)")
            }
        }
        return saved
    }

    private func adopt(_ manifest: CheckpointManifest, homes bytes: [UInt8], parts: [CheckpointPart.Reader],
                       storeDigests: [PageDigests.Digest]) {
        let count = bytes.count / 4
        var homes = [Int32](repeating: 0, count: count)
        homes.withUnsafeMutableBytes { $0.copyBytes(from: bytes.prefix(count * 4)) }
        var index: [Int: (part: Int, entry: Int)] = [:]
        for (number, part) in parts.enumerated() {
            for (entry, page) in part.pages.enumerated() where index[page] == nil { index[page] = (number, entry) }
        }
        conditions.restoreConditions(parts[0].conditions)
        let inStore = manifest.homeStore != nil
        if inStore {
            adoptStore(manifest, part: parts[0], digests: storeDigests)
        } else if undo != nil {
            store.zero(firstPage: 0, count: engine.space.pageCount)  // the file's former contents
        }
        restore = Restore(manifest: manifest, homes: homes, parts: parts, index: index, inStore: inStore)
        restoredTag = manifest.tag
        base = (manifest.sequence, parts.count)
        if cluster.rank == 0 {
            DSMLog.logger.notice("restarting from checkpoint \(manifest.sequence) (tag \(manifest.tag))")
        }
    }

    /// The store holds checkpoint `manifest` (rolled back and checked): the pages it does
    /// not list become zero, the checkpoints and undo logs after it go (the store no longer
    /// holds what they saved), and its undo log starts again.
    private func adoptStore(_ manifest: CheckpointManifest, part: CheckpointPart.Reader, digests saved: [PageDigests.Digest]) {
        var next = 0
        for page in part.pages {
            store.zero(firstPage: next, count: page - next)
            next = page + 1
        }
        store.zero(firstPage: next, count: engine.space.pageCount - next)
        for (page, digest) in zip(part.pages, saved) { digests[page] = digest }
        if let directory {
            let later = directory.sequences().filter { $0 > manifest.sequence }
            for sequence in later { directory.remove(sequence: sequence, rank: cluster.rank) }
            if cluster.rank == 0 && !later.isEmpty {
                let text = "checkpoints \(later.sorted()) were removed: the home store files hold checkpoint "
                    + "\(manifest.sequence) again"
                DSMLog.logger.notice("\(text)")
            }
        }
        guard let undo else { return }
        undo.remove(undo.sequences().filter { $0 > manifest.sequence })
        do {
            try undo.begin(sequence: manifest.sequence)
        } catch {
            Fatal.stop("restarting from checkpoint \(manifest.sequence): \(error.description)")
        }
        intervalAllocatedPages = manifest.allocatedPages
    }

    /// Allocation `number` of this run (collective, after the region was added with the
    /// layout's homes): at a restart, the region gets the checkpoint's homes and contents.
    func restoreRegion(_ number: Int, call: String, allocation: CheckpointManifest.Allocation, firstPage: Int,
                       pages: Int) {
        guard let restore else { return }
        let saved = restore.manifest.allocations
        guard number < saved.count else {
            self.restore = nil
            return
        }
        guard saved[number].size == allocation.size, saved[number].block == allocation.block,
              saved[number].startRank == allocation.startRank else {
            let old = saved[number]
            Fatal.everyRank("\(call) is allocation \(number + 1) of this run, but allocation \(number + 1) of checkpoint "
                + "\(restore.manifest.sequence) (tag \(restore.manifest.tag)) was jia_alloc3(size: \(old.size), "
                + "block: \(old.block), starthost: \(old.startRank)); a restarted program must repeat the "
                + "allocation calls of the run that wrote the checkpoint, in the same order", comm: cluster.syncComm)
        }
        guard saved[number].live else {
            // Freed before the checkpoint: the program frees it again; its pages may hold another allocation's contents.
            // In a file home store those are in place, so the program's writes here must reach the undo log first.
            if restore.inStore { engine.detectHomeWrites(firstPage: firstPage, pages: pages) }
            if number == saved.count - 1 { self.restore = nil }
            return
        }
        engine.adoptHomes(firstPage: firstPage, restore.homes[firstPage..<(firstPage + pages)])
        if restore.inStore {
            // The pages are in place, unless the program wrote them through an allocation that
            // was freed at the checkpoint: the undo log kept them. Their first change from now
            // on must reach the undo log.
            undo?.putBack(firstPage..<(firstPage + pages))
            engine.detectHomeWrites(firstPage: firstPage, pages: pages)
            cluster.quietBarrier()
            if number == saved.count - 1 { self.restore = nil }
            return
        }
        var page = firstPage
        while page < firstPage + pages {
            guard restore.homes[page] == Int32(cluster.rank), let (part, entry) = restore.index[page] else {
                page += 1
                continue
            }
            var count = 1
            while page + count < firstPage + pages, restore.homes[page + count] == Int32(cluster.rank),
                  let next = restore.index[page + count], next.part == part, next.entry == entry + count {
                count += 1
            }
            do {
                try restore.parts[part].read(entry: entry, count: count, into: store.aliasAddress(ofPage: page))
            } catch {
                Fatal.stop("\(call): restoring from checkpoint \(restore.manifest.sequence): \(error.description)")
            }
            page += count
        }
        // No rank reads the region before every home holds its contents.
        cluster.quietBarrier()
        if number == saved.count - 1 { self.restore = nil }
    }

    // MARK: collectives

    /// Rank 0's bytes, on every rank.
    private func broadcast(_ bytes: [UInt8]) -> [UInt8] {
        var count = Int64(bytes.count)
        mpiCheck(MPI_Bcast(&count, 1, cmpi_int64(), 0, cluster.syncComm), "MPI_Bcast (checkpoint)")
        var buffer = cluster.rank == 0 ? bytes : [UInt8](repeating: 0, count: Int(count))
        if count > 0 {
            mpiCheck(MPI_Bcast(&buffer, Int32(count), cmpi_byte(), 0, cluster.syncComm), "MPI_Bcast (checkpoint)")
        }
        return buffer
    }

    /// Every rank's line of text (up to 2 KiB each), in rank order.
    private func exchange(_ text: String) -> [String] {
        let width = 2048
        var mine = [UInt8](repeating: 0, count: width)
        let bytes = Array(text.utf8.prefix(width - 1))
        mine.replaceSubrange(0..<bytes.count, with: bytes)
        var all = [UInt8](repeating: 0, count: width * cluster.size)
        mpiCheck(MPI_Allgather(&mine, Int32(width), cmpi_byte(), &all, Int32(width), cmpi_byte(), cluster.syncComm),
                 "MPI_Allgather (checkpoint)")
        return (0..<cluster.size).map { rank in
            let slice = all[(rank * width)..<((rank + 1) * width)]
            return String(decoding: slice.prefix { $0 != 0 }, as: UTF8.self)
        }
    }

    private func encodeProposal(_ proposal: Proposal) -> [UInt8] {
        Array((try? JSONEncoder().encode(proposal)) ?? Data())
    }

    private func decodeProposal(_ bytes: [UInt8]) -> Proposal {
        guard let proposal = try? JSONDecoder().decode(Proposal.self, from: Data(bytes)) else {
            Fatal.everyRank("restart: rank 0's proposal could not be read", comm: cluster.syncComm)
        }
        return proposal
    }
}
