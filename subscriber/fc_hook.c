/* fc_hook.c: runs an operator's hook command (/bin/sh -c) with extra environment and waits. */
#include "fc_hook.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
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

int fc_hook_run(const char *cmd, const char *dir, const fc_hook_env_t *env, size_t n)
{
    return fc_hook_run_input(cmd, dir, env, n, NULL, 0);
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

int fc_hook_run_input(const char *cmd, const char *dir, const fc_hook_env_t *env, size_t n,
                      const void *input, size_t len)
{
    if (!cmd || !*cmd)
        return 0;
    char **owned = NULL;
    char **envp = s_build_env(env, n, &owned);
    if (!envp)
        return -1;
    int input_fd = s_input_fd(input, len);
    char *const argv[] = {"sh", "-c", (char *)cmd, NULL};
    pid_t pid = input_fd >= 0 ? fork() : -1;
    if (pid == 0) {
        /* Child: only async-signal-safe calls until exec (the agent has threads). Reset
           what the agent may have changed: its signal mask and ignored signals. */
        sigset_t all;
        sigemptyset(&all);
        sigprocmask(SIG_SETMASK, &all, NULL);
        struct sigaction dfl;
        memset(&dfl, 0, sizeof dfl);
        dfl.sa_handler = SIG_DFL;
        sigaction(SIGPIPE, &dfl, NULL);
        if ((dir && chdir(dir) != 0) || dup2(input_fd, STDIN_FILENO) < 0)
            _exit(127);
        execve("/bin/sh", argv, envp);
        _exit(127);
    }
    if (input_fd >= 0)
        close(input_fd);
    for (size_t k = 0; k < n; k++)
        free(owned[k]);
    free(owned);
    free(envp);
    if (pid < 0)
        return -1;
    int status;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR)
            return -1;
    }
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
    return -1;
}
