import CPlatform
import Glibc
import Synchronization
import XCTest
@testable import SwiftDSM

/// The doorbell an idle service thread sleeps on (one host): two mappings of one memfd
/// stand for the sleeping rank's and a sender's.
final class DoorbellTests: XCTestCase {
    private func twoMappings(_ body: (UnsafeMutablePointer<UInt32>, UnsafeMutablePointer<UInt32>) -> Void) {
        let file = MemoryFile(name: "doorbell-test", length: 4096, what: "a test doorbell")
        var other: UnsafeMutableRawPointer? = nil
        XCTAssertEqual(cplatform_map_shared(4096, file.fd, 0, &other), 0)
        body(file.alias.assumingMemoryBound(to: UInt32.self), other!.assumingMemoryBound(to: UInt32.self))
        munmap(other, 4096)
    }

    func testAWaitWithoutARingEndsAtItsTimeoutSayingSo() {
        twoMappings { sleeper, _ in
            let seen = cplatform_doorbell_arm(sleeper)
            XCTAssertEqual(cplatform_doorbell_wait(sleeper, seen, 1_000_000), 0)
        }
    }

    func testARingBeforeTheWaitIsNotMissed() {
        twoMappings { sleeper, sender in
            let seen = cplatform_doorbell_arm(sleeper)
            cplatform_doorbell_ring(sender)
            XCTAssertEqual(cplatform_doorbell_wait(sleeper, seen, 10_000_000_000), 1, "the wait returned at once")
        }
    }

    /// Threads waiting for replies share their rank's reply bell: one ring wakes them all
    /// (each then looks for its own reply), none sleeps to its timeout.
    func testOneRingWakesEverySleeper() {
        twoMappings { sleeper, sender in
            let woken = PostedWork()
            let bell = SharedBell(pointer: sleeper)
            let armed = PostedWork()
            let threads = (0..<3).map { _ in
                Thread {
                    let seen = cplatform_doorbell_arm(bell.pointer)
                    armed.count.add(1, ordering: .sequentiallyConsistent)
                    if cplatform_doorbell_wait(bell.pointer, seen, 10_000_000_000) != 0 {
                        woken.count.add(1, ordering: .sequentiallyConsistent)
                    }
                }
            }
            threads.forEach { $0.start() }
            while armed.count.load(ordering: .sequentiallyConsistent) < 3 { usleep(100) }
            usleep(20_000)  // let them reach the futex
            let start = monotonicNanoseconds()
            cplatform_doorbell_ring(sender)
            while woken.count.load(ordering: .sequentiallyConsistent) < 3 && monotonicNanoseconds() - start < 5_000_000_000 {
                usleep(100)
            }
            XCTAssertEqual(woken.count.load(ordering: .sequentiallyConsistent), 3, "a sleeper missed the ring")
            XCTAssertLessThan(monotonicNanoseconds() - start, 5_000_000_000)
            XCTAssertEqual(sleeper[1], 0, "every sleeper disarmed")
        }
    }

    /// The service loop's protocol against a sender ringing after each piece of work: every
    /// wait ends by a ring, none by its (long) timeout, however the two interleave.
    func testNoRingIsLostBetweenTheLastLookAndTheSleep() {
        twoMappings { sleeper, sender in
            let pieces = 20_000
            let posted = PostedWork()
            let bell = SharedBell(pointer: sender)
            let thread = Thread {
                for _ in 0..<pieces {
                    posted.count.add(1, ordering: .sequentiallyConsistent)
                    cplatform_doorbell_ring(bell.pointer)
                    if Int.random(in: 0..<64) == 0 { usleep(50) }
                }
            }
            thread.start()
            var taken = 0, timeouts = 0
            func more() -> Bool { posted.count.load(ordering: .sequentiallyConsistent) > taken }
            while taken < pieces {
                if more() { taken = posted.count.load(ordering: .sequentiallyConsistent); continue }
                let seen = cplatform_doorbell_arm(sleeper)
                if more() { cplatform_doorbell_disarm(sleeper); continue }
                if cplatform_doorbell_wait(sleeper, seen, 5_000_000_000) == 0 { timeouts += 1 }
            }
            XCTAssertEqual(timeouts, 0, "a wait slept through a ring")
        }
    }
}

private final class PostedWork: Sendable {
    let count = Atomic<Int>(0)
}

private struct SharedBell: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<UInt32>
}
