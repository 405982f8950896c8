/* fc_check_agent.c: fleetcast-check's agent half: `current` must be a complete tree that
   matches a signed manifest, and with --expect-latest the latest release and config; a
   private part of fc_check. */
#define _GNU_SOURCE
#include "fc_check.h"
#include "fc_error.h"
#include "fc_file.h"
#include "fc_manifest.h"
#include "fc_manifest_load.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define S_MAX_CANDIDATES 32

typedef struct {
    fc_manifest_t *m;
    char name[64]; /* the state file it came from */
} s_candidate_t;

static fc_manifest_t *s_load(fc_check_t *self, const char *path)
{
    size_t len = 0;
    uint8_t *buf = fc_read_file(path, FC_MAX_MANIFEST, &len);
    if (!buf)
        return NULL;
    int err = 0;
    /* A format-3 manifest is read with the objects kept beside it, in objects/. */
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    snprintf(slash ? slash + 1 : dir, sizeof dir - (size_t)(slash ? slash + 1 - dir : 0),
             "objects");
    fc_mobj_dir_t d = {dir, NULL, NULL};
    fc_manifest_t *m =
        fc_manifest_load(buf, len, self->trust, fc_mobj_dir_get, &d, NULL, NULL, &err);
    fc_mobj_dir_done(&d);
    free(buf);
    return m;
}

/* Every signed manifest the state dir holds: installed first, then the one a crash between
   the swap and the commit leaves (.next), the previous one and downloads. */
static size_t s_candidates(fc_check_t *self, const char *state, s_candidate_t *out)
{
    size_t n = 0;
    /* .next before installed: a commit renames the one onto the other, so a concurrent
       commit cannot make us miss the manifest of the tree `current` was read to name */
    const char *fixed[] = {"installed.manifest.next", "installed.manifest", "previous.manifest"};
    char path[PATH_MAX];
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", state, fixed[i]);
        fc_manifest_t *m = s_load(self, path);
        if (m) {
            out[n].m = m;
            snprintf(out[n].name, sizeof out[n].name, "%s", fixed[i]);
            n++;
        }
    }
    DIR *d = opendir(state);
    struct dirent *e;
    while (d && n < S_MAX_CANDIDATES && (e = readdir(d))) {
        size_t l = strlen(e->d_name);
        if (strncmp(e->d_name, "download-", 9) || l < 10 || l >= sizeof out[n].name ||
            strcmp(e->d_name + l - 9, ".manifest"))
            continue;
        snprintf(path, sizeof path, "%s/%s", state, e->d_name);
        fc_manifest_t *m = s_load(self, path);
        if (m) {
            out[n].m = m;
            memcpy(out[n].name, e->d_name, l + 1); /* l < sizeof name: checked above */
            n++;
        }
    }
    if (d)
        closedir(d);
    return n;
}

/* The agent names a tree <version>@<serial>; earlier agents named it <version>, or
   <version>+<serial> beside a live tree of that version. */
static bool s_names_tree(const fc_manifest_t *m, const char *name)
{
    char plus[FC_MAX_NAME * 2 + 24], at[FC_MAX_NAME * 2 + 24];
    snprintf(plus, sizeof plus, "%s+%" PRIu64, m->version, m->serial);
    snprintf(at, sizeof at, "%s@%" PRIu64, m->version, m->serial);
    return !strcmp(name, at) || !strcmp(name, m->version) || !strcmp(name, plus);
}

/* A staging dir is .staging-<serial>, digits only (a version may begin with .staging-). */
static bool s_is_staging(const char *name)
{
    return !strncmp(name, ".staging-", 9) && name[9] &&
           strspn(name + 9, "0123456789") == strlen(name + 9);
}

/* True if some entry of m lies below directory dir (a sorted array holds them right after
   the first path not below dir's prefix). */
static bool s_holds_entries(const fc_manifest_t *m, const char *dir)
{
    size_t n = strlen(dir);
    const char *paths[3] = {NULL, NULL, NULL};
    uint32_t counts[3] = {m->nfiles, m->ndirs, m->nlinks};
    for (int k = 0; k < 3; k++) {
        /* binary search for the first path greater than "dir/" */
        uint32_t lo = 0, hi = counts[k];
        while (lo < hi) {
            uint32_t mid = lo + (hi - lo) / 2;
            const char *p = k == 0   ? m->files[mid].path
                            : k == 1 ? m->dirs[mid].path
                                     : m->links[mid].path;
            int c = strncmp(p, dir, n);
            if (c < 0 || (c == 0 && p[n] < '/'))
                lo = mid + 1;
            else
                hi = mid;
        }
        if (lo < counts[k])
            paths[k] = k == 0 ? m->files[lo].path : k == 1 ? m->dirs[lo].path : m->links[lo].path;
        if (paths[k] && strncmp(paths[k], dir, n) == 0 && paths[k][n] == '/')
            return true;
    }
    return false;
}

/* Files in the tree that the manifest does not list (a tree mixing two releases). */
static void s_extra_files(fc_check_t *self, const fc_manifest_t *m, const char *root,
                          const char *rel, const char *where, int depth)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s%s%s", root, *rel ? "/" : "", rel);
    DIR *d = opendir(path);
    if (!d || depth > 64) {
        if (d)
            closedir(d);
        return;
    }
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        char sub[PATH_MAX], full[PATH_MAX];
        struct stat st;
        if (snprintf(sub, sizeof sub, "%s%s%s", rel, *rel ? "/" : "", e->d_name) >=
                (int)sizeof sub ||
            snprintf(full, sizeof full, "%s/%s", root, sub) >= (int)sizeof full ||
            lstat(full, &st) != 0)
            continue;
        if (S_ISDIR(st.st_mode)) {
            /* Format 2 lists the directories a publisher saw (one holding entries may go
               unlisted); format 1 none. */
            if (m->format >= 2 && !fc_manifest_find_dir(m, sub) && !s_holds_entries(m, sub))
                fc_check_problem(self, "current-extra-file", where,
                                 "directory %s is not in release %s", sub, m->version);
            s_extra_files(self, m, root, sub, where, depth + 1);
        } else if (S_ISLNK(st.st_mode) ? !fc_manifest_find_link(m, sub) : !fc_manifest_find(m, sub))
            fc_check_problem(self, "current-extra-file", where, "%s is not in release %s", sub,
                             m->version);
    }
    closedir(d);
}

/* A problem if st's mtime is not t (format 2 only: format 1 records no times). */
static void s_check_mtime(fc_check_t *self, const fc_manifest_t *m, const struct stat *st,
                          fc_mtime_t t, const char *path, const char *where)
{
    if (m->format >= 2 &&
        (st->st_mtim.tv_sec != (time_t)t.sec || st->st_mtim.tv_nsec != (long)t.nsec))
        fc_check_problem(
            self, "current-mtime", where, "%s: mtime %lld.%09ld, manifest says %lld.%09u", path,
            (long long)st->st_mtim.tv_sec, (long)st->st_mtim.tv_nsec, (long long)t.sec, t.nsec);
}

/* Verifies directories and links of m in the tree at root: type, mode or target, time. */
static void s_verify_dirs_links(fc_check_t *self, const fc_manifest_t *m, const char *root,
                                const char *where)
{
    char path[PATH_MAX], target[FC_MAX_PATH + 2];
    struct stat st;
    for (uint32_t i = 0; i < m->ndirs; i++) {
        const fc_dir_t *d = &m->dirs[i];
        if (snprintf(path, sizeof path, "%s/%s", root, d->path) >= (int)sizeof path ||
            lstat(path, &st) != 0 || !S_ISDIR(st.st_mode)) {
            fc_check_problem(self, "current-incomplete", where,
                             "directory %s is missing (release %s)", d->path, m->version);
            continue;
        }
        if ((st.st_mode & 0777) != (d->mode & 0777))
            fc_check_problem(self, "current-mode", where, "%s: mode %03o, manifest says %03o",
                             d->path, (unsigned)(st.st_mode & 0777), (unsigned)(d->mode & 0777));
        s_check_mtime(self, m, &st, d->mtime, d->path, where);
    }
    for (uint32_t i = 0; i < m->nlinks; i++) {
        const fc_link_t *l = &m->links[i];
        ssize_t n = -1;
        if (snprintf(path, sizeof path, "%s/%s", root, l->path) < (int)sizeof path &&
            lstat(path, &st) == 0 && S_ISLNK(st.st_mode))
            n = readlink(path, target, sizeof target - 1);
        if (n < 0) {
            fc_check_problem(self, "current-incomplete", where,
                             "symlink %s is missing (release %s)", l->path, m->version);
            continue;
        }
        target[n] = '\0';
        if (strcmp(target, l->target) != 0)
            fc_check_problem(self, "current-link", where, "%s -> %s, manifest says -> %s", l->path,
                             target, l->target);
        s_check_mtime(self, m, &st, l->mtime, l->path, where);
    }
}

/* Verifies every entry of m in the tree at root; returns the number of problems found. */
static size_t s_verify_tree(fc_check_t *self, const fc_manifest_t *m, const char *root,
                            const char *where)
{
    size_t before = self->nproblems;
    s_verify_dirs_links(self, m, root, where);
    for (uint32_t i = 0; i < m->nfiles; i++) {
        const fc_file_t *f = &m->files[i];
        char path[PATH_MAX], why[256];
        struct stat st;
        if (snprintf(path, sizeof path, "%s/%s", root, f->path) >= (int)sizeof path ||
            lstat(path, &st) != 0) {
            fc_check_problem(self, "current-incomplete", where, "%s is missing (release %s)",
                             f->path, m->version);
            continue;
        }
        if (fc_check_file_content(path, f, why, sizeof why) != 0) {
            fc_check_problem(self, "current-file", where, "%s: %s (release %s)", f->path, why,
                             m->version);
            continue;
        }
        if ((st.st_mode & 0777) != (f->mode & 0777))
            fc_check_problem(self, "current-mode", where, "%s: mode %03o, manifest says %03o",
                             f->path, (unsigned)(st.st_mode & 0777), (unsigned)(f->mode & 0777));
        s_check_mtime(self, m, &st, f->mtime, f->path, where);
    }
    s_extra_files(self, m, root, "", where, 0);
    return self->nproblems - before;
}

static const fc_check_latest_t *s_latest(const fc_check_t *self, const char *channel)
{
    for (size_t i = 0; i < self->nlatest; i++)
        if (!strcmp(self->latest[i].channel, channel))
            return &self->latest[i];
    return NULL;
}

/* The "_rev" of state/config.json; -1 if there is none or it cannot be read. */
static int64_t s_config_rev(const char *state)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/config.json", state);
    uint8_t *text = fc_read_file(path, 64 * 1024 * 1024, NULL);
    if (!text)
        return -1;
    /* the checker only needs the number: the last "_rev" key at the top level */
    const char *p = strstr((const char *)text, "\"_rev\"");
    int64_t rev = -1;
    if (p && (p = strchr(p, ':')))
        rev = strtoll(p + 1, NULL, 10);
    free(text);
    return rev;
}

static void s_check_latest(fc_check_t *self, const fc_manifest_t *installed, const char *state,
                           const char *where)
{
    const char *channel = installed ? installed->channel : self->channel;
    const fc_check_latest_t *l = s_latest(self, channel);
    if (l && (!installed || installed->serial != l->serial))
        fc_check_problem(self, "not-latest", where,
                         "runs %s (serial %" PRIu64 "), latest of %s is %s (serial %" PRIu64 ")",
                         installed ? installed->version : "nothing",
                         installed ? installed->serial : 0, channel, l->version, l->serial);
    if (self->latest_rev) {
        int64_t rev = s_config_rev(state);
        if (rev < 0 || (uint64_t)rev != self->latest_rev)
            fc_check_problem(self, "config-not-latest", where,
                             "config.json is at revision %" PRId64 ", latest is %" PRIu64, rev,
                             self->latest_rev);
    }
}

void fc_check_agent(fc_check_t *self, const char *install_dir, const char *state_dir)
{
    self->checked_agents++;
    char cur[PATH_MAX], target[PATH_MAX], where[PATH_MAX + 16];
    snprintf(cur, sizeof cur, "%s/current", install_dir);
    snprintf(where, sizeof where, "%s", install_dir);
    /* current first, then the manifests (see s_candidates) */
    struct stat st;
    int cur_rc = lstat(cur, &st);
    ssize_t n = cur_rc == 0 && S_ISLNK(st.st_mode) ? readlink(cur, target, sizeof target - 1) : -1;
    s_candidate_t cands[S_MAX_CANDIDATES];
    size_t ncands = s_candidates(self, state_dir, cands);
    const fc_manifest_t *installed = NULL;
    for (size_t i = 0; i < ncands; i++)
        if (!strcmp(cands[i].name, "installed.manifest"))
            installed = cands[i].m;
    if (cur_rc != 0) {
        if (installed)
            fc_check_problem(self, "current-missing", where,
                             "no current, but the state says %s is installed", installed->version);
    } else if (!S_ISLNK(st.st_mode)) {
        fc_check_problem(self, "current-not-symlink", where, "current is not a symlink");
    } else if (n < 0) {
        fc_check_problem(self, "current-unreadable", where, "readlink: %s", strerror(errno));
    } else {
        target[n] = '\0';
        const char *name = !strncmp(target, "releases/", 9) ? target + 9 : NULL;
        if (!name || !*name || strchr(name, '/')) {
            fc_check_problem(self, "current-target", where, "current points at %s", target);
        } else if (s_is_staging(name)) {
            fc_check_problem(self, "current-partial", where, "current points at a staging tree %s",
                             target);
        } else {
            const s_candidate_t *match = NULL;
            for (size_t i = 0; i < ncands && !match; i++)
                if (s_names_tree(cands[i].m, name))
                    match = &cands[i];
            char root[PATH_MAX * 2];
            snprintf(root, sizeof root, "%s/%s", install_dir, target);
            if (!match)
                fc_check_problem(self, "current-unknown", where,
                                 "no signed manifest in %s names current's tree %s", state_dir,
                                 target);
            else if (access(root, F_OK) != 0)
                fc_check_problem(self, "current-dangling", where, "current points at missing %s",
                                 target);
            else {
                s_verify_tree(self, match->m, root, where);
                if (self->expect_latest && match->m != installed)
                    fc_check_problem(self, "current-not-installed", where,
                                     "current is %s from %s, the state says %s", name, match->name,
                                     installed ? installed->version : "nothing");
            }
        }
    }
    if (self->expect_latest)
        s_check_latest(self, installed, state_dir, where);
    for (size_t i = 0; i < ncands; i++)
        fc_manifest_destroy(&cands[i].m);
}
