/* fc_keys_cmd.h: `fleetcast keys rotate` and `fleetcast keys trusted`: the signed trusted-key
   list agents follow (key rotation). */
#ifndef FC_KEYS_CMD_H
#define FC_KEYS_CMD_H

#include <stdbool.h>
#include <stdint.h>

typedef struct {
    const char *broker;
    int timeout_ms;
    bool json;
    const char *key;   /* rotate: the signing key of a currently trusted publisher */
    const char *trust; /* rotate: the new keys, signing.pub lines */
    uint64_t serial;   /* rotate: the new list's serial; 0: the broker's latest + 1 */
} fc_keys_cmd_options_t;

/* argv[0] is the subcommand ("rotate" or "trusted"). Returns the exit status (0, 1, or 2 for
   a usage error); prints results on stdout and errors on stderr. */
int fc_keys_cmd_run(const fc_keys_cmd_options_t *o, int argc, char **argv);

#endif
