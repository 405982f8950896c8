/* fc_keyset.h: the agent keys a broker has enrolled, as relays read them (RELAY_KEYS): a
   sorted set with a serial, served in pages and announced on topic "K". */
#ifndef FC_KEYSET_H
#define FC_KEYSET_H

#include "fc_keyring.h"
#include "fc_msg.h"
#include <stdbool.h>
#include <stdint.h>

typedef struct fc_keyset_t fc_keyset_t;

fc_keyset_t *fc_keyset_new(void);
void fc_keyset_destroy(fc_keyset_t **self_p);
/* Takes the agent keys of keyring (borrowed) if it re-read its directories since the last
   call (fc_keyring_scans; the first call always). Returns whether the serial changed. */
bool fc_keyset_update(fc_keyset_t *self, fc_keyring_t *keyring);
/* The set's serial: the first 8 bytes (big-endian) of BLAKE2b-256 over the sorted keys, so
   it changes whenever a key is enrolled or revoked and is the same at every restart; never
   0 (a relay's "none yet"). Compared for equality only: it does not go up. */
uint64_t fc_keyset_serial(const fc_keyset_t *self);
size_t fc_keyset_size(const fc_keyset_t *self);
/* The serial of n sorted Z85 keys (borrowed), as above. */
uint64_t fc_keyset_serial_of(char *const *keys, size_t n);
/* The RELAY_KEYS_REPLY to a RELAY_KEYS with cursor: at most max (1 to FC_MAX_LIST) keys
   sorting after cursor ("" from the first), more set if any follow. The caller's. */
fc_msg_t *fc_keyset_page(const fc_keyset_t *self, const char *cursor, size_t max);
/* The body of topic "K": a RELAY_KEYS_REPLY with the serial and no keys. The caller's. */
fc_msg_t *fc_keyset_announce(const fc_keyset_t *self);

void fc_keyset_test(bool verbose);

#endif
