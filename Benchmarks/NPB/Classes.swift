import ArgumentParser

/// The five kernels and the LU, BT and SP pseudo-applications.
enum Kernel: String, CaseIterable, ExpressibleByArgument {
    case ep, `is`, cg, mg, ft, lu, bt, sp

    init?(argument: String) { self.init(rawValue: argument.lowercased()) }

    var name: String { rawValue.uppercased() }
    /// IS, CG, MG, FT and LU need a power-of-two number of ranks; EP takes any.
    var needsPowerOfTwo: Bool { self != .ep && !needsSquare }
    /// BT and SP need a square number of ranks, as NPB-MPI's.
    var needsSquare: Bool { self == .bt || self == .sp }
}

/// NPB problem classes supported here.
enum ProblemClass: String, CaseIterable, ExpressibleByArgument {
    case S, W, A, B

    init?(argument: String) { self.init(rawValue: argument.uppercased()) }

    var letter: Character { Character(rawValue) }
}
