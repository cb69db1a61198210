#include "node.h"

#include <hwloc.h>
#include <hwloc/openfabrics-verbs.h>
#include <infiniband/verbs.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <time.h>
#include <ucp/api/ucp.h>

uint64_t cucx_now_nanoseconds(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
}

static ucs_status_t pinged(void *, const void *, size_t, void *, size_t, const ucp_am_recv_param_t *);
static ucs_status_t ponged(void *, const void *, size_t, void *, size_t, const ucp_am_recv_param_t *);

void cucx_say(char *reason, size_t capacity, const char *what, ucs_status_t status) {
    if (reason && capacity) snprintf(reason, capacity, "%s: %s", what, ucs_status_string(status));
}

// Sets one UCX option; on failure says which (as its environment variable) and releases
// the configuration.
static int configure(ucp_config_t *config, const char *name, const char *value, char *reason,
                     size_t reason_length) {
    ucs_status_t status = ucp_config_modify(config, name, value);
    if (status == UCS_OK) return 0;
    ucp_config_release(config);
    char variable[64];
    snprintf(variable, sizeof variable, "UCX_%s", name);
    cucx_say(reason, reason_length, variable, status);
    return -1;
}

cucx_node *cucx_open(const char *transports, const char *devices, int rank, int ranks, char *reason,
                     size_t reason_length) {
    ucp_config_t *config;
    ucs_status_t status = ucp_config_read(NULL, NULL, &config);
    if (status != UCS_OK) { cucx_say(reason, reason_length, "ucp_config_read", status); return NULL; }
    if (transports && *transports && configure(config, "TLS", transports, reason, reason_length)) return NULL;
    if (devices && *devices && configure(config, "NET_DEVICES", devices, reason, reason_length)) return NULL;
    // A rank's threads share one worker. UCX guards it with a spinlock by default: a thread
    // preempted while holding it leaves the others on its core spinning out their time
    // slices (measured: a remote lock on the ucx channel, one host, ranks bound to cores,
    // 4.2-4.4 ms with the spinlock, 21-29 us with a mutex). A user's own UCX_USE_MT_MUTEX wins.
    if (!getenv("UCX_USE_MT_MUTEX") && configure(config, "USE_MT_MUTEX", "y", reason, reason_length)) return NULL;
    ucp_params_t params = {
        .field_mask = UCP_PARAM_FIELD_FEATURES | UCP_PARAM_FIELD_MT_WORKERS_SHARED,
        .features = UCP_FEATURE_RMA | UCP_FEATURE_AM | UCP_FEATURE_WAKEUP,
        .mt_workers_shared = 1,
    };
    cucx_node *node = calloc(1, sizeof *node);
    status = ucp_init(&params, config, &node->context);
    ucp_config_release(config);
    if (status != UCS_OK) { free(node); cucx_say(reason, reason_length, "ucp_init", status); return NULL; }
    // The application thread starts operations and waits for them while the progress
    // thread serves the other ranks' requests on the same worker.
    ucp_worker_params_t worker_params = {
        .field_mask = UCP_WORKER_PARAM_FIELD_THREAD_MODE,
        .thread_mode = UCS_THREAD_MODE_MULTI,
    };
    status = ucp_worker_create(node->context, &worker_params, &node->worker);
    if (status != UCS_OK) {
        ucp_cleanup(node->context);
        free(node);
        cucx_say(reason, reason_length, "ucp_worker_create", status);
        return NULL;
    }
    status = ucp_worker_get_efd(node->worker, &node->event_fd);
    if (status == UCS_OK) status = ucp_worker_get_address(node->worker, &node->address, &node->address_length);
    if (status != UCS_OK) {
        ucp_worker_destroy(node->worker);
        ucp_cleanup(node->context);
        free(node);
        cucx_say(reason, reason_length, "ucp_worker_get_efd/address", status);
        return NULL;
    }
    node->ranks = ranks;
    node->rank = rank;
    ucp_am_handler_param_t echo[2] = {
        { .field_mask = UCP_AM_HANDLER_PARAM_FIELD_ID | UCP_AM_HANDLER_PARAM_FIELD_CB | UCP_AM_HANDLER_PARAM_FIELD_ARG,
          .id = am_ping, .cb = pinged, .arg = node },
        { .field_mask = UCP_AM_HANDLER_PARAM_FIELD_ID | UCP_AM_HANDLER_PARAM_FIELD_CB | UCP_AM_HANDLER_PARAM_FIELD_ARG,
          .id = am_pong, .cb = ponged, .arg = node },
    };
    for (int index = 0; index < 2; index++) ucp_worker_set_am_recv_handler(node->worker, &echo[index]);
    node->endpoints = calloc(ranks, sizeof *node->endpoints);
    node->keys = calloc(ranks, sizeof *node->keys);
    node->bases = calloc(ranks, sizeof *node->bases);
    node->targets = calloc(ranks, sizeof *node->targets);
    for (int peer = 0; peer < ranks; peer++) node->targets[peer] = (cucx_target){ node, peer };
    pthread_mutex_init(&node->messages_lock, NULL);
    pthread_cond_init(&node->messages_came, NULL);
    if (cucx_start_messages(node) != 0) {
        cucx_say(reason, reason_length, "ucp_worker_set_am_recv_handler (messages)", UCS_ERR_UNSUPPORTED);
        cucx_close(node);
        return NULL;
    }
    atomic_init(&node->outstanding, 0);
    atomic_init(&node->failure, UCS_OK);
    atomic_init(&node->failed_rank, -1);
    return node;
}

const void *cucx_address(cucx_node *node, size_t *length) {
    *length = node->address_length;
    return node->address;
}

void cucx_record_failure(cucx_node *node, int rank, ucs_status_t status) {
    int expected = UCS_OK;
    if (atomic_compare_exchange_strong(&node->failure, &expected, status)) atomic_store(&node->failed_rank, rank);
}

static void peer_failed(void *arg, ucp_ep_h ep, ucs_status_t status) {
    (void)ep;
    // Operations on the endpoint complete with the error too; this also wakes a thread
    // waiting for the peer's message. A peer closing its endpoints at the end of the run is
    // no failure.
    cucx_target *target = arg;
    if (atomic_load(&target->node->closing)) return;
    cucx_report(target->node, cucx_problem_lost, target->rank, ucs_status_string(status));
}

int cucx_connect(cucx_node *node, int rank, const void *address, int detect_failure, char *reason,
                 size_t reason_length) {
    ucp_ep_params_t params = {
        .field_mask = UCP_EP_PARAM_FIELD_REMOTE_ADDRESS | UCP_EP_PARAM_FIELD_ERR_HANDLING_MODE
            | UCP_EP_PARAM_FIELD_ERR_HANDLER,
        .address = address,
        .err_mode = detect_failure ? UCP_ERR_HANDLING_MODE_PEER : UCP_ERR_HANDLING_MODE_NONE,
        .err_handler = { .cb = peer_failed, .arg = &node->targets[rank] },
    };
    ucs_status_t status = ucp_ep_create(node->worker, &params, &node->endpoints[rank]);
    if (status != UCS_OK) { cucx_say(reason, reason_length, "ucp_ep_create", status); return -1; }
    return 0;
}

int cucx_register(cucx_node *node, void *base, size_t length, const void **key, size_t *key_length,
                  char *reason, size_t reason_length) {
    ucp_mem_map_params_t params = {
        .field_mask = UCP_MEM_MAP_PARAM_FIELD_ADDRESS | UCP_MEM_MAP_PARAM_FIELD_LENGTH,
        .address = base,
        .length = length,
    };
    ucs_status_t status = ucp_mem_map(node->context, &params, &node->memory);
    if (status != UCS_OK) { cucx_say(reason, reason_length, "ucp_mem_map", status); return -1; }
    status = ucp_rkey_pack(node->context, node->memory, &node->packed_key, key_length);
    if (status != UCS_OK) { cucx_say(reason, reason_length, "ucp_rkey_pack", status); return -1; }
    *key = node->packed_key;
    return 0;
}

int cucx_add_key(cucx_node *node, int rank, const void *key, uint64_t base, char *reason, size_t reason_length) {
    ucs_status_t status = ucp_ep_rkey_unpack(node->endpoints[rank], key, &node->keys[rank]);
    if (status != UCS_OK) { cucx_say(reason, reason_length, "ucp_ep_rkey_unpack", status); return -1; }
    node->bases[rank] = base;
    return 0;
}


static void operation_done(void *request, ucs_status_t status, void *user_data) {
    cucx_target *target = user_data;
    if (status != UCS_OK) cucx_record_failure(target->node, target->rank, status);
    atomic_fetch_sub(&target->node->outstanding, 1);
    ucp_request_free(request);
}

static cucx_target *target_of(cucx_node *node, int rank) { return &node->targets[rank]; }

static void track(cucx_node *node, int rank, ucs_status_ptr_t request) {
    if (request == NULL) return;
    if (UCS_PTR_IS_ERR(request)) { cucx_record_failure(node, rank, UCS_PTR_STATUS(request)); return; }
    atomic_fetch_add(&node->outstanding, 1);
}

static ucp_request_param_t parameters(cucx_node *node, int rank) {
    ucp_request_param_t param = {
        .op_attr_mask = UCP_OP_ATTR_FIELD_CALLBACK | UCP_OP_ATTR_FIELD_USER_DATA | UCP_OP_ATTR_FIELD_MEMORY_TYPE,
        .cb.send = operation_done,
        .user_data = target_of(node, rank),
        .memory_type = UCS_MEMORY_TYPE_HOST,
    };
    return param;
}

void cucx_get(cucx_node *node, int rank, void *destination, size_t length, uint64_t offset) {
    ucp_request_param_t param = parameters(node, rank);
    track(node, rank, ucp_get_nbx(node->endpoints[rank], destination, length, node->bases[rank] + offset,
                                  node->keys[rank], &param));
}

void cucx_put(cucx_node *node, int rank, const void *source, size_t length, uint64_t offset) {
    ucp_request_param_t param = parameters(node, rank);
    track(node, rank, ucp_put_nbx(node->endpoints[rank], source, length, node->bases[rank] + offset,
                                  node->keys[rank], &param));
}

// MARK: fetches as requests to the home's progress thread

static void fetch_done(cucx_node *node, struct cucx_fetch *fetch) {
    atomic_store_explicit((_Atomic uint64_t *)&fetch->token, 0, memory_order_release);
    atomic_fetch_sub(&node->outstanding, 1);
}

// A reply header from the node's slots, or from the heap when every slot is in flight.
static cucx_reply *take_reply(cucx_node *node) {
    _Atomic uint64_t *free_replies = (_Atomic uint64_t *)&node->free_replies;
    uint64_t free_slots = atomic_load(free_replies);
    while (free_slots != 0) {
        int slot = __builtin_ctzll(free_slots);
        if (atomic_compare_exchange_weak(free_replies, &free_slots, free_slots & ~(UINT64_C(1) << slot))) {
            node->replies[slot].node = node;
            return &node->replies[slot];
        }
    }
    cucx_reply *reply = malloc(sizeof *reply);
    reply->node = node;
    return reply;
}

static void give_back_reply(cucx_reply *reply) {
    cucx_node *node = reply->node;
    if (reply >= node->replies && reply < node->replies + reply_slots) {
        atomic_fetch_or((_Atomic uint64_t *)&node->free_replies, UINT64_C(1) << (reply - node->replies));
    } else {
        free(reply);
    }
}

static void reply_sent(void *request, ucs_status_t status, void *user_data) {
    (void)status;
    give_back_reply(user_data);
    if (request) ucp_request_free(request);
}

static ucs_status_t fetch_requested(void *arg, const void *header, size_t header_length, void *data, size_t length,
                                    const ucp_am_recv_param_t *param) {
    (void)data; (void)length; (void)param;
    cucx_node *node = arg;
    fetch_header request;
    if (header_length != sizeof request) {
        cucx_report(node, cucx_problem_malformed, -1, "a page fetch request of the wrong size");
        return UCS_OK;
    }
    memcpy(&request, header, sizeof request);
    if (request.rank >= (uint32_t)node->ranks || (int)request.rank == node->rank) {
        cucx_report(node, cucx_problem_malformed, -1, "a page fetch request from no other rank");
        return UCS_OK;
    }
    size_t page = (size_t)1 << node->page_shift;
    cucx_reply *reply = take_reply(node);
    reply->header.token = request.token;
    reply->header.status = 0;
    if (request.length == 0 || request.offset % page || request.length % page || request.offset > node->pages_length
        || request.length > node->pages_length - request.offset) {
        reply->header.status = -1;
        cucx_report(node, cucx_problem_malformed, (int)request.rank, "a page fetch outside the shared range or not of whole pages");
        request.length = 0;
    } else {
        // Dekker with the home's own writes: the notices, a fence, then the read.
        size_t first = request.offset >> node->page_shift, count = request.length >> node->page_shift;
        for (size_t index = first; index < first + count; index++)
            atomic_store_explicit((_Atomic uint8_t *)&node->notice_pages[index], 1, memory_order_relaxed);
        for (size_t chunk = first >> node->chunk_shift; chunk <= (first + count - 1) >> node->chunk_shift; chunk++)
            atomic_store_explicit((_Atomic uint8_t *)&node->notice_chunks[chunk], 1, memory_order_relaxed);
        atomic_thread_fence(memory_order_seq_cst);
    }
    ucp_request_param_t send = {
        .op_attr_mask = UCP_OP_ATTR_FIELD_CALLBACK | UCP_OP_ATTR_FIELD_USER_DATA | UCP_OP_ATTR_FIELD_MEMORY_TYPE,
        .cb.send = reply_sent,
        .user_data = reply,
        .memory_type = UCS_MEMORY_TYPE_HOST,
    };
    ucs_status_ptr_t sent = ucp_am_send_nbx(node->endpoints[request.rank], am_page, &reply->header,
                                            sizeof reply->header, node->arena + request.offset, request.length, &send);
    if (!UCS_PTR_IS_PTR(sent)) give_back_reply(reply);  // done (or failed: the requester's endpoint reports it)
    return UCS_OK;
}

static void rendezvous_done(void *request, ucs_status_t status, size_t length, void *user_data) {
    (void)length;
    struct cucx_fetch *fetch = user_data;
    cucx_node *node = fetch->node;
    if (status != UCS_OK) cucx_record_failure(node, fetch->rank, status);
    fetch_done(node, fetch);
    ucp_request_free(request);
}

static ucs_status_t page_arrived(void *arg, const void *header, size_t header_length, void *data, size_t length,
                                 const ucp_am_recv_param_t *param) {
    cucx_node *node = arg;
    page_header reply;
    if (header_length != sizeof reply) {
        cucx_report(node, cucx_problem_malformed, -1, "a page reply of the wrong size");
        return UCS_OK;
    }
    memcpy(&reply, header, sizeof reply);
    struct cucx_fetch *fetch = &node->fetches[reply.token % fetch_slots];
    if (reply.token == 0 || reply.token == UINT64_MAX || atomic_load_explicit((_Atomic uint64_t *)&fetch->token, memory_order_acquire) != reply.token) {
        cucx_report(node, cucx_problem_malformed, -1, "a page reply to no fetch of this rank");
        return UCS_OK;
    }
    if (reply.status != 0 || length != fetch->length) {
        cucx_record_failure(node, fetch->rank, UCS_ERR_INVALID_PARAM);
        fetch_done(node, fetch);
        return UCS_OK;
    }
    if (!(param->recv_attr & UCP_AM_RECV_ATTR_FLAG_RNDV)) {
        memcpy(fetch->destination, data, length);
        fetch_done(node, fetch);
        return UCS_OK;
    }
    ucp_request_param_t receive = {
        .op_attr_mask = UCP_OP_ATTR_FIELD_CALLBACK | UCP_OP_ATTR_FIELD_USER_DATA | UCP_OP_ATTR_FIELD_MEMORY_TYPE,
        .cb.recv_am = rendezvous_done,
        .user_data = fetch,
        .memory_type = UCS_MEMORY_TYPE_HOST,
    };
    ucs_status_ptr_t received = ucp_am_recv_data_nbx(node->worker, data, fetch->destination, length, &receive);
    if (UCS_PTR_IS_ERR(received)) cucx_record_failure(node, fetch->rank, UCS_PTR_STATUS(received));
    if (!UCS_PTR_IS_PTR(received)) fetch_done(node, fetch);
    return UCS_OK;
}

int cucx_serve_pages(cucx_node *node, void *arena, size_t pages_length, void *notices, size_t page_count,
                     int page_shift, int chunk_shift, char *reason, size_t reason_length) {
    node->arena = arena;
    node->pages_length = pages_length;
    node->notice_pages = notices;
    node->notice_chunks = (uint8_t *)notices + page_count;
    node->page_shift = page_shift;
    node->chunk_shift = chunk_shift;
    node->fetches = calloc(fetch_slots, sizeof *node->fetches);
    node->free_replies = ~UINT64_C(0);
    for (int slot = 0; slot < fetch_slots; slot++) node->fetches[slot].node = node;
    ucp_am_handler_param_t handlers[2] = {
        { .field_mask = UCP_AM_HANDLER_PARAM_FIELD_ID | UCP_AM_HANDLER_PARAM_FIELD_CB | UCP_AM_HANDLER_PARAM_FIELD_ARG,
          .id = am_fetch, .cb = fetch_requested, .arg = node },
        { .field_mask = UCP_AM_HANDLER_PARAM_FIELD_ID | UCP_AM_HANDLER_PARAM_FIELD_CB | UCP_AM_HANDLER_PARAM_FIELD_ARG,
          .id = am_page, .cb = page_arrived, .arg = node },
    };
    for (int index = 0; index < 2; index++) {
        ucs_status_t status = ucp_worker_set_am_recv_handler(node->worker, &handlers[index]);
        if (status != UCS_OK) { cucx_say(reason, reason_length, "ucp_worker_set_am_recv_handler", status); return -1; }
    }
    return 0;
}

void cucx_fetch(cucx_node *node, int rank, void *destination, size_t length, uint64_t offset) {
    // Threads of a rank may fetch at once: a slot is claimed by swapping its free token for
    // a fresh one, which then names the fetch in the reply.
    uint64_t token = ((uint64_t)atomic_fetch_add(&node->fetch_generation, 1) + 1) * fetch_slots;
    struct cucx_fetch *fetch = NULL;
    while (!fetch) {
        for (int slot = 0; slot < fetch_slots && !fetch; slot++) {
            uint64_t free_token = 0;
            if (atomic_compare_exchange_strong((_Atomic uint64_t *)&node->fetches[slot].token, &free_token,
                                               UINT64_MAX)) fetch = &node->fetches[slot];
        }
        if (!fetch) ucp_worker_progress(node->worker);
    }
    token += (uint64_t)(fetch - node->fetches);
    fetch->destination = destination;
    fetch->length = length;
    fetch->rank = rank;
    // The header lives in the slot: UCX may send it after this call returns.
    fetch->request = (fetch_header){ .token = token, .offset = offset, .length = length, .rank = (uint32_t)node->rank };
    atomic_fetch_add(&node->outstanding, 1);  // the reply
    atomic_store_explicit((_Atomic uint64_t *)&fetch->token, token, memory_order_release);
    ucp_request_param_t param = parameters(node, rank);
    param.op_attr_mask |= UCP_OP_ATTR_FIELD_FLAGS;
    param.flags = UCP_AM_SEND_FLAG_EAGER;
    track(node, rank, ucp_am_send_nbx(node->endpoints[rank], am_fetch, &fetch->request, sizeof fetch->request,
                                      NULL, 0, &param));
}

// MARK: the 8 B active-message round trip (dsm-bench's yardstick)

static ucs_status_t pinged(void *arg, const void *header, size_t header_length, void *data, size_t length,
                           const ucp_am_recv_param_t *param) {
    (void)data; (void)length; (void)param;
    cucx_node *node = arg;
    uint64_t rank;
    if (header_length != sizeof rank) return UCS_OK;
    memcpy(&rank, header, sizeof rank);
    if (rank >= (uint64_t)node->ranks || !node->endpoints[rank]) return UCS_OK;
    uint64_t *reply = malloc(sizeof *reply);
    *reply = rank;
    ucp_request_param_t send = {
        .op_attr_mask = UCP_OP_ATTR_FIELD_CALLBACK | UCP_OP_ATTR_FIELD_USER_DATA | UCP_OP_ATTR_FIELD_FLAGS,
        .cb.send = reply_sent, .user_data = reply, .flags = UCP_AM_SEND_FLAG_EAGER,
    };
    ucs_status_ptr_t sent = ucp_am_send_nbx(node->endpoints[rank], am_pong, reply, sizeof *reply, NULL, 0, &send);
    if (!UCS_PTR_IS_PTR(sent)) free(reply);
    return UCS_OK;
}

static ucs_status_t ponged(void *arg, const void *header, size_t header_length, void *data, size_t length,
                           const ucp_am_recv_param_t *param) {
    (void)header; (void)header_length; (void)data; (void)length; (void)param;
    atomic_fetch_sub(&((cucx_node *)arg)->outstanding, 1);
    return UCS_OK;
}

void cucx_ping(cucx_node *node, int rank, int self) {
    node->ping = (uint64_t)self;
    atomic_fetch_add(&node->outstanding, 1);  // the pong
    ucp_request_param_t param = parameters(node, rank);
    param.op_attr_mask |= UCP_OP_ATTR_FIELD_FLAGS;
    param.flags = UCP_AM_SEND_FLAG_EAGER;
    track(node, rank, ucp_am_send_nbx(node->endpoints[rank], am_ping, &node->ping, sizeof node->ping, NULL, 0, &param));
}

void cucx_fence(cucx_node *node) { ucp_worker_fence(node->worker); }

static int report(cucx_node *node, int *failed_rank, char *reason, size_t reason_length) {
    int failure = atomic_load(&node->failure);
    if (failure == UCS_OK) return 0;
    *failed_rank = atomic_load(&node->failed_rank);
    cucx_say(reason, reason_length, "operation failed", (ucs_status_t)failure);
    return -1;
}

int cucx_wait(cucx_node *node, int *failed_rank, char *reason, size_t reason_length) {
    // Polls; once a wait outlasts a typical remote read it also yields, so that a rank's
    // target sharing this core (more ranks than cores) can serve the operation.
    uint64_t start = cucx_now_nanoseconds();
    while (atomic_load(&node->outstanding) > 0) {
        if (ucp_worker_progress(node->worker) == 0 && cucx_now_nanoseconds() - start > 50000) sched_yield();
    }
    return report(node, failed_rank, reason, reason_length);
}

int cucx_flush(cucx_node *node, int *failed_rank, char *reason, size_t reason_length) {
    ucp_request_param_t param = parameters(node, 0);
    ucs_status_ptr_t request = ucp_worker_flush_nbx(node->worker, &param);
    track(node, 0, request);
    return cucx_wait(node, failed_rank, reason, reason_length);
}

static void *progress(void *argument) {
    cucx_node *node = argument;
    while (!atomic_load(&node->stopping)) {
        uint64_t last = cucx_now_nanoseconds();
        for (;;) {
            if (ucp_worker_progress(node->worker) != 0) { last = cucx_now_nanoseconds(); continue; }
            if (atomic_load(&node->stopping) || cucx_now_nanoseconds() - last >= node->spin_nanoseconds) break;
            // Cores are shared with the rank's other threads, which may be what it waits for.
            sched_yield();
        }
        if (ucp_worker_arm(node->worker) == UCS_ERR_BUSY) continue;  // arrivals meanwhile: progress them
        struct pollfd event = { .fd = node->event_fd, .events = POLLIN };
        poll(&event, 1, -1);
    }
    return NULL;
}

int cucx_start_progress(cucx_node *node, uint64_t spin_nanoseconds) {
    node->spin_nanoseconds = spin_nanoseconds;
    atomic_store(&node->stopping, 0);
    if (pthread_create(&node->progress_thread, NULL, progress, node) != 0) return -1;
    node->progressing = 1;
    return 0;
}

void cucx_stop_progress(cucx_node *node) {
    if (!node->progressing) return;
    atomic_store(&node->stopping, 1);
    ucp_worker_signal(node->worker);
    pthread_join(node->progress_thread, NULL);
    node->progressing = 0;
}

void cucx_describe(cucx_node *node, int rank, char *text, size_t capacity) {
    if (capacity == 0) return;
    text[0] = 0;
    if (!node->endpoints[rank]) return;
    FILE *stream = fmemopen(text, capacity, "w");
    if (!stream) return;
    ucp_ep_print_info(node->endpoints[rank], stream);
    fclose(stream);
    text[capacity - 1] = 0;
}

void cucx_close(cucx_node *node) {
    cucx_stop_progress(node);
    for (int rank = 0; rank < node->ranks; rank++) {
        if (node->keys[rank]) ucp_rkey_destroy(node->keys[rank]);
    }
    ucp_request_param_t param = { .op_attr_mask = UCP_OP_ATTR_FIELD_FLAGS, .flags = UCP_EP_CLOSE_FLAG_FORCE };
    for (int rank = 0; rank < node->ranks; rank++) {
        if (!node->endpoints[rank]) continue;
        ucs_status_ptr_t request = ucp_ep_close_nbx(node->endpoints[rank], &param);
        if (UCS_PTR_IS_PTR(request)) {
            while (ucp_request_check_status(request) == UCS_INPROGRESS) ucp_worker_progress(node->worker);
            ucp_request_free(request);
        }
    }
    if (node->packed_key) ucp_rkey_buffer_release(node->packed_key);
    if (node->memory) ucp_mem_unmap(node->context, node->memory);
    ucp_worker_release_address(node->worker, node->address);
    ucp_worker_destroy(node->worker);
    ucp_cleanup(node->context);
    free(node->endpoints);
    free(node->keys);
    free(node->bases);
    free(node->targets);
    free(node->fetches);
    cucx_free_messages(node);
    pthread_mutex_destroy(&node->messages_lock);
    pthread_cond_destroy(&node->messages_came);
    free(node);
}

int cucx_rdma_devices(char *text, size_t capacity) {
    int count = 0;
    if (capacity) text[0] = 0;
    struct ibv_device **devices = ibv_get_device_list(&count);
    if (!devices) return 0;
    hwloc_topology_t topology = NULL;
    if (count > 0 && (hwloc_topology_init(&topology) != 0 || hwloc_topology_load(topology) != 0)) topology = NULL;
    hwloc_bitmap_t cores = hwloc_bitmap_alloc();
    size_t used = 0;
    for (int index = 0; index < count; index++) {
        // The first active port (0: none), and the cores nearest the device's PCI slot.
        int port = 0;
        struct ibv_context *context = ibv_open_device(devices[index]);
        struct ibv_device_attr device;
        if (context && ibv_query_device(context, &device) == 0) {
            for (int candidate = 1; candidate <= device.phys_port_cnt && !port; candidate++) {
                struct ibv_port_attr attributes;
                if (ibv_query_port(context, (uint8_t)candidate, &attributes) == 0 && attributes.state == IBV_PORT_ACTIVE)
                    port = candidate;
            }
        }
        if (context) ibv_close_device(context);
        char *list = NULL;
        if (topology && hwloc_ibv_get_device_cpuset(topology, devices[index], cores) == 0)
            hwloc_bitmap_list_asprintf(&list, cores);
        int wrote = snprintf(text + used, capacity > used ? capacity - used : 0, "%s %d %s\n",
                             ibv_get_device_name(devices[index]), port, list ? list : "");
        free(list);
        if (wrote > 0) used += (size_t)wrote;
    }
    hwloc_bitmap_free(cores);
    if (topology) hwloc_topology_destroy(topology);
    ibv_free_device_list(devices);
    return count;
}

int cucx_bound_cores(char *text, size_t capacity) {
    if (capacity) text[0] = 0;
    hwloc_topology_t topology;
    if (hwloc_topology_init(&topology) != 0) return -1;
    int result = -1;
    hwloc_bitmap_t cores = hwloc_bitmap_alloc();
    if (hwloc_topology_load(topology) == 0 && hwloc_get_cpubind(topology, cores, HWLOC_CPUBIND_PROCESS) == 0) {
        hwloc_bitmap_list_snprintf(text, capacity, cores);
        result = 0;
    }
    hwloc_bitmap_free(cores);
    hwloc_topology_destroy(topology);
    return result;
}
