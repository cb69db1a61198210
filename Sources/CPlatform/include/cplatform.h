// CPlatform: the few operating-system facilities Swift cannot express directly:
// decoding the faulting address and access kind from a SIGSEGV context, memfd and the
// mmap variants, and the sockets, epoll and eventfd of the tcp transport.
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

/// memfd_create(name, MFD_CLOEXEC). Returns the descriptor or -1 with errno set.
int cplatform_memfd(const char *name);

/// errno of the calling thread.
int cplatform_errno(void);

/// mmap with MAP_FIXED_NOREPLACE semantics for a PROT_NONE reservation at `hint`.
/// Returns the mapped address, or NULL when the range is taken (errno set).
void *cplatform_reserve_at(void *hint, size_t length);

/// Replaces [address, address+length) with a fresh PROT_NONE reservation.
int cplatform_unmap_to_reserved(void *address, size_t length);

/// Maps `length` bytes of `fd` at `offset` over [address, address+length) (MAP_SHARED|MAP_FIXED).
/// prot: 0 none, 1 read, 3 read+write.
int cplatform_map_shared_fixed(void *address, size_t length, int prot, int fd, int64_t offset, int populate);

/// Maps `length` bytes of `fd` at `offset` anywhere, read+write. NULL on failure.
void *cplatform_map_shared(size_t length, int fd, int64_t offset);

/// Frees the file pages of [offset, offset+length) (fallocate PUNCH_HOLE | KEEP_SIZE). Returns 0 or errno.
int cplatform_punch_hole(int fd, int64_t offset, int64_t length);

/// Fills the page-table entries of [address, address+length) for reading
/// (MADV_POPULATE_READ), so the accesses that follow take no minor faults. Returns 0 or errno.
int cplatform_populate_read(void *address, size_t length);

/// Allocates and maps the pages of [address, address+length) for writing
/// (MADV_POPULATE_WRITE): one call instead of a fault per page. Returns 0 or errno.
int cplatform_populate_write(void *address, size_t length);

/// mprotect with prot: 0 none, 1 read, 3 read+write.
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

/// A socket listening on `address` at a port the kernel picks (written to `port`). -1 and errno on failure.
int cplatform_tcp_listen(uint32_t address, uint16_t *port);

/// A non-blocking connection to `address`:`port` with TCP_NODELAY and keepalive, or -1 and errno.
int cplatform_tcp_connect(uint32_t address, uint16_t port, int timeout_ms);

/// The next connection on `listener` (non-blocking, with the lane options), or -1 and errno (ETIMEDOUT).
int cplatform_tcp_accept(int listener, int timeout_ms);

int cplatform_set_nonblocking(int fd);

/// sendmsg over `count` struct iovec at `iov` with MSG_NOSIGNAL: bytes sent, or -1 and errno.
long cplatform_sendv(int fd, const void *iov, int count);

/// recv with MSG_DONTWAIT: bytes read, 0 at end of stream, or -1 and errno.
long cplatform_receive(int fd, void *buffer, size_t length);

/// poll one descriptor for reading or writing: 1 ready, 0 timed out, -1 error.
int cplatform_wait_fd(int fd, int for_writing, int timeout_ms);

int cplatform_epoll_create(void);
/// Watches `fd` for input; `data` comes back from cplatform_epoll_wait.
int cplatform_epoll_add(int epoll, int fd, uint64_t data);
/// Waits (EINTR retried) and writes the ready descriptors' data; returns how many (at most 64).
int cplatform_epoll_wait(int epoll, uint64_t *data, int capacity, int timeout_ms);

int cplatform_eventfd(void);
void cplatform_eventfd_signal(int fd);

/// The IPv4 address of the first up interface matching `spec` (a name such as eth0, or a
/// network such as 10.77.0.0/24), or with spec NULL the first up non-loopback one.
/// 0 found, 1 none matched, -1 error.
int cplatform_interface_address(const char *spec, uint32_t *address);

#endif
