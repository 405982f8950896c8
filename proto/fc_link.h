/* fc_link.h: what a client's connection to the broker is doing, told from libzmq's socket
   monitor events (nothing listening, our key refused, a CURVE/plain mismatch, the wrong
   broker key), and the one line that tells the operator what to do about it. */
#ifndef FC_LINK_H
#define FC_LINK_H

#include "fc_role.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* X(value, name): the only list of link states. */
#define FC_LINK_TABLE(X)                                                                           \
    X(FC_LINK_UNKNOWN, "unknown")         /* nothing decisive seen yet */                          \
    X(FC_LINK_UP, "up")                   /* the handshake succeeded */                            \
    X(FC_LINK_NO_LISTENER, "no-listener") /* TCP connect refused or timed out, retrying */         \
    X(FC_LINK_KEY_REFUSED, "key-refused") /* the broker's ZAP handler refused our key */           \
    X(FC_LINK_MECHANISM, "mechanism")     /* one side speaks CURVE, the other plain */             \
    X(FC_LINK_SERVER_KEY, "server-key")   /* the broker dropped our CURVE HELLO: wrong broker key */

#define FC_LINK_ENUM(value, name) value,
typedef enum { FC_LINK_TABLE(FC_LINK_ENUM) FC_LINK_END } fc_link_state_t;
#undef FC_LINK_ENUM

/* The state's name (static), "?" outside the table. */
const char *fc_link_name(fc_link_state_t link);
/* True for the states that mean no request can get through. */
bool fc_link_failing(fc_link_state_t link);
/* True for the failing states that are a configuration mistake, not a broker that is down:
   waiting longer will not help. */
bool fc_link_misconfigured(fc_link_state_t link);

/* The state after `link` given one zmonitor event (its name as CZMQ's zmonitor reports it,
   and its value: the ZAP status code or the protocol error). curve: the client uses CURVE.
   Events that tell nothing new (CONNECTED: only TCP is up; the handshake decides) leave
   the state as it is; DISCONNECTED from UP makes it UNKNOWN. */
fc_link_state_t fc_link_next(fc_link_state_t link, const char *event, int64_t value, bool curve);

/* One line (no newline) saying what is wrong with the link to endpoint and what to do;
   role: the key's role (how to enrol it), own_key: its Z85 public key (NULL: "KEY"),
   curve: this side uses CURVE. Returns buf; "" for the states that are not failing. */
const char *fc_link_advice(fc_link_state_t link, const char *endpoint, fc_role_t role,
                           const char *own_key, bool curve, char *buf, size_t size);

void fc_link_test(bool verbose);

#endif
