/* fc_accepts.c: every accepted TCP connection's peer address, noted at accept
   (fc_accepts.h says why accept() and accept4() are wrapped). */
#define _GNU_SOURCE
#include "fc_accepts.h"
#include "fc_test_check.h"

#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

typedef struct {
    uint64_t seq; /* 0: empty */
    int fd;
    uint16_t port; /* local */
    char address[FC_ACCEPTS_ADDRESS];
} s_accept_t;

/* The one piece of process-wide state: see fc_accepts.h. */
static struct {
    pthread_mutex_t lock;
    uint64_t seq;
    s_accept_t ring[FC_ACCEPTS_RING];
} s_accepts = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* Text of a socket address (IPv4, IPv6, IPv4-mapped IPv6 as IPv4) and its port; false for
   any other family (unix sockets: nothing to note). */
static bool s_text(const struct sockaddr_storage *sa, char *out, size_t size, uint16_t *port)
{
    if (sa->ss_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        *port = ntohs(in->sin_port);
        return inet_ntop(AF_INET, &in->sin_addr, out, (socklen_t)size) != NULL;
    }
    if (sa->ss_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        *port = ntohs(in6->sin6_port);
        if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr))
            return inet_ntop(AF_INET, &in6->sin6_addr.s6_addr[12], out, (socklen_t)size) != NULL;
        return inet_ntop(AF_INET6, &in6->sin6_addr, out, (socklen_t)size) != NULL;
    }
    return false;
}

static void s_note(int fd)
{
    struct sockaddr_storage peer, local;
    socklen_t plen = sizeof peer, llen = sizeof local;
    s_accept_t a = {.fd = fd};
    uint16_t peer_port;
    char local_text[FC_ACCEPTS_ADDRESS];
    if (getpeername(fd, (struct sockaddr *)&peer, &plen) != 0 ||
        getsockname(fd, (struct sockaddr *)&local, &llen) != 0 ||
        !s_text(&peer, a.address, sizeof a.address, &peer_port) ||
        !s_text(&local, local_text, sizeof local_text, &a.port))
        return;
    pthread_mutex_lock(&s_accepts.lock);
    a.seq = ++s_accepts.seq;
    s_accepts.ring[a.seq % FC_ACCEPTS_RING] = a;
    pthread_mutex_unlock(&s_accepts.lock);
}

typedef int s_accept4_fn(int, struct sockaddr *, socklen_t *, int);
typedef int s_accept_fn(int, struct sockaddr *, socklen_t *);

int accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags)
{
    s_accept4_fn *real = (s_accept4_fn *)dlsym(RTLD_NEXT, "accept4");
    if (!real) {
        errno = ENOSYS;
        return -1;
    }
    int s = real(fd, addr, len, flags);
    if (s >= 0)
        s_note(s);
    return s;
}

int accept(int fd, struct sockaddr *addr, socklen_t *len)
{
    s_accept_fn *real = (s_accept_fn *)dlsym(RTLD_NEXT, "accept");
    if (!real) {
        errno = ENOSYS;
        return -1;
    }
    int s = real(fd, addr, len);
    if (s >= 0)
        s_note(s);
    return s;
}

bool fc_accepts_take(uint16_t port, int fd, uint64_t *cursor, char *address, size_t size)
{
    bool found = false;
    pthread_mutex_lock(&s_accepts.lock);
    uint64_t from = *cursor + 1;
    if (s_accepts.seq >= FC_ACCEPTS_RING && from <= s_accepts.seq - FC_ACCEPTS_RING)
        from = s_accepts.seq - FC_ACCEPTS_RING + 1; /* the older ones are gone */
    for (uint64_t seq = from; seq <= s_accepts.seq && !found; seq++) {
        const s_accept_t *a = &s_accepts.ring[seq % FC_ACCEPTS_RING];
        if (a->seq == seq && a->port == port && a->fd == fd) {
            snprintf(address, size, "%s", a->address);
            *cursor = seq;
            found = true;
        }
    }
    pthread_mutex_unlock(&s_accepts.lock);
    return found;
}

/* --- self-test --------------------------------------------------------------------------- */

/* A connection from source (a loopback address) to a listener on 127.0.0.1:port, accepted
   by accept4 (this file's); returns the accepted descriptor, *client the other end. */
static int s_connect(int listener, uint16_t port, const char *source, int *client)
{
    *client = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in src = {.sin_family = AF_INET}, dst = {.sin_family = AF_INET};
    inet_pton(AF_INET, source, &src.sin_addr);
    inet_pton(AF_INET, "127.0.0.1", &dst.sin_addr);
    dst.sin_port = htons(port);
    FC_CHECK(bind(*client, (struct sockaddr *)&src, sizeof src) == 0);
    FC_CHECK(connect(*client, (struct sockaddr *)&dst, sizeof dst) == 0);
    int s = accept4(listener, NULL, NULL, SOCK_CLOEXEC);
    FC_CHECK(s >= 0);
    return s;
}

void fc_accepts_test(bool verbose)
{
    printf(" * fc_accepts: ");
    int listener = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in at = {.sin_family = AF_INET};
    inet_pton(AF_INET, "127.0.0.1", &at.sin_addr);
    socklen_t len = sizeof at;
    FC_CHECK(bind(listener, (struct sockaddr *)&at, sizeof at) == 0 && listen(listener, 8) == 0);
    FC_CHECK(getsockname(listener, (struct sockaddr *)&at, &len) == 0);
    uint16_t port = ntohs(at.sin_port);
    uint64_t cursor = 0;
    char address[FC_ACCEPTS_ADDRESS];
    /* Whatever the process accepted before (another test's) is not this test's. */
    pthread_mutex_lock(&s_accepts.lock);
    cursor = s_accepts.seq;
    pthread_mutex_unlock(&s_accepts.lock);
    int c1, c2;
    int s1 = s_connect(listener, port, "127.0.0.2", &c1);
    int s2 = s_connect(listener, port, "127.0.0.3", &c2);
    /* In accept order, each with its own peer, even after both are closed and their
       descriptors reused. */
    close(s1);
    close(c1);
    FC_CHECK(fc_accepts_take(port, s1, &cursor, address, sizeof address));
    FC_CHECK(!strcmp(address, "127.0.0.2"));
    FC_CHECK(!fc_accepts_take(port + 1, s2, &cursor, address, sizeof address));
    FC_CHECK(fc_accepts_take(port, s2, &cursor, address, sizeof address));
    FC_CHECK(!strcmp(address, "127.0.0.3"));
    FC_CHECK(!fc_accepts_take(port, s2, &cursor, address, sizeof address)); /* none left */
    /* An accept libzmq never reported (it closed it at once) is passed over by the next
       one's descriptor; a descriptor never accepted gets no address. */
    int c3, c4;
    int s3 = s_connect(listener, port, "127.0.0.4", &c3);
    int s4 = s_connect(listener, port, "127.0.0.5", &c4);
    FC_CHECK(!fc_accepts_take(port, s4 + 1000, &cursor, address, sizeof address));
    FC_CHECK(fc_accepts_take(port, s4, &cursor, address, sizeof address));
    FC_CHECK(!strcmp(address, "127.0.0.5"));
    FC_CHECK(!fc_accepts_take(port, s3, &cursor, address, sizeof address));
    if (verbose)
        printf("(accept order, peer addresses, mismatches) ");
    close(s2);
    close(c2);
    close(s3);
    close(c3);
    close(s4);
    close(c4);
    close(listener);
    printf("OK\n");
}
