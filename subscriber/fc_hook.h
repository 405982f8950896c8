/* fc_hook.h: runs an operator's hook command (/bin/sh -c) with extra environment and waits,
   up to a time limit. */
#ifndef FC_HOOK_H
#define FC_HOOK_H

#include <stddef.h>

typedef struct {
    const char *name;
    const char *value;
} fc_hook_env_t;

/* fc_hook_run_timed's status for a command still running at its time limit. */
#define FC_HOOK_TIMED_OUT (-2)
/* A timed-out command's process group gets SIGTERM, and SIGKILL this many seconds later if
   any of it is still there. */
#define FC_HOOK_KILL_AFTER 5.0

/* Runs cmd with /bin/sh -c in dir (NULL: the current dir), in a process group of its own,
   with input[0..len) on its stdin (input NULL: /dev/null), stdout and stderr inherited, with
   the caller's environment plus env[0..n) (replacing variables of the same name), and waits
   for it, at most timeout seconds (0: no limit). Returns 0 if cmd is NULL or empty or exited
   0; otherwise the exit status (1..255), 128+signal if it was killed, -1 if it could not be
   started, or FC_HOOK_TIMED_OUT if it was still running at the limit: then its process
   group was sent SIGTERM, then SIGKILL (see FC_HOOK_KILL_AFTER), and it was reaped before
   this returns. Should the process be told to stop meanwhile (zsys_interrupted: SIGINT or
   SIGTERM under CZMQ's handler), the command's group gets SIGTERM once and the wait goes
   on, within the same limit. 127 means the shell or the directory was unusable. Processes the
   command leaves behind when it exits in time are left alone (a hook may start the application).
   input and env are borrowed for the duration of the call. */
int fc_hook_run_timed(const char *cmd, const char *dir, const fc_hook_env_t *env, size_t n,
                      const void *input, size_t len, double timeout);
/* fc_hook_run_timed without a time limit, and without input. */
int fc_hook_run(const char *cmd, const char *dir, const fc_hook_env_t *env, size_t n);
/* fc_hook_run_timed without a time limit. */
int fc_hook_run_input(const char *cmd, const char *dir, const fc_hook_env_t *env, size_t n,
                      const void *input, size_t len);
/* A status of the functions above for people, into buf (size bytes; returns buf): "exit 3",
   "killed by signal 9", "could not be started", or "timed out after 600 s" (timeout: the
   limit it ran with). */
const char *fc_hook_status(char *buf, size_t size, int status, double timeout);

#endif
