/* fc_broker_auth.h: the broker's transport security: its own CURVE cert, the zauth ZAP
   handler that admits enrolled keys, the role of each key (fc_keyring), and which agent ids
   an agent key may speak for. */
#ifndef FC_BROKER_AUTH_H
#define FC_BROKER_AUTH_H

#include "fc_key.h"
#include "fc_keyring.h"
#include "fc_msg.h"
#include "fc_store.h"
#include <stdbool.h>
#include <stddef.h>

typedef struct fc_broker_auth_t fc_broker_auth_t;

/* Loads data_dir/broker.cert_secret, starts zauth over data_dir/keys (CURVE; every cert
   file under it admits its key: agents/ and publishers/, created if missing) and reads the
   keyring. Start it before binding. NULL with *err and a one-line reason in text:
   FC_ENOTFOUND no broker cert (the text says how to make one), FC_EPROTO/FC_EINVAL a bad
   cert, FC_EINVAL another ZAP handler already runs in this process, FC_EIO otherwise. */
fc_broker_auth_t *fc_broker_auth_new(const char *data_dir, bool verbose, int *err, char *text,
                                     size_t textsize);
/* Stops zauth; safe on NULL. */
void fc_broker_auth_destroy(fc_broker_auth_t **self_p);
/* Makes sock (zsock_t) a CURVE server with the broker's cert, before it binds. */
void fc_broker_auth_apply(fc_broker_auth_t *self, void *sock);
/* The broker's timestamp signing key, derived from its CURVE secret (fc_curve_timestamp_key):
   agents holding its public cert (--broker-key) pin the public half. 0 or fc_error_t. */
int fc_broker_auth_timestamp_key(const fc_broker_auth_t *self, fc_signkey_t *out);
/* Whether the peer with Z85 key (the "User-Id" zauth gave its connection) may send request
   m (borrowed): its role must allow the type (fc_keyring_allows), and an agent key speaks
   only for the agent ids that belong to it (fc_store_agent_claim: the first key heard with
   an id holds it until revoked; publisher keys speak for any agent). FC_OK, or FC_EPERM with
   the reply's text in text: the refusal is logged (unless quiet) and recorded in the audit
   log as "denied" (at most FC_BROKER_AUTH_MAX_DENY_AUDITS a second per key, each being a
   durable write; the rest are counted, and fc_broker_auth_flush writes their number).
   Another error (the binding could not be written) also comes with text; the request must
   not run. */
#define FC_BROKER_AUTH_MAX_DENY_AUDITS 10
int fc_broker_auth_check(fc_broker_auth_t *self, fc_store_t *store, const char *key,
                         const fc_msg_t *m, bool quiet, char *text, size_t textsize);
/* Re-reads the key directories if they changed and says whether a key was revoked (gone,
   or a role fewer) since the last call: zauth refuses it on new connections, but libzmq
   keeps the ones it already admitted, so the broker re-binds its announce socket. */
bool fc_broker_auth_revoked(fc_broker_auth_t *self);
/* Writes one audit entry per key whose refusals of a past second went beyond the limit,
   with their number. The broker calls it every heartbeat. */
void fc_broker_auth_flush(fc_broker_auth_t *self, fc_store_t *store);
/* The roles of the enrolled keys (borrowed, lives as long as self): what RELAY_KEYS lists. */
fc_keyring_t *fc_broker_auth_keyring(fc_broker_auth_t *self);

#endif
