/* fc_state_lock.h: one agent per state directory: an flock(2) on the directory itself, held
   for the life of the process; a second agent names the holder's PID from /proc/locks.
   Nothing is written into the directory. Not public. */
#ifndef FC_STATE_LOCK_H
#define FC_STATE_LOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Creates state_dir (0700) if needed and takes its lock without waiting. Returns the lock's
   descriptor (close-on-exec, so hooks do not inherit it; keep it open while the agent
   runs), or -1 with a one-line reason in why: "... is in use by the agent with PID N"
   (*holder = N, or 0 if unknown), a state dir that is a symlink, or the system error. */
int fc_state_lock(const char *state_dir, pid_t *holder, char *why, size_t whysize);

void fc_state_lock_test(bool verbose);

#endif
