/* fc_relayed.h: what a broker does with what a relay forwards from its agents: a batch of
   their REPORTs and CONFIG_ACKs (RELAY_REPORTS), a restart-slot request (RELAY_SLOT). */
#ifndef FC_RELAYED_H
#define FC_RELAYED_H

#include "fc_config_service.h"
#include "fc_msg.h"
#include "fc_relay_up.h"
#include "fc_rollout_service.h"
#include "fc_store.h"

typedef struct {
    fc_store_t *store;
    fc_config_service_t *config;
    fc_rollout_service_t *rollout;
    fc_relay_up_t *up; /* this broker is itself a relay: what it takes goes further up */
    uint64_t epoch;
    bool quiet;
} fc_relayed_t;

/* Applies each item of m (each an encoded REPORT or CONFIG_ACK) as that agent's own request
   would be, records m's `via` as the relay the agent is behind, and queues it further up
   when ctx->up. An item that does not decode, is of another type, names an agent bound
   here to an agent key of its own, or that the store refuses, is skipped (logged); the
   others stand. OK (serial = items taken), or ERROR FC_EINVAL for a via that is not a name. */
fc_msg_t *fc_relayed_reports(const fc_relayed_t *ctx, const fc_msg_t *m);
/* Decides m (a RELAY_SLOT) as RESTART_SLOT for its agent: OK with flag (granted), or ERROR
   (FC_EPERM for an agent bound here to a key of its own). *announce as
   fc_config_service_handle. */
fc_msg_t *fc_relayed_slot(const fc_relayed_t *ctx, const fc_msg_t *m, fc_msg_t **announce);

void fc_relayed_test(bool verbose);

#endif
