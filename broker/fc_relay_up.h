/* fc_relay_up.h: a relay's reports up: the REPORTs and CONFIG_ACKs its agents send, forwarded
   to the upstream in batches (RELAY_REPORTS), and their restart-slot requests one by one
   (RELAY_SLOT), over a connection of its own (docs/PROTOCOL.md 3.16, "Reports up"). */
#ifndef FC_RELAY_UP_H
#define FC_RELAY_UP_H

#include "fc_curve.h"
#include "fc_msg.h"
#include <czmq.h>
#include <stdbool.h>
#include <stdint.h>

/* Reports and acks waiting to go up, at most (the oldest are dropped past it, and said so);
   only an agent's latest report and one ack per agent and revision are kept, so this holds
   a fleet of this many agents through a long cut. */
#define FC_RELAY_UP_MAX_QUEUE 100000

typedef struct fc_relay_up_t fc_relay_up_t;

/* Answers an agent's RESTART_SLOT (or a downstream relay's RELAY_SLOT) with the upstream's
   reply (*reply_p, taken; its req already set to req). peer is borrowed. */
typedef void(fc_relay_up_answer_fn)(void *arg, zframe_t *peer, fc_msg_t **reply_p);

typedef struct {
    const char *upstream;    /* the upstream's service endpoint */
    const fc_curve_t *curve; /* client keys (read here); NULL: plain */
    const char *name;        /* this relay's name, the `via` its agents are listed with */
    size_t max_queue;        /* 0: FC_RELAY_UP_MAX_QUEUE */
    bool quiet;
    bool verbose;
    fc_relay_up_answer_fn *answer;
    void *arg;
} fc_relay_up_config_t;

/* Connects (a DEALER through fc_requester) and registers its sockets with poller (borrowed,
   must outlive it). NULL with *err set. */
fc_relay_up_t *fc_relay_up_new(const fc_relay_up_config_t *config, zpoller_t *poller, int *err);
/* Forgets the queue (the agents' next reports fill it again); nulls *self_p; safe on NULL. */
void fc_relay_up_destroy(fc_relay_up_t **self_p);

/* Queues m (a REPORT or CONFIG_ACK this relay stored; borrowed) to go up, named via (""
   for this relay's own agents, else the name a downstream relay gave). */
void fc_relay_up_queue(fc_relay_up_t *self, const char *via, const fc_msg_t *m);
/* Forwards m (a RESTART_SLOT, or a downstream relay's RELAY_SLOT; borrowed) as RELAY_SLOT;
   the upstream's answer goes to answer() with req. Unanswered within 10 s it is dropped:
   the asker re-sends its own request. */
void fc_relay_up_slot(fc_relay_up_t *self, const fc_msg_t *m, zframe_t *peer, uint64_t req);

/* Handles input on which if it is one of its sockets; returns whether it was. */
bool fc_relay_up_handle(fc_relay_up_t *self, void *which);
/* Time work (re-sends, the next batch); returns the most ms the caller may wait. */
int fc_relay_up_tick(fc_relay_up_t *self, int wait);

typedef struct {
    uint64_t queued;    /* reports and acks now waiting (in flight included) */
    uint64_t forwarded; /* taken by the upstream */
    uint64_t batches;   /* RELAY_REPORTS the upstream answered OK */
    uint64_t dropped;   /* lost to the queue bound or to the upstream's refusal */
    uint64_t slots;     /* RELAY_SLOT answered */
} fc_relay_up_stats_t;
void fc_relay_up_stats(const fc_relay_up_t *self, fc_relay_up_stats_t *stats);

#endif
