/* fc_rollout_service.h: the broker's release rollout requests (ROLLOUT_PLAN, ROLLOUT_STATUS,
   ROLLOUT_PROMOTE, ROLLOUT_PAUSE, ROLLOUT_RESUME) and the stepping of rollouts as reports
   arrive and time passes: a new wave is announced so its agents sync. */
#ifndef FC_ROLLOUT_SERVICE_H
#define FC_ROLLOUT_SERVICE_H

#include "fc_msg.h"
#include "fc_store.h"

typedef struct fc_rollout_service_t fc_rollout_service_t;

/* store is borrowed and must outlive the service. quiet: no log lines. */
fc_rollout_service_t *fc_rollout_service_new(fc_store_t *store, bool quiet);
void fc_rollout_service_destroy(fc_rollout_service_t **self_p);

/* Answers a rollout request m from the connection with CURVE key key ("" insecure; audited
   as who). Returns the reply (caller's; OK, ROLLOUT_STATUS_REPLY or ERROR); *announce gets an
   ANNOUNCE to publish when a wave was offered (promote), else NULL. */
fc_msg_t *fc_rollout_service_handle(fc_rollout_service_t *self, const fc_msg_t *m, const char *key,
                                    uint64_t epoch, fc_msg_t **announce);

/* An agent reported (already stored): records its outcome for the rollout it was offered;
   the next fc_rollout_service_step looks at its channel. */
void fc_rollout_service_on_report(fc_rollout_service_t *self, const fc_agent_status_t *status);

/* Steps every rollout under way (all: every_beat, else only after a report), publishing on
   pub an ANNOUNCE for each new wave. Returns the number published; *changed gets the number
   of steps taken (a wave offered, a halt, a rollout done), announced or not. */
size_t fc_rollout_service_step(fc_rollout_service_t *self, uint64_t epoch, void *pub,
                               bool every_beat, size_t *changed);

#endif
