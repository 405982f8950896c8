/* fc_store_listen.h: hears the commits other brokers make on a shared PostgreSQL store
   (LISTEN/NOTIFY), so this broker announces them at once rather than at its next heartbeat. */
#ifndef FC_STORE_LISTEN_H
#define FC_STORE_LISTEN_H

#include <czmq.h>
#include <stdbool.h>

/* The channel every store on PostgreSQL notifies when it takes a sequence number
   (fc_store_seq_take), delivered by the database only if the transaction commits. */
#define FC_STORE_CHANNEL "fleetcast"

typedef struct fc_store_listen_t fc_store_listen_t;

/* Starts a thread with its own connection to where (copied) doing LISTEN FC_STORE_CHANNEL.
   CZMQ's poller cannot watch the connection's socket, so the thread does, and turns each
   batch of notifications into one message on the socket fc_store_listen_handle reads. When
   the connection is lost it connects again (backing off up to 5 s) and, once back, signals
   as if notified: what was committed meanwhile is read again. quiet: no log lines.
   NULL if where is not PostgreSQL or the thread cannot start. */
fc_store_listen_t *fc_store_listen_new(const char *where, bool quiet);
/* Stops the thread and closes its connection; nulls *self_p; safe on NULL. */
void fc_store_listen_destroy(fc_store_listen_t **self_p);
/* What to add to the owner's zpoller. */
void *fc_store_listen_sock(fc_store_listen_t *self);
/* Whether which (from zpoller_wait) was this listener's socket: then its message is read and
   the owner should read the store again (fc_store_seq_reload). Never blocks otherwise. */
bool fc_store_listen_handle(fc_store_listen_t *self, void *which);
/* How many times the thread connected (1 after the first LISTEN; more after losses). */
int fc_store_listen_connects(fc_store_listen_t *self);

void fc_store_listen_test(bool verbose);

#endif
