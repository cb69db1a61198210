// The SIGSEGV trampoline: decodes the faulting address and whether the access was a
// write, and hands faults inside the shared range to the registered callback.
#define _GNU_SOURCE
#include "cplatform.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <ucontext.h>
#include <unistd.h>

static uintptr_t range_base;
static uintptr_t range_end;
static cplatform_fault_callback fault_callback;
static struct sigaction previous_action;
static int installed;

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

static void chain_to_previous(int signal_number, siginfo_t *info, void *context) {
    char message[160];
    snprintf(message, sizeof message,
             "SwiftDSM: segmentation fault at address %p (pid %d); not a shared-memory access\n",
             info->si_addr, (int)getpid());
    write_string(message);
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
    if (address >= range_base && address < range_end && fault_callback != NULL) {
        int saved_errno = errno;
        int handled = fault_callback(info->si_addr, access_is_write(context));
        errno = saved_errno;
        if (handled) return;
    }
    chain_to_previous(signal_number, info, context);
}

int cplatform_install_fault_handler(void *base, size_t length, cplatform_fault_callback callback) {
    range_base = (uintptr_t)base;
    range_end = range_base + length;
    fault_callback = callback;
    if (installed) return 0;
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_sigaction = segv_handler;
    action.sa_flags = SA_SIGINFO | SA_RESTART;
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
}

int cplatform_errno(void) { return errno; }
