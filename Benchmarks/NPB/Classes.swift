import ArgumentParser

/// The five kernels and the LU pseudo-application.
enum Kernel: String, CaseIterable, ExpressibleByArgument {
    case ep, `is`, cg, mg, ft, lu

    init?(argument: String) { self.init(rawValue: argument.lowercased()) }

    var name: String { rawValue.uppercased() }
    /// IS, CG, MG, FT and LU need a power-of-two number of ranks; EP takes any.
    var needsPowerOfTwo: Bool { self != .ep }
}

/// NPB problem classes supported here.
enum ProblemClass: String, CaseIterable, ExpressibleByArgument {
    case S, W, A, B

    init?(argument: String) { self.init(rawValue: argument.uppercased()) }

    var letter: Character { Character(rawValue) }
}
