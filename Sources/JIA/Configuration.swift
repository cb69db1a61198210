// jia_config: HMIG, ADWD, BROADCAST, LOADBAL, WVEC.
import CMPI
import Collectives
@preconcurrency import Glibc
import Foundation
import SwiftDSM

nonisolated(unsafe) var reportedOptions = Set<Int32>()

/// The options' values before the program calls jia_config: the hmig, adwd, broadcast,
/// loadbal and wvec settings (jia.yaml, JIA_<OPTION>, --jia-<option>=on), so the settings
/// file and jia_config agree.
func applyConfigurationSettings(_ settings: Settings) {
    let options: [(Int32, Bool)] = [(0, settings.hmig), (1, settings.adwd), (2, settings.broadcast),
                                    (3, settings.loadbal), (4, settings.wvec)]
    for (option, on) in options where on || option == 3 { c_jia_config(option, on ? 1 : 0) }
}

@_cdecl("jia_config")
public func c_jia_config(_ option: Int32, _ value: Int32) {
    let on = value != 0
    let unimplemented: String
    switch option {
    case 3:  // LOADBAL
        LoadBalance.enabled = on
        return
    case 0:  // HMIG
        DSM.current?.runtime.homeMigration = on
        return
    case 1:  // ADWD
        DSM.current?.runtime.adaptiveWriteDetection = on
        return
    case 4:  // WVEC
        DSM.current?.runtime.writeVectors = on
        return
    case 2: unimplemented = "BROADCAST (tree broadcast of barrier grants; SwiftDSM's barrier is an MPI collective already)"
    default:
        Fatal.stop("jia_config: unknown option \(option) (HMIG 0, ADWD 1, BROADCAST 2, LOADBAL 3, WVEC 4)")
    }
    guard on, !reportedOptions.contains(option) else { return }
    reportedOptions.insert(option)
    if cachedPid == 0 {
        print("SwiftDSM: jia_config: \(unimplemented) is not implemented; the option is accepted and has no effect")
    }
}
