/* fc_release_cmd.h: `fleetcast release rollback | copy | prune | watch`: the operator side of
   release operations that need no tree (fc_release_ops.c) and of the directory watcher
   (fc_release_watch.c). */
#ifndef FC_RELEASE_CMD_H
#define FC_RELEASE_CMD_H

#include "fc_curve.h"
#include "fc_push.h"
#include <stdbool.h>
#include <stdint.h>

typedef struct {
    fc_push_options_t push; /* watch: every push option, passed through (dir, version unset) */
    const char *broker;
    const fc_curve_t *curve; /* transport security; NULL: insecure */
    bool json;
    const char *key;              /* signing key file */
    const char *trust;            /* rollback, copy: extra signers to accept (signing.pub lines) */
    const char *to;               /* rollback: the version; copy: the channel copied to */
    const char *from;             /* copy: the channel copied from */
    uint64_t keep;                /* prune; 0: not given */
    const char *version_template; /* watch: strftime template, UTC; NULL: %Y%m%d.%H%M%S */
    const char *version_from;     /* watch: the version is this file's first line */
    uint64_t debounce_ms;         /* watch: quiet time before a snapshot; 0: 2000 */
} fc_release_cmd_options_t;

/* sub is "rollback", "copy", "prune" or "watch"; arg the word after it (watch: DIR) or NULL.
   Returns the exit status (0, 1, or 2 for a usage error); results on stdout, errors on
   stderr. */
int fc_release_cmd_run(const fc_release_cmd_options_t *o, const char *sub, const char *arg);

/* release watch (fc_release_watch.c): returns the exit status, 0 after SIGTERM or SIGINT. */
int fc_release_watch_run(const fc_release_cmd_options_t *o, const char *dir);

#endif
