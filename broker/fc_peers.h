/* fc_peers.h: watches the connections of a bound socket with libzmq's socket monitor: counts
   them (accepted and disconnected events, for the broker's metrics) and logs those refused
   in the handshake before any key was seen (a plain client on a CURVE socket, a failed CURVE
   handshake) with the peer's address (fc_accepts.h), at most once a minute per address and
   kind (fc_refusals.h). Refusals of a key (ZAP) are zauth's, logged by fc_refusals. */
#ifndef FC_PEERS_H
#define FC_PEERS_H

#include <czmq.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct fc_peers_t fc_peers_t;

/* Monitors sock (borrowed, a bound zsock_t; must outlive this), called name in log lines
   ("service", "announce"). NULL if the monitor cannot be set up. */
fc_peers_t *fc_peers_new(zsock_t *sock, const char *name);
/* Stops monitoring; nulls *self_p; safe on NULL. */
void fc_peers_destroy(fc_peers_t **self_p);
/* The socket events arrive on, for the owner's poller. */
zsock_t *fc_peers_sock(fc_peers_t *self);
/* Reads the events waiting (never blocks); logs refusals (zsys_warning). */
void fc_peers_handle(fc_peers_t *self);
/* Connections open now. */
uint64_t fc_peers_count(const fc_peers_t *self);
/* Connections refused in the handshake so far, logged or not. */
uint64_t fc_peers_refused(const fc_peers_t *self);

void fc_peers_test(bool verbose);

#endif
