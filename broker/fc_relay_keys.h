/* fc_relay_keys.h: a relay's copy of its upstream's enrolled agent keys (RELAY_KEYS pages),
   written into its own keys/agents/ so its ZAP handler and keyring admit the same agents;
   keys the upstream withdrew are removed and kept out, even if copied in by hand. */
#ifndef FC_RELAY_KEYS_H
#define FC_RELAY_KEYS_H

#include "fc_msg.h"
#include <czmq.h>
#include <stdbool.h>
#include <stdint.h>

/* The relay's record of what it mirrored and what the upstream withdrew, in its data dir
   (outside keys/, which zauth reads whole): lines "serial HEX", "m Z85" (mirrored) and
   "r Z85" (withdrawn upstream: removed from keys/agents/ whenever it appears there). */
#define FC_RELAY_KEYS_STATE "relay-agent-keys"

typedef struct fc_relay_keys_t fc_relay_keys_t;

/* Reads data_dir/FC_RELAY_KEYS_STATE if there (a damaged one is logged and read as empty:
   the next RELAY_KEYS rebuilds it). NULL if keys/agents cannot be created. */
fc_relay_keys_t *fc_relay_keys_new(const char *data_dir, bool quiet);
/* The same mirror for any list of keys of one role, kept in data_dir/keys/role_dir/ with its
   record in data_dir/state_name (a shared store's broker: fc_store_keys.h). label, role and
   source name it in log lines ("store", "publisher", "in the database") and must outlive it. */
fc_relay_keys_t *fc_relay_keys_new_mirror(const char *data_dir, const char *role_dir,
                                          const char *state_name, const char *label,
                                          const char *role, const char *source, bool quiet);
void fc_relay_keys_destroy(fc_relay_keys_t **self_p);
/* The serial of the set applied last (0: none yet). */
uint64_t fc_relay_keys_serial(const fc_relay_keys_t *self);

typedef enum {
    FC_RELAY_KEYS_DONE,  /* the last page: the set is applied */
    FC_RELAY_KEYS_NEXT,  /* ask for the page after cursor */
    FC_RELAY_KEYS_AGAIN, /* the set changed between pages: ask from the first ("") */
    FC_RELAY_KEYS_BAD,   /* a page says more follow but lists none, or the walk passed
                            FC_RELAY_KEYS_MAX: nothing applied (logged), the walk ends */
} fc_relay_keys_step_t;
/* Most keys one walk takes (a million agents; the state file stays under 64 MiB): an
   upstream cannot make a relay hold an endless list. */
#define FC_RELAY_KEYS_MAX (1024u * 1024u)
/* Takes one RELAY_KEYS_REPLY page (borrowed) of the RELAY_KEYS sent with cursor first ("":
   a new walk). On the last page: every key is written to keys/agents/ (a public cert named
   by its hex, as `fleetcast keys add-agent` writes it) if no file there holds it yet, every
   key mirrored before and now missing is recorded as withdrawn and its files removed. cursor
   gets the next page's cursor. */
fc_relay_keys_step_t fc_relay_keys_page(fc_relay_keys_t *self, const char *first,
                                        const fc_msg_t *reply, char cursor[FC_MSG_KEY_Z85_LEN + 1]);
/* The whole list at once (keys: Z85 strings, borrowed; others are skipped), applied as the
   last page of a walk is: written, the mirrored keys now missing removed and kept out. */
void fc_relay_keys_set(fc_relay_keys_t *self, uint64_t serial, zlistx_t *keys);
/* Removes from keys/agents/ every file holding a withdrawn key, if the directory changed
   since the last look (a copy by hand): looked at most once a second. Returns how many. */
size_t fc_relay_keys_enforce(fc_relay_keys_t *self);

void fc_relay_keys_test(bool verbose);

#endif
