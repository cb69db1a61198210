// CPlatform: the few operating-system facilities Swift cannot express directly:
// decoding the faulting address and access kind from a SIGSEGV context, memfd and the
// mmap variants, and the sockets, epoll and eventfd of the tcp transport.
//
// One convention: every helper that can fail returns 0 or an errno, and hands its values
// back through out-parameters (Swift checks the result with `systemCheck` or
// `systemCall`, which name the call). Helpers that cannot fail return void.
#ifndef CPLATFORM_H
#define CPLATFORM_H

#include <stddef.h>
#include <stdint.h>

/// Called for a fault inside the registered range, with the context given at installation.
/// Returns 1 when the fault was resolved (the instruction is retried), 0 to treat it as a
/// real segmentation fault.
typedef int (*cplatform_fault_callback)(void *context, void *address, int is_write);

/// Installs the SIGSEGV handler for [base, base+length). Faults outside the range,
/// and faults the callback declines, go to the handler that was installed before
/// (or the default action), after a message naming the address. A fault inside the
/// callback is reported with write(2) and aborts the process.
/// Returns 0 on success, or errno.
int cplatform_install_fault_handler(void *base, size_t length, cplatform_fault_callback callback,
                                    void *context);

struct sigaction;
/// For the application: makes `action` the handler of segmentation faults outside the
/// shared range (sigaction(SIGSEGV, ...) would replace SwiftDSM's own); the one it
/// replaces goes to `old` (either may be NULL). Returns 0 or errno.
int cplatform_set_application_fault_handler(const struct sigaction *action, struct sigaction *old);

/// Restores the handler that was installed before.
void cplatform_remove_fault_handler(void);

/// memfd_create(name, MFD_CLOEXEC) sized to `length` bytes, into `fd`. Returns 0 or errno.
int cplatform_memfd(const char *name, int64_t length, int *fd);

/// A doorbell (two words in memory shared between processes; doorbell.c): `arm` before a
/// last look for work returns the rings seen, `wait` sleeps until a ring after them (or the
/// timeout), says whether one came and disarms, `disarm` when the last look found work,
/// `ring` from any process wakes every thread armed on the bell.
uint32_t cplatform_doorbell_arm(uint32_t *bell);
void cplatform_doorbell_disarm(uint32_t *bell);
int cplatform_doorbell_wait(uint32_t *bell, uint32_t seen, int64_t timeout_nanoseconds);
void cplatform_doorbell_ring(uint32_t *bell);

/// A PROT_NONE reservation of `length` bytes at `hint` (MAP_FIXED_NOREPLACE; EEXIST when
/// the range is taken), or anywhere when `hint` is NULL, into `address`. Returns 0 or errno.
int cplatform_reserve_at(void *hint, size_t length, void **address);

/// Replaces [address, address+length) with a fresh PROT_NONE reservation. Returns 0 or errno.
int cplatform_unmap_to_reserved(void *address, size_t length);

/// Maps `length` bytes of `fd` at `offset` over [address, address+length) (MAP_SHARED|MAP_FIXED).
/// prot: PROT_NONE, PROT_READ or PROT_READ|PROT_WRITE. Returns 0 or errno.
int cplatform_map_shared_fixed(void *address, size_t length, int prot, int fd, int64_t offset, int populate);

/// Maps `length` bytes of `fd` at `offset` anywhere, read+write, into `address`. Returns 0 or errno.
int cplatform_map_shared(size_t length, int fd, int64_t offset, void **address);

/// Frees the file pages of [offset, offset+length) (fallocate PUNCH_HOLE | KEEP_SIZE). Returns 0 or errno.
int cplatform_punch_hole(int fd, int64_t offset, int64_t length);

/// Allocates and maps the pages of [address, address+length) for writing
/// (MADV_POPULATE_WRITE): one call instead of a fault per page. Returns 0 or errno.
int cplatform_populate_write(void *address, size_t length);

/// mprotect with PROT_* flags. Returns 0 or errno.
int cplatform_protect(void *address, size_t length, int prot);

/// XORs `count` 64-bit deltas into `target`. A delta that changes only some bytes of its
/// word is applied with an atomic XOR, since another thread may be writing the word's other
/// bytes; a delta that changes every byte is applied with a plain XOR. Deltas may be unaligned.
void cplatform_xor_words(uint64_t *target, const void *deltas, size_t count);

/// A full memory fence.
void cplatform_memory_fence(void);

/// Sets `count` byte flags to 1 (relaxed atomic stores; order them with a fence).
void cplatform_set_flags(uint8_t *flags, size_t count);

/// 1 if the byte flag is set (relaxed atomic load).
int cplatform_flag_is_set(const uint8_t *flag);

/// Clears the byte flag and returns 1 if it was set (atomic exchange).
int cplatform_take_flag(uint8_t *flag);

/// 1 if any of `count` byte flags is set.
int cplatform_any_flag(const uint8_t *flags, size_t count);

// Sockets for the tcp transport (network.c). Addresses are IPv4 in network byte order.

/// A socket listening on `address` at a port the kernel picks, into `fd` and `port`. Returns 0 or errno.
int cplatform_tcp_listen(uint32_t address, int *fd, uint16_t *port);

/// A non-blocking connection to `address`:`port` with TCP_NODELAY and keepalive, into
/// `fd`. Returns 0 or errno (ETIMEDOUT after `timeout_ms`).
int cplatform_tcp_connect(uint32_t address, uint16_t port, int timeout_ms, int *fd);

/// The next connection on `listener` (non-blocking, with the lane options), into `fd`.
/// Returns 0 or errno (ETIMEDOUT after `timeout_ms`).
int cplatform_tcp_accept(int listener, int timeout_ms, int *fd);

/// sendmsg over `count` struct iovec at `iov` with MSG_NOSIGNAL, the bytes sent into
/// `sent`. Returns 0 or errno (EAGAIN when the socket is full).
int cplatform_sendv(int fd, const void *iov, int count, long *sent);

/// recv with MSG_DONTWAIT, the bytes read into `received` (0 at the end of the stream).
/// Returns 0 or errno (EAGAIN when nothing is there).
int cplatform_receive(int fd, void *buffer, size_t length, long *received);
/// recvmsg with MSG_DONTWAIT of at most `first_length` bytes into `first`, then
/// `second_length` into `second`; the bytes read into `received` (0 at the end of the
/// stream). Returns 0 or errno (EAGAIN when nothing is there).
int cplatform_receive2(int fd, void *first, size_t first_length, void *second, size_t second_length,
                       long *received);

/// Waits for one descriptor to be readable or writable; `ready` is 1, or 0 when
/// `timeout_ms` passed. Returns 0 or errno (EINTR included).
int cplatform_wait_fd(int fd, int for_writing, int timeout_ms, int *ready);

/// epoll_create1(EPOLL_CLOEXEC) into `fd`. Returns 0 or errno.
int cplatform_epoll_create(int *fd);
/// Watches `fd` for input; `data` comes back from cplatform_epoll_wait. Returns 0 or errno.
int cplatform_epoll_add(int epoll, int fd, uint64_t data);
/// Waits (EINTR retried) and writes the ready descriptors' data, their number into
/// `count` (at most 64). Returns 0 or errno.
int cplatform_epoll_wait(int epoll, uint64_t *data, int capacity, int timeout_ms, int *count);

/// A non-blocking eventfd into `fd`. Returns 0 or errno.
int cplatform_eventfd(int *fd);
void cplatform_eventfd_signal(int fd);

/// The IPv4 address of the first up interface matching `spec` (a name such as eth0, or a
/// network such as 10.77.0.0/24), or with spec NULL the first up non-loopback one, into
/// `address`. Returns 0, ENODEV when none matched, or errno.
int cplatform_interface_address(const char *spec, uint32_t *address);

#endif
