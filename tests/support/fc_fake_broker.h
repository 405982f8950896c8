/* fc_fake_broker.h: the one fake broker of the tests: a ROUTER and a PUB, default answers,
   and hooks for what each test fakes (the agent self-tests' brokers, fc_fakebeat's broker of
   false heartbeats, fleetcast-hostile's broker of garbage). Test support: never part of an
   installed library or program. */
#ifndef FC_FAKE_BROKER_H
#define FC_FAKE_BROKER_H

#include "fc_curve.h"
#include "fc_manifest.h"
#include "fc_msg.h"

#include <czmq.h>
#include <stdbool.h>

/* One fake broker: its epoch and announcement sequence, its sockets and ports, and the
   test's own state. */
typedef struct fc_fake_broker_t {
    uint64_t epoch;
    uint64_t seq;
    zsock_t *router;
    zsock_t *pub;
    int port;     /* the ROUTER's bound port (0 for an endpoint that is not TCP) */
    int pub_port; /* the PUB's, likewise */
    void *state;
} fc_fake_broker_t;

/* Answers request req (borrowed): a reply (the fake sets its req and sends it), or NULL for
   the default: WELCOME to HELLO (epoch, seq, the PUB port, heartbeat_ms), a SNAPSHOT without
   a release to SYNC, OK to anything else. *drop = true: no reply at all (lost on the way). */
typedef fc_msg_t *(fc_fake_serve_fn)(fc_fake_broker_t *fake, const fc_msg_t *req, bool *drop);
/* Instead of decoding and serve: handles one request as it came, answering on fake->router
   itself (with frames no codec would make). who is the peer's routing id, msg the frames
   after it; both borrowed. */
typedef void(fc_fake_raw_fn)(fc_fake_broker_t *fake, zframe_t *who, zmsg_t *msg);
/* Called every tick_ms, e.g. to publish heartbeats. */
typedef void(fc_fake_tick_fn)(fc_fake_broker_t *fake);
/* Handles pipe command name, its other frames still in cmd, answering on pipe itself;
   false if it does not know the command (the fake then just signals). */
typedef bool(fc_fake_command_fn)(fc_fake_broker_t *fake, const char *name, zmsg_t *cmd,
                                 zsock_t *pipe);

typedef struct {
    const char *service;     /* ROUTER endpoint; NULL: a free loopback port */
    const char *announce;    /* PUB endpoint; NULL: a free loopback port */
    const fc_curve_t *curve; /* CURVE server settings for both sockets; NULL: plain */
    bool tune;               /* fc_sock_tune both sockets, as programs do */
    uint64_t epoch;
    int heartbeat_ms;        /* in the default WELCOME; 0: 1000 */
    fc_fake_serve_fn *serve; /* NULL: the default answers only */
    fc_fake_raw_fn *raw;     /* set: every request goes here, not to serve */
    fc_fake_tick_fn *tick;   /* NULL: none */
    int tick_ms;
    fc_fake_command_fn *command; /* pipe commands besides BEAT and $TERM; NULL: none */
    void *state;                 /* the test's, borrowed */
} fc_fake_opts_t;

/* Binds, then serves until "$TERM" on pipe (if pipe), zsys_interrupted, or deadline (a
   zclock_mono time; 0: none). With a pipe, it first signals it and sends "ii" (service
   port, announce port); "BEAT" on the pipe publishes a heartbeat of epoch and seq. 0, or 1
   if it cannot bind (said on stderr; with a pipe, the ports sent are -1). */
int fc_fake_broker_serve(const fc_fake_opts_t *opts, zsock_t *pipe, int64_t deadline);

/* The body of the self-tests' fake broker actors: fc_fake_broker_serve on free loopback
   ports with serve, command and state, until "$TERM". */
void fc_fake_broker_run(zsock_t *pipe, uint64_t epoch, fc_fake_serve_fn *serve,
                        fc_fake_command_fn *command, void *state);

/* The reply a broker holding release m (borrowed; NULL: none) with its files under src gives
   GET_CHUNK req (borrowed): the CHUNK read at its offset, or ERROR FC_ENOTFOUND for a blob
   or range m does not have. corrupt: the data's first byte flipped, as a damaged copy would
   be. The caller owns the reply. */
fc_msg_t *fc_fake_chunk_reply(const fc_manifest_t *m, const char *src, const fc_msg_t *req,
                              bool corrupt);

#endif
