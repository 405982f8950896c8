/* fc_keys_cmd.h: `fleetcast keygen` and `fleetcast keys ...`, called by main.c. */
#ifndef FC_KEYS_CMD_H
#define FC_KEYS_CMD_H

#include <stdbool.h>

/* keygen --out DIR [--role publisher|agent|broker] (NULL role: publisher). Publisher:
   DIR/signing.key + signing.pub and DIR/publisher.cert(+_secret); agent: DIR/agent.cert(+
   _secret); broker: DIR/broker.cert(+_secret) with the timestamp key. Never overwrites a
   secret. Returns the exit status (0, 1 failed, 2 usage). */
int fc_keygen_cmd(const char *out, const char *role, bool json);
/* keys add-agent|add-publisher|add-relay KEY, keys revoke KEY, keys list; argv[0] is "keys".
   data is the broker's data dir (--data); store (--store, instead of data) the PostgreSQL
   database brokers share, whose enrolled_keys they mirror (proto/fc_db_keys.h). Returns the
   exit status. */
int fc_keys_cmd_run(const char *data, const char *store, bool json, int argc, char **argv);

#endif
