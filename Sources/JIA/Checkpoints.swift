// Checkpoint and restart (JIAJIA 3.0's fault tolerance): jia_checkpoint saves the shared
// memory at a barrier; a run started with the restart setting continues from it.
import SwiftDSM

@_cdecl("jia_checkpoint")
public func c_jia_checkpoint(_ tag: Int) { timedSync { runtime.checkpoint(tag: tag) } }

@_cdecl("jia_restarted")
public func c_jia_restarted() -> Int { runtime.restoredTag ?? -1 }
