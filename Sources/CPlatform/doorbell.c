// A doorbell in memory shared between the processes of one host: two words, the count of
// rings and how many threads sleep on it. A service thread with nothing to serve sleeps on
// its rank's request bell, threads waiting for replies on its reply bell (a futex, so
// they cost no CPU); a rank that sends a request or a reply rings the bell it goes to.
// Shared, not private, futex operations: the words are in a page of a memfd every rank maps.
#define _GNU_SOURCE
#include "cplatform.h"

#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

enum { rings = 0, sleeping = 1 };

uint32_t cplatform_doorbell_arm(uint32_t *bell) {
    __atomic_add_fetch(&bell[sleeping], 1, __ATOMIC_SEQ_CST);
    return __atomic_load_n(&bell[rings], __ATOMIC_SEQ_CST);
}

void cplatform_doorbell_disarm(uint32_t *bell) { __atomic_sub_fetch(&bell[sleeping], 1, __ATOMIC_SEQ_CST); }

static int64_t now_nanoseconds(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
}

int cplatform_doorbell_wait(uint32_t *bell, uint32_t seen, int64_t timeout_nanoseconds) {
    int64_t deadline = now_nanoseconds() + timeout_nanoseconds;
    // A futex wait may also end without a wake (a signal, or spuriously): wait again then.
    for (;;) {
        if (__atomic_load_n(&bell[rings], __ATOMIC_SEQ_CST) != seen) break;
        int64_t left = deadline - now_nanoseconds();
        if (left <= 0) break;
        struct timespec timeout = { .tv_sec = left / 1000000000, .tv_nsec = left % 1000000000 };
        syscall(SYS_futex, &bell[rings], FUTEX_WAIT, seen, &timeout, NULL, 0);  // at once if rung since `seen`
    }
    cplatform_doorbell_disarm(bell);
    return __atomic_load_n(&bell[rings], __ATOMIC_SEQ_CST) != seen;
}

void cplatform_doorbell_ring(uint32_t *bell) {
    __atomic_add_fetch(&bell[rings], 1, __ATOMIC_SEQ_CST);
    if (__atomic_load_n(&bell[sleeping], __ATOMIC_SEQ_CST)) {
        syscall(SYS_futex, &bell[rings], FUTEX_WAKE, INT32_MAX, NULL, NULL, 0);  // every sleeper looks again
    }
}
