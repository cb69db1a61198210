import Glibc

/// What a request to a service thread asks for: its number on the wire (the request's
/// first word) and a name for messages. Each layer declares the kinds it serves next to
/// its handler (pages: Transport/MessagePages.swift; locks and condition variables:
/// Sync/SyncService.swift; error reports: Transport/ErrorReports.swift), and the service thread
/// refuses two handlers for one number. Numbers in use: 1-8, 10-13 (9 was the MPI
/// service loop's stop message, now the channel's own).
struct RequestKind: Hashable, Sendable, CustomStringConvertible {
    let rawValue: Int64
    let name: String

    init(_ rawValue: Int64, _ name: String) {
        self.rawValue = rawValue
        self.name = name
    }

    var description: String { name }

    static func == (left: RequestKind, right: RequestKind) -> Bool { left.rawValue == right.rawValue }
    func hash(into hasher: inout Hasher) { hasher.combine(rawValue) }
}

/// Message tags: requests go to a rank's service thread, every other tag is a reply to the
/// thread waiting for it (on MPI, requests and replies travel on two communicators). The
/// replies of each layer are declared with it, as the request kinds are: 10-11 pages,
/// 12-13 locks and condition variables, 14 error reports.
enum Tag {
    static let request: Int32 = 1
}

/// Builds a message of 64-bit words and raw bytes.
struct MessageWriter {
    private(set) var bytes: [UInt8] = []

    init(kind: RequestKind, capacity: Int = 64) {
        bytes.reserveCapacity(capacity)
        append(kind.rawValue)
    }

    init(capacity: Int = 64) { bytes.reserveCapacity(capacity) }

    /// Empties the writer, keeping its room, and starts a request of `kind` (or none).
    mutating func reset(kind: RequestKind? = nil) {
        bytes.removeAll(keepingCapacity: true)
        if let kind { append(kind.rawValue) }
    }

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

/// A message that does not parse: truncated, a count or value out of range. Such input
/// comes from the network (or a peer of another build), so it is reported, never trusted.
struct MalformedMessage: Error {
    let reason: String
}

/// Reads what a `MessageWriter` built, checking every read against the message's length.
struct MessageReader {
    let buffer: UnsafeRawBufferPointer
    private(set) var position = 0

    init(_ buffer: UnsafeRawBufferPointer) { self.buffer = buffer }

    var remaining: Int { buffer.count - position }

    mutating func int64() throws(MalformedMessage) -> Int64 {
        guard remaining >= 8 else {
            throw MalformedMessage(reason: "truncated: \(buffer.count) bytes, a value wanted at byte \(position)")
        }
        let value = buffer.loadUnaligned(fromByteOffset: position, as: Int64.self)
        position += 8
        return Int64(littleEndian: value)
    }

    mutating func int() throws(MalformedMessage) -> Int { Int(try int64()) }

    /// A value that must lie in `range`; `what` names it in the error.
    mutating func int(in range: Range<Int>, _ what: String) throws(MalformedMessage) -> Int {
        let value = try int()
        guard range.contains(value) else {
            throw MalformedMessage(reason: "\(what) \(value) is outside \(range.lowerBound)..<\(range.upperBound)")
        }
        return value
    }

    /// A count of items of `itemBytes` bytes each that must fit in what is left.
    mutating func count(itemBytes: Int, _ what: String) throws(MalformedMessage) -> Int {
        try int(in: 0..<(remaining / itemBytes + 1), what)
    }

    mutating func ints() throws(MalformedMessage) -> [Int] {
        let count = try self.count(itemBytes: 8, "list length")
        var values: [Int] = []
        values.reserveCapacity(count)
        for _ in 0..<count { values.append(try int()) }
        return values
    }

    mutating func bytes(_ count: Int) throws(MalformedMessage) -> UnsafeRawBufferPointer {
        guard count >= 0, remaining >= count else {
            throw MalformedMessage(reason: "truncated: \(count) bytes wanted at byte \(position) of \(buffer.count)")
        }
        let slice = UnsafeRawBufferPointer(rebasing: buffer[position..<(position + count)])
        position += count
        return slice
    }

    mutating func string() throws(MalformedMessage) -> String {
        let count = try self.count(itemBytes: 1, "text length")
        return String(decoding: try bytes(count), as: UTF8.self)
    }
}

extension MessageWriter {
    mutating func append(_ text: String) {
        let utf8 = Array(text.utf8)
        append(utf8.count)
        utf8.withUnsafeBytes { append(contentsOf: $0) }
    }
}
