/* fc_proxy.c: fleetcast-faultproxy, a single-threaded TCP relay that cuts, stalls, delays and
   throttles connections on purpose so fault tests can prove that transfers survive. */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "fc_optval.h"

#define PROXY_READ_SIZE (64 * 1024)
/* Bytes a direction may hold before we stop reading: backpressure reaches the sender. */
#define PROXY_QUEUE_CAP (256 * 1024)
#define PROXY_NO_TIMER INT64_MAX

#define SIG_TERM 1
#define SIG_STATS 2

/* The only global: set by the signal handler, read by the loop (handlers only run inside
   ppoll because the signals are blocked everywhere else, so there is no lost-wakeup race). */
static volatile sig_atomic_t s_signals;

typedef struct segment {
    struct segment *next;
    int64_t ready_ms; /* not forwarded before this time (--delay-ms) */
    size_t len, off;
    char data[];
} segment_t;

/* One direction of a connection: reads from fd[d], writes to fd[1 - d]. */
typedef struct {
    segment_t *head, *tail;
    size_t queued;
    bool eof;      /* reader saw EOF */
    bool shut;     /* EOF passed on with shutdown(SHUT_WR) */
    bool blocked;  /* last write hit EAGAIN: wait for POLLOUT */
    double tokens; /* --rate token bucket */
    int64_t token_ms;
} direction_t;

typedef struct {
    int fd[2]; /* 0 = client, 1 = upstream */
    bool connecting;
    bool cut;           /* closed on purpose by a cut */
    direction_t dir[2]; /* 0 = client->upstream, 1 = upstream->client */
    uint64_t id;
    uint64_t relayed;    /* both directions */
    uint64_t cut_at;     /* 0 = never */
    uint64_t next_stall; /* 0 = never */
    int64_t stall_until;
} conn_t;

typedef struct {
    struct sockaddr_storage listen_addr, upstream_addr;
    socklen_t listen_len, upstream_len;
    uint64_t cut_every, cut_min, cut_max, seed, stall_every, rate, max_cuts, stall_ms, delay_ms;
    uint64_t cut_mean, stall_mean; /* random intervals, uniform in 1..2*MEAN-1 */
    const char *port_file;
    bool verbose, reset;
} options_t;

typedef struct {
    options_t opt;
    int listen_fd;
    int64_t accept_paused_until;
    conn_t **conns;
    size_t nconns, conns_cap;
    uint64_t rng, next_id, cuts, bytes, accepted;
    struct pollfd *pfds;
    size_t pfds_cap;
} proxy_t;

static void s_handler(int sig)
{
    s_signals |= (sig == SIGUSR1) ? SIG_STATS : SIG_TERM;
}

static int64_t s_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* xorshift64*: tiny and reproducible across platforms for a given --seed. */
static uint64_t s_rng_next(uint64_t *state)
{
    uint64_t x = *state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * 0x2545F4914F6CDD1DULL;
}

static void s_usage(FILE *out)
{
    fprintf(
        out,
        "usage: fleetcast-faultproxy --listen HOST:PORT --upstream HOST:PORT [options]\n"
        "  --cut-every BYTES       close both sides after BYTES relayed (both directions)\n"
        "  --cut-random MIN:MAX    per-connection cut point uniform in MIN..MAX\n"
        "  --cut-mean BYTES        per-connection cut point random with mean BYTES\n"
        "  --seed N                PRNG seed of every random fault (default 1): the same\n"
        "                          seed and traffic give the same faults\n"
        "  --max-cuts N            stop cutting after N cuts (0 = unlimited)\n"
        "  --reset                 cut with a TCP reset instead of a FIN\n"
        "  --stall-every BYTES     pause a connection after every BYTES relayed ...\n"
        "  --stall-mean BYTES      pause a connection at random points, BYTES apart on average\n"
        "  --stall-ms MS           ... for MS milliseconds (default 1000)\n"
        "  --delay-ms MS           forward every read MS milliseconds late\n"
        "  --rate BYTES_PER_SEC    throttle each direction of each connection\n"
        "  --port-file FILE        write the listening port to FILE\n"
        "  --verbose               log connections and cuts on stderr\n"
        "Port 0 picks a free port; it is printed on stdout as 'port N'.\n"
        "SIGUSR1 prints stats on stderr; SIGTERM/SIGINT exit with 'cuts N bytes M'.\n");
}

/* "HOST:PORT" or "[V6]:PORT", a numeric port (0 only where port0_ok: a free one). 0, or -1
   with the message in msg. */
static int s_parse_addr(const char *name, const char *text, bool port0_ok,
                        struct sockaddr_storage *addr, socklen_t *len, char *msg, size_t msgsize)
{
    const char *what =
        port0_ok ? "HOST:PORT (PORT 0..65535, 0: a free one)" : "HOST:PORT (PORT 1..65535)";
    char host[256];
    const char *colon = text ? strrchr(text, ':') : NULL;
    if (!colon || colon == text || (size_t)(colon - text) >= sizeof host ||
        fc_optval_uint(name, colon + 1, port0_ok ? 0 : 1, 65535, NULL, NULL, 0)) {
        fc_optval_refuse(name, what, text, msg, msgsize);
        return -1;
    }
    memcpy(host, text, colon - text);
    host[colon - text] = 0;
    char *h = host;
    if (*h == '[' && h[strlen(h) - 1] == ']') {
        h[strlen(h) - 1] = 0;
        h++;
    }
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
    struct addrinfo *res;
    if (getaddrinfo(h, colon + 1, &hints, &res) != 0) {
        fc_optval_refuse(name, "HOST:PORT with a host that resolves", text, msg, msgsize);
        return -1;
    }
    memcpy(addr, res->ai_addr, res->ai_addrlen);
    *len = res->ai_addrlen;
    freeaddrinfo(res);
    return 0;
}

/* "MIN:MAX" with 0 < MIN <= MAX. 0, or -1 with the message in msg. */
static int s_parse_range(const char *name, const char *text, uint64_t *min, uint64_t *max,
                         char *msg, size_t msgsize)
{
    char buf[64];
    snprintf(buf, sizeof buf, "%s", text);
    char *colon = strchr(buf, ':');
    if (colon)
        *colon = 0;
    if (!colon || strlen(text) >= sizeof buf ||
        fc_optval_uint(name, buf, 1, UINT64_MAX, min, NULL, 0) ||
        fc_optval_uint(name, colon + 1, *min, UINT64_MAX, max, NULL, 0)) {
        fc_optval_refuse(name, "MIN:MAX, whole numbers with 0 < MIN <= MAX", text, msg, msgsize);
        return -1;
    }
    return 0;
}

static int s_parse_options(options_t *o, int argc, char **argv)
{
    /* the numeric options come first so their index picks the field they fill */
    static const struct option longopts[] = {
        {"cut-every", 1, 0, 0},   {"seed", 1, 0, 0},     {"max-cuts", 1, 0, 0},
        {"stall-every", 1, 0, 0}, {"stall-ms", 1, 0, 0}, {"delay-ms", 1, 0, 0},
        {"rate", 1, 0, 0},        {"cut-mean", 1, 0, 0}, {"stall-mean", 1, 0, 0},
        {"listen", 1, 0, 0},      {"upstream", 1, 0, 0}, {"cut-random", 1, 0, 0},
        {"port-file", 1, 0, 0},   {"reset", 0, 0, 0},    {"verbose", 0, 0, 'v'},
        {"help", 0, 0, 'h'},      {0, 0, 0, 0}};
    uint64_t *numbers[] = {&o->cut_every, &o->seed, &o->max_cuts, &o->stall_every, &o->stall_ms,
                           &o->delay_ms,  &o->rate, &o->cut_mean, &o->stall_mean};
    const int nnumbers = sizeof numbers / sizeof numbers[0];
    bool have_listen = false, have_upstream = false;
    int opt, idx = 0;
    o->seed = 1;
    o->stall_ms = 1000;
    while ((opt = getopt_long(argc, argv, "vh", longopts, &idx)) != -1) {
        if (opt == 'h') {
            s_usage(stdout);
            exit(0);
        }
        if (opt == 'v') {
            o->verbose = true;
            continue;
        }
        if (opt != 0)
            return -1; /* getopt has said what is wrong */
        const char *name = longopts[idx].name;
        char optname[32], msg[256];
        snprintf(optname, sizeof optname, "--%s", name);
        int rc = 0;
        if (idx < nnumbers)
            rc = fc_optval_uint(optname, optarg, 0, UINT64_MAX, numbers[idx], msg, sizeof msg);
        else if (!strcmp(name, "listen"))
            rc = s_parse_addr(optname, optarg, true, &o->listen_addr, &o->listen_len, msg,
                              sizeof msg),
            have_listen = true;
        else if (!strcmp(name, "upstream"))
            rc = s_parse_addr(optname, optarg, false, &o->upstream_addr, &o->upstream_len, msg,
                              sizeof msg),
            have_upstream = true;
        else if (!strcmp(name, "reset"))
            o->reset = true;
        else if (!strcmp(name, "cut-random"))
            rc = s_parse_range(optname, optarg, &o->cut_min, &o->cut_max, msg, sizeof msg);
        else
            o->port_file = optarg;
        if (rc) {
            fprintf(stderr, "fleetcast-faultproxy: %s\n", msg);
            return -1;
        }
    }
    if (optind < argc || !have_listen || !have_upstream) {
        fprintf(stderr, "fleetcast-faultproxy: needs --listen and --upstream, and no operands\n");
        return -1;
    }
    if ((o->cut_every != 0) + (o->cut_max != 0) + (o->cut_mean != 0) > 1) {
        fprintf(stderr, "fleetcast-faultproxy: --cut-every, --cut-random and --cut-mean exclude "
                        "each other\n");
        return -1;
    }
    if (o->stall_every && o->stall_mean) {
        fprintf(stderr,
                "fleetcast-faultproxy: --stall-every and --stall-mean exclude each other\n");
        return -1;
    }
    if (o->seed == 0)
        o->seed = 0x9E3779B97F4A7C15ULL; /* xorshift state must not be zero */
    return 0;
}

static void s_log(proxy_t *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void s_log(proxy_t *p, const char *fmt, ...)
{
    if (!p->opt.verbose)
        return;
    va_list ap;
    va_start(ap, fmt);
    fputs("fleetcast-faultproxy: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

static bool s_cutting(proxy_t *p)
{
    return p->opt.max_cuts == 0 || p->cuts < p->opt.max_cuts;
}

static double s_burst(proxy_t *p)
{
    double burst = (double)p->opt.rate / 20; /* refill granularity of ~50 ms */
    return burst < 1 ? 1 : burst;
}

static void s_conn_destroy(proxy_t *p, conn_t **conn_p, bool reset)
{
    conn_t *c = *conn_p;
    for (int d = 0; d < 2; d++) {
        if (reset) {
            /* linger 0 turns close() into an RST, the harshest kind of cut */
            struct linger lg = {.l_onoff = 1, .l_linger = 0};
            setsockopt(c->fd[d], SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
        }
        close(c->fd[d]);
        segment_t *s = c->dir[d].head;
        while (s) {
            segment_t *next = s->next;
            free(s);
            s = next;
        }
    }
    free(c);
    *conn_p = NULL;
}

/* A random interval with mean `mean` (uniform in 1..2*mean-1), drawn from the seeded PRNG. */
static uint64_t s_random_interval(proxy_t *p, uint64_t mean)
{
    return mean <= 1 ? 1 : 1 + s_rng_next(&p->rng) % (2 * mean - 1);
}

/* Bytes until a connection's next stall: fixed, random, or 0 for never. */
static uint64_t s_stall_gap(proxy_t *p)
{
    return p->opt.stall_mean ? s_random_interval(p, p->opt.stall_mean) : p->opt.stall_every;
}

/* Room for one more connection in p->conns; 0 or -1. */
static int s_reserve(proxy_t *p)
{
    if (p->nconns < p->conns_cap)
        return 0;
    size_t cap = p->conns_cap * 2 + 16;
    conn_t **conns = realloc(p->conns, cap * sizeof *conns);
    if (!conns)
        return -1;
    p->conns = conns;
    p->conns_cap = cap;
    return 0;
}

static void s_accept(proxy_t *p, int64_t now)
{
    for (;;) {
        int fd = accept4(p->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                /* the pending connection stays readable: back off instead of spinning */
                fprintf(stderr, "fleetcast-faultproxy: accept: %s\n", strerror(errno));
                p->accept_paused_until = now + 100;
            }
            return;
        }
        int up =
            socket(p->opt.upstream_addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        conn_t *c = calloc(1, sizeof *c);
        if (up < 0 || !c || s_reserve(p)) {
            fprintf(stderr, "fleetcast-faultproxy: out of resources, dropping a client\n");
            close(fd);
            if (up >= 0)
                close(up);
            free(c);
            p->accept_paused_until = now + 100;
            return;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        setsockopt(up, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        c->fd[0] = fd;
        c->fd[1] = up;
        c->id = ++p->next_id;
        c->connecting = true;
        if (connect(up, (struct sockaddr *)&p->opt.upstream_addr, p->opt.upstream_len) == 0)
            c->connecting = false;
        else if (errno != EINPROGRESS) {
            s_log(p, "conn %" PRIu64 ": upstream connect: %s", c->id, strerror(errno));
            s_conn_destroy(p, &c, false);
            continue;
        }
        if (s_cutting(p)) {
            if (p->opt.cut_every)
                c->cut_at = p->opt.cut_every;
            else if (p->opt.cut_max)
                c->cut_at =
                    p->opt.cut_min + s_rng_next(&p->rng) % (p->opt.cut_max - p->opt.cut_min + 1);
            else if (p->opt.cut_mean)
                c->cut_at = s_random_interval(p, p->opt.cut_mean);
        }
        c->next_stall = s_stall_gap(p);
        for (int d = 0; d < 2; d++) {
            c->dir[d].token_ms = now;
            c->dir[d].tokens = s_burst(p);
        }
        p->conns[p->nconns++] = c;
        p->accepted++;
        s_log(p, "conn %" PRIu64 ": accepted, cut at %" PRIu64, c->id, c->cut_at);
    }
}

/* Bytes this connection may still relay before its next cut or stall. */
static uint64_t s_budget(proxy_t *p, conn_t *c)
{
    uint64_t budget = UINT64_MAX;
    if (c->cut_at && s_cutting(p))
        budget = c->cut_at > c->relayed ? c->cut_at - c->relayed : 0;
    if (c->next_stall && c->next_stall - c->relayed < budget)
        budget = c->next_stall - c->relayed;
    return budget;
}

static void s_refill(proxy_t *p, direction_t *dir, int64_t now)
{
    if (!p->opt.rate)
        return;
    dir->tokens += (double)(now - dir->token_ms) * (double)p->opt.rate / 1000;
    dir->token_ms = now;
    if (dir->tokens > s_burst(p))
        dir->tokens = s_burst(p);
}

/* Reads what fd[d] has into direction d's queue. Returns -1 if the connection must close. */
static int s_read(proxy_t *p, conn_t *c, int d, int64_t now)
{
    direction_t *dir = &c->dir[d];
    while (!dir->eof && dir->queued < PROXY_QUEUE_CAP) {
        char buf[PROXY_READ_SIZE];
        ssize_t n = recv(c->fd[d], buf, sizeof buf, 0);
        if (n < 0)
            return (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) ? 0 : -1;
        if (n == 0) {
            dir->eof = true;
            break;
        }
        segment_t *s = malloc(sizeof *s + (size_t)n);
        if (!s)
            return -1;
        memcpy(s->data, buf, (size_t)n);
        s->len = (size_t)n;
        s->off = 0;
        s->next = NULL;
        s->ready_ms = now + (int64_t)p->opt.delay_ms;
        if (dir->tail)
            dir->tail->next = s;
        else
            dir->head = s;
        dir->tail = s;
        dir->queued += (size_t)n;
        if ((size_t)n < sizeof buf)
            break; /* drained; saves an EAGAIN round trip */
    }
    return 0;
}

/* Writes direction d's ready data to fd[1 - d] within the cut/stall/rate budget.
   Returns -1 if the connection must close (error or cut). */
static int s_flush(proxy_t *p, conn_t *c, int d, int64_t now)
{
    direction_t *dir = &c->dir[d];
    while (dir->head && !dir->blocked && now >= c->stall_until && dir->head->ready_ms <= now) {
        segment_t *s = dir->head;
        size_t want = s->len - s->off;
        uint64_t budget = s_budget(p, c);
        if (budget < want)
            want = (size_t)budget;
        if (p->opt.rate) {
            s_refill(p, dir, now);
            if (dir->tokens < 1)
                break;
            if ((double)want > dir->tokens)
                want = (size_t)dir->tokens;
        }
        if (want == 0)
            break;
        ssize_t n = send(c->fd[1 - d], s->data + s->off, want, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                dir->blocked = true;
                break;
            }
            if (errno == EINTR)
                continue;
            return -1;
        }
        s->off += (size_t)n;
        dir->queued -= (size_t)n;
        dir->tokens -= (double)n;
        c->relayed += (uint64_t)n;
        p->bytes += (uint64_t)n;
        if (s->off == s->len) {
            dir->head = s->next;
            if (!dir->head)
                dir->tail = NULL;
            free(s);
        }
        if (c->cut_at && s_cutting(p) && c->relayed >= c->cut_at) {
            p->cuts++;
            c->cut = true;
            s_log(p, "conn %" PRIu64 ": cut after %" PRIu64 " bytes (cut %" PRIu64 ")", c->id,
                  c->relayed, p->cuts);
            return -1;
        }
        if (c->next_stall && c->relayed >= c->next_stall) {
            c->stall_until = now + (int64_t)p->opt.stall_ms;
            c->next_stall += s_stall_gap(p);
            s_log(p, "conn %" PRIu64 ": stall for %" PRIu64 " ms", c->id, p->opt.stall_ms);
        }
    }
    if (dir->eof && !dir->head && !dir->shut) {
        shutdown(c->fd[1 - d], SHUT_WR); /* pass the half-close on */
        dir->shut = true;
    }
    return 0;
}

/* Earliest time this connection needs attention without any socket event. */
static int64_t s_conn_timer(proxy_t *p, conn_t *c, int64_t now)
{
    int64_t t = PROXY_NO_TIMER;
    for (int d = 0; d < 2; d++) {
        direction_t *dir = &c->dir[d];
        if (!dir->head || dir->blocked)
            continue;
        int64_t at = dir->head->ready_ms;
        if (c->stall_until > at)
            at = c->stall_until;
        if (p->opt.rate && at <= now) {
            s_refill(p, dir, now);
            double need = (double)(dir->head->len - dir->head->off);
            if (need > s_burst(p))
                need = s_burst(p);
            if (dir->tokens < need)
                at = now + 1 + (int64_t)((need - dir->tokens) * 1000 / (double)p->opt.rate);
        }
        if (at < t)
            t = at;
    }
    return t;
}

static short s_events(conn_t *c, int side)
{
    short ev = 0;
    if (side == 1 && c->connecting)
        return POLLOUT;
    if (!c->connecting && !c->dir[side].eof && c->dir[side].queued < PROXY_QUEUE_CAP)
        ev |= POLLIN;
    if (c->dir[1 - side].blocked)
        ev |= POLLOUT;
    return ev;
}

/* Handles one connection's poll results. Returns -1 if it must close. */
static int s_service(proxy_t *p, conn_t *c, struct pollfd *pf, int64_t now)
{
    if (c->connecting) {
        if (!pf[1].revents)
            return 0;
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(c->fd[1], SOL_SOCKET, SO_ERROR, &err, &len);
        if (err) {
            s_log(p, "conn %" PRIu64 ": upstream connect: %s", c->id, strerror(err));
            return -1;
        }
        c->connecting = false;
        return 0;
    }
    for (int side = 0; side < 2; side++) {
        short re = pf[side].revents;
        if (re & (POLLOUT | POLLERR | POLLHUP))
            c->dir[1 - side].blocked = false;
        if ((re & (POLLIN | POLLERR | POLLHUP)) && s_read(p, c, side, now))
            return -1;
    }
    for (int d = 0; d < 2; d++)
        if (s_flush(p, c, d, now))
            return -1;
    if (c->dir[0].shut && c->dir[1].shut)
        return -1; /* both halves closed: a normal end */
    return 0;
}

static void s_stats(proxy_t *p, const char *prefix)
{
    fprintf(stderr, "%scuts %" PRIu64 " bytes %" PRIu64 " connections %" PRIu64 " active %zu\n",
            prefix, p->cuts, p->bytes, p->accepted, p->nconns);
}

static int s_listen(proxy_t *p)
{
    options_t *o = &p->opt;
    p->listen_fd = socket(o->listen_addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    if (p->listen_fd < 0 || setsockopt(p->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) ||
        bind(p->listen_fd, (struct sockaddr *)&o->listen_addr, o->listen_len) ||
        listen(p->listen_fd, 512)) {
        fprintf(stderr, "fleetcast-faultproxy: listen: %s\n", strerror(errno));
        return -1;
    }
    struct sockaddr_storage sa;
    socklen_t len = sizeof sa;
    getsockname(p->listen_fd, (struct sockaddr *)&sa, &len);
    int port = ntohs(sa.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&sa)->sin6_port
                                              : ((struct sockaddr_in *)&sa)->sin_port);
    printf("port %d\n", port);
    fflush(stdout);
    if (o->port_file) {
        /* write then rename, so a test polling for the file never reads half of it */
        char tmp[4096];
        snprintf(tmp, sizeof tmp, "%s.tmp.%d", o->port_file, (int)getpid());
        FILE *f = fopen(tmp, "w");
        if (!f || fprintf(f, "%d\n", port) < 0 || fclose(f) || rename(tmp, o->port_file)) {
            fprintf(stderr, "fleetcast-faultproxy: port file %s: %s\n", o->port_file,
                    strerror(errno));
            return -1;
        }
    }
    return 0;
}

static void s_install_signals(sigset_t *wait_mask)
{
    struct sigaction sa = {.sa_handler = s_handler};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    sigset_t block;
    sigemptyset(&block);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGUSR1);
    sigprocmask(SIG_BLOCK, &block, wait_mask);
    sigdelset(wait_mask, SIGTERM);
    sigdelset(wait_mask, SIGINT);
    sigdelset(wait_mask, SIGUSR1);
}

static void s_raise_fd_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

/* One poll round: wait for sockets or the next timer, then relay, cut, stall and accept.
   Returns -1 on a fatal error. */
static int s_poll_once(proxy_t *p, const sigset_t *wait_mask)
{
    int64_t now = s_now_ms();
    size_t need = 1 + 2 * p->nconns;
    if (need > p->pfds_cap) {
        p->pfds_cap = need * 2;
        p->pfds = realloc(p->pfds, p->pfds_cap * sizeof *p->pfds);
        if (!p->pfds) {
            fprintf(stderr, "fleetcast-faultproxy: out of memory\n");
            return -1;
        }
    }
    int64_t wake = PROXY_NO_TIMER;
    bool accepting = now >= p->accept_paused_until;
    if (!accepting)
        wake = p->accept_paused_until;
    p->pfds[0] = (struct pollfd){.fd = accepting ? p->listen_fd : -1, .events = POLLIN};
    for (size_t i = 0; i < p->nconns; i++) {
        conn_t *c = p->conns[i];
        for (int side = 0; side < 2; side++) {
            short ev = s_events(c, side);
            /* fd -1 when idle: POLLHUP is reported even with no events asked and would
               make poll spin on a half-dead socket we are not ready to service */
            p->pfds[1 + 2 * i + side] = (struct pollfd){.fd = ev ? c->fd[side] : -1, .events = ev};
        }
        int64_t t = s_conn_timer(p, c, now);
        if (t < wake)
            wake = t;
    }
    struct timespec ts, *tsp = NULL;
    if (wake != PROXY_NO_TIMER) {
        int64_t ms = wake > now ? wake - now : 0;
        ts.tv_sec = ms / 1000;
        ts.tv_nsec = (ms % 1000) * 1000000;
        tsp = &ts;
    }
    int rc = ppoll(p->pfds, need, tsp, wait_mask);
    if (rc < 0 && errno != EINTR) {
        fprintf(stderr, "fleetcast-faultproxy: poll: %s\n", strerror(errno));
        return -1;
    }
    if (rc < 0)
        return 0;
    now = s_now_ms();
    /* backwards, so removing by swapping in the last entry skips nothing */
    for (size_t i = p->nconns; i-- > 0;) {
        conn_t *c = p->conns[i];
        if (s_service(p, c, &p->pfds[1 + 2 * i], now)) {
            s_log(p, "conn %" PRIu64 ": closed after %" PRIu64 " bytes", c->id, c->relayed);
            s_conn_destroy(p, &p->conns[i], c->cut && p->opt.reset);
            p->conns[i] = p->conns[--p->nconns];
        }
    }
    if (p->pfds[0].revents & POLLIN)
        s_accept(p, now);
    return 0;
}

int main(int argc, char **argv)
{
    proxy_t proxy = {.listen_fd = -1};
    proxy_t *p = &proxy;
    if (s_parse_options(&p->opt, argc, argv)) {
        s_usage(stderr);
        return 2;
    }
    p->rng = p->opt.seed;
    sigset_t wait_mask;
    s_install_signals(&wait_mask);
    s_raise_fd_limit();
    if (s_listen(p))
        return 1;

    while (!(s_signals & SIG_TERM)) {
        if (s_signals & SIG_STATS) {
            s_signals &= ~SIG_STATS; /* safe: the signal is blocked outside ppoll */
            s_stats(p, "stats ");
        }
        if (s_poll_once(p, &wait_mask))
            return 1;
    }
    for (size_t i = 0; i < p->nconns; i++)
        s_conn_destroy(p, &p->conns[i], false);
    fprintf(stderr, "cuts %" PRIu64 " bytes %" PRIu64 "\n", p->cuts, p->bytes);
    free(p->conns);
    free(p->pfds);
    close(p->listen_fd);
    return 0;
}
