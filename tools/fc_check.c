/* fc_check.c: fleetcast-check, the invariant checker: the broker's database and blobs, and
   what agents have installed. Reads only (the database is opened read-only). */
#define _GNU_SOURCE
#include "fc_check.h"
#include "fc_error.h"
#include "fc_file.h"
#include "fc_hash.h"
#include "fc_json.h"
#include "fc_manifest.h"
#include "fc_manifest_load.h"
#include "fc_revision.h"

#include "fc_db.h"
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void fc_check_problem(fc_check_t *self, const char *kind, const char *where, const char *fmt, ...)
{
    char detail[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    if (self->nproblems == self->cap) {
        size_t cap = self->cap * 2 + 16;
        char **k = realloc(self->kinds, cap * sizeof *k);
        if (k)
            self->kinds = k;
        char **w = realloc(self->wheres, cap * sizeof *w);
        if (w)
            self->wheres = w;
        char **d = realloc(self->details, cap * sizeof *d);
        if (d)
            self->details = d;
        if (!k || !w || !d) {
            fprintf(stderr, "fleetcast-check: out of memory\n");
            exit(2);
        }
        self->cap = cap;
    }
    self->kinds[self->nproblems] = strdup(kind);
    self->wheres[self->nproblems] = strdup(where ? where : "");
    self->details[self->nproblems] = strdup(detail);
    self->nproblems++;
}

int fc_check_file_content(const char *path, const fc_file_t *file, char *why, size_t whysize)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        snprintf(why, whysize, "cannot open: %s", strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        snprintf(why, whysize, "not a regular file");
        close(fd);
        return -1;
    }
    if ((uint64_t)st.st_size != file->size) {
        snprintf(why, whysize, "size %" PRIu64 ", manifest says %" PRIu64, (uint64_t)st.st_size,
                 file->size);
        close(fd);
        return -1;
    }
    uint8_t *buf = malloc(FC_MAX_CHUNK);
    uint8_t(*hashes)[FC_HASH_LEN] = calloc(file->nchunks ? file->nchunks : 1, FC_HASH_LEN);
    int rc = buf && hashes ? 0 : -1;
    if (rc)
        snprintf(why, whysize, "out of memory");
    for (uint32_t i = 0; rc == 0 && i < file->nchunks; i++) {
        const fc_chunk_t *c = &file->chunks[i];
        if (c->length > FC_MAX_CHUNK || fc_pread_all(fd, buf, c->length, c->offset) != 0) {
            snprintf(why, whysize, "read failed at offset %" PRIu64, c->offset);
            rc = -1;
            break;
        }
        fc_hash_buf(hashes[i], buf, c->length);
        if (!fc_hash_equal(hashes[i], c->hash)) {
            snprintf(why, whysize, "chunk %" PRIu32 " (offset %" PRIu64 ") does not match its hash",
                     i, c->offset);
            rc = -1;
        }
    }
    if (rc == 0 && file->nchunks) {
        uint8_t whole[FC_HASH_LEN];
        fc_hash_of_chunks(whole, (const uint8_t(*)[FC_HASH_LEN])hashes, file->nchunks);
        if (!fc_hash_equal(whole, file->hash)) {
            snprintf(why, whysize, "file hash does not match");
            rc = -1;
        }
    }
    free(buf);
    free(hashes);
    close(fd);
    return rc;
}

/* --- broker ----------------------------------------------------------------------------- */

/* true if this blob was checked already (shared by releases); records it otherwise. */
static bool s_seen_blob(char ***seen, size_t *n, const char *hex)
{
    for (size_t i = 0; i < *n; i++)
        if (!strcmp((*seen)[i], hex))
            return true;
    char **s = realloc(*seen, (*n + 1) * sizeof *s);
    if (!s)
        return false;
    *seen = s;
    s[(*n)++] = strdup(hex);
    return false;
}

static void s_note_latest(fc_check_t *self, const fc_manifest_t *m)
{
    for (size_t i = 0; i < self->nlatest; i++) {
        fc_check_latest_t *l = &self->latest[i];
        if (!strcmp(l->channel, m->channel)) {
            if (m->serial > l->serial) {
                l->serial = m->serial;
                snprintf(l->version, sizeof l->version, "%s", m->version);
            }
            return;
        }
    }
    fc_check_latest_t *l = realloc(self->latest, (self->nlatest + 1) * sizeof *l);
    if (!l)
        return;
    self->latest = l;
    l = &l[self->nlatest++];
    snprintf(l->channel, sizeof l->channel, "%s", m->channel);
    snprintf(l->version, sizeof l->version, "%s", m->version);
    l->serial = m->serial;
}

/* fc_mobj_get_fn over the broker's objects table (arg: the database); the last object read
   stays alive until the next read. */
typedef struct {
    fc_db_t *db;
    uint8_t *last;
} s_objects_t;

static const uint8_t *s_object(const uint8_t hash[FC_HASH_LEN], size_t *len, void *arg)
{
    s_objects_t *o = (s_objects_t *)arg;
    free(o->last);
    o->last = NULL;
    fc_db_stmt_t *st = fc_db_prepare(o->db, "SELECT data FROM objects WHERE hash = ?");
    if (!st)
        return NULL;
    fc_db_bind_blob(st, 1, hash, FC_HASH_LEN);
    if (fc_db_step(st) == FC_DB_ROW && fc_db_column_bytes(st, 0) > 0) {
        *len = (size_t)fc_db_column_bytes(st, 0);
        o->last = malloc(*len);
        if (o->last)
            memcpy(o->last, fc_db_column_blob(st, 0), *len);
    }
    fc_db_finalize(st);
    return o->last;
}

/* On a PostgreSQL store every complete blob is also in the database (blob_stored, written
   after its last piece: broker/fc_store_pieces.h), and DIR/blobs is this broker's cache of
   them: a blob held there and not here is not missing, only not filled here yet. */
static bool s_in_db(fc_db_t *db, const uint8_t hash[FC_HASH_LEN])
{
    if (!fc_db_is_pg(db))
        return false;
    fc_db_stmt_t *st = fc_db_prepare(db, "SELECT size FROM blob_stored WHERE blob = ?");
    if (!st)
        return false;
    fc_db_bind_blob(st, 1, hash, FC_HASH_LEN);
    bool found = fc_db_step(st) == FC_DB_ROW;
    fc_db_finalize(st);
    return found;
}

static void s_check_release(fc_check_t *self, const char *data_dir, fc_db_t *db, fc_db_stmt_t *st,
                            char ***seen, size_t *nseen)
{
    const char *channel = (const char *)fc_db_column_text(st, 0);
    uint64_t serial = (uint64_t)fc_db_column_int64(st, 1);
    const char *version = (const char *)fc_db_column_text(st, 2);
    const void *blob = fc_db_column_blob(st, 3);
    size_t len = (size_t)fc_db_column_bytes(st, 3);
    char where[FC_MAX_NAME * 2 + 32];
    snprintf(where, sizeof where, "release %s/%s", channel ? channel : "?",
             version ? version : "?");
    self->checked_releases++;
    int err = 0;
    /* A format-3 release is read with its pages and chunk lists from the objects table. */
    s_objects_t objs = {db, NULL};
    fc_manifest_t *m =
        blob ? fc_manifest_load(blob, len, self->trust, s_object, &objs, NULL, NULL, &err) : NULL;
    free(objs.last);
    if (!m) {
        fc_check_problem(self, "release-manifest", where, "manifest does not verify: %s",
                         fc_strerror(err));
        return;
    }
    if (!channel || !version || strcmp(m->channel, channel) || strcmp(m->version, version) ||
        m->serial != serial)
        fc_check_problem(self, "release-manifest", where,
                         "database row (serial %" PRIu64 ") disagrees with its manifest "
                         "(%s/%s serial %" PRIu64 ")",
                         serial, m->channel, m->version, m->serial);
    s_note_latest(self, m);
    for (uint32_t i = 0; i < m->nfiles; i++) {
        const fc_file_t *f = &m->files[i];
        if (f->size == 0)
            continue; /* empty files have no blob */
        char hex[2 * FC_HASH_LEN + 1], path[PATH_MAX], why[256];
        fc_hash_hex(f->hash, hex);
        if (s_seen_blob(seen, nseen, hex))
            continue;
        self->checked_blobs++;
        snprintf(path, sizeof path, "%s/blobs/%.2s/%s", data_dir, hex, hex);
        char aside[PATH_MAX + 16];
        snprintf(aside, sizeof aside, "%s.corrupt", path);
        if (access(path, F_OK) != 0 && access(aside, F_OK) == 0)
            fc_check_problem(self, "blob-corrupt", hex,
                             "blob %s corrupt (%s of %s): moved aside by the broker", hex, f->path,
                             where);
        else if (access(path, F_OK) != 0 && (self->relay || s_in_db(db, f->hash))) {
            self->checked_blobs--; /* nothing here to check yet */
            self->not_fetched++;
        } else if (access(path, F_OK) != 0)
            fc_check_problem(self, "blob-missing", hex, "blob of %s (%s) is missing", f->path,
                             where);
        else if (fc_check_file_content(path, f, why, sizeof why) != 0)
            fc_check_problem(self, "blob-corrupt", hex, "blob %s corrupt (%s of %s): %s", hex,
                             f->path, where, why);
    }
    fc_manifest_destroy(&m);
}

static void s_check_revisions(fc_check_t *self, fc_db_t *db)
{
    fc_db_stmt_t *st = fc_db_prepare(db, "SELECT rev, signed FROM config_revisions ORDER BY rev");
    if (!st)
        return; /* a broker that never had config has no such table */
    uint64_t expect = 1;
    while (fc_db_step(st) == FC_DB_ROW) {
        uint64_t rev = (uint64_t)fc_db_column_int64(st, 0);
        char where[48];
        snprintf(where, sizeof where, "revision %" PRIu64, rev);
        self->checked_revisions++;
        if (rev != expect)
            fc_check_problem(self, "revision-gap", where,
                             "config revisions %" PRIu64 "..%" PRIu64 " are missing", expect,
                             rev - 1);
        expect = rev + 1;
        self->latest_rev = rev;
        int err = 0;
        fc_revision_t *r = fc_revision_parse(fc_db_column_blob(st, 1),
                                             (size_t)fc_db_column_bytes(st, 1), self->trust, &err);
        if (!r)
            fc_check_problem(self, "revision-signature", where, "does not verify: %s",
                             fc_strerror(err));
        else if (r->rev != rev)
            fc_check_problem(self, "revision-signature", where, "signed as revision %" PRIu64,
                             r->rev);
        fc_revision_destroy(&r);
    }
    fc_db_finalize(st);
}

/* Blobs the broker itself found corrupt (the corrupt_blobs table, if any). */
static void s_check_marked(fc_check_t *self, fc_db_t *db)
{
    fc_db_stmt_t *st = fc_db_prepare(db, "SELECT blob, reason FROM corrupt_blobs");
    if (st)
        while (fc_db_step(st) == FC_DB_ROW) {
            char hex[2 * FC_HASH_LEN + 1] = "?";
            if (fc_db_column_bytes(st, 0) == FC_HASH_LEN)
                fc_hash_hex(fc_db_column_blob(st, 0), hex);
            fc_check_problem(self, "blob-marked-corrupt", hex,
                             "the broker marked blob %s corrupt: %s", hex,
                             (const char *)fc_db_column_text(st, 1));
        }
    fc_db_finalize(st);
}

void fc_check_broker(fc_check_t *self, const char *data_dir, const char *store)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/fleetcast.db", data_dir);
    /* Where problems are said to be: never a PostgreSQL connection string (a password). */
    const char *name = store && fc_db_where_is_pg(store) ? "(PostgreSQL)" : store ? store : path;
    self->have_broker = true;
    int rc = FC_DB_OK;
    char why[256];
    fc_db_t *db = NULL;
    if (!store && access(path, R_OK) != 0)
        snprintf(why, sizeof why, "%s", strerror(errno));
    else
        db = fc_db_open_readonly(store ? store : path, &rc, why, sizeof why);
    if (!db) {
        fc_check_problem(self, "database", name, "cannot open the database: %s", why);
        return;
    }
    bool ok = false;
    fc_db_stmt_t *st = fc_db_prepare(db, "PRAGMA integrity_check");
    if (st) {
        while ((rc = fc_db_step(st)) == FC_DB_ROW) {
            const char *line = (const char *)fc_db_column_text(st, 0);
            if (line && !strcmp(line, "ok"))
                ok = true;
            else
                fc_check_problem(self, "database", name, "integrity_check: %s", line ? line : "?");
        }
        if (rc != FC_DB_DONE && !ok)
            fc_check_problem(self, "database", name, "integrity_check: %s", fc_db_errmsg(db));
    } else {
        fc_check_problem(self, "database", name, "integrity_check: %s", fc_db_errmsg(db));
    }
    fc_db_finalize(st);
    st = fc_db_prepare(db, "SELECT channel, serial, version, manifest FROM releases ORDER BY id");
    if (st) {
        char **seen = NULL;
        size_t nseen = 0;
        while ((rc = fc_db_step(st)) == FC_DB_ROW)
            s_check_release(self, data_dir, db, st, &seen, &nseen);
        /* PostgreSQL prepares at the first step: a missing table shows here, not above */
        if (rc != FC_DB_DONE)
            fc_check_problem(self, "database", name, "reading the releases: %s", fc_db_errmsg(db));
        for (size_t i = 0; i < nseen; i++)
            free(seen[i]);
        free(seen);
    } else {
        fc_check_problem(self, "database", name, "no releases table: %s", fc_db_errmsg(db));
    }
    fc_db_finalize(st);
    s_check_revisions(self, db);
    s_check_marked(self, db);
    fc_db_close(&db);
}

/* --- main ------------------------------------------------------------------------------- */

static void s_usage(FILE *out)
{
    fprintf(
        out,
        "usage: fleetcast-check [--data BROKER_DIR [--store DB]] [--agent DIR | --agent "
        "INSTALL:STATE]...\n"
        "                       [--trust signing.pub] [--expect-latest] [--channel NAME] "
        "[--json]\n"
        "Checks fleetcast's invariants and prints one line per problem:\n"
        "  --data DIR       broker data dir: PRAGMA integrity_check; every release's manifest\n"
        "                   verifies and its blobs are present with the right hash; config\n"
        "                   revisions contiguous and signed; blobs the broker marked corrupt\n"
        "  --store DB       the broker's database when not DIR/fleetcast.db (its --store): a\n"
        "                   SQLite file or a PostgreSQL server (postgresql://..., read-only)\n"
        "  --agent DIR      an agent (DIR/install and DIR/state, or INSTALL:STATE): `current`\n"
        "                   is a complete tree matching a signed manifest (sizes, hashes,\n"
        "                   modes), never a partial or staging tree\n"
        "  --trust FILE     verify signatures against these keys (default: the embedded signer)\n"
        "  --expect-latest  agents must run the latest release of their channel and have the\n"
        "                   latest config revision in state/config.json (needs --data)\n"
        "  --channel NAME   channel of agents with nothing installed (default stable)\n"
        "  --relay          --data is a relay's (fleetcast-broker --upstream): a blob not\n"
        "                   fetched yet is counted, not a problem; those present are checked\n"
        "  --json           {\"ok\":..,\"problems\":[{\"kind\",\"where\",\"detail\"}],...}\n"
        "Exit status: 0 no problem, 1 problems found, 2 usage error.\n");
}

static void s_print(const fc_check_t *c, bool json)
{
    if (!json) {
        for (size_t i = 0; i < c->nproblems; i++)
            printf("PROBLEM %s: %s: %s\n", c->kinds[i], c->wheres[i], c->details[i]);
        printf("%s: %zu releases, %zu blobs, %zu config revisions, %zu agents checked, %zu "
               "problem%s\n",
               c->nproblems ? "FAIL" : "OK", c->checked_releases, c->checked_blobs,
               c->checked_revisions, c->checked_agents, c->nproblems, c->nproblems == 1 ? "" : "s");
        if (c->relay)
            printf("relay: %zu blobs not fetched yet\n", c->not_fetched);
        else if (c->not_fetched)
            printf("%zu blobs kept in the database and not filled into this broker's DIR/blobs "
                   "yet (it fills them at their first request)\n",
                   c->not_fetched);
        return;
    }
    fc_json_t *j = fc_json_new();
    if (!j)
        return;
    fc_json_open(j);
    fc_json_key_bool(j, "ok", c->nproblems == 0);
    fc_json_key_uint(j, "releases", c->checked_releases);
    fc_json_key_uint(j, "blobs", c->checked_blobs);
    fc_json_key_uint(j, "revisions", c->checked_revisions);
    fc_json_key_uint(j, "agents", c->checked_agents);
    if (c->relay || c->not_fetched)
        fc_json_key_uint(j, "not_fetched", c->not_fetched);
    fc_json_key(j, "problems");
    fc_json_open_array(j);
    for (size_t i = 0; i < c->nproblems; i++) {
        fc_json_open(j);
        fc_json_key_str(j, "kind", c->kinds[i]);
        fc_json_key_str(j, "where", c->wheres[i]);
        fc_json_key_str(j, "detail", c->details[i]);
        fc_json_close(j);
    }
    fc_json_close_array(j);
    fc_json_close(j);
    printf("%s\n", fc_json_text(j));
    fc_json_destroy(&j);
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {{"data", 1, 0, 'd'},          {"agent", 1, 0, 'a'},
                                             {"trust", 1, 0, 't'},         {"json", 0, 0, 'j'},
                                             {"expect-latest", 0, 0, 'e'}, {"channel", 1, 0, 'c'},
                                             {"relay", 0, 0, 'r'},         {"help", 0, 0, 'h'},
                                             {"store", 1, 0, 's'},         {0, 0, 0, 0}};
    fc_check_t c = {.channel = "stable"};
    const char *data = NULL, *trust_path = NULL, *store = NULL;
    char **agents = NULL;
    size_t nagents = 0;
    bool json = false;
    int opt;
    while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (opt) {
        case 'd':
            data = optarg;
            break;
        case 't':
            trust_path = optarg;
            break;
        case 's':
            store = optarg;
            break;
        case 'j':
            json = true;
            break;
        case 'e':
            c.expect_latest = true;
            break;
        case 'r':
            c.relay = true;
            break;
        case 'c':
            c.channel = optarg;
            break;
        case 'a': {
            char **a = realloc(agents, (nagents + 1) * sizeof *a);
            if (!a)
                return 2;
            agents = a;
            agents[nagents++] = optarg;
            break;
        }
        case 'h':
            s_usage(stdout);
            return 0;
        default:
            s_usage(stderr);
            return 2;
        }
    }
    if (optind < argc || (!data && !nagents) || (c.expect_latest && !data)) {
        s_usage(stderr);
        return 2;
    }
    if (fc_crypto_init() != 0) {
        fprintf(stderr, "fleetcast-check: libsodium failed to initialise\n");
        return 2;
    }
    fc_trust_t *trust = NULL;
    if (trust_path) {
        int err = 0;
        trust = fc_trust_load(trust_path, &err);
        if (!trust) {
            fprintf(stderr, "fleetcast-check: %s: %s\n", trust_path, fc_strerror(err));
            return 2;
        }
        c.trust = trust;
    }
    if (store && !data) {
        fprintf(stderr, "fleetcast-check: --store needs --data (the blobs are under DIR)\n");
        return 2;
    }
    if (data)
        fc_check_broker(&c, data, store);
    for (size_t i = 0; i < nagents; i++) {
        char install[PATH_MAX], state[PATH_MAX];
        const char *colon = strchr(agents[i], ':');
        if (colon) {
            snprintf(install, sizeof install, "%.*s", (int)(colon - agents[i]), agents[i]);
            snprintf(state, sizeof state, "%s", colon + 1);
        } else {
            snprintf(install, sizeof install, "%s/install", agents[i]);
            snprintf(state, sizeof state, "%s/state", agents[i]);
        }
        fc_check_agent(&c, install, state);
    }
    s_print(&c, json);
    int status = c.nproblems ? 1 : 0;
    for (size_t i = 0; i < c.nproblems; i++) {
        free(c.kinds[i]);
        free(c.wheres[i]);
        free(c.details[i]);
    }
    free(c.kinds);
    free(c.wheres);
    free(c.details);
    free(c.latest);
    free(agents);
    fc_trust_destroy(&trust);
    return status;
}
