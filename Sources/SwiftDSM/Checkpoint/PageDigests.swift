import Crypto

/// Each home page's digest (the first 16 bytes of its SHA-256) as the last checkpoint of a
/// file home store saw it. The checkpoint's part lists them; a restart rolls the store back
/// and restores nothing unless every page matches its digest again. Between checkpoints
/// only the pages that changed are hashed again.
struct PageDigests: ~Copyable {
    typealias Digest = (UInt64, UInt64)
    private let words: PageArray<UInt64>

    init(pageCount: Int) { words = PageArray(count: pageCount * 2) }

    static func of(_ contents: UnsafeRawPointer, bytes: Int) -> Digest {
        let digest = SHA256.hash(data: UnsafeRawBufferPointer(start: contents, count: bytes))
        return digest.withUnsafeBytes { ($0.loadUnaligned(as: UInt64.self), $0.loadUnaligned(fromByteOffset: 8, as: UInt64.self)) }
    }

    subscript(page: Int) -> Digest {
        get { (words[page * 2], words[page * 2 + 1]) }
        nonmutating set {
            words[page * 2] = newValue.0
            words[page * 2 + 1] = newValue.1
        }
    }
}
