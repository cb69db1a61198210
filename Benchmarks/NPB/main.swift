import SwiftDSM
jia_init()
jia_exit()
