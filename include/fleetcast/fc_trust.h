/* fc_trust.h: the list of publisher keys an agent trusts, for embedders that hand the engine
   a list (fc_agent_config_t.trust) instead of a file (public; proto/fc_key.h builds on it). */
#ifndef FC_TRUST_H
#define FC_TRUST_H

#include "fc_export.h"
#include <stdint.h>

/* As proto/fc_limits.h (a different value there is a redefinition error where both meet). */
#define FC_PUBKEY_LEN 32 /* Ed25519 */

typedef struct fc_trust_t fc_trust_t;

/* Loads a trust file (one or more "fleetcast-signing-public-v1 <hex>" lines); NULL with *err
   set (an fc_error_t, named by fc_agent_error_name) if unreadable, malformed or empty. */
FC_EXPORT fc_trust_t *fc_trust_load(const char *path, int *err);
/* Empty list (for tests and embedders), and adding a key to it. */
FC_EXPORT fc_trust_t *fc_trust_new(void);
FC_EXPORT void fc_trust_add(fc_trust_t *self, const uint8_t pk[FC_PUBKEY_LEN]);
FC_EXPORT void fc_trust_destroy(fc_trust_t **self_p);
/* Loads a file holding exactly one public key line (signing.pub format) into pk. Returns
   fc_error_t (FC_EIO unreadable, FC_EPROTO malformed or more than one key). */
FC_EXPORT int fc_pubkey_load(uint8_t pk[FC_PUBKEY_LEN], const char *path);

#endif
