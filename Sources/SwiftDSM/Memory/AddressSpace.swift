import CMPI
import CPlatform
import Foundation
import Glibc

/// The shared range: `capacity` bytes reserved at the same virtual address on every rank,
/// so a pointer into shared memory means the same thing everywhere.
final class AddressSpace {
    let base: UnsafeMutableRawPointer
    let capacity: Int
    let pageSize: Int
    let pageShift: Int
    var pageCount: Int { capacity >> pageShift }

    /// Rank 0 proposes an address; every rank tries to reserve it. If any rank cannot,
    /// rank 0 proposes another (keeping the refused one reserved so it is not offered again).
    static func agree(cluster: Cluster, capacity: Int, pageSize: Int) -> AddressSpace {
        var refused: [UnsafeMutableRawPointer] = []
        defer { for address in refused { munmap(address, capacity) } }
        for _ in 0..<16 {
            var proposal: UInt64 = 0
            var mine: UnsafeMutableRawPointer? = nil
            if cluster.rank == 0 {
                let code = cplatform_reserve_at(nil, capacity, &mine)
                if code != 0 {
                    Fatal.stop("cannot reserve \(capacity) bytes of address space for the shared range "
                        + "(\(errnoText(code))); lower the capacity setting (JIA_CAPACITY)")
                }
                proposal = UInt64(UInt(bitPattern: mine))
            }
            mpiCheck(MPI_Bcast(&proposal, 1, cmpi_uint64(), 0, cluster.syncComm), "MPI_Bcast (shared base)")
            let address = UnsafeMutableRawPointer(bitPattern: UInt(proposal))!
            // Another rank's address may be taken here (EEXIST): then rank 0 proposes another.
            if cluster.rank != 0, cplatform_reserve_at(address, capacity, &mine) != 0 { mine = nil }
            var ok: Int32 = mine != nil ? 1 : 0
            var all: Int32 = 0
            mpiCheck(MPI_Allreduce(&ok, &all, 1, cmpi_int32(), cmpi_op_min(), cluster.syncComm),
                     "MPI_Allreduce (shared base)")
            if all == 1 { return AddressSpace(base: address, capacity: capacity, pageSize: pageSize) }
            if let mine { refused.append(mine) }
        }
        Fatal.everyRank("could not find a virtual address range of \(capacity) bytes free on every rank "
            + "after 16 proposals; lower the capacity setting (JIA_CAPACITY)", comm: cluster.syncComm)
    }

    /// A shared range in this process alone, anywhere (no MPI): for the engine's tests in
    /// one process, with a loopback transport in place of the other ranks.
    static func reserveLocally(capacity: Int, pageSize: Int) throws(SystemCallError) -> AddressSpace {
        var base: UnsafeMutableRawPointer? = nil
        try systemCall(cplatform_reserve_at(nil, capacity, &base), "reserving \(capacity) bytes of address space")
        return AddressSpace(base: base!, capacity: capacity, pageSize: pageSize)
    }

    /// The reservation, with every mapping made inside it since (one munmap takes them all).
    private var reservation: Mapping?

    private init(base: UnsafeMutableRawPointer, capacity: Int, pageSize: Int) {
        self.base = base
        self.capacity = capacity
        self.pageSize = pageSize
        self.pageShift = pageSize.trailingZeroBitCount
        reservation = Mapping(base: base, length: capacity)
    }

    @inline(__always) func contains(_ address: UnsafeRawPointer) -> Bool {
        address >= UnsafeRawPointer(base) && address < UnsafeRawPointer(base + capacity)
    }

    @inline(__always) func page(of address: UnsafeRawPointer) -> Int {
        (address - UnsafeRawPointer(base)) >> pageShift
    }

    @inline(__always) func address(ofPage page: Int) -> UnsafeMutableRawPointer {
        base + (page << pageShift)
    }

    /// Gives the range back to the system (at jia_exit); the space may not be used after.
    func close() { reservation = nil }
}

/// The access a mapping allows, as mmap and mprotect take it.
struct Protection: OptionSet {
    let rawValue: Int32

    static let read = Protection(rawValue: PROT_READ)
    static let write = Protection(rawValue: PROT_WRITE)
    static let none: Protection = []
    static let readWrite: Protection = [.read, .write]
}

/// Protection changes and mappings over page runs, checked: a failure here is almost
/// always the kernel's map-count limit, which deserves a message that says so.

extension AddressSpace {
    func protect(firstPage: Int, count: Int, _ protection: Protection) {
        let code = cplatform_protect(address(ofPage: firstPage), count << pageShift, protection.rawValue)
        if code != 0 { mappingFailure("mprotect", code) }
    }

    func unmapToReserved(firstPage: Int, count: Int) {
        let code = cplatform_unmap_to_reserved(address(ofPage: firstPage), count << pageShift)
        if code != 0 { mappingFailure("mmap (unmap)", code) }
    }

    func mapShared(firstPage: Int, count: Int, _ protection: Protection, fd: Int32, fileOffset: Int, populate: Bool) {
        let code = cplatform_map_shared_fixed(address(ofPage: firstPage), count << pageShift, protection.rawValue,
                                              fd, Int64(fileOffset), populate ? 1 : 0)
        if code != 0 { mappingFailure("mmap", code) }
    }

    private func mappingFailure(_ call: String, _ code: Int32) -> Never {
        if code == ENOMEM {
            Fatal.stop("\(call) failed with ENOMEM: the shared range needs more memory mappings than the kernel "
                + "allows (vm.max_map_count = \(maxMapCount())); raise it with `sysctl -w vm.max_map_count=1048576` "
                + "or use larger allocation blocks")
        }
        Fatal.stop(SystemCallError(call: "\(call) in the shared range", code: code).description)
    }
}

func maxMapCount() -> Int {
    let text = try? String(contentsOfFile: "/proc/sys/vm/max_map_count", encoding: .utf8)
    return text.flatMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) } ?? -1
}
