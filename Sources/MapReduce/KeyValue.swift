/// One shuffled record: a key and one value (combined or not) for it.
public struct KeyValue<Key: BitwiseCopyable, Value: BitwiseCopyable>: BitwiseCopyable {
    public var key: Key
    public var value: Value

    public init(_ key: Key, _ value: Value) {
        self.key = key
        self.value = value
    }
}
