import SwiftDSM
jia_init()
print("rank \(jiapid) of \(jiahosts)")
jia_exit()
