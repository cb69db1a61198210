import CPlatform
import Foundation
import Glibc

/// This rank's home pages: one memfd as large as the shared range, sparse, at identity
/// offsets (page p lives at file offset p * pageSize), mapped twice. The global mapping
/// covers the whole shared range; home pages are only ever re-protected in it, and other
/// ranks' pages are mapped over it from the page cache while cached. The alias is always
/// read-write and is what other ranks touch: the RMA window, the shm transport's mapping,
/// the message path's reads and diffs. After the pages, the file holds the pages' read
/// notices (`ReadNotices`), which only the alias maps. With `home-store: file:DIR` the file
/// is `DIR/rank-R.pages` instead of a memfd; with checkpoints on, every change of a home
/// page is announced first (`willChange`), so that the undo log keeps what it replaces.
/// Stored properties unchecked for exclusivity at run time, as `CoherenceEngine` says why.
final class PageStore {
    let fd: Int32
    let alias: UnsafeMutableRawPointer
    /// Bytes of the file: the pages, then the read notices.
    let length: Int
    let readNotices: ReadNotices
    let pageShift: Int
    /// The file's path and directory, for a file home store.
    let path: String?
    let directory: String?
    /// Set by the checkpointer where the store is a file and checkpoints are on.
    @exclusivity(unchecked) var undo: UndoLog?
    @exclusivity(unchecked) private var file: MemoryFile?

    /// A memory store (a memfd), as every store is without `home-store`.
    convenience init(space: AddressSpace) {
        self.init(space: space, file: MemoryFile(name: "swiftdsm-pages", length: Self.length(space), what: "the page store"),
                  path: nil, directory: nil)
    }

    /// The store `choice` names, for this rank (collective: a rank that cannot open its file
    /// stops every rank). A file home store keeps its contents when a restart may use them
    /// (`fresh` false).
    convenience init(space: AddressSpace, choice: HomeStoreChoice, cluster: Cluster, fresh: Bool) {
        guard case .file(let pattern) = choice else {
            self.init(space: space)
            return
        }
        let directory = pattern.replacingOccurrences(of: "{host}", with: Cluster.hostName())
        let path = directory + "/rank-\(cluster.rank).pages"
        var opened: MemoryFile?
        var problem: String?
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            opened = try MemoryFile(path: path, length: Self.length(space), fresh: fresh)
        } catch let error as SystemCallError {
            problem = "home-store file:\(pattern): \(error.description)"
        } catch {
            problem = "home-store file:\(pattern): cannot create the directory \(directory): "
                + "\((error as NSError).localizedDescription)"
        }
        cluster.stopIfAnyRank(problem, "home store files")
        self.init(space: space, file: opened.take()!, path: path, directory: directory)
    }

    private init(space: AddressSpace, file: consuming MemoryFile, path: String?, directory: String?) {
        length = Self.length(space)
        pageShift = space.pageShift
        self.path = path
        self.directory = directory
        fd = file.fd
        alias = file.alias
        self.file = consume file
        readNotices = ReadNotices(storeBase: alias, offset: space.capacity, pageCount: space.pageCount)
        space.mapShared(firstPage: 0, count: space.pageCount, .none, fd: fd, fileOffset: 0, populate: false)
    }

    /// Bytes of a store's file: the pages, then the read notices, page-rounded.
    private static func length(_ space: AddressSpace) -> Int {
        let noticeBytes = ReadNotices.byteCount(pageCount: space.pageCount)
        return space.capacity + (noticeBytes + space.pageSize - 1) / space.pageSize * space.pageSize
    }

    @inline(__always) func aliasAddress(ofPage page: Int) -> UnsafeMutableRawPointer { alias + (page << pageShift) }

    /// Puts the page store back at the global addresses of pages no longer cached, inaccessible.
    func restore(_ space: AddressSpace, firstPage: Int, count: Int) {
        space.mapShared(firstPage: firstPage, count: count, .none, fd: fd, fileOffset: firstPage << pageShift,
                        populate: false)
    }

    /// Maps the store at the global addresses of pages that became homed here.
    func mapHome(_ space: AddressSpace, firstPage: Int, count: Int, _ protection: Protection) {
        space.mapShared(firstPage: firstPage, count: count, protection, fd: fd, fileOffset: firstPage << pageShift,
                        populate: false)
    }

    /// Pages homed elsewhere from now on: inaccessible here, and zero in the store (their
    /// memory freed where the file system punches holes).
    func dropHome(_ space: AddressSpace, firstPage: Int, count: Int) {
        space.protect(firstPage: firstPage, count: count, .none)
        willChange(first: firstPage, count: count)
        zero(firstPage: firstPage, count: count)
    }

    /// Home pages `first..<first + count` are about to change: the undo log keeps them first.
    @inline(__always) func willChange(first: Int, count: Int) { undo?.willChange(first: first, count: count) }

    /// Zeroes pages of the store (a hole where the file system can make one), unannounced.
    func zero(firstPage: Int, count: Int) {
        guard count > 0 else { return }
        if cplatform_punch_hole(fd, Int64(firstPage << pageShift), Int64(count << pageShift)) != 0 {
            memset(aliasAddress(ofPage: firstPage), 0, count << pageShift)
        }
    }

    /// Writes the store's changed pages to its file (a file home store's checkpoint).
    func sync() throws(SystemCallError) {
        guard fsync(fd) == 0 else { throw SystemCallError(call: "fsync of the home store \(path ?? "")", code: errno) }
    }

    /// Unmaps the alias and closes the file (at jia_exit; the global mapping goes with the space).
    func close() {
        undo?.close()
        undo = nil
        file = nil
    }
}
