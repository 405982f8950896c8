/* fc_install_commit.c: the commit of a complete stage (fc_install_commit, fc_install.h):
   verify, changing hook, swap of `current`, changed hook, health check, then the state
   recorded or the swap undone. A private part of fc_install.c: it works on the install's
   insides (fc_install_priv.h) and on the stage's, and neither of them calls into it. */
#include "fc_array.h"
#include "fc_error.h"
#include "fc_file.h"
#include "fc_hook.h"
#include "fc_install_priv.h"
#include "fc_text.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int s_run_hook(const fc_install_t *self, const char *cmd, double timeout,
                      const fc_manifest_t *m, const char *previous, const char *release_dir)
{
    char serial[24];
    snprintf(serial, sizeof serial, "%" PRIu64, m->serial);
    fc_hook_env_t env[] = {
        {"FLEETCAST_VERSION", m->version},      {"FLEETCAST_PREVIOUS_VERSION", previous},
        {"FLEETCAST_RELEASE_DIR", release_dir}, {"FLEETCAST_INSTALL_DIR", self->dir},
        {"FLEETCAST_CHANNEL", m->channel},      {"FLEETCAST_SERIAL", serial},
    };
    return fc_hook_run_timed(cmd, self->dir, env, sizeof env / sizeof env[0], NULL, 0, timeout);
}

/* Removes download state and staging trees of serials up to this one, release trees other
   than keep1/keep2, and swap leftovers. Best effort: a leftover only costs disk space. */
static void s_cleanup(const fc_install_t *self, uint64_t serial, const char *keep1,
                      const char *keep2)
{
    DIR *d = opendir(self->state);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (strncmp(e->d_name, "download-", 9) == 0 &&
            strtoull(e->d_name + 9, NULL, 10) <= serial) {
            char *p = fc_install_strf("%s/%s", self->state, e->d_name);
            if (p)
                unlink(p);
            free(p);
        }
    }
    if (d)
        closedir(d);
    /* Names first, removals after: the directory is not changed while it is read. Its own
       open of releases/ (a dup would share, and leave at the end, relfd's read offset). */
    int fd = openat(self->relfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    d = fd >= 0 ? fdopendir(fd) : NULL;
    if (!d && fd >= 0)
        close(fd);
    char **names = NULL;
    size_t n = 0, cap = 0;
    while (d && (e = readdir(d))) {
        const char *name = e->d_name;
        uint64_t s;
        if (!strcmp(name, ".") || !strcmp(name, "..") || !strcmp(name, keep1) ||
            !strcmp(name, keep2))
            continue;
        if (fc_install_is_staging(name, &s) && s > serial)
            continue; /* a newer release being downloaded */
        char **more = fc_grow(names, n + 1, &cap, sizeof *names);
        if (!more)
            break;
        names = more;
        if ((names[n] = strdup(name)))
            n++;
    }
    if (d)
        closedir(d);
    for (size_t i = 0; i < n; i++) {
        fc_install_remove_at(self->relfd, names[i]);
        free(names[i]);
    }
    free(names);
}

/* A failed release is not retried: its download state goes with its tree. */
static void s_remove_download(const fc_install_t *self, uint64_t serial)
{
    const char *exts[] = {"manifest", "journal"};
    for (int i = 0; i < 2; i++) {
        char *p = fc_install_strf("%s/download-%" PRIu64 ".%s", self->state, serial, exts[i]);
        if (p)
            unlink(p);
        free(p);
    }
}

/* One commit: what it works on and every path it names, built once and released in one
   place (s_commit_end). */
typedef struct {
    fc_install_t *inst;
    fc_stage_t *st;         /* consumed */
    const fc_manifest_t *m; /* the stage's */
    const fc_hooks_t *hooks;
    char *msg;
    size_t msgsize;
    fc_manifest_t *nm;  /* our own copy of m, kept as the installed one after the stage is gone */
    const char *oldver; /* the installed version, "" if none (borrowed until the record) */
    char previous[PATH_MAX];       /* what current named before ("releases/NAME", "" if none) */
    const char *prev_name;         /* NAME in it, or NULL */
    bool named;                    /* the paths below are set */
    char name[FC_MAX_NAME + 24];   /* the release's tree under releases/: <version>@<serial> */
    char target[FC_MAX_NAME + 40]; /* releases/<name>: what current points at after the swap */
    char dest[PATH_MAX];           /* <install>/releases/<name>, told to the hooks */
    /* The new state, written aside (.next) before the swap and renamed in place after the
       health check. */
    char inext[PATH_MAX], pnext[PATH_MAX], rnext[PATH_MAX];
    char ipath[PATH_MAX], ppath[PATH_MAX], rpath[PATH_MAX];
} s_commit_t;

/* printf into a fixed buffer: false if it did not fit. */
static bool __attribute__((format(printf, 3, 4)))
s_pathf(char *buf, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, size, fmt, ap);
    va_end(ap);
    return n >= 0 && (size_t)n < size;
}

/* Verify: above the installed serial; every chunk staged and every file hash that of its
   chunks (fc_stage_check_all); the manifest parsed again as our own copy; where current
   points now. fc_error_t, msg set. */
static int s_commit_verify(s_commit_t *c)
{
    const fc_manifest_t *m = c->m;
    if (fc_install_check(c->inst, m) != 0) {
        fc_textf(c->msg, c->msgsize, "serial %" PRIu64 " is not above the installed %" PRIu64,
                 m->serial, fc_install_serial(c->inst));
        return FC_ESERIAL;
    }
    int rc = fc_stage_check_all(c->st, c->msg, c->msgsize);
    if (rc != 0)
        return rc;
    int perr = 0;
    c->nm = fc_objects_load(c->inst->objects, c->st->bytes, c->st->len, c->inst->trust, NULL, 0,
                            NULL, NULL, &perr);
    if (!c->nm || fc_install_read_current(c->inst, c->previous, sizeof c->previous) != 0) {
        rc = c->nm ? FC_EIO : perr;
        fc_textf(c->msg, c->msgsize, "cannot commit %s: %s", m->version, fc_strerror(rc));
        return rc;
    }
    /* releases/<version>@<serial>: never the live tree's name, whatever the versions. */
    c->prev_name = fc_install_target_name(c->previous);
    return 0;
}

/* The changing hook, before anything changes: a refusal postpones (the stage is kept). */
static int s_commit_changing(s_commit_t *c)
{
    int hrc =
        s_run_hook(c->inst, c->hooks->changing, c->hooks->timeout, c->m, c->oldver, c->st->dir);
    if (hrc == 0)
        return 0;
    char status[48];
    fc_textf(c->msg, c->msgsize, "changing hook refused %s (%s): postponed", c->m->version,
             fc_hook_status(status, sizeof status, hrc, c->hooks->timeout));
    return FC_EREFUSED;
}

/* Names the release's tree and the state files. false if a path does not fit. */
static bool s_commit_paths(s_commit_t *c)
{
    const fc_install_t *self = c->inst;
    const char *state = self->state;
    c->named = true;
    return s_pathf(c->inext, sizeof c->inext, "%s/installed.manifest.next", state) &&
           s_pathf(c->pnext, sizeof c->pnext, "%s/previous.manifest.next", state) &&
           s_pathf(c->rnext, sizeof c->rnext, "%s/installed.release.next", state) &&
           s_pathf(c->ipath, sizeof c->ipath, "%s/installed.manifest", state) &&
           s_pathf(c->ppath, sizeof c->ppath, "%s/previous.manifest", state) &&
           s_pathf(c->rpath, sizeof c->rpath, "%s/installed.release", state) &&
           s_pathf(c->name, sizeof c->name, "%s@%" PRIu64, c->m->version, c->m->serial) &&
           s_pathf(c->target, sizeof c->target, "releases/%s", c->name) &&
           s_pathf(c->dest, sizeof c->dest, "%s/releases/%s", self->dir, c->name);
}

/* Prepare: the new state written aside first, so a full disk stops the install here (stage
   intact) and the record after the health check is renames only; then the tree's final
   modes, and files and directories fsynced. fc_error_t. */
static int s_commit_prepare(s_commit_t *c)
{
    fc_install_t *self = c->inst;
    fc_stage_t *st = c->st;
    if (!s_commit_paths(c))
        return fc_errno_to_error(ENAMETOOLONG);
    if (fc_write_file_atomic(c->inext, st->bytes, st->len, 0600) != 0)
        return fc_errno_to_error(errno);
    if (self->installed_bytes &&
        fc_write_file_atomic(c->pnext, self->installed_bytes, self->installed_len, 0600) != 0)
        return fc_errno_to_error(errno);
    /* Modes are set only now: a refused stage keeps 0600 files it can resume writing. */
    int rc = fc_stage_finish_tree(st);
    if (rc != 0)
        return rc;
    if (c->prev_name && !strcmp(c->prev_name, c->name))
        return FC_EIO; /* current already names this serial's tree: never remove it */
    return fc_install_save_name(self, c->rnext, c->m->serial, c->name);
}

/* Swap: the stage becomes releases/<name> and current points at it; if current cannot be
   changed, the stage is put back for a retry. fc_error_t. */
static int s_commit_swap(s_commit_t *c)
{
    fc_install_t *self = c->inst;
    /* A tree left by an earlier attempt at this serial (a crash before the state commit). */
    if (fc_install_remove_at(self->relfd, c->name) != 0)
        return FC_EIO;
    if (renameat(self->relfd, c->st->name, self->relfd, c->name) != 0)
        return fc_errno_to_error(errno);
    fsync(self->relfd);
    int rc = fc_install_point_current(self, c->target);
    if (rc != 0)
        renameat(self->relfd, c->name, self->relfd, c->st->name);
    return rc;
}

/* Swap back, take the failed tree away, record the serial as failed and restart the
   application on the old release. */
static void s_commit_roll_back(s_commit_t *c, const char *what, int hrc)
{
    fc_install_t *self = c->inst;
    const fc_manifest_t *m = c->m;
    int brc = fc_install_point_current(self, c->previous);
    if (brc == 0)
        fc_install_remove_at(self->relfd, c->name); /* never the tree current points at */
    fc_install_save_failed(self, m->serial);
    s_remove_download(self, m->serial);
    if (self->installed && brc == 0) {
        char olddir[PATH_MAX];
        bool fits = c->previous[0] == '/'
                        ? s_pathf(olddir, sizeof olddir, "%s", c->previous)
                        : s_pathf(olddir, sizeof olddir, "%s/%s", self->dir, c->previous);
        s_run_hook(self, c->hooks->changed, c->hooks->timeout, self->installed, m->version,
                   fits ? olddir : "");
    }
    char status[48];
    fc_textf(c->msg, c->msgsize, "%s hook failed for %s (%s): %s %s", what, m->version,
             fc_hook_status(status, sizeof status, hrc, c->hooks->timeout),
             brc ? "ROLLBACK FAILED:" : "rolled back to", brc ? fc_strerror(brc) : c->oldver);
}

/* Health: the changed hook (restart the application), then the health check; either
   failing rolls back: FC_EUNHEALTHY. */
static int s_commit_health(s_commit_t *c)
{
    const fc_hooks_t *h = c->hooks;
    int hrc = s_run_hook(c->inst, h->changed, h->timeout, c->m, c->oldver, c->dest);
    const char *what = "changed";
    if (hrc == 0) {
        hrc = s_run_hook(c->inst, h->health, h->timeout, c->m, c->oldver, c->dest);
        what = "health";
    }
    if (hrc == 0)
        return 0;
    s_commit_roll_back(c, what, hrc);
    return FC_EUNHEALTHY;
}

/* Record: the state committed, previous first, so a crash in between leaves installed ==
   previous (harmless), never a lost installed manifest; the release adopted in memory even
   if the state could not be saved (it is live); older trees removed. fc_error_t. */
static int s_commit_record(s_commit_t *c)
{
    fc_install_t *self = c->inst;
    int rc = 0;
    if (self->installed_bytes ? rename(c->pnext, c->ppath) != 0
                              : (unlink(c->ppath) != 0 && errno != ENOENT))
        rc = fc_errno_to_error(errno);
    /* The tree's name before the manifest: a record for another serial than the installed
       manifest's is ignored at the next start, which then finds <version>@<serial>. */
    if (rc == 0 && rename(c->rnext, c->rpath) != 0)
        rc = fc_errno_to_error(errno);
    if (rc == 0 && (rename(c->inext, c->ipath) != 0 || fc_fsync_dir(self->state) != 0))
        rc = fc_errno_to_error(errno); /* the next start swaps back to the old release */
    if (rc == 0) { /* the objects of the installed and the previous release stay, no others */
        const uint8_t *keep[2] = {c->st->bytes, self->installed_bytes};
        const size_t lens[2] = {c->st->len, self->installed_len};
        fc_objects_keep_only(self->objects, keep, lens, 2);
    }
    fc_manifest_destroy(&self->installed);
    free(self->installed_bytes);
    self->installed = c->nm;
    self->installed_bytes = c->st->bytes;
    self->installed_len = c->st->len;
    c->nm = NULL;
    c->st->bytes = NULL;
    c->oldver = NULL; /* it was the old manifest's */
    free(self->name);
    self->name = strdup(c->name);
    s_cleanup(self, self->installed->serial, c->name, c->prev_name ? c->prev_name : "");
    fc_textf(c->msg, c->msgsize, "installed %s (serial %" PRIu64 ") in releases/%s%s",
             self->installed->version, self->installed->serial, c->name,
             rc ? " (state not saved)" : "");
    return rc;
}

/* Releases what the commit holds: .next files (gone already after a record, stale after a
   failure), our manifest copy, the stage. */
static void s_commit_end(s_commit_t *c)
{
    if (c->named) {
        unlink(c->inext);
        unlink(c->pnext);
        unlink(c->rnext);
    }
    fc_manifest_destroy(&c->nm);
    fc_stage_destroy(&c->st);
    free(c);
}

int fc_install_commit(fc_install_t *self, fc_stage_t **stage_p, const fc_hooks_t *hooks, char *msg,
                      size_t msgsize)
{
    static const fc_hooks_t no_hooks = {NULL, NULL, NULL, 0};
    fc_stage_t *st = stage_p ? *stage_p : NULL;
    if (stage_p)
        *stage_p = NULL;
    bool valid = self && st && st->inst == self;
    s_commit_t *c = valid ? calloc(1, sizeof *c) : NULL;
    if (!c) {
        fc_textf(msg, msgsize, "%s", valid ? "out of memory" : "invalid arguments");
        fc_stage_destroy(&st);
        return valid ? FC_ENOMEM : FC_EINVAL;
    }
    c->inst = self;
    c->st = st;
    c->m = st->m;
    c->hooks = hooks ? hooks : &no_hooks;
    c->msg = msg;
    c->msgsize = msgsize;
    c->oldver = fc_install_version(self);
    /* Chunks and file hashes verified -> changing hook -> state aside, modes, fsync -> swap ->
       changed hook -> health -> record, or swap back. The fsync comes after the changing hook
       because it goes with setting the final modes, which a refused stage must not have. */
    int rc = s_commit_verify(c);
    if (rc == 0)
        rc = s_commit_changing(c);
    if (rc == 0) {
        rc = s_commit_prepare(c);
        if (rc == 0)
            rc = s_commit_swap(c);
        if (rc != 0)
            fc_textf(msg, msgsize, "cannot install %s: %s", c->m->version, fc_strerror(rc));
    }
    if (rc == 0)
        rc = s_commit_health(c);
    if (rc == 0)
        rc = s_commit_record(c);
    s_commit_end(c);
    return rc;
}
