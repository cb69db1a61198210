// What the files of the UCX edge share: the node's state, the active-message ids and the
// helpers that start and count operations. Not part of the interface Swift sees.
#ifndef CUCX_NODE_H
#define CUCX_NODE_H

#include "cucx.h"

#include <pthread.h>
#include <stdatomic.h>
#include <ucp/api/ucp.h>

typedef struct cucx_target cucx_target;
enum { fetch_slots = 64, reply_slots = 64, am_fetch = 1, am_page = 2, am_ping = 3, am_pong = 4, am_message = 5 };

// A fetch request's header and its reply's: the reply names the request's slot.
typedef struct { uint64_t token; uint64_t offset; uint64_t length; uint32_t rank; uint32_t pad; } fetch_header;
typedef struct { uint64_t token; int64_t status; } page_header;
// A reply's header while its send is in flight, with the node whose slot it is.
typedef struct { page_header header; struct cucx_node *node; } cucx_reply;

struct cucx_fetch {
    struct cucx_node *node;
    void *destination;
    size_t length;
    uint64_t token;  // 0: free
    int rank;
    fetch_header request;
};
struct cucx_target { struct cucx_node *node; int rank; };

struct cucx_node {
    ucp_context_h context;
    ucp_worker_h worker;
    ucp_address_t *address;
    size_t address_length;
    int event_fd;
    int ranks;
    int rank;
    ucp_ep_h *endpoints;
    ucp_rkey_h *keys;
    uint64_t *bases;
    ucp_mem_h memory;
    void *packed_key;
    // Gets and puts started and not yet complete; the first failure and its target.
    atomic_long outstanding;
    atomic_int failure;
    atomic_int failed_rank;
    // The arena this rank serves fetch requests from, and its read notices.
    uint8_t *arena;
    size_t pages_length;
    uint8_t *notice_pages;
    uint8_t *notice_chunks;
    int page_shift;
    int chunk_shift;
    // Fetches waiting for their reply, by slot; a reply names its slot and generation.
    struct cucx_fetch *fetches;
    atomic_uint fetch_generation;
    // Headers of page replies in flight (UCX 1.13 keeps a header until the send completes),
    // so serving a fetch allocates nothing: a set bit of `free_replies` is a free slot (taken
    // and given back atomically; the heap serves when all are in flight).
    cucx_reply replies[reply_slots];
    uint64_t free_replies;
    // The header of the ping in flight (UCX may send it after cucx_ping returns).
    uint64_t ping;
    pthread_t progress_thread;
    int progressing;
    atomic_int stopping;
    uint64_t spin_nanoseconds;
    // A request's user data is its target here, so a failure names the rank.
    cucx_target *targets;
    // Messages that arrived and were not taken yet, in order of arrival; `arrivals` counts
    // them, so a spinning taker looks at the list only when something came.
    pthread_mutex_t messages_lock;
    pthread_cond_t messages_came;
    cucx_message *first_message;
    cucx_message *last_message;
    atomic_uint arrivals;
    int sleepers;
    // The first problem seen from a progress context (a malformed message, a lost peer),
    // handed to the next taker: a callback inside UCX's progress may not send or stop.
    atomic_int problem;
    int problem_rank;
    char problem_text[160];
    // Where no ucx channel takes messages: told of the problem at once, in the progress
    // context (it may stop the job through another channel).
    cucx_problem_handler problem_handler;
    // After cucx_prepare_to_close, a peer closing its endpoint is the end of the run.
    atomic_int closing;
};

uint64_t cucx_now_nanoseconds(void);
void cucx_say(char *reason, size_t capacity, const char *what, ucs_status_t status);
void cucx_record_failure(cucx_node *node, int rank, ucs_status_t status);
// Records the first problem of a progress context and wakes every taker to report it.
void cucx_report(cucx_node *node, int problem, int rank, const char *what);
// Appends an arrived message and wakes the takers.
void cucx_deliver(cucx_node *node, cucx_message *message);
void cucx_free_messages(cucx_node *node);
// Registers the handler of cucx_send_message's active messages. 0, or -1.
int cucx_start_messages(cucx_node *node);

#endif
