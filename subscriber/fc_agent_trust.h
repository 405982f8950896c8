/* fc_agent_trust.h: the agent's trusted publisher keys (class fc_agent_trust): the --trust
   keys, superseded by a signed trusted-key list from the broker (key rotation), kept in
   STATE/trust.list. No sockets: the engine sends the GET_TRUST it makes and hands it the
   replies. Not public. */
#ifndef FC_AGENT_TRUST_H
#define FC_AGENT_TRUST_H

#include "fc_agent.h"
#include "fc_key.h"
#include "fc_msg.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct fc_agent_trust_t fc_agent_trust_t;

/* The keys in force at start: keys (the embedder's, copied) or, if NULL, those of trust_file,
   superseded by STATE/trust.list if its signature verifies. state_dir is copied (and made if
   missing). log (may be NULL) gets a line about each list refused or unreadable, and with
   verbose each refusal of GET_TRUST; log_arg is passed back. NULL with *err set (the trust
   file's FC_EIO or FC_EPROTO, FC_ENOMEM). */
fc_agent_trust_t *fc_agent_trust_new(const fc_trust_t *keys, const char *trust_file,
                                     const char *state_dir, bool verbose, fc_agent_log_fn *log,
                                     void *log_arg, int *err);
/* Frees; the keys (fc_agent_trust_keys) go with it. Safe on NULL. */
void fc_agent_trust_destroy(fc_agent_trust_t **self_p);

/* The keys in force, owned by self: the same object for its whole life (a rotation changes
   it in place), so borrowers (the install layer, reconf) always verify with the newest. */
const fc_trust_t *fc_agent_trust_keys(const fc_agent_trust_t *self);
/* The trusted-key list in force, 0: none yet (the --trust keys). */
uint64_t fc_agent_trust_serial(const fc_agent_trust_t *self);

/* A GET_TRUST for a list newer than the one in force (the caller's to send and destroy), or
   NULL if the broker refused them this epoch (a broker that predates key rotation). */
fc_msg_t *fc_agent_trust_request(const fc_agent_trust_t *self);
/* A reply to GET_TRUST (msg borrowed): a TRUST list signed by a key trusted now, with a
   higher serial, is stored and put in force (true: the keys rotated); anything else is
   refused (logged) and the keys stay. */
bool fc_agent_trust_on_reply(fc_agent_trust_t *self, const fc_msg_t *msg);
/* Reads the --trust file again (SIGHUP) and puts its keys in force, unless a signed
   trusted-key list is in force (it supersedes the file) or the keys are an embedder's.
   Each outcome is logged. fc_error_t: the file's FC_EIO or FC_EPROTO (the keys in force
   stay). */
int fc_agent_trust_reload(fc_agent_trust_t *self);
/* A new epoch: a broker that refused GET_TRUST may have been upgraded. */
void fc_agent_trust_reset(fc_agent_trust_t *self);

void fc_agent_trust_test(bool verbose);

#endif
