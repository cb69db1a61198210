import Foundation
import SwiftDSM

/// Seconds on the monotonic clock.
@inline(__always) func wallSeconds() -> Double { Double(monotonicNanoseconds()) * 1e-9 }

/// A line on stdout (only rank 0 writes the report).
func out(_ text: String = "") {
    print(text)
}

func err(_ text: String) {
    FileHandle.standardError.write((text + "\n").data(using: .utf8)!)
}

func fmt(_ format: String, _ args: CVarArg...) -> String { String(format: format, arguments: args) }

/// Right-aligns `text` in `width` columns.
func pad(_ text: String, _ width: Int) -> String {
    text.count >= width ? text : String(repeating: " ", count: width - text.count) + text
}

/// Fortran-style E format: 0.1234567890123E+02 with `digits` digits after the point.
func fortranE(_ value: Double, _ width: Int, _ digits: Int) -> String {
    if value == 0 { return pad("0." + String(repeating: "0", count: digits) + "E+00", width) }
    var exponent = Int(floor(log10(abs(value)))) + 1
    var mantissa = abs(value) / pow(10.0, Double(exponent))
    var text = String(format: "%.\(digits)f", mantissa)
    if text.hasPrefix("1.") { mantissa /= 10; exponent += 1; text = String(format: "%.\(digits)f", mantissa) }
    let body = String(text.dropFirst(1))  // ".xxxx"
    let sign = value < 0 ? "-" : ""
    let expText = String(format: "%@%02d", exponent < 0 ? "-" : "+", abs(exponent))
    return pad(sign + "0" + body + "E" + expText, width)
}

/// verify.f's first lines: the class and epsilon, then whether dt is the reference's.
/// `accuracy` is how the line about epsilon starts ("Accuracy" in LU, "accuracy" in BT, SP).
func verificationPreamble(_ problemClass: ProblemClass, epsilon: Double, dt: Double, reference: Double,
                          accuracy: String) -> Bool {
    out(" Verification being performed for class \(problemClass.rawValue)")
    out(" \(accuracy) setting for epsilon = " + fortranE(epsilon, 20, 13))
    let matches = abs(dt - reference) <= epsilon
    if !matches { out(" DT does not match the reference value of " + fortranE(reference, 15, 8)) }
    return matches
}

/// verify.f's comparison of five norms with their reference values, one line each, marked
/// " FAILURE: " where the relative difference is above epsilon or not a number; whether all
/// are within. `gap` is what stands between the index and the value (LU's format has two
/// spaces, BT's and SP's none).
func compareNorms(_ label: String, _ values: [Double], _ references: [Double], epsilon: Double,
                  gap: String) -> Bool {
    out(label)
    var verified = true
    for m in 0..<5 {
        let difference = abs((values[m] - references[m]) / references[m])
        let ok = !difference.isNaN && difference <= epsilon
        if !ok { verified = false }
        out((ok ? "          " : " FAILURE: ") + pad(String(m + 1), 2) + gap + fortranE(values[m], 20, 13)
            + fortranE(references[m], 20, 13) + fortranE(difference, 20, 13))
    }
    return verified
}

/// How the report's Size line is written.
enum ReportSize {
    /// One count (CG, IS).
    case count(Int)
    /// EP: 2^power random numbers.
    case powerOfTwo(Int)
    /// A grid n1 x n2 x n3 (MG, FT).
    case grid(Int, Int, Int)
}

/// The NPB 3.4 results block (print_results.f; c_print_results.c for IS).
struct Report {
    var name: String
    var problemClass: ProblemClass
    var size: ReportSize
    var iterations: Int
    var seconds: Double
    var processes: Int
    var mops: Double
    var operation: String
    var verified: Bool
    /// The C layout of IS ("IS Benchmark Completed" without the period, C compile options).
    var cStyle = false

    static var compileDate: String {
        var date = Date()
        if let attributes = try? FileManager.default.attributesOfItem(atPath: "/proc/self/exe"),
           let modified = attributes[.modificationDate] as? Date { date = modified }
        if let path = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"),
           let attributes = try? FileManager.default.attributesOfItem(atPath: path),
           let modified = attributes[.modificationDate] as? Date { date = modified }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.dateFormat = "dd MMM yyyy"
        return formatter.string(from: date)
    }

    func print() {
        let field = 24  // every value ends in column 43, 24 columns after "= "
        var lines: [String] = ["", ""]
        lines.append(cStyle ? " \(name) Benchmark Completed" : " \(name) Benchmark Completed.")
        lines.append(" Class           = " + pad(String(problemClass.letter), field))
        switch size {
        case .count(let n):
            lines.append(" Size            = " + pad(String(n), field))
        case .powerOfTwo(let power):
            lines.append(" Size            = " + pad(String(format: "%.0f", pow(2.0, Double(power))), field))
        case .grid(let n1, let n2, let n3):
            if cStyle {
                lines.append(" Size            =              " + fmt("%3dx %3dx %3d", n1, n2, n3))
            } else {
                lines.append(" Size            =  " + String(repeating: " ", count: 9)
                    + pad(String(n1), 4) + "x" + pad(String(n2), 4) + "x" + pad(String(n3), 4))
            }
        }
        lines.append(" Iterations      = " + pad(String(iterations), field))
        lines.append(" Time in seconds = " + pad(fmt("%.2f", seconds), field))
        lines.append(" Total processes = " + pad(String(processes), field))
        lines.append(" Active procs    = " + pad(String(processes), field))
        lines.append(" Mop/s total     = " + pad(fmt("%.2f", mops), field))
        lines.append(" Mop/s/process   = " + pad(fmt("%.2f", mops / Double(Float(processes))), field))
        lines.append(" Operation type  = " + pad(operation, field))
        lines.append(" Verification    = " + pad(verified ? "SUCCESSFUL" : "UNSUCCESSFUL", field))
        lines.append(" Version         = " + pad("3.4", field))
        lines.append(" Compile date    = " + pad(Report.compileDate, field))
        lines.append("")
        lines.append(" Compile options:")
        if cStyle {
            lines.append("    MPICC        = swiftc (Swift 6, SwiftDSM page DSM over MPI)")
            lines.append("    CLINK        = swift build")
            lines.append("    CMPI_LIB     = -lmpi")
            lines.append("    CMPI_INC     = (none)")
            lines.append("    CFLAGS       = -c release -Ounchecked")
            lines.append("    CLINKFLAGS   = (none)")
            lines.append("")
            lines.append("")
            lines.append(" Please send feedbacks and/or the results of this run to:")
            lines.append("")
            lines.append(" NPB Development Team")
            lines.append(" npb@nas.nasa.gov")
            lines.append("")
        } else {
            lines.append("    MPIFC        = swiftc (Swift 6, SwiftDSM page DSM over MPI)")
            lines.append("    FLINK        = swift build")
            lines.append("    FMPI_LIB     = -lmpi")
            lines.append("    FMPI_INC     = (none)")
            lines.append("    FFLAGS       = -c release -Ounchecked")
            lines.append("    FLINKFLAGS   = (none)")
            lines.append("    RAND         = randi8 (UInt64)")
            lines.append("")
            lines.append("")
            lines.append(" Please send feedbacks and/or the results of this run to:")
            lines.append("")
            lines.append(" NPB Development Team ")
            lines.append(" Internet: npb@nas.nasa.gov")
            lines.append("")
        }
        out(lines.joined(separator: "\n"))
    }
}

/// What every kernel gets: the DSM and the options.
struct RunContext {
    let dsm: DSM
    let problemClass: ProblemClass
    let progress: Bool
    /// Threads per rank (`--threads`, CG only).
    var threads = 1
    /// k-planes per wavefront step (`--planes`, LU only); nil: LU chooses.
    var planes: Int? = nil

    var rank: Int { dsm.rank }
    var ranks: Int { dsm.rankCount }
    var isRoot: Bool { dsm.rank == 0 }

    /// Rank 0 prints a line to stdout.
    func say(_ text: String = "") { if isRoot { out(text) } }

    /// Progress to stderr when --progress is on (rank 0 only).
    func note(_ text: String) { if progress && isRoot { err("[npb] " + text) } }
}
