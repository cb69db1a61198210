// A doorbell in memory shared between the processes of one host: two words, the count of
// rings and whether its one sleeper sleeps. A service thread with nothing to serve sleeps
// on it (a futex, so it costs no CPU); a rank that sends it a request rings it. Shared,
// not private, futex operations: the word is a page of a memfd every rank maps.
#define _GNU_SOURCE
#include "cplatform.h"

#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

enum { rings = 0, sleeping = 1 };

uint32_t cplatform_doorbell_arm(uint32_t *bell) {
    uint32_t seen = __atomic_load_n(&bell[rings], __ATOMIC_SEQ_CST);
    __atomic_store_n(&bell[sleeping], 1, __ATOMIC_SEQ_CST);
    return seen;
}

void cplatform_doorbell_disarm(uint32_t *bell) { __atomic_store_n(&bell[sleeping], 0, __ATOMIC_SEQ_CST); }

int cplatform_doorbell_wait(uint32_t *bell, uint32_t seen, int64_t timeout_nanoseconds) {
    struct timespec timeout = { .tv_sec = timeout_nanoseconds / 1000000000, .tv_nsec = timeout_nanoseconds % 1000000000 };
    syscall(SYS_futex, &bell[rings], FUTEX_WAIT, seen, &timeout, NULL, 0);  // returns at once if rung since `seen`
    cplatform_doorbell_disarm(bell);
    return __atomic_load_n(&bell[rings], __ATOMIC_SEQ_CST) != seen;
}

void cplatform_doorbell_ring(uint32_t *bell) {
    __atomic_add_fetch(&bell[rings], 1, __ATOMIC_SEQ_CST);
    if (__atomic_load_n(&bell[sleeping], __ATOMIC_SEQ_CST)) syscall(SYS_futex, &bell[rings], FUTEX_WAKE, 1, NULL, NULL, 0);
}
