import CMPI
import CPlatform
import Crypto
import Foundation

/// Opens the tcp lanes at start-up (collective): every rank listens on the chosen
/// interface, the addresses go round in an MPI allgather, then every rank connects to
/// every rank (itself included: requests to the own service thread take the same path)
/// and accepts one connection from each, identified by a hello carrying the job's id and,
/// with `security`, proof that the peer holds the job's key (`JobKeys`). Where ranks are
/// on several hosts, each rank also connects once to every higher rank for the collective
/// calls' blocks (`CollectiveLinks`), and gives them to the cluster.
enum TCPConnector {
    /// What a rank tells the others: the status of its listener, where it listens, its host.
    private struct Endpoint {
        static let hostBytes = 64
        static let words = 3 + hostBytes / 8
        var ok: Bool
        var address: UInt32
        var port: UInt16
        var host: String
    }

    private static let helloMagic: UInt64 = 0x4d53_4474_6669_7753  // "SwiftDSM" in memory order
    private static let connectTimeoutMilliseconds: Int32 = 10_000
    private static let acceptTimeoutMilliseconds: Int32 = 30_000

    /// A hello: magic, job, rank, security and compression (`SecurityChoice` index | the
    /// `CompressionChoice` index << 8 | `linkFlag` on a collective link), then the proof.
    private static let helloWords = 4
    private static let helloBytes = helloWords * 8 + JobKeys.proofLength
    private static let linkFlag: UInt64 = 1 << 16

    static func connect(cluster: Cluster, settings: Settings, maxPayload: Int) -> TCPChannel {
        var (address, problem) = chooseAddress(interface: settings.tcpInterface, cluster: cluster)
        var secret: SymmetricKey?
        if problem == nil { (secret, problem) = JobKeys.secret(settings) }
        var port: UInt16 = 0
        var listener: Int32 = -1
        var listenProblem = problem
        if problem == nil {
            let code = cplatform_tcp_listen(address, &listener, &port)
            if code != 0 { listenProblem = "cannot listen on \(text(address)): \(errnoText(code))" }
        }
        var name = [CChar](repeating: 0, count: 256)
        gethostname(&name, name.count - 1)
        let host = String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let mine = Endpoint(ok: listenProblem == nil, address: address, port: port, host: host)
        let endpoints = exchange(mine, cluster: cluster)
        if let listenProblem {
            Fatal.everyRank("the tcp transport \(listenProblem)", comm: cluster.syncComm)
        }
        if let failed = endpoints.firstIndex(where: { !$0.ok }) {
            Fatal.everyRank("the tcp transport could not start: rank \(failed) on host \(endpoints[failed].host) "
                + "could not start it (see its message)", comm: cluster.syncComm)
        }
        var job = UInt64.random(in: 1...UInt64.max)
        mpiCheck(MPI_Bcast(&job, 1, cmpi_int64(), 0, cluster.syncComm), "MPI_Bcast (tcp job id)")
        let maxPayload = min(maxPayload, Int(UInt32.max))
        let keys = secret.map { JobKeys(security: settings.security, secret: $0, job: job) }
        let rank = cluster.rank
        func codec(asker: Int, server: Int, asks: Bool) -> FrameCodec? {
            let seal = keys?.laneSeal(asker: asker, server: server, asks: asks)
            let compressor = settings.compression == .off ? nil : Compressor(choice: settings.compression)
            return seal == nil && compressor == nil ? nil : FrameCodec(seal: seal, compressor: compressor)
        }
        // Security index in the low byte, compression index in the next: both must agree.
        let security = UInt64(SecurityChoice.allCases.firstIndex(of: settings.security)!)
            | UInt64(CompressionChoice.allCases.firstIndex(of: settings.compression)!) << 8

        var asking: [TCPLane] = []
        var serving = [TCPLane?](repeating: nil, count: cluster.size)
        var links = [Int32](repeating: -1, count: cluster.size)
        var connectProblem: String?
        var refused = false
        /// A connection to `peer` with its hello sent, or nil (and `connectProblem` set).
        func open(_ peer: Int, link: Bool) -> Int32? {
            let endpoint = endpoints[peer]
            var fd: Int32 = -1
            let code = cplatform_tcp_connect(endpoint.address, endpoint.port, connectTimeoutMilliseconds, &fd)
            if code != 0 {
                connectProblem = "could not connect to rank \(peer) on host \(endpoint.host) at "
                    + "\(text(endpoint.address)):\(endpoint.port): \(errnoText(code))"
                return nil
            }
            var hello = [UInt8]()
            for word in [helloMagic, job, UInt64(rank), security | (link ? linkFlag : 0)] {
                withUnsafeBytes(of: word.littleEndian) { hello.append(contentsOf: $0) }
            }
            hello += keys?.helloProof(asker: rank, server: peer) ?? [UInt8](repeating: 0, count: JobKeys.proofLength)
            // A failure shows at the peer, which then misses this rank's hello and says so.
            _ = hello.withUnsafeMutableBytes { raw in
                var vector = iovec(iov_base: raw.baseAddress, iov_len: raw.count)
                var sent = 0
                return cplatform_sendv(fd, &vector, 1, &sent)
            }
            return fd
        }
        /// Accepts connections until `take` has kept `count` of them; one it does not keep
        /// (not a rank of this job, a second hello) is closed.
        func accept(_ count: Int, _ what: String, take: (Int32, Hello) -> Bool) {
            var kept = 0
            let deadline = monotonicNanoseconds() + UInt64(acceptTimeoutMilliseconds) * 1_000_000
            while connectProblem == nil && kept < count {
                let left = Int64(deadline) - Int64(monotonicNanoseconds())
                var fd: Int32 = -1
                let code = cplatform_tcp_accept(listener, Int32(max(left / 1_000_000, 0)), &fd)
                if code != 0 {
                    connectProblem = "accepted \(kept) of the \(count) \(what) within "
                        + "\(acceptTimeoutMilliseconds / 1000) s: \(errnoText(code))"
                    break
                }
                let hello = readHello(fd, job: job, ranks: cluster.size, server: rank, security: settings.security,
                                      compression: settings.compression, keys: keys)
                if case .refused(let found, let reason) = hello {
                    Glibc.close(fd)
                    connectProblem = "refused rank \(found) on host \(endpoints[found].host): \(reason)"
                    refused = true
                } else if take(fd, hello) {
                    kept += 1
                } else {
                    Glibc.close(fd)
                }
            }
        }
        /// Stops every rank if any rank has a problem (collective).
        func stopIfAnyRankFailed() {
            var ok: Int32 = connectProblem == nil ? 1 : 0
            var everyone: Int32 = 0
            mpiCheck(MPI_Allreduce(&ok, &everyone, 1, cmpi_int32(), cmpi_op_min(), cluster.syncComm),
                     "MPI_Allreduce (tcp lanes)")
            guard everyone == 0 else { return }
            let advice = refused ? "" : "; choose the network every host reaches with the tcp-interface setting "
                + "(JIA_TCP_INTERFACE, an interface name or a network such as 10.0.0.0/24)"
            Fatal.everyRank(connectProblem.map { "the tcp transport \($0)" + advice }
                ?? "the tcp transport could not connect every pair of ranks (see the other ranks' messages)",
                comm: cluster.syncComm)
        }

        // The lanes: one to every rank, and one from every rank.
        for peer in endpoints.indices {
            guard let fd = open(peer, link: false) else { break }
            asking.append(TCPLane(fd: fd, peer: peer, maxPayload: maxPayload, codec: codec(asker: rank, server: peer, asks: true)))
        }
        accept(cluster.size, "connections from the ranks") { fd, hello in
            guard case .peer(let peer, link: false) = hello, serving[peer] == nil else { return false }
            serving[peer] = TCPLane(fd: fd, peer: peer, maxPayload: maxPayload, codec: codec(asker: peer, server: rank, asks: false))
            return true
        }
        stopIfAnyRankFailed()
        // Across hosts, the collective links: once every lane is up (so a refusal is always
        // a lane's), each rank connects to the higher ranks and accepts the lower ones.
        if !cluster.allOnOneHost {
            for peer in (rank + 1)..<cluster.size {
                guard let fd = open(peer, link: true) else { break }
                links[peer] = fd
            }
            accept(rank, "collective links from the lower ranks") { fd, hello in
                guard case .peer(let peer, link: true) = hello, peer < rank, links[peer] < 0 else { return false }
                links[peer] = fd
                return true
            }
            stopIfAnyRankFailed()
            cluster.collectiveLinks = CollectiveLinks(fds: links, hosts: endpoints.map(\.host), progressMPI: cluster.progressMPI)
        }
        Glibc.close(listener)
        return TCPChannel(hosts: endpoints.map(\.host), keys: keys, asking: asking,
                          serving: serving.map { $0! }, spinMicroseconds: settings.tcpSpin,
                          progressMPI: cluster.progressMPI)
    }

    private enum Hello {
        /// A rank of this job, which proved it holds the key if security is on; on a
        /// collective link or a lane.
        case peer(Int, link: Bool)
        /// Not a hello of this job.
        case stray
        /// A rank of this job that cannot be let in.
        case refused(Int, String)
    }

    /// What the hello on `fd` says, waiting up to 10 s for it.
    private static func readHello(_ fd: Int32, job: UInt64, ranks: Int, server: Int, security: SecurityChoice,
                                  compression: CompressionChoice, keys: JobKeys?) -> Hello {
        var hello = [UInt8](repeating: 0, count: helloBytes)
        var received = 0
        let deadline = monotonicNanoseconds() + 10_000_000_000
        while received < helloBytes && monotonicNanoseconds() < deadline {
            var count = 0
            let code = hello.withUnsafeMutableBytes {
                cplatform_receive(fd, $0.baseAddress! + received, helloBytes - received, &count)
            }
            if code == 0 && count == 0 { return .stray }  // closed before its hello
            if code == 0 {
                received += count
            } else if code != EAGAIN && code != EINTR {
                return .stray
            } else {
                var ready: Int32 = 0
                if cplatform_wait_fd(fd, 0, 1_000, &ready) != 0 { return .stray }
            }
        }
        let words = (0..<helloWords).map { index in
            hello.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(fromByteOffset: index * 8, as: UInt64.self)) }
        }
        guard received == helloBytes, words[0] == helloMagic, words[1] == job, words[2] < UInt64(ranks) else { return .stray }
        let peer = Int(words[2])
        guard words[3] & 0xFF < UInt64(SecurityChoice.allCases.count), words[3] >> 17 == 0,
              (words[3] >> 8) & 0xFF < UInt64(CompressionChoice.allCases.count) else {
            return .refused(peer, "its hello is malformed")
        }
        let theirs = SecurityChoice.allCases[Int(words[3] & 0xFF)]
        let theirCompression = CompressionChoice.allCases[Int((words[3] >> 8) & 0xFF)]
        guard theirCompression == compression else {
            return .refused(peer, "it runs with compression \(theirCompression), this rank with compression "
                + "\(compression); every rank needs the same compression setting")
        }
        guard theirs == security else {
            return .refused(peer, "it runs with security \(theirs), this rank with security \(security); "
                + "every rank needs the same security setting")
        }
        if let keys, !keys.checkHello(Array(hello[(helloWords * 8)...]), asker: peer, server: server) {
            return .refused(peer, "it does not hold this rank's key (its hello fails authentication); every rank "
                + "must read a copy of the same key file")
        }
        return .peer(peer, link: words[3] & linkFlag != 0)
    }

    /// The address to listen on: the tcp-interface setting, else the interface Open MPI was
    /// told to use (btl_tcp_if_include), else loopback when every rank shares this host,
    /// else the first interface that is up and not loopback. Returns a problem if none fits.
    private static func chooseAddress(interface: String, cluster: Cluster) -> (UInt32, String?) {
        var specs = interface.isEmpty ? [] : [interface]
        if specs.isEmpty, let mpi = ProcessInfo.processInfo.environment["OMPI_MCA_btl_tcp_if_include"] {
            specs = mpi.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) }
        }
        var address: UInt32 = 0
        for spec in specs where cplatform_interface_address(spec, &address) == 0 { return (address, nil) }
        if !specs.isEmpty {
            return (0, "found no interface that is up with an IPv4 address matching \(specs.joined(separator: ", ")) "
                + "(the tcp-interface setting, JIA_TCP_INTERFACE, or Open MPI's btl_tcp_if_include)")
        }
        if cluster.allOnOneHost { return (UInt32(0x7f00_0001).bigEndian, nil) }
        if cplatform_interface_address(nil, &address) == 0 { return (address, nil) }
        return (0, "found no interface that is up with an IPv4 address other than loopback; "
            + "name one with the tcp-interface setting (JIA_TCP_INTERFACE)")
    }

    private static func exchange(_ mine: Endpoint, cluster: Cluster) -> [Endpoint] {
        var record = [UInt64](repeating: 0, count: Endpoint.words)
        record[0] = mine.ok ? 1 : 0
        record[1] = UInt64(mine.address)
        record[2] = UInt64(mine.port)
        record.withUnsafeMutableBytes { raw in
            let name = Array(mine.host.utf8.prefix(Endpoint.hostBytes - 1))
            for (index, byte) in name.enumerated() { raw[24 + index] = byte }
        }
        var all = [UInt64](repeating: 0, count: Endpoint.words * cluster.size)
        mpiCheck(MPI_Allgather(&record, Int32(Endpoint.words), cmpi_int64(), &all, Int32(Endpoint.words),
                               cmpi_int64(), cluster.syncComm), "MPI_Allgather (tcp endpoints)")
        return (0..<cluster.size).map { rank in
            let base = rank * Endpoint.words
            let host = all[(base + 3)..<(base + Endpoint.words)].withUnsafeBytes { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            return Endpoint(ok: all[base] == 1, address: UInt32(truncatingIfNeeded: all[base + 1]),
                            port: UInt16(truncatingIfNeeded: all[base + 2]), host: host)
        }
    }

    private static func text(_ address: UInt32) -> String {
        let value = UInt32(bigEndian: address)
        return "\(value >> 24).\((value >> 16) & 0xff).\((value >> 8) & 0xff).\(value & 0xff)"
    }
}
