/* fc_hook.h: runs an operator's hook command (/bin/sh -c) with extra environment and waits. */
#ifndef FC_HOOK_H
#define FC_HOOK_H

#include <stddef.h>

typedef struct {
    const char *name;
    const char *value;
} fc_hook_env_t;

/* Runs cmd with /bin/sh -c in dir (NULL: the current dir), stdin from /dev/null, stdout and
   stderr inherited, with the caller's environment plus env[0..n) (replacing variables of the
   same name), and waits for it. Returns 0 if cmd is NULL or empty or exited 0; otherwise the
   exit status (1..255), 128+signal if it was killed, or -1 if it could not be started.
   127 means the shell or the directory was unusable. */
int fc_hook_run(const char *cmd, const char *dir, const fc_hook_env_t *env, size_t n);
/* Like fc_hook_run, with input[0..len) on the command's stdin (input NULL: /dev/null).
   input is borrowed for the duration of the call. */
int fc_hook_run_input(const char *cmd, const char *dir, const fc_hook_env_t *env, size_t n,
                      const void *input, size_t len);

#endif
