// Applying XOR diffs to home pages that other threads may be writing at the same time.
#include "cplatform.h"

#include <string.h>

static inline int changes_every_byte(uint64_t delta) {
    const uint64_t low = 0x0101010101010101ULL, high = 0x8080808080808080ULL;
    return ((delta - low) & ~delta & high) == 0;
}

void cplatform_xor_words(uint64_t *target, const void *deltas, size_t count) {
    const unsigned char *source = (const unsigned char *)deltas;
    for (size_t i = 0; i < count; i++) {
        uint64_t delta;
        memcpy(&delta, source + i * 8, 8);
        if (delta == 0) continue;
        if (changes_every_byte(delta)) {
            target[i] ^= delta;
        } else {
            __atomic_fetch_xor(&target[i], delta, __ATOMIC_RELAXED);
        }
    }
}

void cplatform_memory_fence(void) { __atomic_thread_fence(__ATOMIC_SEQ_CST); }
