/* fc_trust_cmd.h: `fleetcast keys rotate` and `fleetcast keys trusted`: the signed trusted-key
   list agents follow (key rotation). */
#ifndef FC_TRUST_CMD_H
#define FC_TRUST_CMD_H

#include "fc_curve.h"
#include <stdbool.h>
#include <stdint.h>

typedef struct {
    const char *broker;
    int timeout_ms;
    bool json;
    const char *key;         /* rotate: the signing key of a currently trusted publisher */
    const char *trust;       /* rotate: the new keys, signing.pub lines */
    uint64_t serial;         /* rotate: the new list's serial; 0: the broker's latest + 1 */
    const fc_curve_t *curve; /* transport security (fc_curve.h); NULL: insecure */
} fc_trust_cmd_options_t;

/* argv[0] is the subcommand ("rotate" or "trusted"). Returns the exit status (0, 1, or 2 for
   a usage error); prints results on stdout and errors on stderr. */
int fc_trust_cmd_run(const fc_trust_cmd_options_t *o, int argc, char **argv);

#endif
