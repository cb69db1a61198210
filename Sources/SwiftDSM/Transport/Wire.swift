import Glibc

/// What a request to a service thread asks for.
enum RequestKind: Int64 {
    case fetchPages = 1
    case diff
    case acquireLock
    case releaseLock
    case setCondition
    case resetCondition
    case waitCondition
    case reportError
    case shutdown
}

/// MPI tags. Requests travel on the request communicator, replies on the reply
/// communicator, so a service thread and its main thread never take each other's messages.
enum Tag {
    static let request: Int32 = 1
    static let pageData: Int32 = 10
    static let diffAcknowledgement: Int32 = 11
    static let lockGrant: Int32 = 12
    static let conditionGrant: Int32 = 13
    static let errorAcknowledgement: Int32 = 14
}

/// Builds a message of 64-bit words and raw bytes.
struct MessageWriter {
    private(set) var bytes: [UInt8] = []

    init(kind: RequestKind, capacity: Int = 64) {
        bytes.reserveCapacity(capacity)
        append(kind.rawValue)
    }

    init(capacity: Int = 64) { bytes.reserveCapacity(capacity) }

    mutating func append(_ value: Int64) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    mutating func append(_ value: Int) { append(Int64(value)) }

    mutating func append(contentsOf raw: UnsafeRawBufferPointer) { bytes.append(contentsOf: raw) }

    mutating func append(_ values: [Int]) {
        append(values.count)
        for value in values { append(value) }
    }
}

/// Reads what a `MessageWriter` built. Malformed input is a protocol bug, so it traps.
struct MessageReader {
    let buffer: UnsafeRawBufferPointer
    private(set) var position = 0

    init(_ buffer: UnsafeRawBufferPointer) { self.buffer = buffer }

    var remaining: Int { buffer.count - position }

    mutating func int64() -> Int64 {
        precondition(position + 8 <= buffer.count, "SwiftDSM: truncated protocol message")
        let value = buffer.loadUnaligned(fromByteOffset: position, as: Int64.self)
        position += 8
        return Int64(littleEndian: value)
    }

    mutating func int() -> Int { Int(int64()) }

    mutating func ints() -> [Int] {
        let count = int()
        var values: [Int] = []
        values.reserveCapacity(count)
        for _ in 0..<count { values.append(int()) }
        return values
    }

    mutating func bytes(_ count: Int) -> UnsafeRawBufferPointer {
        precondition(position + count <= buffer.count, "SwiftDSM: truncated protocol message")
        let slice = UnsafeRawBufferPointer(rebasing: buffer[position..<(position + count)])
        position += count
        return slice
    }

    mutating func string() -> String {
        let count = int()
        return String(decoding: bytes(count), as: UTF8.self)
    }
}

extension MessageWriter {
    mutating func append(_ text: String) {
        let utf8 = Array(text.utf8)
        append(utf8.count)
        utf8.withUnsafeBytes { append(contentsOf: $0) }
    }
}
