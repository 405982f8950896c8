/* fc_hostile.h: what the parts of fleetcast-hostile share: the one place it connects to a
   broker, and probing a broker with a hostile message. */
#ifndef FC_HOSTILE_H
#define FC_HOSTILE_H

#include "fc_curve.h"
#include "fc_msg.h"
#include <czmq.h>
#include <stdbool.h>
#include <stdint.h>

/* The request id hostile requests carry (0x4d), so an ERROR naming it is matched. */
#define FC_HOSTILE_REQ 77

/* What a probe may get back for its hostile message. */
typedef enum {
    FC_HOSTILE_ERROR_OR_DROP, /* garbage: an ERROR reply or nothing, never anything else */
    FC_HOSTILE_ERROR,         /* an ERROR with the given code */
    FC_HOSTILE_REPLY,         /* a reply of the given message type */
    FC_HOSTILE_DROP           /* nothing at all (e.g. a frame libzmq refuses) */
} fc_hostile_expect_t;

/* The broker under attack: its service endpoint and the CURVE settings to reach it (NULL
   for a broker started with --insecure). */
typedef struct {
    const char *endpoint;
    const fc_curve_t *curve;
    /* More client keys (--cert given again): each new connection takes the next of curve
       and these in turn, so that a barrage of malformed messages, counted per key by the
       broker, spreads over several keys. turn is the caller's counter. */
    const fc_curve_t *const *more;
    size_t nmore;
    size_t *turn;
} fc_hostile_target_t;

/* Connects a DEALER to the target's service endpoint, tuned like every fleetcast socket and
   with its CURVE settings. NULL if it cannot. */
zsock_t *fc_hostile_connect(const fc_hostile_target_t *target);
/* The same, then with a receive HWM of rcvhwm messages, a kernel receive buffer of rcvbuf
   bytes (0: the system's) and no ZMTP heartbeats of its own if !heartbeats: a peer that
   reads as little as it can. The only function that connects. */
zsock_t *fc_hostile_connect_tuned(const fc_hostile_target_t *target, int rcvhwm, int rcvbuf,
                                  bool heartbeats);

/* The one request-reply exchange of fleetcast-hostile: sends *msg_p (destroyed: encoded
   frames or raw bytes no encoder would make) once, never re-sent (a re-sent hostile frame
   would count twice against the key), on a fresh connection of the target's next key, and
   waits up to timeout_ms for the reply whose request id is req, which is the caller's;
   replies to other ids and undecodable ones are dropped. NULL with why set ("cannot
   connect", "no answer", "undecodable reply (...)" if that was the last thing heard) when
   none came. fc_client is not used: it sends only what it encodes itself, with its own
   request ids and re-sends, and over one key. */
fc_msg_t *fc_hostile_exchange(const fc_hostile_target_t *target, zmsg_t **msg_p, uint64_t req,
                              int timeout_ms, char *why, size_t whysize);
/* fc_hostile_exchange of *m_p (destroyed), encoded, and its own request id. */
fc_msg_t *fc_hostile_ask(const fc_hostile_target_t *target, fc_msg_t **m_p, int timeout_ms,
                         char *why, size_t whysize);

/* A publisher's HELLO with request id req, encoded: the request any serving broker answers. */
zmsg_t *fc_hostile_hello(uint64_t req);

/* Sends *msg_p (destroyed) on a fresh connection, then a proper HELLO; reports what came back
   for the hostile message and whether the broker still answered the HELLO (on a second fresh
   connection if fresh_check, for frames after which libzmq drops the connection). Prints one
   line. Returns 0 if the outcome is the expected one and the broker still serves, else 1. */
int fc_hostile_probe(const fc_hostile_target_t *target, const char *name, zmsg_t **msg_p,
                     fc_hostile_expect_t expect, int want, bool fresh_check);

/* The config modes (fc_hostile_config.c). */
int fc_hostile_config(const fc_hostile_target_t *target);
/* The as-agent mode (fc_hostile_agent.c): one request of TYPE (hello [CHANNEL], report
   [STATE], sync, ack REV, slot REV) naming agent id, saying it failed where it says
   anything; prints the answer ("ok", "ok granted", a reply type, or "error CODE (name):
   text"). 0 on an answer, 1 on none, -1 for an unknown TYPE or a missing REV. */
int fc_hostile_as_agent(const fc_hostile_target_t *target, const char *type, const char *id,
                        const char *arg);
/* curve: the fake broker's server settings (NULL: plain). */
int fc_hostile_fake_broker(const char *service, const char *announce, int seconds,
                           const fc_curve_t *curve);

#endif
