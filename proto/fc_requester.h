/* fc_requester.h: the non-blocking requester every client uses over its DEALER: a pending
   table by request id, re-send deadlines, the flush after a reconnect, replies matched to
   their requests. It never waits: it plugs into the caller's poller (zloop, zpoller,
   zmq_poll) through its two sockets, its next deadline and its handlers. */
#ifndef FC_REQUESTER_H
#define FC_REQUESTER_H

#include "fc_curve.h"
#include "fc_link.h"
#include "fc_msg.h"
#include <stdbool.h>
#include <stdint.h>

typedef struct fc_requester_t fc_requester_t;

/* How the DEALER is made. All fields may be zero. */
typedef struct {
    /* A request unanswered this long is re-sent (0: 3000). */
    int resend_ms;
    /* CURVE client settings (read here, the caller keeps them); NULL: a plain connection. */
    const fc_curve_t *curve;
    /* ZMQ_IMMEDIATE: nothing is queued for a connection that is not up; a send that finds
       none fails and the request waits for the flush after the next connect. */
    bool immediate;
    /* Bits set in every request id this requester makes. A received message whose id
       lacks them is not ours (another sender on the same socket, such as the agent's chunk
       fetcher): it is handed over as FC_REQUESTER_OTHER, untouched. 0: every id is ours. */
    uint64_t tag;
    /* With a list of brokers: the current one is lost when the link has not been up for this
       long (0: 2000 ms), and the next is tried (fc_requester_new). */
    int move_ms;
} fc_requester_opts_t;

/* Per-request options to fc_requester_send. NULL: the requester's defaults. */
typedef struct {
    /* Re-send after this long unanswered (0: the requester's resend_ms). -1: best effort:
       sent once, never re-sent or flushed, but its reply is still matched; if that one send
       fails it is not kept (fc_requester_pending tells). */
    int resend_ms;
    /* Forget the request after this long unanswered (0: never); fc_requester_tick
       reports it through fc_requester_expired. */
    int expire_ms;
    /* Expire after this many sends that went out (flushes count), once the re-send interval
       after the last has passed unanswered (0: no limit). */
    int max_sends;
    /* Flushed before every other request after a reconnect, and the flush waits until it
       goes through (the agent's HELLO: the broker must know us before anything else). */
    bool first;
} fc_requester_sendopts_t;

/* What fc_requester_recv handed over. */
typedef enum {
    FC_REQUESTER_NONE = 0, /* nothing more waiting on the socket */
    FC_REQUESTER_REPLY,    /* the reply to a pending request, now forgotten */
    FC_REQUESTER_OTHER,    /* a message whose id is not of this requester (opts.tag) */
} fc_requester_got_t;

/* What fc_requester_on_monitor saw. */
typedef enum {
    FC_REQUESTER_EV_NONE = 0,
    FC_REQUESTER_EV_CONNECTED,
    FC_REQUESTER_EV_DISCONNECTED,
} fc_requester_event_t;

/* Makes a DEALER (tuned with fc_sock_tune), watches it with a monitor started before the
   connect (so the first CONNECTED is seen too) and connects it to endpoint: one, or a list
   separated by commas (fc_brokers.h) of brokers serving the same data. With a list it is
   connected to one at a time, the first at start; when that one is lost (not up for
   opts.move_ms) fc_requester_tick moves it to the next (round robin) and everything
   pending goes there with the flush, as after any reconnect. opts: read
   here, NULL for defaults. Returns an owned requester, or NULL with *err (if not NULL) set
   to FC_EINVAL on a bad endpoint or FC_ENOMEM. */
fc_requester_t *fc_requester_new(const char *endpoint, const fc_requester_opts_t *opts, int *err);
/* Frees the requester, its sockets and every pending request; nulls *self_p. Safe on NULL.
   User pointers of pending requests are not touched: they stay the caller's. */
void fc_requester_destroy(fc_requester_t **self_p);

/* The DEALER to poll for input (borrowed, valid until destroy). Others may send on it too
   (with ids outside opts.tag); receive through fc_requester_recv only. */
zsock_t *fc_requester_sock(fc_requester_t *self);
/* The monitor's socket to poll for input (borrowed, valid until destroy); when readable,
   call fc_requester_on_monitor. */
zsock_t *fc_requester_monitor(fc_requester_t *self);
/* Adds (add true) or removes both sockets to poll, the DEALER and the monitor, to poller. */
void fc_requester_poll(fc_requester_t *self, zpoller_t *poller, bool add);

/* Sends *req_p (consumed, also on failure) with a fresh request id, which it returns, and
   keeps the encoded copy for re-sends until the reply is matched, the request is forgotten
   or it expires. user: the caller's, handed back with the reply (never freed here).
   opts: read here, NULL for defaults. Returns 0 if the message cannot be encoded. A send
   that finds no connection is not an error: it goes out with the next flush or re-send. */
uint64_t fc_requester_send(fc_requester_t *self, fc_msg_t **req_p, void *user,
                           const fc_requester_sendopts_t *opts);
/* Takes the next message waiting on the DEALER, never blocking. Replies to requests no
   longer pending (duplicates after a re-send, late replies to forgotten requests) and
   malformed frames are dropped and counted on the way. FC_REQUESTER_REPLY: *reply_p is
   the reply (caller owns), its request forgotten, *user_p the user pointer it was sent
   with. FC_REQUESTER_OTHER: *reply_p is a message not of this requester (caller owns),
   *user_p NULL. FC_REQUESTER_NONE: nothing (more) is waiting. Reads at most 1000 frames
   per call, so a flood cannot hold the caller's loop. */
fc_requester_got_t fc_requester_recv(fc_requester_t *self, fc_msg_t **reply_p, void **user_p);
/* Takes one event from the monitor: a drop marks every pending request for the flush
   (what was in flight on the lost connection will never be answered), and nothing is
   re-sent until a connection is back. Returns what it saw, for the caller's logs. */
fc_requester_event_t fc_requester_on_monitor(fc_requester_t *self);
/* Time work: re-sends every request whose deadline has passed, flushes everything pending
   once a connection is back after a drop (the `first` ones first), and forgets expired
   requests (see fc_requester_expired). Call when fc_requester_next_ms has run out, or
   more often. Returns true if a flush went out in this call. */
bool fc_requester_tick(fc_requester_t *self);
/* Milliseconds until the earliest thing fc_requester_tick has to do (0: now), -1 if
   nothing is pending and no move to another broker is due. Waiting for a new connection to
   take the flush counts as 10 ms. */
int64_t fc_requester_next_ms(const fc_requester_t *self);
/* After fc_requester_tick: takes one request that expired (its id in *req_p if not NULL),
   returning its user pointer, and true; false when none is left. */
bool fc_requester_expired(fc_requester_t *self, uint64_t *req_p, void **user_p);

/* Forgets a pending request (its reply, if any, will be dropped and counted as late).
   Returns its user pointer (still the caller's), NULL if it was not pending. */
void *fc_requester_forget(fc_requester_t *self, uint64_t req);
/* Forgets every pending request sent with this user pointer; returns how many. */
size_t fc_requester_forget_user(fc_requester_t *self, const void *user);
/* The oldest pending request sent with this user pointer, 0 if none. */
uint64_t fc_requester_oldest(const fc_requester_t *self, const void *user);
/* Pending requests sent with this user pointer (a caller that passes one pointer per kind of
   request asks "is a SYNC outstanding?" without keeping its id). */
size_t fc_requester_count(const fc_requester_t *self, const void *user);
/* When (zclock_mono ms) the request of the last reply fc_requester_recv matched was last
   transmitted, 0 if it never went out: what was sent before it on the same connection
   and is still unanswered was lost with an earlier one (replies come in order). */
int64_t fc_requester_reply_sent(const fc_requester_t *self);
/* True if req is pending. */
bool fc_requester_pending(const fc_requester_t *self, uint64_t req);
size_t fc_requester_outstanding(const fc_requester_t *self);
/* The last connection event: false after a drop until the next CONNECTED (and before the
   first one). */
bool fc_requester_connected(const fc_requester_t *self);
/* What the monitor's events say about the link (fc_link.h); *since_ms (if not NULL): when
   (zclock_mono ms) the current failing run began, 0 when the link is not failing. The
   monitor only reports when fc_requester_on_monitor is called. */
fc_link_state_t fc_requester_link(const fc_requester_t *self, int64_t *since_ms);
/* A handshake with the broker succeeded at least once. */
bool fc_requester_ever_up(const fc_requester_t *self);
/* Whether pending requests wait for a connection to take them (after a drop, or a send
   that found no connection). */
bool fc_requester_flush_pending(const fc_requester_t *self);

/* Counters. */
/* Re-sends (timer or flush) of requests that had gone out before. */
uint64_t fc_requester_retries(const fc_requester_t *self);
uint64_t fc_requester_disconnects(const fc_requester_t *self); /* drops the monitor saw */
uint64_t fc_requester_dropped(const fc_requester_t *self);     /* duplicates and late replies */
uint64_t fc_requester_malformed(const fc_requester_t *self);   /* frames that did not decode */
/* The broker endpoint connected to now (borrowed, valid until the next tick or destroy). */
const char *fc_requester_endpoint(const fc_requester_t *self);
/* Brokers in the list (1 for a single endpoint). */
size_t fc_requester_brokers(const fc_requester_t *self);
/* Moves to the next broker of the list so far: a caller logs each once by watching this. */
uint64_t fc_requester_moves(const fc_requester_t *self);

void fc_requester_test(bool verbose);
void fc_requester_move_test(bool verbose); /* fc_requester_test_move.c */

#endif
