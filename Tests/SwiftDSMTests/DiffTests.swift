import XCTest
@testable import SwiftDSM
final class PlaceholderTests: XCTestCase { func testNothing() {} }
