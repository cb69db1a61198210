import XCTest
@testable import SwiftDSM

/// The choice of RDMA device for a rank's UCX traffic (the hardware query itself needs a
/// device, which these machines cannot have: `RDMADevices.list()` is empty here).
final class RDMADeviceTests: XCTestCase {
    private let socket0 = RDMADevice(name: "mlx5_0", port: 1, cores: Set(0...15))
    private let socket1 = RDMADevice(name: "mlx5_1", port: 1, cores: Set(16...31))

    func testTheDeviceNearestTheBoundCoresIsChosen() {
        XCTAssertEqual(RDMADevices.nearest([socket0, socket1], to: [18, 19]), socket1)
        XCTAssertEqual(RDMADevices.nearest([socket0, socket1], to: [2]), socket0)
        // Most cores in common wins; a tie goes to the first listed.
        XCTAssertEqual(RDMADevices.nearest([socket0, socket1], to: [14, 15, 16]), socket0)
        XCTAssertEqual(RDMADevices.nearest([socket0, socket1], to: [15, 16]), socket0)
        XCTAssertEqual(RDMADevices.nearest([socket0, socket1], to: nil), socket0, "unknown binding: the first")
    }

    func testADeviceWithoutAnActivePortIsNeverChosen() {
        let down = RDMADevice(name: "mlx5_1", port: 0, cores: Set(16...31))
        XCTAssertEqual(RDMADevices.nearest([socket0, down], to: [20]), socket0)
        XCTAssertNil(RDMADevices.nearest([down], to: [20]))
        XCTAssertNil(RDMADevices.nearest([], to: [0]))
        XCTAssertEqual(socket1.ucxName, "mlx5_1:1")
    }

    func testHwlocCoreLists() {
        XCTAssertEqual(RDMADevices.coreList("0-3,8,10-11"), [0, 1, 2, 3, 8, 10, 11])
        XCTAssertEqual(RDMADevices.coreList(""), [])
        XCTAssertNil(RDMADevices.coreList("3-1"))
        XCTAssertNil(RDMADevices.coreList("a"))
        XCTAssertNotNil(RDMADevices.boundCores(), "hwloc should report this process's binding")
    }
}
