import CUCX

/// An RDMA device of this host (libibverbs): its name, its first active port (0: none) and
/// the cores nearest its PCI slot (hwloc; empty if unknown).
struct RDMADevice: Equatable, Sendable {
    let name: String
    let port: Int
    let cores: Set<Int>

    /// As UCX_NET_DEVICES names it.
    var ucxName: String { "\(name):\(port)" }
}

/// Which RDMA device a rank's UCX traffic takes: of the devices with an active port, the
/// one nearest the cores the rank is bound to (a NIC on the other socket costs a trip
/// across the inter-socket link for every byte), the first listed when they tie.
enum RDMADevices {
    /// This host's devices (none on a machine without RDMA).
    static func list() -> [RDMADevice] {
        var text = [CChar](repeating: 0, count: 4096)
        guard cucx_rdma_devices(&text, text.count) > 0 else { return [] }
        return text.text.split(separator: "\n").compactMap { line in
            let fields = line.split(separator: " ", omittingEmptySubsequences: false)
            guard fields.count >= 2, let port = Int(fields[1]) else { return nil }
            let cores = fields.count > 2 ? coreList(fields[2]) ?? [] : []
            return RDMADevice(name: String(fields[0]), port: port, cores: cores)
        }
    }

    /// The cores this process is bound to, or nil if hwloc cannot tell.
    static func boundCores() -> Set<Int>? {
        var text = [CChar](repeating: 0, count: 4096)
        guard cucx_bound_cores(&text, text.count) == 0 else { return nil }
        return coreList(Substring(text.text))
    }

    /// Parses hwloc's list form ("0-3,8,10-11"); nil if it is not one.
    static func coreList(_ text: Substring) -> Set<Int>? {
        var cores = Set<Int>()
        for part in text.split(separator: ",") {
            let bounds = part.split(separator: "-", maxSplits: 1)
            guard let low = Int(bounds[0]), let high = Int(bounds.count == 2 ? bounds[1] : bounds[0]),
                  low <= high, high < 1 << 20 else { return nil }
            cores.formUnion(low...high)
        }
        return cores
    }

    /// The device for a rank bound to `cores` (nil: unknown binding, which every device is
    /// as near to), or nil when no device has an active port.
    static func nearest(_ devices: [RDMADevice], to cores: Set<Int>?) -> RDMADevice? {
        let usable = devices.filter { $0.port > 0 }
        guard let cores else { return usable.first }
        return usable.enumerated().max { left, right in
            let (a, b) = (left.element.cores.intersection(cores).count, right.element.cores.intersection(cores).count)
            return a != b ? a < b : left.offset > right.offset
        }?.element
    }
}
