// A test-only count of the heap allocations of the calling thread: this target defines
// malloc and its relatives (forwarding to glibc's own), so linking it into a test binary
// counts every allocation made by any code of that binary, the Swift runtime included.
#ifndef ALLOCATION_COUNTER_H
#define ALLOCATION_COUNTER_H

#include <stdint.h>

/// Allocations (malloc, calloc, realloc, memalign and relatives) made by the calling
/// thread since it started.
uint64_t allocation_counter_thread(void);

/// Bytes those allocations asked for.
uint64_t allocation_counter_thread_bytes(void);

/// From now on, also tell apart the allocations SwiftDSM's own code makes: those called
/// from the executable or the Swift runtime, not from a C library it calls (MPI, UCX),
/// whose allocations are that library's business. Costs a dladdr per allocation.
void allocation_counter_watch_callers(void);

/// Allocations of the calling thread called from the executable or the Swift runtime,
/// since `allocation_counter_watch_callers`.
uint64_t allocation_counter_own_thread(void);

#endif
