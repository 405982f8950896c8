/* fc_store_gc.c: pruning a channel's old releases and collecting what no release needs: blobs
   and partial uploads. Never what an agent may still fetch: a channel's current release and
   the one before it stay whatever --keep says, a release whose blobs were served lately is
   in transfer and stays, and a blob no release ever named stays a day (a push in progress
   commits its blobs before its release). */
#include "fc_array.h"
#include "fc_error.h"
#include "fc_hash.h"
#include "fc_manifest.h"
#include "fc_store_cache.h"
#include "fc_store_config.h"
#include "fc_store_priv.h"
#include "fc_text.h"

#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Adds the blob hex of every file of a signed manifest to set, and of a format-3 one the
   hex of every object it names; a manifest that does not load adds nothing more (it was
   checked when it was committed). */
static void s_add_blobs(fc_store_t *self, zhashx_t *set, const void *bytes, size_t len)
{
    int err = 0;
    fc_manifest_t *m = fc_store_manifest_load(self, bytes, len, set, NULL, &err);
    for (uint32_t i = 0; m && i < m->nfiles; i++) {
        char hex[2 * FC_HASH_LEN + 1];
        zhashx_update(set, fc_hash_hex(m->files[i].hash, hex), (void *)1);
    }
    fc_manifest_destroy(&m);
}

/* Whether any blob of a signed manifest is busy (being fetched). */
static bool s_in_transfer(fc_store_t *self, const void *bytes, size_t len, fc_store_busy_fn *busy,
                          void *arg)
{
    int err = 0;
    fc_manifest_t *m = busy ? fc_store_manifest_load(self, bytes, len, NULL, NULL, &err) : NULL;
    bool yes = false;
    for (uint32_t i = 0; m && i < m->nfiles && !yes; i++)
        yes = busy(m->files[i].hash, arg);
    fc_manifest_destroy(&m);
    return yes;
}

/* The blobs of every stored release, as hex. */
static zhashx_t *s_referenced(fc_store_t *self)
{
    zhashx_t *set = zhashx_new();
    fc_db_stmt_t *st = fc_store_prep(self, "SELECT manifest FROM releases");
    if (!st) {
        zhashx_destroy(&set);
        return NULL;
    }
    int rc;
    while ((rc = fc_db_step(st)) == FC_DB_ROW)
        s_add_blobs(self, set, fc_db_column_blob(st, 0), (size_t)fc_db_column_bytes(st, 0));
    fc_db_finalize(st);
    if (rc != FC_DB_DONE)
        zhashx_destroy(&set);
    return set;
}

int fc_store_release_prune(fc_store_t *self, const char *channel, uint64_t keep,
                           fc_store_busy_fn *busy, void *arg, const char *who,
                           fc_store_gc_result_t *res, char *text, size_t textsize)
{
    memset(res, 0, sizeof *res);
    fc_textf(text, textsize, "%s", "");
    if (!channel || !fc_name_valid(channel)) {
        fc_textf(text, textsize, "invalid channel name");
        return FC_EINVAL;
    }
    /* A rollback may name the release before the current one, and agents that did not take
       the current one yet still follow it: both stay. */
    if (keep < FC_STORE_KEEP_MIN)
        keep = FC_STORE_KEEP_MIN;
    fc_db_stmt_t *st = fc_store_prep(self, "SELECT serial, version, manifest FROM releases"
                                           " WHERE channel = ? ORDER BY serial DESC");
    if (!st)
        return FC_EIO;
    fc_db_bind_text(st, 1, channel, -1);
    zhashx_t *gone = zhashx_new(); /* blobs of the releases removed */
    uint64_t *drop = NULL;
    size_t ndrop = 0, cap = 0, seen = 0;
    int rc, err = FC_OK;
    while ((rc = fc_db_step(st)) == FC_DB_ROW) {
        if (seen++ < keep)
            continue;
        const void *bytes = fc_db_column_blob(st, 2);
        size_t len = (size_t)fc_db_column_bytes(st, 2);
        if (s_in_transfer(self, bytes, len, busy, arg)) {
            res->kept_busy++;
            continue;
        }
        uint64_t *bigger = fc_grow(drop, ndrop, &cap, sizeof *drop);
        if (!bigger) {
            err = FC_ENOMEM;
            break;
        }
        drop = bigger;
        drop[ndrop++] = (uint64_t)fc_db_column_int64(st, 0);
        s_add_blobs(self, gone, bytes, len);
    }
    fc_db_finalize(st);
    if (!err && rc != FC_DB_DONE)
        err = fc_store_sqlite_error(rc);
    bool began = false;
    if (!err) {
        fc_store_sync(self, true);
        err = fc_store_begin(self);
        began = !err;
    }
    for (size_t i = 0; !err && i < ndrop; i++) {
        st = fc_store_prep(self, "DELETE FROM releases WHERE channel = ? AND serial = ?");
        if (st) {
            fc_db_bind_text(st, 1, channel, -1);
            fc_db_bind_int64(st, 2, (int64_t)drop[i]);
        }
        err = fc_store_step_done(st);
    }
    char detail[FC_MAX_TEXT + 1], result[FC_MAX_TEXT + 1];
    snprintf(detail, sizeof detail, "channel %s keep %llu", channel, (unsigned long long)keep);
    snprintf(result, sizeof result, "ok: %zu release%s removed, %llu kept in transfer", ndrop,
             ndrop == 1 ? "" : "s", (unsigned long long)res->kept_busy);
    if (!err)
        err = fc_store_audit_add(self, who ? who : "unknown", "release.prune", detail, result);
    if (!err)
        err = fc_store_commit(self);
    if (err && began)
        fc_store_rollback(self);
    free(drop);
    if (err) {
        zhashx_destroy(&gone);
        fc_textf(text, textsize, "cannot prune channel %s: %s", channel, fc_strerror(err));
        return err;
    }
    res->releases = ndrop;
    err = fc_store_gc(self, gone, busy, arg, time(NULL), res);
    zhashx_destroy(&gone);
    if (err)
        fc_textf(text, textsize, "pruned, but collecting blobs failed: %s", fc_strerror(err));
    return err;
}

typedef struct {
    fc_store_t *store;
    zhashx_t *keep, *freed;
    fc_store_busy_fn *busy;
    void *arg;
    int64_t now;
    fc_store_gc_result_t *res;
} s_collect_t;

/* fc_store_blob_seen_fn: one complete blob, removed when no release names it, it is not
   being fetched, and either a removed release named it (freed) or it is older than a day. */
static void s_collect_blob(void *arg, const uint8_t blob[FC_HASH_LEN], uint64_t size, int64_t mtime)
{
    (void)size;
    s_collect_t *c = arg;
    char hex[2 * FC_HASH_LEN + 1];
    fc_hash_hex(blob, hex);
    if (zhashx_lookup(c->keep, hex))
        return;
    if (c->busy && c->busy(blob, c->arg)) {
        c->res->blobs_busy++;
        return;
    }
    bool old = mtime < c->now - FC_STORE_GC_AGE;
    if (!old && !(c->freed && zhashx_lookup(c->freed, hex)))
        return;
    uint64_t bytes = 0;
    if (fc_store_blob_remove(c->store, blob, &bytes) == FC_OK) {
        c->res->blobs++;
        c->res->bytes += bytes;
    }
}

/* Every complete blob file under blobs/, walked as the relay's cache walks them. */
static int s_collect_blobs(fc_store_t *self, zhashx_t *keep, zhashx_t *freed,
                           fc_store_busy_fn *busy, void *arg, int64_t now,
                           fc_store_gc_result_t *res)
{
    s_collect_t c = {self, keep, freed, busy, arg, now, res};
    return fc_store_blob_scan(self, s_collect_blob, &c);
}

/* Partial uploads started more than a day ago, and .part files no upload record names that
   are as old (left by a crash between the two). */
static int s_collect_parts(fc_store_t *self, int64_t now, fc_store_gc_result_t *res)
{
    fc_db_stmt_t *st = fc_store_prep(self, "SELECT blob FROM uploads WHERE started < ?");
    if (!st)
        return FC_EIO;
    fc_db_bind_int64(st, 1, (int64_t)(now - FC_STORE_GC_AGE));
    uint8_t(*old)[FC_HASH_LEN] = NULL;
    size_t n = 0, cap = 0;
    int rc;
    while ((rc = fc_db_step(st)) == FC_DB_ROW) {
        if (fc_db_column_bytes(st, 0) != FC_HASH_LEN)
            continue;
        void *bigger = fc_grow(old, n, &cap, sizeof *old);
        if (!bigger)
            break;
        old = bigger;
        memcpy(old[n++], fc_db_column_blob(st, 0), FC_HASH_LEN);
    }
    fc_db_finalize(st);
    for (size_t i = 0; i < n; i++)
        if (fc_store_upload_discard(self, old[i]) == FC_OK)
            res->parts++;
    free(old);
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s/incoming", self->dir);
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        uint8_t blob[FC_HASH_LEN];
        size_t len = strlen(e->d_name);
        if (len != 2 * FC_HASH_LEN + 5 || strcmp(e->d_name + 2 * FC_HASH_LEN, ".part") != 0)
            continue;
        char hex[2 * FC_HASH_LEN + 1];
        snprintf(hex, sizeof hex, "%.*s", 2 * FC_HASH_LEN, e->d_name);
        if (fc_hex_decode(blob, FC_HASH_LEN, hex) != 0)
            continue;
        char path[PATH_MAX + 80];
        int n = snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        struct stat sb;
        if (n < 0 || (size_t)n >= sizeof path || stat(path, &sb) != 0 ||
            sb.st_mtime >= now - FC_STORE_GC_AGE)
            continue;
        st = fc_store_prep(self, "SELECT 1 FROM uploads WHERE blob = ?");
        if (!st)
            break;
        fc_db_bind_blob(st, 1, blob, FC_HASH_LEN);
        bool recorded = fc_db_step(st) == FC_DB_ROW;
        fc_db_finalize(st);
        if (!recorded && unlink(path) == 0)
            res->parts++;
    }
    if (d)
        closedir(d);
    return rc == FC_DB_DONE || rc == FC_DB_ROW ? FC_OK : fc_store_sqlite_error(rc);
}

int fc_store_gc(fc_store_t *self, zhashx_t *freed, fc_store_busy_fn *busy, void *arg, int64_t now,
                fc_store_gc_result_t *res)
{
    zhashx_t *keep = s_referenced(self);
    if (!keep)
        return FC_EIO;
    int err = s_collect_blobs(self, keep, freed, busy, arg, now, res);
    if (!err) /* the pages and chunk lists of releases gone, and of pushes never committed */
        err = fc_store_object_gc(self, keep, freed, now, &res->objects);
    zhashx_destroy(&keep);
    if (!err)
        err = s_collect_parts(self, now, res);
    return err;
}
