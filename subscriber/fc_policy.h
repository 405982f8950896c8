/* fc_policy.h: the agent's install policy: what to do with the channel's latest release,
   decided from plain inputs by a pure function (no I/O, no agent state), so every rule is
   tested from a table. The release follower applies the decision (fc_follower.c). Not public. */
#ifndef FC_POLICY_H
#define FC_POLICY_H

#include "fc_agent.h"
#include "fc_manifest.h"
#include <stdbool.h>
#include <stdint.h>

/* Everything the decision depends on. Pointers are borrowed for the call only. */
typedef struct {
    bool none;  /* the channel has no release (the SNAPSHOT was empty) */
    bool known; /* the manifest is the target being fetched, or (daemon) the last one judged
                   not worth acting on: m is not parsed and not looked at */
    const fc_manifest_t *m; /* the signed manifest, verified against trust; NULL: it did not */
    int parse_err;          /* why it did not verify (fc_error_t), when m is NULL */
    uint32_t format;        /* with FC_EFORMAT: the manifest format it needs */
    /* The agent. */
    const char *channel; /* ours */
    const char *product; /* --product; NULL: any */
    bool check_only;     /* --check: report, never install */
    fc_agent_policy_t policy;
    /* The install. */
    uint64_t installed_serial;     /* 0: nothing installed */
    const char *installed_version; /* "" if none */
    bool failed_before;            /* m's serial failed its health check here before */
    /* A release being fetched (the target). */
    bool fetching;
    uint64_t target_serial;
} fc_policy_input_t;

typedef enum {
    FC_POLICY_IGNORE,        /* nothing changes: keep going with what we have */
    FC_POLICY_NONE,          /* the channel has no release */
    FC_POLICY_REJECT,        /* not ours, not trusted or older: see reason */
    FC_POLICY_UP_TO_DATE,    /* m is the installed release */
    FC_POLICY_FAILED_BEFORE, /* m failed its health check here: not retried */
    FC_POLICY_AVAILABLE,     /* --check: m is newer and installable */
    FC_POLICY_HOLD,          /* m is newer, but the auto-update policy holds it back */
    FC_POLICY_INSTALL        /* fetch and install m */
} fc_policy_action_t;

typedef enum {
    FC_POLICY_REASON_NONE,
    FC_POLICY_REASON_UNVERIFIED, /* m did not parse or verify: parse_err says why */
    FC_POLICY_REASON_CHANNEL,    /* m is for another channel */
    FC_POLICY_REASON_PRODUCT,    /* m is for another product than --product */
    FC_POLICY_REASON_OLDER       /* m's serial is below the installed one */
} fc_policy_reason_t;

typedef struct {
    fc_policy_action_t action;
    fc_policy_reason_t reason; /* FC_POLICY_REJECT only */
    int exit_code;  /* FC_AGENT_EXIT_* a one-shot run ends with (not for IGNORE, INSTALL) */
    int error;      /* fc_error_t recorded in the result, 0: none (ditto) */
    bool remember;  /* a daemon does not judge this manifest again */
    bool available; /* the result's update_available (unchanged for IGNORE, UNVERIFIED,
                       CHANNEL, PRODUCT) */
    bool shown;     /* m is ours and newer than the target: the result shows it as available */
    bool replaces_target; /* the target being fetched is dropped for m */
} fc_policy_decision_t;

/* Decides what to do with a release. Pure: same inputs, same decision. */
fc_policy_decision_t fc_policy_decide(const fc_policy_input_t *in);
/* The action's name, for logs and tests ("install", "reject", ...). */
const char *fc_policy_action_name(fc_policy_action_t action);

void fc_policy_test(bool verbose);

#endif
