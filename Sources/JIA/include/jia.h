/* jia.h: JIAJIA 2.1's C interface to SwiftDSM (being written). */
#ifndef JIA_H
#define JIA_H
#endif
