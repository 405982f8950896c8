/* fc_trust_service.h: the broker's trusted-key list requests (TRUST_PUSH, GET_TRUST). */
#ifndef FC_TRUST_SERVICE_H
#define FC_TRUST_SERVICE_H

#include "fc_msg.h"
#include "fc_store.h"

/* Handles TRUST_PUSH or GET_TRUST m against store and returns the reply (caller owns; req
   not set): OK (serial), TRUST, or ERROR. An accepted push also returns the TRUST_ANNOUNCE
   to publish in *ann (caller owns), stamped with epoch; otherwise *ann is NULL. quiet: no
   log line for an accepted push. */
fc_msg_t *fc_trust_service_handle(fc_store_t *store, const fc_msg_t *m, uint64_t epoch, bool quiet,
                                  fc_msg_t **ann);

#endif
