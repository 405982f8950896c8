/* fc_sockopt.c: the options every fleetcast ZeroMQ socket gets (frame limit, queues, linger,
   reconnect, liveness). */
#include "fc_sockopt.h"
#include "fc_limits.h"
#include "fc_test_check.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include <zmq.h>

void fc_sock_tune(void *sock)
{
    int64_t maxmsg = FC_MAX_FRAME;
    int linger = 0, ivl = 100, ivl_max = 2000;
    /* No TTL: a TTL makes the broker arm a timer per connection and cancel it on every
       message it receives, and libzmq's cancel walks all of its I/O thread's timers, so
       1000 agents cost the broker a quarter of a core doing nothing. The broker finds dead
       peers with TCP keepalive instead (fc_sock_tune_bound). */
    /* A ping every 5 s; no traffic for 15 s after one: the link is dead, and reconnected.
       Each ping and pong crosses the broker (1000 agents, a socket each for requests and
       announcements: 400 pings a second), encrypted under CURVE: at 2 s they were most of
       an idle broker's CPU (5.1-6.1 % of a core with 1000 agents). A broker that dies
       outright closes its sockets and is noticed at once; a frozen one shows in the signed
       heartbeats on the announce socket within a second. */
    int hb_ivl = 5000, hb_timeout = 15000, hb_ttl = 0;
    /* A socket that pings must never stop reading: libzmq 4.3.4 aborts the whole process
       ("Assertion failed: !_io_error (src/stream_engine_base.cpp:331)") when a connection
       whose input stopped at the receive HWM breaks and its next ping falls due, since the
       heartbeat timer writes to the broken connection (zeromq/libzmq#4841). Relays stalled
       for 5 s under load hit it. So no HWM here: the peers of the sockets that ping are
       brokers answering what this side asked for (windowed requests, chunk credit) and
       announcing a few messages a second, so what queues is bounded by our own requests
       and the seconds we were not reading. Bound sockets do not ping and keep a bound
       (fc_sock_tune_bound). */
    int rcvhwm = 0;
    /* Errors ignored: not every socket type supports every option, and none is essential. */
    zmq_setsockopt(sock, ZMQ_MAXMSGSIZE, &maxmsg, sizeof maxmsg);
    zmq_setsockopt(sock, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(sock, ZMQ_RCVHWM, &rcvhwm, sizeof rcvhwm);
    zmq_setsockopt(sock, ZMQ_RECONNECT_IVL, &ivl, sizeof ivl);
    zmq_setsockopt(sock, ZMQ_RECONNECT_IVL_MAX, &ivl_max, sizeof ivl_max);
    zmq_setsockopt(sock, ZMQ_HEARTBEAT_IVL, &hb_ivl, sizeof hb_ivl);
    zmq_setsockopt(sock, ZMQ_HEARTBEAT_TIMEOUT, &hb_timeout, sizeof hb_timeout);
    zmq_setsockopt(sock, ZMQ_HEARTBEAT_TTL, &hb_ttl, sizeof hb_ttl);
}

void fc_sock_tune_bound(void *sock)
{
    fc_sock_tune(sock);
    /* The peers ping; answering costs no timer. Pinging them ourselves would arm a timeout
       timer per connection per ping, cancelled (a walk of every timer) by each PONG. */
    int zero = 0, on = 1, idle = 30, intvl = 10, cnt = 3;
    zmq_setsockopt(sock, ZMQ_HEARTBEAT_IVL, &zero, sizeof zero);
    /* No receive HWM here either (fc_sock_tune sets 0): our peers ping, and libzmq 4.3.4
       answers a PING as it decodes it. A connection whose input stopped at the HWM keeps
       the rest of what it read undecoded; if it then breaks (the peer died: a reset), the
       owner's next read decodes that rest, and a PING in it writes its PONG to the broken
       connection: the same abort (stream_engine_base.cpp:331, out_event asserts !_io_error),
       reachable by any peer that pings, so by any client at will. libzmq has no other path
       to it: its ping timer (our bound sockets do not ping) and a PING decoded behind a
       stopped input are the only writes that skip restart_output's _io_error check. So
       input is never stopped; what a peer can make us queue is bounded instead by
       ZMQ_MAXMSGSIZE per message and by how fast the owner reads: the broker drains its
       ROUTER in batches on every turn and drops an ignored peer's messages unparsed
       (it_bigflood measures a flood: docs/SECURITY.md). */
    /* A peer that vanished without a FIN (power cut, cable) is dropped after about a
       minute by the kernel's keepalive: no timer in libzmq. */
    zmq_setsockopt(sock, ZMQ_TCP_KEEPALIVE, &on, sizeof on);
    zmq_setsockopt(sock, ZMQ_TCP_KEEPALIVE_IDLE, &idle, sizeof idle);
    zmq_setsockopt(sock, ZMQ_TCP_KEEPALIVE_INTVL, &intvl, sizeof intvl);
    zmq_setsockopt(sock, ZMQ_TCP_KEEPALIVE_CNT, &cnt, sizeof cnt);
}

/* A pinging socket whose reader stalls while its peer sends much, and whose connection then
   breaks, lives on through its next pings and loses nothing already received (with a receive
   HWM, libzmq 4.3.4 aborted here: fc_sock_tune). Pings every 100 ms to keep it short. */
static void s_test_stalled_reader_breaks(void)
{
    enum { S_MSGS = 200, S_SIZE = 64 * 1024 };
    void *ctx = zmq_ctx_new();
    void *router = zmq_socket(ctx, ZMQ_ROUTER), *dealer = zmq_socket(ctx, ZMQ_DEALER);
    FC_CHECK(ctx && router && dealer);
    fc_sock_tune_bound(router);
    FC_CHECK(zmq_bind(router, "tcp://127.0.0.1:*") == 0);
    char ep[256];
    size_t sz = sizeof ep;
    FC_CHECK(zmq_getsockopt(router, ZMQ_LAST_ENDPOINT, ep, &sz) == 0);
    fc_sock_tune(dealer);
    int ivl = 100;
    zmq_setsockopt(dealer, ZMQ_HEARTBEAT_IVL, &ivl, sizeof ivl);
    FC_CHECK(zmq_connect(dealer, ep) == 0);
    FC_CHECK(zmq_send(dealer, "hi", 2, 0) == 2);
    uint8_t id[256];
    int idlen = zmq_recv(router, id, sizeof id, 0);
    FC_CHECK(idlen > 0);
    char tmp[8];
    FC_CHECK(zmq_recv(router, tmp, sizeof tmp, 0) == 2);
    /* Far past any HWM of 64 while the dealer's owner reads nothing. */
    static char big[S_SIZE];
    memset(big, 'x', sizeof big);
    for (int i = 0; i < S_MSGS; i++) {
        FC_CHECK(zmq_send(router, id, (size_t)idlen, ZMQ_SNDMORE) == idlen);
        FC_CHECK(zmq_send(router, big, sizeof big, 0) == (int)sizeof big);
    }
    zmq_sleep(1);      /* 12.5 MiB cross loopback */
    zmq_close(router); /* the connection breaks with our reader still stalled */
    zmq_sleep(1);      /* ten pings fall due on the broken connection */
    int got = 0, timeout = 1000;
    zmq_setsockopt(dealer, ZMQ_RCVTIMEO, &timeout, sizeof timeout);
    while (zmq_recv(dealer, big, sizeof big, 0) == (int)sizeof big)
        got++;
    FC_CHECK(got == S_MSGS);
    zmq_close(dealer);
    zmq_ctx_term(ctx);
}

/* A bound socket tuned as the broker's, whose peer pings (agents and relays do): the peer
   sends many requests and a PING in one burst, and its connection is reset while the
   requests wait unread; the owner then reads every request and lives on. With a receive
   HWM libzmq 4.3.4 stopped decoding at the HWM with the PING still in its buffer, saw the
   reset, and on the owner's read decoded the PING, whose PONG wrote to the broken
   connection: "Assertion failed: !_io_error (src/stream_engine_base.cpp:331)", the root's
   abort in the 3,000-agent benchmark. The peer is a raw TCP socket speaking ZMTP 3.0 NULL
   so the PING sits right behind the requests. */
static void s_test_bound_pinged_peer_breaks(void)
{
    enum { S_MSGS = 200 };
    void *ctx = zmq_ctx_new();
    void *router = zmq_socket(ctx, ZMQ_ROUTER);
    FC_CHECK(ctx && router);
    fc_sock_tune_bound(router);
    FC_CHECK(zmq_bind(router, "tcp://127.0.0.1:*") == 0);
    char ep[256];
    size_t sz = sizeof ep;
    FC_CHECK(zmq_getsockopt(router, ZMQ_LAST_ENDPOINT, ep, &sz) == 0);
    const char *colon = strrchr(ep, ':');
    FC_CHECK(colon);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(colon + 1))};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    FC_CHECK(fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0);
    struct timeval tv = {.tv_sec = 10}; /* a recv below fails instead of hanging */
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);

    uint8_t out[4096];
    size_t n = 0;
    /* Greeting: signature, version 3.0, mechanism NULL, as-server 0, filler. */
    out[n++] = 0xff;
    memset(out + n, 0, 8), n += 8;
    out[n++] = 0x7f, out[n++] = 3, out[n++] = 0;
    memset(out + n, 0, 52), memcpy(out + n, "NULL", 4), n += 52;
    /* READY with Socket-Type DEALER. */
    static const uint8_t ready[] = {0x04, 28,  5,   'R', 'E', 'A', 'D', 'Y', 11,  'S',
                                    'o',  'c', 'k', 'e', 't', '-', 'T', 'y', 'p', 'e',
                                    0,    0,   0,   6,   'D', 'E', 'A', 'L', 'E', 'R'};
    memcpy(out + n, ready, sizeof ready), n += sizeof ready;
    /* The requests only once the handshake is over (before, they would be read as
       handshake commands): after the router's greeting and READY. */
    FC_CHECK(send(fd, out, n, 0) == (ssize_t)n);
    size_t in = 0;
    uint8_t back[256];
    while (in < 64 + 2 + 28) {
        ssize_t r = recv(fd, back, sizeof back, 0);
        FC_CHECK(r > 0);
        in += (size_t)r;
    }
    n = 0;
    for (int i = 0; i < S_MSGS; i++)
        out[n++] = 0, out[n++] = 1, out[n++] = 'r';
    static const uint8_t ping[] = {0x04, 7, 4, 'P', 'I', 'N', 'G', 0, 0};
    memcpy(out + n, ping, sizeof ping), n += sizeof ping;
    FC_CHECK(n <= sizeof out && send(fd, out, n, 0) == (ssize_t)n);
    zmq_sleep(1); /* libzmq reads it all and decodes up to the HWM */
    struct linger lg = {.l_onoff = 1, .l_linger = 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    close(fd); /* a reset: the peer's process died */
    zmq_sleep(1);
    int got = 0, timeout = 1000;
    zmq_setsockopt(router, ZMQ_RCVTIMEO, &timeout, sizeof timeout);
    uint8_t buf[256];
    while (zmq_recv(router, buf, sizeof buf, 0) > 0) { /* the routing id */
        if (zmq_recv(router, buf, sizeof buf, 0) == 1)
            got++;
    }
    FC_CHECK(got == S_MSGS);
    zmq_close(router);
    zmq_ctx_term(ctx);
}

void fc_sockopt_test(bool verbose)
{
    (void)verbose;
    printf(" * fc_sockopt: ");
    /* Socket options apply to every socket type without complaint; check the important one. */
    void *ctx = zmq_ctx_new();
    FC_CHECK(ctx);
    int types[] = {ZMQ_ROUTER, ZMQ_DEALER, ZMQ_PUB, ZMQ_SUB};
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        void *s = zmq_socket(ctx, types[i]);
        FC_CHECK(s);
        fc_sock_tune(s);
        int64_t maxmsg = 0;
        size_t sz = sizeof maxmsg;
        FC_CHECK(zmq_getsockopt(s, ZMQ_MAXMSGSIZE, &maxmsg, &sz) == 0);
        FC_CHECK(maxmsg == FC_MAX_FRAME);
        int linger = -1;
        sz = sizeof linger;
        FC_CHECK(zmq_getsockopt(s, ZMQ_LINGER, &linger, &sz) == 0 && linger == 0);
        int rcvhwm = -1, ivl = -1;
        sz = sizeof rcvhwm;
        FC_CHECK(zmq_getsockopt(s, ZMQ_RCVHWM, &rcvhwm, &sz) == 0 && rcvhwm == 0);
        fc_sock_tune_bound(s);
        FC_CHECK(zmq_getsockopt(s, ZMQ_RCVHWM, &rcvhwm, &sz) == 0 && rcvhwm == 0);
        sz = sizeof ivl;
        FC_CHECK(zmq_getsockopt(s, ZMQ_HEARTBEAT_IVL, &ivl, &sz) == 0 && ivl == 0);
        zmq_close(s);
    }
    zmq_ctx_term(ctx);
    s_test_stalled_reader_breaks();
    s_test_bound_pinged_peer_breaks();
    printf("OK\n");
}
