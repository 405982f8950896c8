/* fc_release_status.h: `fleetcast release status`, `release promote`, `release pause` and
   `release resume`: each channel's current release and its rollout in waves. */
#ifndef FC_RELEASE_STATUS_H
#define FC_RELEASE_STATUS_H

#include "fc_curve.h"
#include "fc_json.h"
#include "fc_msg.h"
#include <stdbool.h>
#include <stdio.h>

typedef struct {
    const char *broker;
    int timeout_ms;
    bool json;
    const fc_curve_t *curve; /* transport security (fc_curve.h); NULL: insecure */
} fc_release_status_options_t;

/* Exit status of release status when a rollout shown is halted, for scripts. */
#define FC_RELEASE_EXIT_HALTED 3

/* release status [--channel C]: one block (or JSON object) per channel. Returns 0,
   FC_RELEASE_EXIT_HALTED when a rollout shown is halted, 1 on failure. channel NULL: all. */
int fc_release_status_run(const fc_release_status_options_t *o, const char *channel);
/* release promote|pause|resume --channel C (action is the word). 0, 1 on failure (the
   broker's reason printed), 2 for a usage error. */
int fc_release_control_run(const fc_release_status_options_t *o, const char *action,
                           const char *channel);
/* The lines release status prints for r, also after a push with waves. */
void fc_release_rollout_print(FILE *out, const fc_rollout_info_t *r);

#endif
