import Crypto
import Foundation

/// The keys of one job, derived from the key file's secret with HKDF-SHA256, salted with
/// the job's random id: each lane (pair of ranks) and each rank's page pushes get their
/// own key, so a nonce (a frame's counter) never repeats under one key across jobs or
/// connections.
struct JobKeys {
    let security: SecurityChoice
    private let secret: SymmetricKey
    private let job: UInt64

    init(security: SecurityChoice, secret: SymmetricKey, job: UInt64) {
        self.security = security
        self.secret = secret
        self.job = job
    }

    private func derive(_ purpose: String, _ numbers: [UInt32]) -> SymmetricKey {
        var info = Array("SwiftDSM \(purpose) v1".utf8)
        for number in numbers { withUnsafeBytes(of: number.littleEndian) { info.append(contentsOf: $0) } }
        let salt = withUnsafeBytes(of: job.littleEndian) { Array($0) }
        return HKDF<SHA256>.deriveKey(inputKeyMaterial: secret, salt: salt, info: info, outputByteCount: 32)
    }

    /// The seal of the lane `asker` opened to `server`, at the end that `asks` (else the
    /// serving end; a rank's lane to itself has both ends in one process).
    func laneSeal(asker: Int, server: Int, asks: Bool) -> FrameSeal {
        let key = derive("lane", [UInt32(asker), UInt32(server)])
        // Requests travel asker to server, replies back: each direction its own nonces.
        let requests: UInt32 = 1
        let replies: UInt32 = 2
        return FrameSeal(security: security, key: key, sending: asks ? requests : replies,
                         receiving: asks ? replies : requests)
    }

    /// The seal of the pages `rank` pushes to others at barriers (`PagePusher`).
    func pushSeal(from rank: Int) -> FrameSeal {
        FrameSeal(security: security, key: derive("push", [UInt32(rank)]), sending: 0, receiving: 0)
    }

    /// The seal of the MPI messages `sender` sends `receiver` (`FramedChannel`); each tag is
    /// a stream of its own, the nonce's direction.
    func messageSeal(from sender: Int, to receiver: Int) -> FrameSeal {
        FrameSeal(security: security, key: derive("message", [UInt32(sender), UInt32(receiver)]), sending: 0,
                  receiving: 0)
    }

    /// The seal of what `rank` contributes to the collective calls' allgathers (barrier
    /// notices, allocation checks): authenticated, never encrypted (page numbers, not data).
    func noticeSeal(of rank: Int) -> FrameSeal {
        FrameSeal(security: .authenticate, key: derive("notices", [UInt32(rank)]), sending: 0, receiving: 0)
    }

    /// The job's secret under `settings.security`: nil with security off; a problem (what
    /// to do about it) when no usable key file is named.
    static func secret(_ settings: Settings) -> (SymmetricKey?, problem: String?) {
        guard settings.security != .off else { return (nil, nil) }
        guard !settings.keyFile.isEmpty else {
            return (nil, "needs a key file for security \(settings.security): name one with the key-file setting "
                + "(JIA_KEY_FILE); `dsm-keygen PATH` creates one")
        }
        do {
            return (try KeyFile.read(settings.keyFile), nil)
        } catch {
            return (nil, "cannot use security \(settings.security): \(error)")
        }
    }

    /// What `asker` sends in its hello to `server`: proof that it holds the secret, bound to
    /// this job, this pair of ranks and the security setting.
    func helloProof(asker: Int, server: Int) -> [UInt8] {
        var message = Array("SwiftDSM hello \(security.rawValue)".utf8)
        for number in [job, UInt64(asker), UInt64(server)] {
            withUnsafeBytes(of: number.littleEndian) { message.append(contentsOf: $0) }
        }
        let key = derive("hello", [UInt32(asker), UInt32(server)])
        return Array(HMAC<SHA256>.authenticationCode(for: message, using: key))
    }

    static let proofLength = 32

    /// Whether `proof` is the one `helloProof` makes (compared in constant time).
    func checkHello(_ proof: [UInt8], asker: Int, server: Int) -> Bool {
        let expected = helloProof(asker: asker, server: server)
        guard proof.count == expected.count else { return false }
        var difference: UInt8 = 0
        for index in proof.indices { difference |= proof[index] ^ expected[index] }
        return difference == 0
    }
}
