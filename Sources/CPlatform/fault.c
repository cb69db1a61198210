// The SIGSEGV trampoline: decodes the faulting address and whether the access was a
// write, and hands faults inside the shared range to the registered callback with its
// context. Everything on this path is async-signal-safe except the callback itself: the
// messages are formatted by hand and written with write(2).
#define _GNU_SOURCE
#include "cplatform.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ucontext.h>
#include <unistd.h>

static uintptr_t range_base;
static uintptr_t range_end;
static cplatform_fault_callback fault_callback;
static void *fault_context;
// Where faults outside the shared range go: the handler installed before SwiftDSM's, or
// the one the application registered since (cplatform_set_application_fault_handler).
static struct sigaction previous_action;
// Set once the application registered its own: its faults are its business, no message.
static int application_handler;
static int installed;
// The fault this thread is resolving, if any: a second fault on the same thread is a fault
// inside the handler (the handler runs with SA_NODEFER so that it arrives here).
static __thread void *resolving;

static int access_is_write(void *context) {
    ucontext_t *uc = (ucontext_t *)context;
#if defined(__x86_64__)
    // Page-fault error code bit 1: the access was a write.
    return (uc->uc_mcontext.gregs[REG_ERR] & 0x2) != 0;
#elif defined(__aarch64__)
    // ESR_EL1 is stored in an esr_context record; WnR is bit 6.
    struct _aarch64_ctx *record = (struct _aarch64_ctx *)uc->uc_mcontext.__reserved;
    while (record->magic != 0) {
        if (record->magic == ESR_MAGIC) {
            uint64_t esr = ((struct esr_context *)record)->esr;
            return (esr & (1u << 6)) != 0;
        }
        record = (struct _aarch64_ctx *)((char *)record + record->size);
    }
    return 1;
#else
#error "SwiftDSM's fault decoding supports x86_64 and aarch64"
#endif
}

static void write_string(const char *text) {
    ssize_t ignored = write(STDERR_FILENO, text, strlen(text));
    (void)ignored;
}

// Appends `value` in hexadecimal (0x...) or decimal at `*cursor` (snprintf is not
// async-signal-safe).
static void append_number(char **cursor, uintptr_t value, int hex) {
    char digits[24];
    int count = 0;
    unsigned base = hex ? 16 : 10;
    do {
        digits[count++] = "0123456789abcdef"[value % base];
        value /= base;
    } while (value != 0 && count < (int)sizeof digits);
    if (hex) { *(*cursor)++ = '0'; *(*cursor)++ = 'x'; }
    while (count > 0) *(*cursor)++ = digits[--count];
}

static void append_text(char **cursor, const char *text) {
    while (*text) *(*cursor)++ = *text++;
}

static void report_foreign_fault(void *address) {
    char message[200];
    char *cursor = message;
    append_text(&cursor, "SwiftDSM: segmentation fault at address ");
    append_number(&cursor, (uintptr_t)address, 1);
    append_text(&cursor, " (pid ");
    append_number(&cursor, (uintptr_t)getpid(), 0);
    append_text(&cursor, "); not a shared-memory access\n");
    *cursor = 0;
    write_string(message);
}

static void chain_to_previous(int signal_number, siginfo_t *info, void *context) {
    if (!application_handler) report_foreign_fault(info->si_addr);
    if (previous_action.sa_flags & SA_SIGINFO) {
        if (previous_action.sa_sigaction != NULL) {
            previous_action.sa_sigaction(signal_number, info, context);
            return;
        }
    } else if (previous_action.sa_handler != SIG_DFL && previous_action.sa_handler != SIG_IGN) {
        previous_action.sa_handler(signal_number);
        return;
    }
    // Default action: restore it and return; the instruction faults again and the process dies.
    signal(SIGSEGV, SIG_DFL);
}

static void segv_handler(int signal_number, siginfo_t *info, void *context) {
    uintptr_t address = (uintptr_t)info->si_addr;
    if (resolving != NULL) {
        // The handler itself faulted: say so, for there is no way to go on.
        char message[240];
        char *cursor = message;
        append_text(&cursor, "SwiftDSM: a fault at address ");
        append_number(&cursor, address, 1);
        append_text(&cursor, " inside the fault handler, while it resolved a fault at ");
        append_number(&cursor, (uintptr_t)resolving, 1);
        append_text(&cursor, " (pid ");
        append_number(&cursor, (uintptr_t)getpid(), 0);
        append_text(&cursor, "): a SwiftDSM bug; aborting\n");
        *cursor = 0;
        write_string(message);
        signal(SIGABRT, SIG_DFL);
        abort();
    }
    if (address >= range_base && address < range_end && fault_callback != NULL) {
        int saved_errno = errno;
        resolving = info->si_addr;
        int handled = fault_callback(fault_context, info->si_addr, access_is_write(context));
        resolving = NULL;
        errno = saved_errno;
        if (handled) return;
    }
    chain_to_previous(signal_number, info, context);
}

int cplatform_install_fault_handler(void *base, size_t length, cplatform_fault_callback callback,
                                    void *context) {
    range_base = (uintptr_t)base;
    range_end = range_base + length;
    fault_callback = callback;
    fault_context = context;
    if (installed) return 0;
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_sigaction = segv_handler;
    // SA_NODEFER: a fault inside the handler reaches it (and is reported) instead of
    // killing the process without a word.
    action.sa_flags = SA_SIGINFO | SA_RESTART | SA_NODEFER;
    sigemptyset(&action.sa_mask);
    if (sigaction(SIGSEGV, &action, &previous_action) != 0) return errno;
    installed = 1;
    return 0;
}

void cplatform_remove_fault_handler(void) {
    if (!installed) return;
    sigaction(SIGSEGV, &previous_action, NULL);
    installed = 0;
    fault_callback = NULL;
    fault_context = NULL;
}

int cplatform_set_application_fault_handler(const struct sigaction *action, struct sigaction *old) {
    if (!installed) {
        // No DSM running: the application's handler is simply the process's.
        return sigaction(SIGSEGV, action, old) == 0 ? 0 : errno;
    }
    if (old != NULL) *old = previous_action;
    if (action != NULL) {
        previous_action = *action;
        application_handler = 1;
    }
    return 0;
}
