import Foundation
import SwiftDSM

// dsm-keygen PATH: a new key for `security: authenticate | encrypt`. Copy the file to the
// same path on every host (it stays readable by its owner only) and name it with the
// key-file setting.
func fail(_ message: String, status: Int32) -> Never {
    FileHandle.standardError.write(Data((message + "\n").utf8))
    exit(status)
}

let arguments = CommandLine.arguments.dropFirst()
guard arguments.count == 1, let path = arguments.first, !path.hasPrefix("-") else {
    fail("usage: dsm-keygen PATH\n  writes \(KeyFile.length) random bytes to PATH (mode 600) for the key-file "
        + "setting (JIA_KEY_FILE)", status: 2)
}
do {
    try KeyFile.create(path)
    print("wrote a new SwiftDSM key to \(path); copy it to every host and run with "
        + "JIA_SECURITY=encrypt JIA_KEY_FILE=\(path)")
} catch {
    fail("dsm-keygen: \(error)", status: 1)
}
