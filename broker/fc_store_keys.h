/* fc_store_keys.h: a broker on a shared store mirrors the database's enrolled keys (table
   enrolled_keys, proto/fc_db_keys.h) into its own keys/agents|publishers|relays/, where its
   keyring and ZAP handler read them: an enrolment made once reaches every broker. */
#ifndef FC_STORE_KEYS_H
#define FC_STORE_KEYS_H

#include "fc_store.h"
#include <stdbool.h>
#include <stddef.h>

/* The record of what each role's mirror wrote, in the data dir (outside keys/, which zauth
   reads whole), as fc_relay_keys keeps it: "store-<role>-keys". */
#define FC_STORE_KEYS_STATE "store-%s-keys"

typedef struct fc_store_keys_t fc_store_keys_t;

/* A private part of fc_store: makes the tables (inside the store's init transaction). */
int fc_store_keys_init(fc_store_t *store);

/* Mirrors for data_dir/keys/<role>/; NULL if a directory cannot be created. */
fc_store_keys_t *fc_store_keys_new(const char *data_dir, bool quiet);
void fc_store_keys_destroy(fc_store_keys_t **self_p);
/* Reads the table's serial; when it moved since the last mirror (or force), reads every row
   and makes each keys/<role>/ say what the database says: keys enrolled there are written
   (unless a file already holds them), keys this mirror wrote and the database no longer
   lists are removed and kept out; files put there by hand stay. Cheap when nothing moved
   (one row read), so it runs at each heartbeat and on each notification. A failed read
   changes nothing. FC_OK or an fc_error_t. *changed (may be NULL): whether it mirrored. */
int fc_store_keys_sync(fc_store_keys_t *self, fc_store_t *store, bool force, bool *changed);
/* Removes revoked keys copied back by hand (fc_relay_keys_enforce, at most once a second).
   Returns how many files were removed. */
size_t fc_store_keys_enforce(fc_store_keys_t *self);

void fc_store_keys_test(bool verbose);

#endif
