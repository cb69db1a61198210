// The DSM's messages as UCP active messages: a rank's requests to another's service
// thread and the replies to its waiting threads. Arrivals are queued here, in order, and
// taken by tag and source; a taker polls the worker for a while, then sleeps until the
// progress thread delivers something.
#include "node.h"

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct { uint32_t source; int32_t tag; } message_header;

// Messages that arrived and nobody took: a peer sending more is sending garbage.
enum { queue_limit = 1 << 16 };

static cucx_message *new_message(int source, int32_t tag, size_t length) {
    cucx_message *message = malloc(sizeof *message + (length ? length : 1));
    if (!message) abort();
    message->next = NULL;
    message->source = source;
    message->tag = tag;
    message->length = length;
    message->bytes = (uint8_t *)(message + 1);
    return message;
}

void cucx_report(cucx_node *node, int problem, int rank, const char *what) {
    pthread_mutex_lock(&node->messages_lock);
    int first = atomic_load(&node->problem) == cucx_problem_none;
    if (first) {
        node->problem_rank = rank;
        snprintf(node->problem_text, sizeof node->problem_text, "%s", what);
        atomic_store(&node->problem, problem);
    }
    pthread_cond_broadcast(&node->messages_came);
    pthread_mutex_unlock(&node->messages_lock);
    if (first && node->problem_handler) node->problem_handler(problem, rank, what);
}

void cucx_on_problem(cucx_node *node, cucx_problem_handler handler) { node->problem_handler = handler; }

static size_t queued(cucx_node *node) {
    size_t count = 0;
    for (cucx_message *message = node->first_message; message; message = message->next) count++;
    return count;
}

void cucx_deliver(cucx_node *node, cucx_message *message) {
    pthread_mutex_lock(&node->messages_lock);
    if (node->last_message) node->last_message->next = message; else node->first_message = message;
    node->last_message = message;
    atomic_fetch_add(&node->arrivals, 1);
    if (node->sleepers) pthread_cond_broadcast(&node->messages_came);
    int flooded = (atomic_load(&node->arrivals) & 1023) == 0 && queued(node) > queue_limit;
    pthread_mutex_unlock(&node->messages_lock);
    if (flooded) cucx_report(node, cucx_problem_malformed, message->source, "more messages than anyone here waits for");
}

static ucs_status_t message_arrived(void *arg, const void *header, size_t header_length, void *data, size_t length,
                                    const ucp_am_recv_param_t *param) {
    cucx_node *node = arg;
    message_header head;
    if (header_length != sizeof head) {
        cucx_report(node, cucx_problem_malformed, -1, "a message with a header of the wrong size");
        return UCS_OK;
    }
    memcpy(&head, header, sizeof head);
    if (head.source >= (uint32_t)node->ranks || (int)head.source == node->rank) {
        cucx_report(node, cucx_problem_malformed, -1, "a message from no other rank");
        return UCS_OK;
    }
    if (param->recv_attr & UCP_AM_RECV_ATTR_FLAG_RNDV) {
        // Messages are always sent eagerly; a rendezvous one is not of this channel.
        cucx_report(node, cucx_problem_malformed, (int)head.source, "a message by rendezvous");
        return UCS_OK;
    }
    cucx_message *message = new_message((int)head.source, head.tag, length);
    if (length) memcpy(message->bytes, data, length);
    cucx_deliver(node, message);
    return UCS_OK;
}

int cucx_start_messages(cucx_node *node) {
    ucp_am_handler_param_t handler = {
        .field_mask = UCP_AM_HANDLER_PARAM_FIELD_ID | UCP_AM_HANDLER_PARAM_FIELD_CB | UCP_AM_HANDLER_PARAM_FIELD_ARG,
        .id = am_message, .cb = message_arrived, .arg = node,
    };
    return ucp_worker_set_am_recv_handler(node->worker, &handler) == UCS_OK ? 0 : -1;
}

typedef struct { atomic_int done; ucs_status_t status; } send_state;

static void message_sent(void *request, ucs_status_t status, void *user_data) {
    send_state *state = user_data;
    state->status = status;
    atomic_store_explicit(&state->done, 1, memory_order_release);
    ucp_request_free(request);
}

int cucx_send_message(cucx_node *node, int rank, int32_t tag, const void *const *parts, const size_t *lengths,
                      int count, char *reason, size_t reason_length) {
    size_t total = 0;
    for (int index = 0; index < count; index++) total += lengths[index];
    if (rank == node->rank) {
        cucx_message *message = new_message(rank, tag, total);
        size_t position = 0;
        for (int index = 0; index < count; index++) {
            if (lengths[index]) memcpy(message->bytes + position, parts[index], lengths[index]);
            position += lengths[index];
        }
        cucx_deliver(node, message);
        return 0;
    }
    message_header header = { .source = (uint32_t)node->rank, .tag = tag };
    ucp_dt_iov_t few[8];
    ucp_dt_iov_t *iov = count <= 8 ? few : malloc((size_t)count * sizeof *iov);
    if (!iov) abort();
    size_t used = 0;
    for (int index = 0; index < count; index++) {
        if (lengths[index]) iov[used++] = (ucp_dt_iov_t){ .buffer = (void *)parts[index], .length = lengths[index] };
    }
    send_state state = { .status = UCS_OK };
    atomic_init(&state.done, 0);
    ucp_request_param_t param = {
        .op_attr_mask = UCP_OP_ATTR_FIELD_CALLBACK | UCP_OP_ATTR_FIELD_USER_DATA | UCP_OP_ATTR_FIELD_DATATYPE
            | UCP_OP_ATTR_FIELD_FLAGS | UCP_OP_ATTR_FIELD_MEMORY_TYPE,
        .cb.send = message_sent,
        .user_data = &state,
        .datatype = ucp_dt_make_iov(),
        .flags = UCP_AM_SEND_FLAG_EAGER,
        .memory_type = UCS_MEMORY_TYPE_HOST,
    };
    // The parts are the caller's until the send completes: wait for it here (small eager
    // messages complete at once).
    ucs_status_ptr_t request = ucp_am_send_nbx(node->endpoints[rank], am_message, &header, sizeof header, iov, used,
                                               &param);
    ucs_status_t status = UCS_OK;
    if (UCS_PTR_IS_ERR(request)) {
        status = UCS_PTR_STATUS(request);
    } else if (request != NULL) {
        while (!atomic_load_explicit(&state.done, memory_order_acquire)) ucp_worker_progress(node->worker);
        status = state.status;
    }
    if (iov != few) free(iov);
    if (status != UCS_OK) {
        cucx_say(reason, reason_length, "ucp_am_send_nbx", status);
        return -1;
    }
    return 0;
}

void cucx_post_stop(cucx_node *node, int32_t tag) { cucx_deliver(node, new_message(-1, tag, 0)); }

// The first queued message with `tag` from `source` (-1: any), unlinked; under the lock.
static cucx_message *unlink_first(cucx_node *node, int32_t tag, int source) {
    cucx_message *previous = NULL;
    for (cucx_message *message = node->first_message; message; previous = message, message = message->next) {
        if (message->tag != tag || (source >= 0 && message->source != source)) continue;
        if (previous) previous->next = message->next; else node->first_message = message->next;
        if (node->last_message == message) node->last_message = previous;
        message->next = NULL;
        return message;
    }
    return NULL;
}

static cucx_message *take_now(cucx_node *node, int32_t tag, int source) {
    pthread_mutex_lock(&node->messages_lock);
    cucx_message *message = unlink_first(node, tag, source);
    pthread_mutex_unlock(&node->messages_lock);
    return message;
}

static int problem_of(cucx_node *node, int *rank, char *text, size_t capacity) {
    int problem = atomic_load(&node->problem);
    if (problem == cucx_problem_none) return 0;
    pthread_mutex_lock(&node->messages_lock);
    *rank = node->problem_rank;
    if (capacity) snprintf(text, capacity, "%s", node->problem_text);
    pthread_mutex_unlock(&node->messages_lock);
    return problem;
}

cucx_message *cucx_take_message(cucx_node *node, int32_t tag, int source, uint64_t spin_nanoseconds,
                                int timeout_milliseconds, int *problem, int *problem_rank, char *text,
                                size_t capacity) {
    *problem = 0;
    uint64_t start = cucx_now_nanoseconds();
    unsigned seen = atomic_load(&node->arrivals) - 1;
    // What arrived before a problem was seen is taken first: other ranks' messages are no
    // less valid for it (an error report's acknowledgements among them).
    for (;;) {
        unsigned arrivals = atomic_load(&node->arrivals);
        if (arrivals != seen) {
            seen = arrivals;
            cucx_message *message = take_now(node, tag, source);
            if (message) return message;
        }
        if ((*problem = problem_of(node, problem_rank, text, capacity))) return NULL;
        if (cucx_now_nanoseconds() - start >= spin_nanoseconds) break;
        if (ucp_worker_progress(node->worker) == 0) sched_yield();
    }
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_nsec += (long)timeout_milliseconds * 1000000L;
    deadline.tv_sec += deadline.tv_nsec / 1000000000L;
    deadline.tv_nsec %= 1000000000L;
    pthread_mutex_lock(&node->messages_lock);
    cucx_message *message = unlink_first(node, tag, source);
    if (!message && atomic_load(&node->problem) == cucx_problem_none) {
        node->sleepers++;
        pthread_cond_timedwait(&node->messages_came, &node->messages_lock, &deadline);
        node->sleepers--;
        message = unlink_first(node, tag, source);
    }
    pthread_mutex_unlock(&node->messages_lock);
    if (!message) {
        *problem = problem_of(node, problem_rank, text, capacity);
        // The progress thread may sleep through an arrival after another thread progressed
        // the worker (UCX arms its wake-up once): a sleeping taker moves things every few ms.
        ucp_worker_progress(node->worker);
    }
    return message;
}

void cucx_release_message(cucx_message *message) { free(message); }

void cucx_prepare_to_close(cucx_node *node) { atomic_store(&node->closing, 1); }

void cucx_free_messages(cucx_node *node) {
    for (cucx_message *message = node->first_message, *next; message; message = next) {
        next = message->next;
        free(message);
    }
    node->first_message = node->last_message = NULL;
}
