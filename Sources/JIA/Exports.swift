// C exports of the JIAJIA API (being written).
import SwiftDSM
