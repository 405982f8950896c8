/* fc_broker_auth.h: the broker's transport security: its own CURVE cert, the zauth ZAP
   handler that admits enrolled keys, and the role of each key (fc_keyring). */
#ifndef FC_BROKER_AUTH_H
#define FC_BROKER_AUTH_H

#include "fc_key.h"
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
/* FC_ROLE_* bits of a peer's Z85 key (the "User-Id" zauth gave its connection). */
int fc_broker_auth_roles(fc_broker_auth_t *self, const char *z85);

/* A request the key's role may not send: logs it (unless quiet), records it in the audit log
   (at most FC_BROKER_AUTH_MAX_DENY_AUDITS a second: each is a durable write) and writes the
   text of the FC_EPERM reply into text. */
#define FC_BROKER_AUTH_MAX_DENY_AUDITS 10
void fc_broker_auth_deny(fc_broker_auth_t *self, fc_store_t *store, const char *key, int roles,
                         int msg_type, bool quiet, char *text, size_t textsize);

#endif
