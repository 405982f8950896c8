/* fc_broker_auth.h: the broker's transport security: its own CURVE cert, the zauth ZAP
   handler that admits enrolled keys, and the role of each key (fc_keyring). */
#ifndef FC_BROKER_AUTH_H
#define FC_BROKER_AUTH_H

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
/* FC_ROLE_* bits of a peer's Z85 key (the "User-Id" zauth gave its connection). */
int fc_broker_auth_roles(fc_broker_auth_t *self, const char *z85);

#endif
