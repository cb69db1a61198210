// The edge to UCX's UCP layer (Debian libucx-dev): one context and worker per rank, an
// endpoint to every other rank, one registered arena, and non-blocking gets and puts
// counted to completion. Swift sees only these functions and an opaque node.
#ifndef CUCX_H
#define CUCX_H

#include <stddef.h>
#include <stdint.h>

typedef struct cucx_node cucx_node;

/// Creates the context and worker of `rank` of `ranks`. `transports` is UCX's TLS list ("tcp",
/// "rc,sm", ...; NULL or "" for UCX's own choice), `devices` its NET_DEVICES ("mlx5_0:1"; NULL
/// or "": UCX's choice). On failure returns NULL and writes UCX's reason.
cucx_node *cucx_open(const char *transports, const char *devices, int rank, int ranks, char *reason,
                     size_t reason_length);

/// This worker's address, to hand to the other ranks (valid until cucx_close).
const void *cucx_address(cucx_node *node, size_t *length);

/// Connects to `rank` at `address`. With `detect_failure` a dead peer fails the operations
/// on it (UCX then uses only transports that can tell, which excludes its shared-memory ones).
/// 0, or -1 with UCX's reason.
int cucx_connect(cucx_node *node, int rank, const void *address, int detect_failure, char *reason,
                 size_t reason_length);

/// Registers `length` bytes at `base` (memory this process mapped) for remote access and
/// packs its remote key. 0, or -1 with UCX's reason.
int cucx_register(cucx_node *node, void *base, size_t length, const void **key, size_t *key_length,
                  char *reason, size_t reason_length);

/// Takes `rank`'s packed remote key for its arena at `base` (its address there).
int cucx_add_key(cucx_node *node, int rank, const void *key, uint64_t base, char *reason, size_t reason_length);

/// Serves fetch requests (cucx_fetch) from the first `pages_length` bytes of `arena`, after
/// setting their pages' read notices (`page_count` page bytes at `notices`, then a byte
/// per 2^chunk_shift pages). A malformed request is a problem cucx_take_message reports.
/// 0, or -1 with UCX's reason.
int cucx_serve_pages(cucx_node *node, void *arena, size_t pages_length, void *notices, size_t page_count,
                     int page_shift, int chunk_shift, char *reason, size_t reason_length);

/// Starts a fetch of `length` bytes at `offset` of `rank`'s arena into `destination` as a
/// request the home's worker answers with the pages (an active message each way: what
/// UCX's own emulated get does where the lanes have no RDMA, plus the read notices).
/// cucx_wait completes it.
void cucx_fetch(cucx_node *node, int rank, void *destination, size_t length, uint64_t offset);

/// Sends `rank` an 8 B active message it answers with another (`self` is this rank);
/// cucx_wait returns once the answer is here. dsm-bench's round-trip yardstick.
void cucx_ping(cucx_node *node, int rank, int self);

/// Starts reading `length` bytes at `offset` of `rank`'s arena into `destination`.
void cucx_get(cucx_node *node, int rank, void *destination, size_t length, uint64_t offset);

/// Starts writing `length` bytes from `source` at `offset` of `rank`'s arena. `source`
/// must stay untouched until cucx_flush returns.
void cucx_put(cucx_node *node, int rank, const void *source, size_t length, uint64_t offset);

/// Orders the operations started before it before those started after it (same target).
void cucx_fence(cucx_node *node);

/// Progresses until every get and put started on this node is complete. 0, or -1 with the
/// rank whose operation failed and UCX's reason.
int cucx_wait(cucx_node *node, int *failed_rank, char *reason, size_t reason_length);

/// cucx_wait, then makes every put started so far complete at its target.
int cucx_flush(cucx_node *node, int *failed_rank, char *reason, size_t reason_length);

/// Starts the thread that makes this worker serve the other ranks' gets and puts: over
/// UCX's tcp and emulated transports a remote operation completes only when its target
/// progresses. It polls until nothing has arrived for `spin_nanoseconds` (the faults of a
/// loop come back to back, and waking a sleeping thread costs more than a 4 KiB read
/// here), then sleeps on the worker's event fd until something arrives. 0, or -1.
int cucx_start_progress(cucx_node *node, uint64_t spin_nanoseconds);

/// Stops and joins the progress thread.
void cucx_stop_progress(cucx_node *node);

/// The lanes and transports of the endpoint to `rank` (UCX's own description), written to
/// `text` (NUL-terminated, truncated to `capacity`).
void cucx_describe(cucx_node *node, int rank, char *text, size_t capacity);

// MARK: messages (messages.c)

/// A message from another rank (or this one), as it arrived.
typedef struct cucx_message {
    struct cucx_message *next;
    /// The sending rank; -1 for cucx_post_stop's marker.
    int source;
    int32_t tag;
    size_t length;
    uint8_t *bytes;
} cucx_message;

/// What a progress context saw and could not act on there: a malformed message or fetch
/// from a rank, or a peer whose endpoint failed (its process or host is gone).
enum { cucx_problem_none = 0, cucx_problem_malformed = 1, cucx_problem_lost = 2 };

/// Told of a problem in the progress context where it is seen.
typedef void (*cucx_problem_handler)(int problem, int rank, const char *what);

/// Where no thread takes this node's messages (cucx_take_message reports problems), the
/// handler is told of the first problem at once instead.
void cucx_on_problem(cucx_node *node, cucx_problem_handler handler);

/// Sends `count` parts, concatenated, as one message with `tag` to `rank` (this rank's own
/// are queued here); the parts may be reused on return. 0, or -1 with UCX's reason.
int cucx_send_message(cucx_node *node, int rank, int32_t tag, const void *const *parts, const size_t *lengths,
                      int count, char *reason, size_t reason_length);

/// Queues an empty message with `tag` from no rank (source -1): it ends a taker's loop.
void cucx_post_stop(cucx_node *node, int32_t tag);

/// Takes the first message that arrived with `tag` from `source` (-1: any), in order of
/// arrival. Polls the worker for `spin_nanoseconds`, then sleeps up to
/// `timeout_milliseconds` for the progress thread to deliver one. NULL when none came (call
/// again), or with `problem` set (with the rank, -1 if unknown, and what was seen in `text`).
cucx_message *cucx_take_message(cucx_node *node, int32_t tag, int source, uint64_t spin_nanoseconds,
                                int timeout_milliseconds, int *problem, int *problem_rank, char *text,
                                size_t capacity);

void cucx_release_message(cucx_message *message);

/// From now on a peer's endpoint failing is the end of the run, not a problem.
void cucx_prepare_to_close(cucx_node *node);

/// Closes the endpoints (without waiting for peers), unregisters and destroys the worker.
void cucx_close(cucx_node *node);

/// The RDMA devices libibverbs lists (0 on a machine without any), one line each in
/// `text`: the name, its first active port (0: none) and, from hwloc, the cores nearest
/// its PCI slot as a list ("0-15,32-47"; empty if unknown).
int cucx_rdma_devices(char *text, size_t capacity);

/// The cores this process is bound to, as a list ("0-3"). 0, or -1 if hwloc cannot tell.
int cucx_bound_cores(char *text, size_t capacity);

#endif
