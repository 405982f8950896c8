/* fc_client.h: the blocking requester over DEALER (a thin wrapper over fc_requester: request
   ids, many requests in flight, re-sends on timeout and on reconnect). Used by the publisher
   and tools that wait for their replies; an event loop uses fc_requester itself. */
#ifndef FC_CLIENT_H
#define FC_CLIENT_H

#include "fc_curve.h"
#include "fc_msg.h"
#include "fc_role.h"
#include <stdbool.h>
#include <stdint.h>

typedef struct fc_client_t fc_client_t;

/* Connects a DEALER to endpoint (tuned with fc_sock_tune) and watches it with a monitor,
   so requests outstanding when a connection drops are re-sent as soon as it is back.
   resend_ms: a request unanswered that long is re-sent. curve: the CURVE client settings
   (own cert and broker key; read here, the caller keeps it), NULL for a plain connection
   (a broker started with --insecure). endpoint may list several brokers serving the same
   data (fc_brokers.h): one that does not answer is left for the next (fc_requester_new).
   NULL with *err on a bad endpoint. */
fc_client_t *fc_client_new(const char *endpoint, int resend_ms, const fc_curve_t *curve, int *err);
void fc_client_destroy(fc_client_t **self_p);

/* The role of the client's key, for the advice on enrolling it (default: publisher). */
void fc_client_set_role(fc_client_t *self, fc_role_t role);
/* When a wait ended without a reply: true if the link to the broker is failing, with one
   line in buf saying why and what to do (fc_link_advice); false (buf "") when the link
   looks fine and the broker just did not answer. */
bool fc_client_why(const fc_client_t *self, char *buf, size_t size);

/* Sends *req_p (consumed) with a fresh request id, which it returns; a copy is kept for
   re-sends until the reply arrives. Returns 0 if the message could not be encoded. */
uint64_t fc_client_send(fc_client_t *self, fc_msg_t **req_p);
/* Waits up to timeout_ms for the reply to any outstanding request (re-sending as needed).
   Replies to requests no longer outstanding (duplicates after a re-send) and malformed
   frames are dropped. Returns the reply (caller owns; reply->req names its request) or
   NULL on timeout or interrupt, and early when waiting cannot help: the broker refused our
   key, the broker key or the CURVE/plain choice is wrong, or nothing has listened at the
   endpoint for 3 s and nothing ever did (fc_client_why tells which). */
fc_msg_t *fc_client_recv(fc_client_t *self, int timeout_ms);
/* Sends and waits for that request's reply; replies to other requests are dropped.
   NULL on timeout. */
fc_msg_t *fc_client_call(fc_client_t *self, fc_msg_t **req_p, int timeout_ms);
/* As fc_client_call (takes *req_p), and for a STATUS, CONFIG_STATUS, CONFIG_AGENTS or LIST (and an
   AUDIT with a limit) every page of the list: the request asks pages of req->limit (0: FC_MAX_LIST)
   entries, and the reply returned (the caller's) holds the agents (LIST: releases, AUDIT: entries)
   of all of them, with the first page's other fields. The first ERROR, an unexpected reply or a
   timeout of any page is returned instead (NULL: timeout or out of memory). reply->more stays true
   only if the broker said more follow yet listed none (a broker bug: the list is cut and the caller
   must say so). */
fc_msg_t *fc_client_call_pages(fc_client_t *self, fc_msg_t **req_p, int timeout_ms);
/* Forgets an outstanding request (its reply, if any, will be dropped). */
void fc_client_forget(fc_client_t *self, uint64_t req);
size_t fc_client_outstanding(const fc_client_t *self);
/* Requests re-sent so far (timeouts and reconnects). */
uint64_t fc_client_retries(const fc_client_t *self);
/* Connection drops seen so far. */
uint64_t fc_client_disconnects(const fc_client_t *self);

void fc_client_test(bool verbose);

#endif
