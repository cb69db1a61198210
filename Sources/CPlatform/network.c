// Sockets for the native tcp transport: listening, connecting with a deadline, the
// options every lane needs, scatter/gather sends without SIGPIPE, epoll and eventfd.
#define _GNU_SOURCE
#include "cplatform.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

static void set_lane_options(int fd) {
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    // A host that vanishes without closing its sockets is noticed within seconds.
    setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
    int idle = 5, interval = 1, count = 3;
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle);
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &interval, sizeof interval);
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &count, sizeof count);
}

int cplatform_tcp_listen(uint32_t address, int *fd, uint16_t *port) {
    int socket_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (socket_fd < 0) return errno;
    struct sockaddr_in local = {0};
    local.sin_family = AF_INET;
    local.sin_addr.s_addr = address;
    local.sin_port = 0;
    socklen_t length = sizeof local;
    if (bind(socket_fd, (struct sockaddr *)&local, sizeof local) != 0 || listen(socket_fd, 1024) != 0 ||
        getsockname(socket_fd, (struct sockaddr *)&local, &length) != 0) {
        int saved = errno;
        close(socket_fd);
        return saved;
    }
    *fd = socket_fd;
    *port = ntohs(local.sin_port);
    return 0;
}

int cplatform_tcp_connect(uint32_t address, uint16_t port, int timeout_ms, int *fd) {
    int socket_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (socket_fd < 0) return errno;
    struct sockaddr_in remote = {0};
    remote.sin_family = AF_INET;
    remote.sin_addr.s_addr = address;
    remote.sin_port = htons(port);
    int error = 0;
    if (connect(socket_fd, (struct sockaddr *)&remote, sizeof remote) != 0) {
        if (errno != EINPROGRESS) { error = errno; goto fail; }
        struct pollfd wait = {.fd = socket_fd, .events = POLLOUT};
        int ready = poll(&wait, 1, timeout_ms);
        if (ready == 0) { error = ETIMEDOUT; goto fail; }
        if (ready < 0) { error = errno; goto fail; }
        socklen_t length = sizeof error;
        getsockopt(socket_fd, SOL_SOCKET, SO_ERROR, &error, &length);
        if (error != 0) goto fail;
    }
    set_lane_options(socket_fd);
    *fd = socket_fd;
    return 0;
fail:
    close(socket_fd);
    return error;
}

int cplatform_tcp_accept(int listener, int timeout_ms, int *fd) {
    struct pollfd wait = {.fd = listener, .events = POLLIN};
    int ready = poll(&wait, 1, timeout_ms);
    if (ready == 0) return ETIMEDOUT;
    if (ready < 0) return errno;
    int accepted = accept4(listener, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (accepted < 0) return errno;
    set_lane_options(accepted);
    *fd = accepted;
    return 0;
}

int cplatform_sendv(int fd, const void *iov, int count, long *sent) {
    struct msghdr message = {0};
    message.msg_iov = (struct iovec *)iov;
    message.msg_iovlen = (size_t)count;
    ssize_t result = sendmsg(fd, &message, MSG_NOSIGNAL);
    if (result < 0) return errno;
    *sent = (long)result;
    return 0;
}

int cplatform_receive(int fd, void *buffer, size_t length, long *received) {
    ssize_t result = recv(fd, buffer, length, MSG_DONTWAIT);
    if (result < 0) return errno;
    *received = (long)result;
    return 0;
}

int cplatform_receive2(int fd, void *first, size_t first_length, void *second, size_t second_length,
                       long *received) {
    struct iovec parts[2] = {{.iov_base = first, .iov_len = first_length},
                             {.iov_base = second, .iov_len = second_length}};
    struct msghdr message = {.msg_iov = parts, .msg_iovlen = 2};
    ssize_t result = recvmsg(fd, &message, MSG_DONTWAIT);
    if (result < 0) return errno;
    *received = (long)result;
    return 0;
}

int cplatform_wait_fd(int fd, int for_writing, int timeout_ms, int *ready) {
    struct pollfd wait = {.fd = fd, .events = for_writing ? POLLOUT : POLLIN};
    int result = poll(&wait, 1, timeout_ms);
    if (result < 0) return errno;
    *ready = result;
    return 0;
}

int cplatform_epoll_create(int *fd) {
    int created = epoll_create1(EPOLL_CLOEXEC);
    if (created < 0) return errno;
    *fd = created;
    return 0;
}

int cplatform_epoll_add(int epoll, int fd, uint64_t data) {
    struct epoll_event event = {.events = EPOLLIN, .data.u64 = data};
    return epoll_ctl(epoll, EPOLL_CTL_ADD, fd, &event) == 0 ? 0 : errno;
}

int cplatform_epoll_wait(int epoll, uint64_t *data, int capacity, int timeout_ms, int *count) {
    struct epoll_event events[64];
    if (capacity > 64) capacity = 64;
    int ready;
    do {
        ready = epoll_wait(epoll, events, capacity, timeout_ms);
    } while (ready < 0 && errno == EINTR);
    if (ready < 0) return errno;
    for (int index = 0; index < ready; index++) data[index] = events[index].data.u64;
    *count = ready;
    return 0;
}

int cplatform_eventfd(int *fd) {
    int created = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (created < 0) return errno;
    *fd = created;
    return 0;
}

void cplatform_eventfd_signal(int fd) {
    uint64_t one = 1;
    ssize_t written = write(fd, &one, sizeof one);
    (void)written;
}

// Matches `spec` (an interface name, or an IPv4 network such as 10.77.0.0/24) against
// the interface `name` with address `address` (network order).
static int matches(const char *spec, const char *name, uint32_t address) {
    const char *slash = strchr(spec, '/');
    if (!slash) return strcmp(spec, name) == 0;
    char network[64];
    size_t length = (size_t)(slash - spec);
    if (length >= sizeof network) return 0;
    memcpy(network, spec, length);
    network[length] = 0;
    struct in_addr parsed;
    if (inet_pton(AF_INET, network, &parsed) != 1) return 0;
    int bits = atoi(slash + 1);
    if (bits < 0 || bits > 32) return 0;
    uint32_t mask = bits == 0 ? 0 : htonl(~0u << (32 - bits));
    return (parsed.s_addr & mask) == (address & mask);
}

int cplatform_interface_address(const char *spec, uint32_t *address) {
    struct ifaddrs *list;
    if (getifaddrs(&list) != 0) return errno;
    int found = 0;
    for (struct ifaddrs *entry = list; entry && !found; entry = entry->ifa_next) {
        if (!entry->ifa_addr || entry->ifa_addr->sa_family != AF_INET) continue;
        if (!(entry->ifa_flags & IFF_UP)) continue;
        uint32_t candidate = ((struct sockaddr_in *)entry->ifa_addr)->sin_addr.s_addr;
        int loopback = (entry->ifa_flags & IFF_LOOPBACK) != 0;
        if (spec ? matches(spec, entry->ifa_name, candidate) : !loopback) {
            *address = candidate;
            found = 1;
        }
    }
    freeifaddrs(list);
    return found ? 0 : ENODEV;
}
