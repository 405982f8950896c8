/* fc_keyring.h: which role each enrolled CURVE key has (DATA/keys/agents, publishers and
   relays), re-read when those directories change, and what each role may ask. */
#ifndef FC_KEYRING_H
#define FC_KEYRING_H

#include "fc_role.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A key's roles are a set of fc_role_t, each value a bit of its own (fc_role.h): an OR of
   FC_ROLE_AGENT and FC_ROLE_PUBLISHER, FC_ROLE_NONE (0) for none. A publisher may also do
   everything an agent may. */
#define FC_ROLE_ALL (FC_ROLE_AGENT | FC_ROLE_PUBLISHER | FC_ROLE_RELAY)

/* The two directories are looked at (stat) at most this often, and re-read only when one
   of them changed: a copied-in or removed cert counts within about a second. */
#define FC_KEYRING_CHECK_MS 1000

typedef struct fc_keyring_t fc_keyring_t;

/* Reads keys_dir/agents and keys_dir/publishers (created 0750 if missing): every regular
   file not ending in "_secret" that holds a CURVE public key (a CZMQ cert) enrols that key.
   Files that are not certs are skipped. NULL if the directories cannot be created. */
fc_keyring_t *fc_keyring_new(const char *keys_dir);
void fc_keyring_destroy(fc_keyring_t **self_p);
/* The roles (FC_ROLE_* bits) of a Z85 public key, as of the last re-read; FC_ROLE_NONE for a
   key in neither directory, NULL or "". May re-read the directories (see above). */
int fc_keyring_roles(fc_keyring_t *self, const char *z85);
/* Re-reads now if a directory changed (force: in any case). */
void fc_keyring_refresh(fc_keyring_t *self, bool force);
/* How many re-reads so far found an enrolled key gone, or with a role fewer: a change
   tells the broker to make every connection authenticate again. */
uint64_t fc_keyring_revocations(const fc_keyring_t *self);
/* Keys currently enrolled (both directories). */
size_t fc_keyring_size(const fc_keyring_t *self);
/* How many times the directories were read so far: a change means the key sets may differ. */
uint64_t fc_keyring_scans(const fc_keyring_t *self);
/* The Z85 keys holding role (an FC_ROLE_* bit) as of the last re-read, sorted ascending (byte
   order): a new array of *n new strings, all the caller's to free (NULL when *n is 0). */
char **fc_keyring_keys(const fc_keyring_t *self, int role, size_t *n);

/* Whether a peer with these roles may send a request of this fc_msg_type_t. Deny by default:
   agents get an allow-list of read and report types; RELAY_KEYS needs the relay role (a
   publisher key alone may not send it); everything else, unknown types included, needs the
   publisher role. */
bool fc_keyring_allows(int roles, int msg_type);
/* The most capable role of the set: "publisher", "relay", "agent" or "none". */
const char *fc_keyring_role_name(int roles);

void fc_keyring_test(bool verbose);

#endif
