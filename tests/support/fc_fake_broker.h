/* fc_fake_broker.h: the skeleton the agent's self-tests build their fake brokers on. Not
   public; only the self-tests use it. */
#ifndef FC_FAKE_BROKER_H
#define FC_FAKE_BROKER_H

#include "fc_msg.h"

#include <czmq.h>
#include <stdbool.h>

/* One fake broker: its epoch and announcement sequence, its PUB socket and port, and the
   test's own state. */
typedef struct fc_fake_broker_t {
    uint64_t epoch;
    uint64_t seq;
    zsock_t *pub;
    int pub_port;
    void *state;
} fc_fake_broker_t;

/* Answers request req (borrowed): a reply (the skeleton sets its req and sends it), or NULL
   for the skeleton's default: WELCOME to HELLO (epoch, seq, the PUB port, 1 s heartbeats),
   a SNAPSHOT without a release to SYNC, OK to anything else. *drop = true: no reply at all
   (lost on the way). */
typedef fc_msg_t *(fc_fake_serve_fn)(fc_fake_broker_t *fake, const fc_msg_t *req, bool *drop);
/* Handles pipe command name, its other frames still in cmd, answering on pipe itself;
   false if it does not know the command (the skeleton then just signals). */
typedef bool(fc_fake_command_fn)(fc_fake_broker_t *fake, const char *name, zmsg_t *cmd,
                                 zsock_t *pipe);

/* The body of a fake broker actor: binds a ROUTER and a PUB on free loopback ports, signals
   the pipe and sends it "ii" (service port, announce port), then serves requests with serve
   and pipe commands with command until "$TERM". "BEAT" (publish a heartbeat of epoch and
   seq) is the skeleton's own. state is the test's, borrowed. */
void fc_fake_broker_run(zsock_t *pipe, uint64_t epoch, fc_fake_serve_fn *serve,
                        fc_fake_command_fn *command, void *state);

#endif
