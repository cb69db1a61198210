/// Lists reserved at start-up (so that the fault handler can append without allocating)
/// keep their reservation only while no other array shares their buffer: emptying a shared
/// one with `removeAll(keepingCapacity: true)` allocates a fresh buffer of the whole
/// reserved capacity. Hand their contents out as a copy instead.
extension Array {
    /// A new array holding `list`'s elements, in a buffer of its own sized to them.
    static func copying(_ list: [Element]) -> [Element] {
        guard !list.isEmpty else { return [] }
        return [Element](unsafeUninitializedCapacity: list.count) { buffer, count in
            _ = buffer.initialize(from: list)
            count = list.count
        }
    }
}
