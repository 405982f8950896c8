/* fc_hook.c: runs an operator's hook command (/bin/sh -c) with extra environment and waits,
   up to a time limit. */
#include "fc_hook.h"
#include "fc_clock.h"

#include <czmq.h>

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

/* Builds environ minus the names in env, plus env: malloc'd array of malloc'd strings
   (the inherited ones borrowed), so the child needs no allocation after fork. */
static char **s_build_env(const fc_hook_env_t *env, size_t n, char ***owned_p)
{
    size_t nenv = 0;
    while (environ && environ[nenv])
        nenv++;
    char **out = calloc(nenv + n + 1, sizeof *out);
    char **owned = calloc(n + 1, sizeof *owned);
    if (!out || !owned) {
        free(out);
        free(owned);
        return NULL;
    }
    size_t used = 0;
    for (size_t i = 0; i < nenv; i++) {
        bool replaced = false;
        for (size_t k = 0; k < n && !replaced; k++) {
            size_t len = strlen(env[k].name);
            replaced = strncmp(environ[i], env[k].name, len) == 0 && environ[i][len] == '=';
        }
        if (!replaced)
            out[used++] = environ[i];
    }
    for (size_t k = 0; k < n; k++) {
        const char *value = env[k].value ? env[k].value : "";
        size_t len = strlen(env[k].name) + strlen(value) + 2;
        owned[k] = malloc(len);
        if (!owned[k]) {
            for (size_t j = 0; j < k; j++)
                free(owned[j]);
            free(owned);
            free(out);
            return NULL;
        }
        snprintf(owned[k], len, "%s=%s", env[k].name, value);
        out[used++] = owned[k];
    }
    *owned_p = owned;
    return out;
}

/* The input goes through an unlinked temporary file, not a pipe: a hook that never reads its
   stdin cannot block the agent, whatever the size of the input. */
static int s_input_fd(const void *input, size_t len)
{
    if (!input)
        return open("/dev/null", O_RDONLY | O_CLOEXEC);
    FILE *tmp = tmpfile();
    if (!tmp)
        return -1;
    int fd = -1;
    if (fwrite(input, 1, len, tmp) == len && fflush(tmp) == 0 && fseek(tmp, 0, SEEK_SET) == 0)
        fd = fcntl(fileno(tmp), F_DUPFD_CLOEXEC, 0);
    fclose(tmp);
    return fd;
}

/* Sleeps *nap seconds (never past deadline), then doubles *nap up to 50 ms: a short hook is
   noticed within milliseconds of its exit, and a long one costs 20 wake-ups a second. */
static void s_nap(double *nap, double deadline)
{
    double left = deadline - fc_now();
    double secs = left < *nap ? left : *nap;
    if (secs > 0) {
        struct timespec ts = {(time_t)secs, (long)((secs - (double)(time_t)secs) * 1e9)};
        nanosleep(&ts, NULL); /* an early wake-up (a signal) only means one more check */
    }
    *nap = *nap * 2 < 0.05 ? *nap * 2 : 0.05;
}

/* Waits for pid until timeout seconds have passed (0: for ever): 1 with *status once it
   exited (reaped), 0 if it still runs at the limit, -1 on error. When the agent is told to
   stop (SIGINT/SIGTERM: zsys_interrupted), the hook's group gets SIGTERM once: a terminal's
   Ctrl-C reached hooks before they had a group of their own, and an agent shutting down
   must not wait the whole limit for a hook that would end when asked. */
static int s_wait(pid_t pid, int *status, double timeout)
{
    double deadline = timeout > 0 ? fc_now() + timeout : HUGE_VAL, nap = 0.001;
    bool passed_on = false;
    while (true) {
        pid_t r = waitpid(pid, status, WNOHANG);
        if (r == pid)
            return 1;
        if (r < 0 && errno != EINTR)
            return -1;
        if (r == 0) {
            if (zsys_interrupted && !passed_on) {
                kill(-pid, SIGTERM);
                passed_on = true;
            }
            if (fc_now() >= deadline)
                return 0;
            s_nap(&nap, deadline);
        }
    }
}

/* Stops a hook that ran out of time, with everything it started in its process group:
   SIGTERM, then SIGKILL once FC_HOOK_KILL_AFTER has passed, unless the whole group is gone
   by then; the hook itself is reaped either way. */
static void s_stop(pid_t pid)
{
    kill(-pid, SIGTERM);
    double deadline = fc_now() + FC_HOOK_KILL_AFTER, nap = 0.001;
    bool reaped = false;
    while (true) {
        /* Our children in the group: the hook, and its orphans when this process is their
           reaper (pid 1 of a container). Until the hook is reaped the group cannot be seen
           to empty (its zombie is a member); after that, its number is not reused while
           anything of the group is left, so signalling it cannot hit a stranger. */
        pid_t r;
        while ((r = waitpid(-pid, NULL, WNOHANG)) > 0)
            reaped = reaped || r == pid;
        if (reaped && kill(-pid, 0) != 0)
            return;
        if (fc_now() >= deadline)
            break;
        s_nap(&nap, deadline);
    }
    kill(-pid, SIGKILL);
    if (!reaped) {
        kill(pid, SIGKILL); /* in case it left its group */
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
            ;
    }
    /* SIGKILL is sent, not done: give the group up to a second to be gone, so that whatever
       runs next (a restart of the application) does not meet it. */
    deadline = fc_now() + 1.0;
    nap = 0.001;
    while (true) {
        while (waitpid(-pid, NULL, WNOHANG) > 0)
            ;
        if (kill(-pid, 0) != 0 || fc_now() >= deadline)
            return;
        s_nap(&nap, deadline);
    }
}

int fc_hook_run_timed(const char *cmd, const char *dir, const fc_hook_env_t *env, size_t n,
                      const void *input, size_t len, double timeout)
{
    if (!cmd || !*cmd)
        return 0;
    char **owned = NULL;
    char **envp = s_build_env(env, n, &owned);
    if (!envp)
        return -1;
    int input_fd = s_input_fd(input, len);
    char *const argv[] = {"sh", "-c", (char *)cmd, NULL};
    /* Every signal blocked across the fork: one sent to the new group before the child has
       put its dispositions back (a SIGTERM passed on by s_wait) must not run the agent's
       own handler in the child and be lost; it waits, and acts by default once unblocked. */
    sigset_t all, saved;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &saved);
    pid_t pid = input_fd >= 0 ? fork() : -1;
    if (pid == 0) {
        /* Child: only async-signal-safe calls until exec (the agent has threads). Reset
           what the agent may have changed: every signal's disposition (its handlers and
           ignored signals), then its signal mask. A group of its own, so that a timeout
           stops whatever the hook started too. */
        setpgid(0, 0);
        struct sigaction dfl;
        memset(&dfl, 0, sizeof dfl);
        dfl.sa_handler = SIG_DFL;
        for (int sig = 1; sig < NSIG; sig++)
            sigaction(sig, &dfl, NULL); /* SIGKILL, SIGSTOP and the rest: EINVAL, harmless */
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        if ((dir && chdir(dir) != 0) || dup2(input_fd, STDIN_FILENO) < 0)
            _exit(127);
        execve("/bin/sh", argv, envp);
        _exit(127);
    }
    pthread_sigmask(SIG_SETMASK, &saved, NULL);
    /* Here too, so the group exists before we may signal it, whichever runs first
       (EACCES once the child has exec'd: it has done it itself then). */
    if (pid > 0)
        setpgid(pid, pid);
    if (input_fd >= 0)
        close(input_fd);
    for (size_t k = 0; k < n; k++)
        free(owned[k]);
    free(owned);
    free(envp);
    if (pid < 0)
        return -1;
    int status = 0;
    int waited = s_wait(pid, &status, timeout > 0 ? timeout : 0);
    if (waited == 0) {
        s_stop(pid);
        return FC_HOOK_TIMED_OUT;
    }
    if (waited < 0)
        return -1;
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
    return -1;
}

int fc_hook_run(const char *cmd, const char *dir, const fc_hook_env_t *env, size_t n)
{
    return fc_hook_run_timed(cmd, dir, env, n, NULL, 0, 0);
}

int fc_hook_run_input(const char *cmd, const char *dir, const fc_hook_env_t *env, size_t n,
                      const void *input, size_t len)
{
    return fc_hook_run_timed(cmd, dir, env, n, input, len, 0);
}

const char *fc_hook_status(char *buf, size_t size, int status, double timeout)
{
    if (status == FC_HOOK_TIMED_OUT)
        snprintf(buf, size, "timed out after %.10g s", timeout);
    else if (status < 0)
        snprintf(buf, size, "could not be started");
    else if (status > 128)
        snprintf(buf, size, "killed by signal %d", status - 128);
    else
        snprintf(buf, size, "exit %d", status);
    return buf;
}
