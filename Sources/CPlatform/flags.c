// Byte flags that one process sets and another takes (read notices): atomic, because the
// home reads and clears them while other ranks set them.
#include "cplatform.h"

void cplatform_set_flags(uint8_t *flags, size_t count) {
    for (size_t i = 0; i < count; i++) __atomic_store_n(&flags[i], 1, __ATOMIC_RELAXED);
}

int cplatform_flag_is_set(const uint8_t *flag) { return __atomic_load_n(flag, __ATOMIC_RELAXED) != 0; }

int cplatform_take_flag(uint8_t *flag) { return __atomic_exchange_n(flag, 0, __ATOMIC_RELAXED) != 0; }

int cplatform_any_flag(const uint8_t *flags, size_t count) {
    size_t i = 0;
    // Word at a time where aligned: most chunks of a large home are untouched.
    for (; i < count && ((uintptr_t)(flags + i) & 7) != 0; i++)
        if (__atomic_load_n(&flags[i], __ATOMIC_RELAXED)) return 1;
    for (; i + 8 <= count; i += 8)
        if (__atomic_load_n((const uint64_t *)(flags + i), __ATOMIC_RELAXED)) return 1;
    for (; i < count; i++)
        if (__atomic_load_n(&flags[i], __ATOMIC_RELAXED)) return 1;
    return 0;
}
