import CMPI
import SwiftDSM

/// Element types the collectives move, with their MPI datatype.
public protocol CollectiveElement: BitwiseCopyable {
    static var mpiType: MPI_Datatype { get }
}

extension Double: CollectiveElement { public static var mpiType: MPI_Datatype { cmpi_double() } }
extension Float: CollectiveElement { public static var mpiType: MPI_Datatype { cmpi_float() } }
extension Int: CollectiveElement { public static var mpiType: MPI_Datatype { cmpi_int64() } }
extension Int64: CollectiveElement { public static var mpiType: MPI_Datatype { cmpi_int64() } }
extension Int32: CollectiveElement { public static var mpiType: MPI_Datatype { cmpi_int32() } }
extension UInt64: CollectiveElement { public static var mpiType: MPI_Datatype { cmpi_uint64() } }

/// Reduction operators.
public enum ReduceOperation: Sendable {
    case sum, max, min

    var mpiOp: MPI_Op {
        switch self {
        case .sum: return cmpi_op_sum()
        case .max: return cmpi_op_max()
        case .min: return cmpi_op_min()
        }
    }
}

/// Broadcast, reduce, allreduce and gather over MPI on the DSM's own communicator, for
/// private buffers and for shared memory alike. Shared pages are made valid (and, where
/// MPI writes them, twinned) first: MPI must never touch a protected page.
public enum Collectives {
    private static var runtime: DSMRuntime {
        guard let runtime = DSM.current?.runtime else {
            Fatal.stop("Collectives used before jia_init / DSM.start")
        }
        return runtime
    }

    private static func prepare<T>(_ pointer: UnsafePointer<T>, count: Int, writing: Bool) {
        runtime.prepare(UnsafeRawPointer(pointer), length: count * MemoryLayout<T>.stride, forWriting: writing)
    }

    /// Copies `root`'s `count` elements at `buffer` to every rank's `buffer`.
    public static func broadcast<T: CollectiveElement>(_ buffer: UnsafeMutablePointer<T>, count: Int, root: Int) {
        prepare(buffer, count: count, writing: runtime.cluster.rank != root)
        mpiCheck(MPI_Bcast(buffer, Int32(count), T.mpiType, Int32(root), runtime.cluster.userComm), "MPI_Bcast")
    }

    /// Element-wise reduction of every rank's `send` into `root`'s `receive`.
    public static func reduce<T: CollectiveElement>(_ send: UnsafePointer<T>, into receive: UnsafeMutablePointer<T>,
                                                    count: Int, _ operation: ReduceOperation, root: Int) {
        prepare(send, count: count, writing: false)
        if runtime.cluster.rank == root { prepare(receive, count: count, writing: true) }
        mpiCheck(MPI_Reduce(send, receive, Int32(count), T.mpiType, operation.mpiOp, Int32(root),
                         runtime.cluster.userComm), "MPI_Reduce")
    }

    /// Element-wise reduction of every rank's `send` into every rank's `receive`.
    public static func allreduce<T: CollectiveElement>(_ send: UnsafePointer<T>, into receive: UnsafeMutablePointer<T>,
                                                       count: Int, _ operation: ReduceOperation) {
        prepare(send, count: count, writing: false)
        prepare(receive, count: count, writing: true)
        mpiCheck(MPI_Allreduce(send, receive, Int32(count), T.mpiType, operation.mpiOp, runtime.cluster.userComm),
              "MPI_Allreduce")
    }

    /// One value reduced over all ranks.
    public static func allreduce<T: CollectiveElement>(_ value: T, _ operation: ReduceOperation) -> T {
        var input = value
        var output = value
        mpiCheck(MPI_Allreduce(&input, &output, 1, T.mpiType, operation.mpiOp, runtime.cluster.userComm), "MPI_Allreduce")
        return output
    }

    /// Element-wise reduction of arrays over all ranks.
    public static func allreduce<T: CollectiveElement>(_ values: [T], _ operation: ReduceOperation) -> [T] {
        var output = values
        values.withUnsafeBufferPointer { input in
            output.withUnsafeMutableBufferPointer { result in
                mpiCheck(MPI_Allreduce(input.baseAddress, result.baseAddress, Int32(values.count), T.mpiType,
                                    operation.mpiOp, runtime.cluster.userComm), "MPI_Allreduce")
            }
        }
        return output
    }

    /// `count` elements from every rank, concatenated in rank order at `root`.
    public static func gather<T: CollectiveElement>(_ send: UnsafePointer<T>, count: Int,
                                                    into receive: UnsafeMutablePointer<T>?, root: Int) {
        prepare(send, count: count, writing: false)
        if runtime.cluster.rank == root, let receive {
            prepare(receive, count: count * runtime.cluster.size, writing: true)
        }
        mpiCheck(MPI_Gather(send, Int32(count), T.mpiType, receive, Int32(count), T.mpiType, Int32(root),
                         runtime.cluster.userComm), "MPI_Gather")
    }

    /// Every rank's values, concatenated in rank order, on every rank.
    public static func allgather<T: CollectiveElement>(_ values: [T]) -> [T] {
        var output = [T](unsafeUninitializedCapacity: values.count * runtime.cluster.size) { _, count in
            count = values.count * runtime.cluster.size
        }
        values.withUnsafeBufferPointer { input in
            output.withUnsafeMutableBufferPointer { result in
                mpiCheck(MPI_Allgather(input.baseAddress, Int32(values.count), T.mpiType, result.baseAddress,
                                    Int32(values.count), T.mpiType, runtime.cluster.userComm), "MPI_Allgather")
            }
        }
        return output
    }
}
