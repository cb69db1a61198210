// Interposes the allocation functions of glibc: the executable's definitions take
// precedence over libc's for every shared library (the Swift runtime's included), and each
// forwards to glibc's implementation after counting. The counters are thread-local
// (initial-exec, so reading them allocates nothing), which makes them usable from a signal
// handler: the fault path's allocations are counted on the faulting thread.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "allocation_counter.h"

extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t count, size_t size);
extern void *__libc_realloc(void *pointer, size_t size);
extern void *__libc_memalign(size_t alignment, size_t size);
extern void __libc_free(void *pointer);

static __thread uint64_t allocations __attribute__((tls_model("initial-exec")));
static __thread uint64_t allocated_bytes __attribute__((tls_model("initial-exec")));
static __thread uint64_t own_allocations __attribute__((tls_model("initial-exec")));
static __thread int looking __attribute__((tls_model("initial-exec")));
static atomic_int watching;
static void *executable_base;

uint64_t allocation_counter_thread(void) { return allocations; }
uint64_t allocation_counter_own_thread(void) { return own_allocations; }
uint64_t allocation_counter_thread_bytes(void) { return allocated_bytes; }

void allocation_counter_watch_callers(void) {
    Dl_info info;
    if (dladdr((void *)allocation_counter_watch_callers, &info)) executable_base = info.dli_fbase;
    atomic_store(&watching, 1);
}

// The caller is SwiftDSM's if it lies in the executable or in the Swift runtime.
static void count(void *caller, size_t bytes) {
    if (looking) return;  // dladdr's own allocations are the counter's, not the program's
    allocations++;
    allocated_bytes += bytes;
    if (!atomic_load_explicit(&watching, memory_order_relaxed)) return;
    looking = 1;
    Dl_info info;
    if (!dladdr(caller, &info) || info.dli_fbase == executable_base
        || (info.dli_fname && (strstr(info.dli_fname, "/libswift") || strstr(info.dli_fname, "/libFoundation")
                               || strstr(info.dli_fname, "/libdispatch") || strstr(info.dli_fname, "/libstdc++")))) {
        own_allocations++;
    }
    looking = 0;
}

void *malloc(size_t size) {
    count(__builtin_return_address(0), size);
    return __libc_malloc(size);
}

void *calloc(size_t count_, size_t size) {
    count(__builtin_return_address(0), count_ * size);
    return __libc_calloc(count_, size);
}

void *realloc(void *pointer, size_t size) {
    count(__builtin_return_address(0), size);
    return __libc_realloc(pointer, size);
}

void *memalign(size_t alignment, size_t size) {
    count(__builtin_return_address(0), size);
    return __libc_memalign(alignment, size);
}

void *aligned_alloc(size_t alignment, size_t size) {
    count(__builtin_return_address(0), size);
    return __libc_memalign(alignment, size);
}

int posix_memalign(void **result, size_t alignment, size_t size) {
    if (alignment < sizeof(void *) || (alignment & (alignment - 1)) != 0) return EINVAL;
    count(__builtin_return_address(0), size);
    void *pointer = __libc_memalign(alignment, size);
    if (pointer == NULL && size != 0) return ENOMEM;
    *result = pointer;
    return 0;
}

void free(void *pointer) { __libc_free(pointer); }
