// swift-tools-version: 6.0
import PackageDescription

let mapReduceExample: [Target.Dependency] = ["MapReduce", "ExampleSupport", "SwiftDSM", "Collectives"]

let package = Package(
    name: "SwiftDSM",
    platforms: [.macOS(.v13)],
    products: [
        .library(name: "SwiftDSM", targets: ["SwiftDSM"]),
        .library(name: "Collectives", targets: ["Collectives"]),
        .library(name: "MapReduce", targets: ["MapReduce"]),
        // The C face: libjia.so and include/jia.h, for programs written for JIAJIA 2.1.
        .library(name: "jia", type: .dynamic, targets: ["JIA"]),
        .executable(name: "dsm-bench", targets: ["DSMBench"]),
        .executable(name: "dsm-check", targets: ["DSMCheck"]),
        .executable(name: "example-pi", targets: ["ExamplePi"]),
        .executable(name: "example-matmul", targets: ["ExampleMatMul"]),
        .executable(name: "example-sor", targets: ["ExampleSOR"]),
        .executable(name: "example-pagerank", targets: ["ExamplePageRank"]),
        .executable(name: "example-wordcount", targets: ["ExampleWordCount"]),
        .executable(name: "example-invertedindex", targets: ["ExampleInvertedIndex"]),
        .executable(name: "example-kmeans", targets: ["ExampleKMeans"]),
        .executable(name: "example-samplesort", targets: ["ExampleSampleSort"]),
        .executable(name: "npb", targets: ["NPB"]),
        .executable(name: "dsm-config", targets: ["DSMConfig"]),
        .executable(name: "dsm-keygen", targets: ["DSMKeygen"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "5.0.1"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
    ],
    targets: [
        // C edges: MPI handles Swift cannot import, and the SIGSEGV context / memfd.
        .target(name: "CMPI", linkerSettings: [.linkedLibrary("mpi")]),
        .target(name: "CPlatform"),
        // liblz4 (Debian liblz4-dev): compression of the tcp transport's frames.
        .systemLibrary(name: "CLZ4"),
        // UCX's UCP (Debian libucx-dev) for the ucx transport; libibverbs lists RDMA devices
        // and hwloc says which cores each is near.
        .target(name: "CUCX", linkerSettings: [.linkedLibrary("ucp"), .linkedLibrary("ucs"), .linkedLibrary("ibverbs"),
                                               .linkedLibrary("hwloc")]),

        .target(
            name: "SwiftDSM",
            dependencies: ["CMPI", "CPlatform", "CLZ4", "CUCX", .product(name: "Logging", package: "swift-log"),
                           .product(name: "Yams", package: "Yams"), .product(name: "Crypto", package: "swift-crypto")]
        ),
        .target(name: "Collectives", dependencies: ["SwiftDSM", "CMPI"]),
        .target(name: "JIA", dependencies: ["SwiftDSM", "Collectives", "CMPI"]),
        // MapReduce over the DSM: shuffle through buckets homed on the reducers.
        .target(name: "MapReduce", dependencies: ["SwiftDSM", "Collectives"]),

        // Programs.
        .executableTarget(
            name: "DSMBench",
            dependencies: ["SwiftDSM", "Collectives", "CMPI", "CUCX", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Benchmarks/DSMBench"
        ),
        .executableTarget(
            name: "DSMCheck",
            dependencies: ["SwiftDSM", "Collectives", "CMPI", "MapReduce", "CAllocationCounter"],
            path: "Tests/Programs/DSMCheck"
        ),
        .executableTarget(
            name: "NPB",
            dependencies: ["SwiftDSM", "Collectives", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Benchmarks/NPB",
            swiftSettings: [.unsafeFlags(["-Ounchecked"], .when(configuration: .release))]
        ),
        // dsm-config: the effective settings and where each came from (no MPI needed).
        .executableTarget(name: "DSMConfig", dependencies: ["SwiftDSM"], path: "Sources/DSMConfig"),
        // dsm-keygen: a new key file for the security setting (no MPI needed).
        .executableTarget(name: "DSMKeygen", dependencies: ["SwiftDSM"], path: "Sources/DSMKeygen"),
        .executableTarget(name: "ExamplePi", dependencies: ["SwiftDSM", "Collectives"], path: "Examples/Pi"),
        .executableTarget(name: "ExampleMatMul", dependencies: ["SwiftDSM", "Collectives"], path: "Examples/MatMul"),
        .executableTarget(name: "ExampleSOR", dependencies: ["SwiftDSM", "Collectives"], path: "Examples/SOR"),
        .executableTarget(name: "ExamplePageRank", dependencies: ["SwiftDSM", "Collectives"], path: "Examples/PageRank"),
        // The MapReduce examples and sample sort; Support: their generators, options and checks.
        .target(name: "ExampleSupport", dependencies: ["SwiftDSM", "Collectives"], path: "Examples/Support"),
        .executableTarget(name: "ExampleWordCount", dependencies: mapReduceExample, path: "Examples/WordCount"),
        .executableTarget(name: "ExampleInvertedIndex", dependencies: mapReduceExample, path: "Examples/InvertedIndex"),
        .executableTarget(name: "ExampleKMeans", dependencies: mapReduceExample, path: "Examples/KMeans"),
        .executableTarget(name: "ExampleSampleSort", dependencies: mapReduceExample, path: "Examples/SampleSort"),

        // Tests: pure parts without MPI, and multi-rank runs under mpirun.
        // Counts the heap allocations of a thread (it interposes malloc): the engine's fault path must make none.
        .target(name: "CAllocationCounter", path: "Tests/Support/CAllocationCounter"),
        .testTarget(name: "SwiftDSMTests", dependencies: ["SwiftDSM", "CAllocationCounter", .product(name: "Crypto", package: "swift-crypto")],
                    path: "Tests/SwiftDSMTests"),
        .testTarget(name: "MultiRankTests", path: "Tests/MultiRankTests"),
    ],
    swiftLanguageModes: [.v6]
)
