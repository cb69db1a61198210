import Glibc

/// Twins of home pages that other ranks hold copies of, taken at their first write of an
/// interval when write vectors are on (JIAJIA 2.1 does the same): at the interval's end the
/// page is compared with its twin block by block, so the write vectors record the blocks
/// the home changed rather than the whole page. The buffers are reserved once and backed as
/// they are first used; when every buffer is taken, a page goes without one and counts as
/// changed whole. Application thread only.
struct HomeTwins: ~Copyable {
    private let storage: PageArray<UInt8>
    private let pageSize: Int
    private var freeBuffers: [Int32]
    private var bufferOfPage: [Int: Int32] = [:]

    init(bufferCount: Int, pageSize: Int) {
        self.pageSize = pageSize
        storage = PageArray<UInt8>(count: bufferCount * pageSize)
        freeBuffers = (0..<Int32(bufferCount)).reversed()
    }

    private func address(_ buffer: Int32) -> UnsafeMutableRawPointer {
        UnsafeMutableRawPointer(storage.pointer) + Int(buffer) * pageSize
    }

    /// Copies `page`'s contents at `contents` (before the home writes it).
    mutating func make(_ page: Int, from contents: UnsafeRawPointer) {
        guard bufferOfPage[page] == nil, let buffer = freeBuffers.popLast() else { return }
        bufferOfPage[page] = buffer
        memcpy(address(buffer), contents, pageSize)
    }

    /// The blocks of the page at `contents` that differ from its twin (every block if it has
    /// none), dropping the twin.
    mutating func changedBlocks(_ page: Int, at contents: UnsafeRawPointer) -> UInt64 {
        guard let buffer = bufferOfPage.removeValue(forKey: page) else { return WriteVectors.everyBlock }
        freeBuffers.append(buffer)
        let twin = address(buffer)
        let blockLength = pageSize >> WriteVectors.blockShift
        var mask: UInt64 = 0
        for block in 0..<(1 << WriteVectors.blockShift)
        where memcmp(contents + block * blockLength, twin + block * blockLength, blockLength) != 0 {
            mask |= 1 << UInt64(block)
        }
        return mask
    }

    /// Drops the twin of a page that stays writable without detection.
    mutating func drop(_ page: Int) {
        if let buffer = bufferOfPage.removeValue(forKey: page) { freeBuffers.append(buffer) }
    }

}
