// kmeans: Lloyd's k-means as iterated MapReduce jobs. Points are generated around k
// random centers into shared memory; each iteration maps the splits (assign every point
// to its nearest centroid, emitting (cluster, (coordinate sums, count)) per split), the
// combiner and reducers add the partial sums, and every rank reads the k new centroids
// from the reducers' output. It stops when no point changes cluster. Rank 0 runs the
// same iterations sequentially on privately regenerated points and compares.
//
// Coordinates are multiples of 2^-20 below 2^7 in magnitude, so sums of up to 2^25 points
// are exact in Double: they do not depend on the order of the additions, and the
// centroids (and the digest) are identical at any number of ranks.
//
//   mpirun -np 4 .build/release/example-kmeans [--points 1000000] [--clusters 16] [--dims 4]
//                         [--spread 24] [--iterations 100] [--split 16384] [--seed 1]
import Collectives
import ExampleSupport
import MapReduce
import SwiftDSM

typealias Vector = SIMD8<Double>

/// A cluster's partial sums: what map emits and the combiner and reducers add.
struct Partial: BitwiseCopyable {
    var sum: Vector
    var count: Int
}

struct PointSource {
    let dims: Int
    let clusters: Int
    let seed: UInt64
    /// Half-width of the noise around a center; at most 27 keeps coordinates below 2^7.
    let spread: Double
    let centers: [Vector]

    init(dims: Int, clusters: Int, spread: Int, seed: UInt64) {
        self.dims = dims
        self.spread = Double(spread)
        self.clusters = clusters
        self.seed = seed
        centers = (0..<clusters).map { center in
            var generator = SplitMix64(seed: seed ^ 0xCE27_E125, stream: center)
            var vector = Vector()
            for dim in 0..<dims { vector[dim] = PointSource.quantized(generator.nextUnit() * 200 - 100) }
            return vector
        }
    }

    static func quantized(_ value: Double) -> Double { (value * 0x1p20).rounded() * 0x1p-20 }

    /// Point `index`: one of the centers (drawn at random) plus noise in [-spread, spread] per coordinate.
    func write(point index: Int, to destination: UnsafeMutablePointer<Double>) {
        var generator = SplitMix64(seed: seed, stream: index)
        let center = centers[Int(generator.next() % UInt64(clusters))]
        for dim in 0..<dims {
            let noise = (generator.nextUnit() + generator.nextUnit() + generator.nextUnit() + generator.nextUnit() - 2) * spread / 2
            destination[dim] = PointSource.quantized(center[dim] + noise)
        }
    }
}

@inline(__always)
func load(_ coordinates: UnsafePointer<Double>, dims: Int) -> Vector {
    var vector = Vector()
    for dim in 0..<dims { vector[dim] = coordinates[dim] }
    return vector
}

/// The nearest centroid, the lowest index on a tie.
@inline(__always)
func nearest(_ point: Vector, _ centroids: [Vector]) -> Int {
    var best = 0
    var bestDistance = Double.infinity
    for (index, centroid) in centroids.enumerated() {
        let difference = point - centroid
        let distance = (difference * difference).sum()
        if distance < bestDistance {
            bestDistance = distance
            best = index
        }
    }
    return best
}

/// Farthest-first start: the first candidate, then repeatedly the candidate farthest from
/// the centroids chosen so far (one per true cluster, mostly, so Lloyd's converges fast).
func initialCentroids(_ candidates: [Vector], clusters: Int) -> [Vector] {
    var chosen = [candidates[0]]
    var distance = candidates.map { point -> Double in
        let difference = point - candidates[0]
        return (difference * difference).sum()
    }
    while chosen.count < clusters {
        var best = 0
        for index in distance.indices where distance[index] > distance[best] { best = index }
        chosen.append(candidates[best])
        for index in candidates.indices {
            let difference = candidates[index] - candidates[best]
            distance[index] = min(distance[index], (difference * difference).sum())
        }
    }
    return chosen
}

/// New centroids from the clusters' sums; an empty cluster keeps its centroid.
func updated(_ centroids: [Vector], _ sums: (Int) -> Partial?) -> [Vector] {
    centroids.indices.map { cluster in
        guard let partial = sums(cluster), partial.count > 0 else { return centroids[cluster] }
        return partial.sum / Double(partial.count)
    }
}

func main() -> Never {
    let dsm = DSM.start()
    let options = Options(["points": "points", "clusters": "k", "dims": "coordinates per point (1 to 8)",
                           "iterations": "most iterations", "spread": "noise half-width (1 to 27)", "split": "points per split", "seed": "generator seed"])
    let count = options.int("points", 1_000_000, in: 1...1 << 25)
    let clusters = options.int("clusters", 16, in: 1...count)
    let dims = options.int("dims", 4, in: 1...8)
    let maxIterations = options.int("iterations", 100, in: 1...100_000)
    let perSplit = options.int("split", 16384, in: 1...1 << 30)
    let source = PointSource(dims: dims, clusters: clusters, spread: options.int("spread", 24, in: 1...27),
                             seed: UInt64(options.int("seed", 1)))
    let splits = (count + perSplit - 1) / perSplit

    let points = dsm.allocate(Double.self, count: count * dims, homes: .blocked)
    for index in dsm.share(of: count) { source.write(point: index, to: points.base + index * dims) }
    dsm.barrier()
    // Start from the first points (read by every rank).
    let candidates = max(clusters, min(count, 1024))
    let initial = initialCentroids((0..<candidates).map { load(points.base + $0 * dims, dims: dims) }, clusters: clusters)

    // Private: the cluster of each point this rank maps (the same splits every iteration).
    var assignment = [Int32](repeating: -1, count: count)
    var centroids = initial
    var iterations = 0
    let job = MapReduce<Int, Partial>(dsm)
    let start = monotonicNanoseconds()
    while iterations < maxIterations {
        var changes = 0
        let sums = job.combining(splits: splits, map: { split, emit in
            var partial = [Partial](repeating: Partial(sum: Vector(), count: 0), count: clusters)
            for index in (split * perSplit)..<min((split + 1) * perSplit, count) {
                let point = load(points.base + index * dims, dims: dims)
                let cluster = nearest(point, centroids)
                if assignment[index] != Int32(cluster) {
                    assignment[index] = Int32(cluster)
                    changes += 1
                }
                partial[cluster].sum += point
                partial[cluster].count += 1
            }
            for cluster in 0..<clusters where partial[cluster].count > 0 { emit(cluster, partial[cluster]) }
        }, combine: { Partial(sum: $0.sum + $1.sum, count: $0.count + $1.count) })
        centroids = updated(centroids) { sums[$0] }
        iterations += 1
        if Collectives.allreduce(changes, .sum) == 0 { break }
    }
    let seconds = slowestSeconds(since: start)

    var digest = Digest()
    for (cluster, centroid) in centroids.enumerated() {
        var folded = UInt64(iterations)
        for dim in 0..<dims { folded = SplitMix64.mix(folded ^ centroid[dim].bitPattern) }
        digest.add(UInt64(cluster), folded)
    }

    var passed = true
    var detail = ""
    if dsm.rank == 0 {
        let referenceStart = monotonicNanoseconds()
        var privatePoints = [Double](repeating: 0, count: count * dims)
        privatePoints.withUnsafeMutableBufferPointer { buffer in
            for index in 0..<count { source.write(point: index, to: buffer.baseAddress! + index * dims) }
        }
        let referenceInitial = initialCentroids((0..<candidates).map { index in
            privatePoints.withUnsafeBufferPointer { load($0.baseAddress! + index * dims, dims: dims) }
        }, clusters: clusters)
        var reference = referenceInitial
        var referenceAssignment = [Int32](repeating: -1, count: count)
        var referenceIterations = 0
        while referenceIterations < maxIterations {
            var sums = [Partial](repeating: Partial(sum: Vector(), count: 0), count: clusters)
            var changes = 0
            privatePoints.withUnsafeBufferPointer { buffer in
                for index in 0..<count {
                    let point = load(buffer.baseAddress! + index * dims, dims: dims)
                    let cluster = nearest(point, reference)
                    if referenceAssignment[index] != Int32(cluster) {
                        referenceAssignment[index] = Int32(cluster)
                        changes += 1
                    }
                    sums[cluster].sum += point
                    sums[cluster].count += 1
                }
            }
            reference = updated(reference) { sums[$0] }
            referenceIterations += 1
            if changes == 0 { break }
        }
        var worst = 0.0
        for cluster in 0..<clusters {
            for dim in 0..<dims {
                let expected = reference[cluster][dim]
                let error = abs(centroids[cluster][dim] - expected) / max(abs(expected), Double.leastNormalMagnitude)
                worst = max(worst, error)
            }
        }
        passed = worst <= 1e-9 && iterations == referenceIterations && referenceInitial == initial
        let referenceSeconds = Double(monotonicNanoseconds() - referenceStart) / 1e9
        print("kmeans: \(count) points, k = \(clusters), \(dims) dims, \(iterations) iterations "
            + "(reference \(referenceIterations)), largest relative centroid difference \(worst)")
        print("kmeans digest = \(digest.hex)")
        detail = "reference \(String(format: "%.3f", referenceSeconds)) s"
    }
    finishExample(dsm, name: "example-kmeans", passed: passed, seconds: seconds, detail: detail)
}

main()
