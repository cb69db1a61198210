import XCTest
final class MultiRankTests: XCTestCase { func testNothing() {} }
