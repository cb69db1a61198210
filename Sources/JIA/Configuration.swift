// jia_config: HMIG, ADWD, BROADCAST, LOADBAL, WVEC.
import CMPI
import Collectives
@preconcurrency import Glibc
import Foundation
import SwiftDSM

/// The options' values before the program calls jia_config: the hmig, adwd, loadbal and
/// wvec settings (jia.yaml, JIA_<OPTION>, --jia-<option>=on), so the settings file and
/// jia_config agree. (The runtime applies broadcast, whose `auto` depends on the transport.)
func applyConfigurationSettings(_ settings: Settings) {
    let options: [(Int32, Bool)] = [(0, settings.hmig), (1, settings.adwd), (3, settings.loadbal), (4, settings.wvec)]
    for (option, on) in options where on || option == 3 { c_jia_config(option, on ? 1 : 0) }
}

@_cdecl("jia_config")
public func c_jia_config(_ option: Int32, _ value: Int32) {
    let on = value != 0
    switch option {
    case 0: DSM.current?.runtime.homeMigration = on        // HMIG
    case 1: DSM.current?.runtime.adaptiveWriteDetection = on  // ADWD
    case 2: DSM.current?.runtime.broadcast = on            // BROADCAST
    case 3: LoadBalance.enabled = on                       // LOADBAL
    case 4: DSM.current?.runtime.writeVectors = on         // WVEC
    default:
        Fatal.stop("jia_config: unknown option \(option) (HMIG 0, ADWD 1, BROADCAST 2, LOADBAL 3, WVEC 4)")
    }
}
