/* fc_peers.h: counts the connections of a bound socket, from libzmq's socket monitor
   (accepted and disconnected events), for the broker's metrics. */
#ifndef FC_PEERS_H
#define FC_PEERS_H

#include <czmq.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct fc_peers_t fc_peers_t;

/* Monitors sock (borrowed, a bound zsock_t; must outlive this). NULL if the monitor cannot
   be set up. */
fc_peers_t *fc_peers_new(zsock_t *sock);
/* Stops monitoring; nulls *self_p; safe on NULL. */
void fc_peers_destroy(fc_peers_t **self_p);
/* The socket events arrive on, for the owner's poller. */
zsock_t *fc_peers_sock(fc_peers_t *self);
/* Reads the events waiting (never blocks). */
void fc_peers_handle(fc_peers_t *self);
/* Connections open now. */
uint64_t fc_peers_count(const fc_peers_t *self);

void fc_peers_test(bool verbose);

#endif
