/* fc_config_cmd.h: the CLI's runtime-configuration commands (`fleetcast config ...` and
   `fleetcast audit`), called by main.c once the options are parsed. */
#ifndef FC_CONFIG_CMD_H
#define FC_CONFIG_CMD_H

#include "fc_curve.h"
#include <stdbool.h>
#include <stdint.h>

/* The options the config commands use; strings are borrowed from argv. */
typedef struct {
    const char *broker;
    const fc_curve_t *curve; /* CURVE settings (NULL: --insecure); borrowed */
    int timeout_ms;
    bool json;
    const char *key;       /* --key: signing key file (commands that publish) */
    const char *scope;     /* --scope: global | group:NAME | agent:ID (NULL: global) */
    const char *message;   /* --message */
    const char *agent;     /* --agent ID: get/diff as that agent sees it */
    const char *group;     /* --group NAME: the agent's group (default: what it reported) */
    uint32_t canary;       /* --canary PERCENT (0: none) */
    uint32_t halt_percent; /* --halt-percent N (0: default 20) */
    bool summary;          /* --summary: config status as counts the broker made */
    bool all;              /* --all: audit lists the whole log */
} fc_config_cmd_options_t;

/* Runs `fleetcast config SUB ARGS...`: argv[0] is SUB. Returns the exit status: 0 done,
   1 failed (a message on stderr says why), 2 usage error. */
int fc_config_cmd_run(const fc_config_cmd_options_t *o, int argc, char **argv);
/* Runs `fleetcast audit` (no operands). Same exit statuses. */
int fc_audit_cmd_run(const fc_config_cmd_options_t *o, int argc, char **argv);

#endif
