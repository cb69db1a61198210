import Foundation
import Synchronization
import XCTest
@testable import SwiftDSM

/// How a wait for MPI paces itself: spins, then yields, then sleeps.
final class BackoffTests: XCTestCase {
    func testCountedYieldsEndAtTheirCount() {
        var backoff = Backoff(spinAttempts: 3, yieldAttempts: 5, capMicroseconds: 1)
        for pause in 1...8 {
            XCTAssertFalse(backoff.wouldSleep, "asleep before pause \(pause)")
            backoff.pause()
        }
        XCTAssertTrue(backoff.wouldSleep)
        backoff.pause()
        XCTAssertTrue(backoff.wouldSleep)
        backoff.reset()
        XCTAssertFalse(backoff.wouldSleep)
    }

    /// With every core shared by threads that never yield, a yield hands one of them the
    /// core until the scheduler takes it back: yields bounded in time end long before their
    /// count (200,000 of them, about 0.15 s on an idle core).
    func testYieldsBoundedInTimeEndWhenTheCoreIsBusy() {
        let stop = Atomic<Bool>(false)
        // Several a core, so that no core is left to this thread alone.
        let spinners = 4 * ProcessInfo.processInfo.activeProcessorCount
        let finished = DispatchGroup()
        for _ in 0..<spinners {
            finished.enter()
            Thread {
                while !stop.load(ordering: .relaxed) {}
                finished.leave()
            }.start()
        }
        defer {
            stop.store(true, ordering: .relaxed)
            finished.wait()
        }
        usleep(20_000)  // the spinners run
        var backoff = Backoff(spinAttempts: 0, yieldAttempts: 200_000, capMicroseconds: 1).boundedInTime()
        var pauses = 0
        let deadline = monotonicNanoseconds() + 10_000_000_000
        while !backoff.wouldSleep && monotonicNanoseconds() < deadline {
            backoff.pause()
            pauses += 1
        }
        XCTAssertTrue(backoff.wouldSleep, "still yielding after 10 s (\(pauses) yields)")
        XCTAssertLessThan(pauses, 200_000, "the yields ended at their count, not in time")
    }
}
