/* fc_fetch.h: the agent's chunk fetcher: a byte window of GET_CHUNK requests in flight, a
   table of outstanding requests, re-sends on timeout and reconnect, verified writes. */
#ifndef FC_FETCH_H
#define FC_FETCH_H

#include "fc_install.h"
#include "fc_msg.h"
#include <stdbool.h>
#include <stdint.h>

/* Most requests in flight at once, whatever the window (many tiny files). */
#define FC_FETCH_SLOTS 1024
/* Request ids the fetcher hands out never have this bit; the agent's own requests do. */
#define FC_FETCH_CTL_BIT (1ull << 63)

typedef struct fc_fetch_t fc_fetch_t;

/* Fetches every chunk stage lacks. stage is borrowed and must outlive the fetcher; window is
   the most bytes requested and not yet answered (one request is always allowed). */
fc_fetch_t *fc_fetch_new(fc_stage_t *stage, uint64_t window);
/* Forgets the outstanding requests (their replies will be dropped). Safe on NULL. */
void fc_fetch_destroy(fc_fetch_t **self_p);

/* Sends GET_CHUNK requests on sock (a DEALER, raw libzmq handle) until the window is full.
   Returns how many were sent. Does nothing while paused. */
size_t fc_fetch_pump(fc_fetch_t *self, void *sock, double now);
/* True if req is one of this fetcher's outstanding requests. */
bool fc_fetch_owns(const fc_fetch_t *self, uint64_t req);
/* fc_fetch_on_chunk's answer when the chunk went to a worker: its outcome comes later from
   fc_fetch_collect. */
#define FC_FETCH_PENDING (-2)

/* Handles a CHUNK reply (msg borrowed; its data frame may be taken: msg->data is then NULL).
   Returns 0 if the chunk was written (or was not needed any more), FC_FETCH_PENDING if a
   worker is hashing and writing it, -1 if the reply matches no outstanding request
   (dropped), FC_EHASH if the data did not verify (already re-requested), or the write error
   (FC_ENOSPC, FC_EIO: the request is parked and re-sent after retry_s, and new requests
   pause). A chunk counts (is journaled, its request freed) only once written. */
int fc_fetch_on_chunk(fc_fetch_t *self, fc_msg_t *msg, void *sock, double now, double retry_s);
/* The workers' pipes (raw libzmq handles, up to max into socks; returns how many): when one
   is readable, call fc_fetch_collect. */
size_t fc_fetch_pipes(const fc_fetch_t *self, void **socks, size_t max);
/* Takes one chunk a worker has finished: journals it if it was written. Returns what
   fc_fetch_on_chunk would have (0, FC_EHASH, FC_ENOSPC, FC_EIO...), or -1 if none was
   ready. Call it again until -1. */
int fc_fetch_collect(fc_fetch_t *self, void *sock, double now, double retry_s);
/* Handles an ERROR reply to one of its requests: re-sends it after retry_s. Returns true if
   the request was ours. */
bool fc_fetch_on_error(fc_fetch_t *self, const fc_msg_t *msg, double retry_s, double now);
/* Re-sends (with the same id) requests unanswered for 5 s when the link went quiet or later
   requests were answered first (at the latest after 60 s: a slow, moving link is waited
   for), and parked ones whose time has come (new id). Returns how many were re-sent. */
size_t fc_fetch_expire(fc_fetch_t *self, void *sock, double now);
/* Re-sends every outstanding request at once (after a reconnect). Returns how many. */
size_t fc_fetch_resend_all(fc_fetch_t *self, void *sock, double now);

/* Re-sends every outstanding request last sent before `before` (not parked ones): called
   when the answer to a request sent at `before` arrives, since the broker answers in order,
   so anything older still outstanding was lost with a connection. Returns how many. */
size_t fc_fetch_resend_before(fc_fetch_t *self, void *sock, double before, double now);

/* Requests outstanding, and their bytes. */
size_t fc_fetch_inflight(const fc_fetch_t *self);
uint64_t fc_fetch_inflight_bytes(const fc_fetch_t *self);
/* True once every chunk is verified in the stage. */
bool fc_fetch_done(fc_fetch_t *self);
/* True while new requests are held back after a write failure. */
bool fc_fetch_paused(const fc_fetch_t *self, double now);
/* Counters since creation. */
uint64_t fc_fetch_retried(const fc_fetch_t *self);
uint64_t fc_fetch_hash_errors(const fc_fetch_t *self);
/* The last chunk whose content came back not matching its hash (not a misaddressed reply):
   true and *index set if there was one. */
bool fc_fetch_last_bad(const fc_fetch_t *self, uint64_t *index);

#endif
