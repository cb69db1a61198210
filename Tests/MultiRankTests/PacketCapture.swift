import Foundation
import Glibc

/// Everything that crosses one network interface while it runs: a raw packet socket
/// (AF_PACKET, every protocol) read by a thread of its own. For tests of what a peer on
/// the wire can see.
final class PacketCapture: @unchecked Sendable {
    private let fd: Int32
    private let lock = NSLock()
    private var captured = Data()
    private var running = true
    private let finished = DispatchSemaphore(value: 0)
    private static let limit = 512 << 20

    /// Starts capturing on `interface`; nil (with the reason) where no raw socket can be had.
    init(interface: String) throws {
        let index = if_nametoindex(interface)
        guard index != 0 else { throw CaptureError(reason: "no interface \(interface)") }
        let everyProtocol = UInt16(0x0003).bigEndian  // ETH_P_ALL
        fd = socket(AF_PACKET, Int32(SOCK_RAW.rawValue), Int32(everyProtocol))
        guard fd >= 0 else { throw CaptureError(reason: "no raw packet socket: \(String(cString: strerror(errno)))") }
        // struct sockaddr_ll (linux/if_packet.h, which Glibc's module leaves out): family,
        // protocol, interface index, then hardware fields that bind ignores; 20 bytes.
        var address = [UInt8](repeating: 0, count: 20)
        address.withUnsafeMutableBytes { raw in
            raw.storeBytes(of: UInt16(AF_PACKET), toByteOffset: 0, as: UInt16.self)
            raw.storeBytes(of: everyProtocol, toByteOffset: 2, as: UInt16.self)
            raw.storeBytes(of: Int32(index), toByteOffset: 4, as: Int32.self)
        }
        let bound = address.withUnsafeBytes {
            bind(fd, $0.baseAddress!.assumingMemoryBound(to: sockaddr.self), socklen_t($0.count))
        }
        guard bound == 0 else {
            close(fd)
            throw CaptureError(reason: "cannot bind to \(interface): \(String(cString: strerror(errno)))")
        }
        Thread { [self] in read() }.start()
    }

    private func read() {
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while lock.withLock({ running }) {
            var descriptor = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&descriptor, 1, 100) > 0 else { continue }
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            guard count > 0 else { continue }
            lock.withLock {
                if captured.count < Self.limit { captured.append(contentsOf: buffer[0..<count]) }
            }
        }
        finished.signal()
    }

    /// Stops and returns every byte of every frame seen.
    func stop() -> Data {
        lock.withLock { running = false }
        finished.wait()
        close(fd)
        return lock.withLock { captured }
    }

    struct CaptureError: Error, CustomStringConvertible {
        let reason: String
        var description: String { reason }
    }
}
