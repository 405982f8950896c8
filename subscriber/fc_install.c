/* fc_install.c: the agent's install tree: the installed release and its state files, and
   the commit of a staged release: atomic swap of `current`, hooks, health check, rollback. */
#define _GNU_SOURCE /* vasprintf */
#include "fc_error.h"
#include "fc_hash.h"
#include "fc_hook.h"
#include "fc_install_priv.h"
#include "fc_util.h"

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

/* The failed-serials list keeps only the most recent entries. */
#define S_MAX_FAILED 1024

char *fc_install_strf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *out = NULL;
    if (vasprintf(&out, fmt, ap) < 0)
        out = NULL;
    va_end(ap);
    return out;
}

/* ---------------------------------------------------------------------------------------- */
/* The install */

/* The target of <install>/current ("releases/NAME"), or "" if missing; 0 or -1. */
static int s_read_current(const fc_install_t *self, char *out, size_t size)
{
    char *cur = fc_install_strf("%s/current", self->dir);
    if (!cur)
        return -1;
    ssize_t n = readlink(cur, out, size - 1);
    int err = errno;
    free(cur);
    if (n < 0) {
        out[0] = '\0';
        return err == ENOENT ? 0 : -1;
    }
    if ((size_t)n >= size - 1)
        return -1;
    out[n] = '\0';
    return 0;
}

/* The release directory name inside a target "releases/NAME", or NULL. */
static const char *s_target_name(const char *target)
{
    if (strncmp(target, "releases/", 9) != 0 || !target[9] || strchr(target + 9, '/'))
        return NULL;
    return target + 9;
}

/* Points <install>/current at target atomically (symlink beside it, rename over it, fsync
   the directory), or removes it if target is "". Returns fc_error_t. */
static int s_point_current(const fc_install_t *self, const char *target)
{
    char *cur = fc_install_strf("%s/current", self->dir);
    char *tmp = fc_install_strf("%s/current.tmp-%ld", self->dir, (long)getpid());
    int rc = cur && tmp ? 0 : FC_ENOMEM;
    if (rc == 0 && !*target) {
        if (unlink(cur) != 0 && errno != ENOENT)
            rc = fc_errno_to_error(errno);
    } else if (rc == 0) {
        unlink(tmp);
        if (symlink(target, tmp) != 0 || rename(tmp, cur) != 0) {
            rc = fc_errno_to_error(errno);
            unlink(tmp);
        }
    }
    if (rc == 0 && fc_fsync_dir(self->dir) != 0)
        rc = fc_errno_to_error(errno);
    free(cur);
    free(tmp);
    return rc;
}

static bool s_is_dir(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* After a crash between the swap and the state commit, `current` names a release the state
   does not: point it back at the installed release, whose health was checked. */
static void s_recover_current(fc_install_t *self)
{
    if (!self->installed)
        return;
    char target[PATH_MAX];
    if (s_read_current(self, target, sizeof target) != 0)
        return;
    const fc_manifest_t *m = self->installed;
    /* A "<version>+<serial>" directory is only ever made for this very serial: if it exists,
       it is the installed tree; otherwise "<version>" is. */
    char *plus = fc_install_strf("releases/%s+%" PRIu64, m->version, m->serial);
    char *plain = fc_install_strf("releases/%s", m->version);
    char *plus_dir = plus ? fc_install_strf("%s/%s", self->dir, plus) : NULL;
    char *plain_dir = plain ? fc_install_strf("%s/%s", self->dir, plain) : NULL;
    const char *want = plus_dir && s_is_dir(plus_dir)     ? plus
                       : plain_dir && s_is_dir(plain_dir) ? plain
                                                          : NULL;
    if (want && strcmp(target, want) != 0)
        s_point_current(self, want);
    free(plain);
    free(plus_dir);
    free(plain_dir);
    free(plus);
}

static void s_load_failed(fc_install_t *self)
{
    char *path = fc_install_strf("%s/failed", self->state);
    uint8_t *text = path ? fc_read_file(path, 1024 * 1024, NULL) : NULL;
    free(path);
    if (!text)
        return;
    for (char *line = (char *)text, *next; line && *line; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        char *end;
        errno = 0;
        unsigned long long v = strtoull(line, &end, 10);
        if (errno || end == line || *end)
            continue; /* a damaged line is skipped, not fatal */
        uint64_t *nf = realloc(self->failed, (self->nfailed + 1) * sizeof *nf);
        if (!nf)
            break;
        self->failed = nf;
        self->failed[self->nfailed++] = v;
    }
    free(text);
}

static int s_save_failed(fc_install_t *self, uint64_t serial)
{
    uint64_t *nf = realloc(self->failed, (self->nfailed + 1) * sizeof *nf);
    if (!nf)
        return FC_ENOMEM;
    self->failed = nf;
    self->failed[self->nfailed++] = serial;
    size_t from = self->nfailed > S_MAX_FAILED ? self->nfailed - S_MAX_FAILED : 0;
    char *text = malloc((self->nfailed - from) * 21 + 1);
    char *path = fc_install_strf("%s/failed", self->state);
    int rc = text && path ? 0 : FC_ENOMEM;
    if (rc == 0) {
        size_t used = 0;
        for (size_t i = from; i < self->nfailed; i++)
            used += (size_t)sprintf(text + used, "%" PRIu64 "\n", self->failed[i]);
        if (fc_write_file_atomic(path, text, used, 0600) != 0)
            rc = fc_errno_to_error(errno);
    }
    free(text);
    free(path);
    return rc;
}

fc_install_t *fc_install_new(const char *install_dir, const char *state_dir,
                             const fc_trust_t *trust, int *err)
{
    int dummy;
    if (!err)
        err = &dummy;
    if (!install_dir || !state_dir || !trust) {
        *err = FC_EINVAL;
        return NULL;
    }
    fc_install_t *self = calloc(1, sizeof *self);
    if (!self) {
        *err = FC_ENOMEM;
        return NULL;
    }
    self->trust = trust;
    /* Absolute paths: hooks run in the install dir and are told these. */
    if (fc_mkdirs(install_dir, 0755) != 0 || fc_mkdirs(state_dir, 0700) != 0 ||
        !(self->dir = realpath(install_dir, NULL)) || !(self->state = realpath(state_dir, NULL))) {
        *err = fc_errno_to_error(errno);
        fc_install_destroy(&self);
        return NULL;
    }
    char *releases = fc_install_strf("%s/releases", self->dir);
    char *mpath = fc_install_strf("%s/installed.manifest", self->state);
    if (!releases || !mpath || fc_mkdirs(releases, 0755) != 0) {
        *err = releases && mpath ? fc_errno_to_error(errno) : FC_ENOMEM;
        free(releases);
        free(mpath);
        fc_install_destroy(&self);
        return NULL;
    }
    s_load_failed(self);
    self->installed_bytes = fc_read_file(mpath, FC_MAX_MANIFEST, &self->installed_len);
    if (self->installed_bytes) {
        int perr;
        /* Re-verified: a manifest whose signer is no longer trusted counts as nothing. */
        self->installed =
            fc_manifest_parse(self->installed_bytes, self->installed_len, trust, &perr);
        if (!self->installed) {
            free(self->installed_bytes);
            self->installed_bytes = NULL;
            self->installed_len = 0;
        }
    }
    free(releases);
    free(mpath);
    s_recover_current(self);
    *err = 0;
    return self;
}

void fc_install_destroy(fc_install_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    fc_install_t *self = *self_p;
    fc_manifest_destroy(&self->installed);
    free(self->installed_bytes);
    free(self->failed);
    free(self->dir);
    free(self->state);
    free(self);
    *self_p = NULL;
}

void fc_install_set_discard(fc_install_t *self, bool discard)
{
    if (self)
        self->discard = discard;
}

uint64_t fc_install_serial(const fc_install_t *self)
{
    return self && self->installed ? self->installed->serial : 0;
}

const char *fc_install_version(const fc_install_t *self)
{
    return self && self->installed ? self->installed->version : "";
}

const fc_manifest_t *fc_install_manifest(const fc_install_t *self)
{
    return self ? self->installed : NULL;
}

bool fc_install_failed(const fc_install_t *self, uint64_t serial)
{
    for (size_t i = 0; self && i < self->nfailed; i++)
        if (self->failed[i] == serial)
            return true;
    return false;
}

int fc_install_check(const fc_install_t *self, const fc_manifest_t *m)
{
    if (!self || !m)
        return FC_EINVAL;
    return m->serial > fc_install_serial(self) ? 0 : FC_ESERIAL;
}

/* ---------------------------------------------------------------------------------------- */
/* Commit */

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
    char *releases = fc_install_strf("%s/releases", self->dir);
    d = releases ? opendir(releases) : NULL;
    while (d && (e = readdir(d))) {
        const char *n = e->d_name;
        if (!strcmp(n, ".") || !strcmp(n, "..") || !strcmp(n, keep1) || !strcmp(n, keep2))
            continue;
        if (strncmp(n, ".staging-", 9) == 0 && strtoull(n + 9, NULL, 10) > serial)
            continue; /* a newer release being downloaded */
        char *p = fc_install_strf("%s/%s", releases, n);
        if (p)
            fc_remove_tree(p);
        free(p);
    }
    if (d)
        closedir(d);
    free(releases);
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

int fc_install_commit(fc_install_t *self, fc_stage_t **stage_p, const fc_hooks_t *hooks, char *msg,
                      size_t msgsize)
{
    fc_stage_t *st = stage_p ? *stage_p : NULL;
    if (stage_p)
        *stage_p = NULL;
    if (!self || !st || st->inst != self) {
        fc_textf(msg, msgsize, "invalid arguments");
        fc_stage_destroy(&st);
        return FC_EINVAL;
    }
    static const fc_hooks_t no_hooks = {NULL, NULL, NULL, 0};
    if (!hooks)
        hooks = &no_hooks;
    const fc_manifest_t *m = st->m;
    if (fc_install_check(self, m) != 0) {
        fc_textf(msg, msgsize, "serial %" PRIu64 " is not above the installed %" PRIu64, m->serial,
                 fc_install_serial(self));
        fc_stage_destroy(&st);
        return FC_ESERIAL;
    }
    int rc = fc_stage_check_all(st, msg, msgsize);
    if (rc != 0) {
        fc_stage_destroy(&st);
        return rc;
    }
    /* Our own copy of the manifest, to keep as the installed one after the stage is gone. */
    int perr = 0;
    fc_manifest_t *nm = fc_manifest_parse(st->bytes, st->len, self->trust, &perr);
    char previous[PATH_MAX];
    if (!nm || s_read_current(self, previous, sizeof previous) != 0) {
        fc_textf(msg, msgsize, "cannot commit %s: %s", m->version, fc_strerror(nm ? FC_EIO : perr));
        fc_manifest_destroy(&nm);
        fc_stage_destroy(&st);
        return nm ? FC_EIO : perr;
    }
    const char *oldver = fc_install_version(self);
    char status[48];
    int hrc = s_run_hook(self, hooks->changing, hooks->timeout, m, oldver, st->dir);
    if (hrc != 0) {
        fc_textf(msg, msgsize, "changing hook refused %s (%s): postponed", m->version,
                 fc_hook_status(status, sizeof status, hrc, hooks->timeout));
        fc_manifest_destroy(&nm);
        fc_stage_destroy(&st);
        return FC_EREFUSED;
    }
    /* The new state is written aside first, so a full disk stops the install here (stage
       intact) and the commit after the health check is two renames. */
    char *inext = fc_install_strf("%s/installed.manifest.next", self->state);
    char *pnext = fc_install_strf("%s/previous.manifest.next", self->state);
    char *name = NULL, *dest = NULL, *target = NULL;
    rc = inext && pnext ? 0 : FC_ENOMEM;
    if (rc == 0 && fc_write_file_atomic(inext, st->bytes, st->len, 0600) != 0)
        rc = fc_errno_to_error(errno);
    if (rc == 0 && self->installed_bytes &&
        fc_write_file_atomic(pnext, self->installed_bytes, self->installed_len, 0600) != 0)
        rc = fc_errno_to_error(errno);
    /* Modes are set only now: a refused stage keeps 0600 files it can resume writing. */
    if (rc == 0)
        rc = fc_stage_finish_tree(st);
    /* releases/<version>, unless that is the live tree (the same version re-released). */
    const char *prev_name = s_target_name(previous);
    if (rc == 0) {
        name = prev_name && strcmp(prev_name, m->version) == 0
                   ? fc_install_strf("%s+%" PRIu64, m->version, m->serial)
                   : strdup(m->version);
        dest = name ? fc_install_strf("%s/releases/%s", self->dir, name) : NULL;
        target = name ? fc_install_strf("releases/%s", name) : NULL;
        rc = name && dest && target ? 0 : FC_ENOMEM;
    }
    if (rc == 0 && fc_remove_tree(dest) != 0)
        rc = FC_EIO;
    if (rc == 0 && rename(st->dir, dest) != 0)
        rc = fc_errno_to_error(errno);
    if (rc == 0) {
        char *releases = fc_install_strf("%s/releases", self->dir);
        if (releases)
            fc_fsync_dir(releases);
        free(releases);
        rc = s_point_current(self, target);
        if (rc != 0)
            rename(dest, st->dir); /* keep the stage for a retry */
    }
    if (rc != 0) {
        fc_textf(msg, msgsize, "cannot install %s: %s", m->version, fc_strerror(rc));
        goto done;
    }

    hrc = s_run_hook(self, hooks->changed, hooks->timeout, m, oldver, dest);
    const char *what = "changed";
    if (hrc == 0) {
        hrc = s_run_hook(self, hooks->health, hooks->timeout, m, oldver, dest);
        what = "health";
    }
    if (hrc != 0) {
        /* Swap back, take the failed tree away and restart the application on the old one. */
        rc = FC_EUNHEALTHY;
        int brc = s_point_current(self, previous);
        if (brc == 0)
            fc_remove_tree(dest); /* never the tree current still points at */
        s_save_failed(self, m->serial);
        s_remove_download(self, m->serial);
        if (self->installed && brc == 0) {
            char *olddir = previous[0] == '/' ? strdup(previous)
                                              : fc_install_strf("%s/%s", self->dir, previous);
            s_run_hook(self, hooks->changed, hooks->timeout, self->installed, m->version,
                       olddir ? olddir : "");
            free(olddir);
        }
        fc_textf(msg, msgsize, "%s hook failed for %s (%s): %s %s", what, m->version,
                 fc_hook_status(status, sizeof status, hrc, hooks->timeout),
                 brc ? "ROLLBACK FAILED:" : "rolled back to", brc ? fc_strerror(brc) : oldver);
        goto done;
    }

    /* Commit the state: previous first, so a crash in between leaves installed == previous
       (harmless), never a lost installed manifest. */
    char *ipath = fc_install_strf("%s/installed.manifest", self->state);
    char *ppath = fc_install_strf("%s/previous.manifest", self->state);
    if (!ipath || !ppath)
        rc = FC_ENOMEM;
    else if (self->installed_bytes ? rename(pnext, ppath) != 0
                                   : (unlink(ppath) != 0 && errno != ENOENT))
        rc = fc_errno_to_error(errno);
    if (rc == 0 && (rename(inext, ipath) != 0 || fc_fsync_dir(self->state) != 0))
        rc = fc_errno_to_error(errno); /* the next start swaps back to the old release */
    free(ipath);
    free(ppath);
    fc_manifest_destroy(&self->installed);
    free(self->installed_bytes);
    self->installed = nm;
    self->installed_bytes = st->bytes;
    self->installed_len = st->len;
    nm = NULL;
    st->bytes = NULL;
    s_cleanup(self, self->installed->serial, name, prev_name ? prev_name : "");
    fc_textf(msg, msgsize, "installed %s (serial %" PRIu64 ") in releases/%s%s",
             self->installed->version, self->installed->serial, name,
             rc ? " (state not saved)" : "");
done:
    if (inext)
        unlink(inext); /* gone already after a commit; stale after a failure */
    if (pnext)
        unlink(pnext);
    free(inext);
    free(pnext);
    free(name);
    free(dest);
    free(target);
    fc_manifest_destroy(&nm);
    fc_stage_destroy(&st);
    return rc;
}
