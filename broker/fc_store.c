/* fc_store.c: the broker's durable state: opening the database, releases, agents, sequence. */
#include "fc_array.h"
#include "fc_error.h"
#include "fc_file.h"
#include "fc_hash.h"
#include "fc_manifest.h"
#include "fc_store_config.h"
#include "fc_store_keys.h"
#include "fc_store_listen.h"
#include "fc_store_pieces.h"
#include "fc_store_priv.h"
#include "fc_store_release_rollout.h"
#include "fc_store_slots.h"
#include "fc_store_via.h"
#include "fc_text.h"

#include "fc_db.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define FC_STORE_SCHEMA 1

static const char *s_schema =
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);"
    "INSERT OR IGNORE INTO meta (key, value) VALUES ('seq', 0);"
    "CREATE TABLE IF NOT EXISTS uploads (blob BLOB PRIMARY KEY, size INTEGER NOT NULL,"
    "  started INTEGER NOT NULL);"
    /* the pieces of an upload held so far: any offsets and lengths (chunks cut by content) */
    "CREATE TABLE IF NOT EXISTS upload_pieces (blob BLOB NOT NULL, start INTEGER NOT NULL,"
    "  length INTEGER NOT NULL, PRIMARY KEY (blob, start)) WITHOUT ROWID;"
    /* before issue 13 a piece was the idx-th FC_CHUNK_SIZE chunk: moved to upload_pieces */
    "CREATE TABLE IF NOT EXISTS upload_chunks (blob BLOB NOT NULL, idx INTEGER NOT NULL,"
    "  PRIMARY KEY (blob, idx)) WITHOUT ROWID;"
    "INSERT OR IGNORE INTO upload_pieces (blob, start, length)"
    "  SELECT c.blob, c.idx * 262144, min(262144, u.size - c.idx * 262144)"
    "  FROM upload_chunks c JOIN uploads u ON u.blob = c.blob WHERE c.idx * 262144 < u.size;"
    "DELETE FROM upload_chunks;"
    "CREATE TABLE IF NOT EXISTS releases (id INTEGER PRIMARY KEY, channel TEXT NOT NULL,"
    "  serial INTEGER NOT NULL, version TEXT NOT NULL, product TEXT NOT NULL,"
    "  manifest BLOB NOT NULL, size INTEGER NOT NULL, files INTEGER NOT NULL,"
    "  created INTEGER NOT NULL, mandatory INTEGER NOT NULL, seq INTEGER NOT NULL,"
    "  committed INTEGER NOT NULL, UNIQUE (channel, serial));"
    "CREATE TABLE IF NOT EXISTS agents (id TEXT PRIMARY KEY, channel TEXT NOT NULL,"
    "  version TEXT NOT NULL, state TEXT NOT NULL, message TEXT NOT NULL,"
    "  done INTEGER NOT NULL, total INTEGER NOT NULL, last_seen INTEGER NOT NULL);"
    /* blobs found damaged after they were stored (moved aside until a re-push) */
    "CREATE TABLE IF NOT EXISTS corrupt_blobs (blob BLOB PRIMARY KEY, reason TEXT NOT NULL,"
    "  time INTEGER NOT NULL);"
    /* where a chunk (by its hash) lies in a complete blob: UPLOAD_CHUNKS copies it from
       there instead of having it uploaded again. Filled as blobs complete since issue 13's
       chunk-granular upload; a row whose blob went is removed with it, or when found stale */
    "CREATE TABLE IF NOT EXISTS chunk_index (hash BLOB PRIMARY KEY, blob BLOB NOT NULL,"
    "  start INTEGER NOT NULL, length INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE INDEX IF NOT EXISTS chunk_index_blob ON chunk_index (blob);";
/* --- helpers ---------------------------------------------------------------------------- */

int fc_store_sqlite_error(int rc)
{
    switch (rc & 0xff) {
    case FC_DB_FULL:
        return FC_ENOSPC;
    case FC_DB_CORRUPT:
    case FC_DB_NOTADB:
        return FC_EPROTO;
    case FC_DB_NOMEM:
        return FC_ENOMEM;
    default:
        return FC_EIO;
    }
}

fc_db_stmt_t *fc_store_prep(fc_store_t *self, const char *sql)
{
    return fc_db_prepare(self->db, sql);
}

int fc_store_begin(fc_store_t *self)
{
    return fc_store_exec(self, self->batch ? "SAVEPOINT fc_op" : "BEGIN IMMEDIATE");
}

int fc_store_commit(fc_store_t *self)
{
    return fc_store_exec(self, self->batch ? "RELEASE fc_op" : "COMMIT");
}

void fc_store_rollback(fc_store_t *self)
{
    if (self->batch) {
        fc_store_exec(self, "ROLLBACK TO fc_op");
        fc_store_exec(self, "RELEASE fc_op");
    } else
        fc_store_exec(self, "ROLLBACK");
}

int fc_store_end(fc_store_t *self, int err)
{
    if (!err)
        err = fc_store_commit(self);
    if (err)
        fc_store_rollback(self);
    return err;
}

int fc_store_delete_blob_rows(fc_store_t *self, const char *const *sqls, size_t n,
                              const uint8_t blob[FC_HASH_LEN])
{
    int err = fc_store_begin(self); /* a savepoint inside a batch */
    for (size_t i = 0; i < n && !err; i++) {
        fc_db_stmt_t *st = fc_store_prep(self, sqls[i]);
        if (st)
            fc_db_bind_blob(st, 1, blob, FC_HASH_LEN);
        err = fc_store_step_done(st);
    }
    return fc_store_end(self, err);
}

int fc_store_batch_begin(fc_store_t *self)
{
    if (self->batch)
        return FC_OK;
    fc_store_sync(self, true);
    int err = fc_store_exec(self, "BEGIN IMMEDIATE");
    if (!err)
        self->batch = true;
    return err;
}

int fc_store_batch_commit(fc_store_t *self)
{
    if (!self->batch)
        return FC_OK;
    self->batch = false;
    /* Uploads acknowledged in the batch: their data and blobs on disk before the records
       that say they are there. */
    int err = fc_store_blob_flush(self);
    if (!err)
        err = fc_store_exec(self, "COMMIT");
    if (err) {
        fc_store_exec(self, "ROLLBACK");
        fc_store_agent_keys_load(self); /* forget ids the batch bound: they are not on disk */
    }
    return err;
}

bool fc_store_batch_open(const fc_store_t *self)
{
    return self->batch;
}

/* Runs a statement to completion and finalizes it; returns fc_error_t. */
int fc_store_step_done(fc_db_stmt_t *st)
{
    if (!st)
        return FC_EIO;
    int rc = fc_db_step(st);
    fc_db_finalize(st);
    return rc == FC_DB_DONE || rc == FC_DB_ROW ? FC_OK : fc_store_sqlite_error(rc);
}

bool fc_store_has_row(fc_store_t *self, const char *sql, const uint8_t hash[FC_HASH_LEN])
{
    fc_db_stmt_t *st = fc_store_prep(self, sql);
    if (!st)
        return false;
    fc_db_bind_blob(st, 1, hash, FC_HASH_LEN);
    bool found = fc_db_step(st) == FC_DB_ROW;
    fc_db_finalize(st);
    return found;
}

int fc_store_exec(fc_store_t *self, const char *sql)
{
    int rc = fc_db_exec(self->db, sql);
    return rc == FC_DB_OK ? FC_OK : fc_store_sqlite_error(rc);
}

/* Chunk commits must survive power loss before they are acknowledged; agent status
   reports may lose their last second, and need not pay an fsync each. */
void fc_store_sync(fc_store_t *self, bool full)
{
    if (self->batch)
        return; /* FULL already, and PRAGMA synchronous is fixed inside a transaction */
    if (self->sync_full != full) {
        fc_store_exec(self, full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL");
        self->sync_full = full;
    }
}

const char *fc_store_col(fc_db_stmt_t *st, int col)
{
    const char *s = (const char *)fc_db_column_text(st, col);
    return s ? s : "";
}

static void s_col_str(fc_db_stmt_t *st, int col, char *out, size_t outsize)
{
    fc_msg_set_str(out, outsize, fc_store_col(st, col));
}

int fc_store_rows(fc_db_stmt_t *st, size_t max, size_t elem, fc_store_row_fn *row, void *arg,
                  void **rows, size_t *n)
{
    *rows = NULL;
    *n = 0;
    size_t cap = 0;
    int rc = FC_DB_DONE;
    while (*n < max && (rc = fc_db_step(st)) == FC_DB_ROW) {
        void *bigger = fc_grow(*rows, *n, &cap, elem);
        if (!bigger) {
            rc = FC_DB_NOMEM;
            break;
        }
        *rows = bigger;
        void *entry = (char *)bigger + *n * elem;
        memset(entry, 0, elem);
        if (row(st, entry, arg))
            (*n)++;
    }
    fc_db_finalize(st);
    if (*n < max && rc != FC_DB_DONE) {
        free(*rows);
        *rows = NULL;
        *n = 0;
        return fc_store_sqlite_error(rc);
    }
    return FC_OK;
}

/* --- open / close ----------------------------------------------------------------------- */

/* The database as messages name it: a SQLite file's path; never a PostgreSQL connection
   string, which may hold a password. */
static const char *s_db_name(const fc_store_t *self)
{
    return fc_db_where_is_pg(self->db_path) ? "(PostgreSQL)" : self->db_path;
}

static int s_open_db(fc_store_t *self, char *text, size_t textsize)
{
    int rc = FC_DB_OK;
    char why[FC_MAX_TEXT];
    self->db = fc_db_open(self->db_path, &rc, why, sizeof why);
    if (!self->db) {
        fc_textf(text, textsize, "cannot open database %s: %s", s_db_name(self), why);
        return fc_store_sqlite_error(rc);
    }
    if (!fc_db_is_pg(self->db)) {
        /* journal_mode is the first statement that reads the file: a corrupt or foreign
           file fails here (FC_DB_NOTADB). */
        fc_db_stmt_t *st = fc_store_prep(self, "PRAGMA journal_mode=WAL");
        rc = st ? fc_db_step(st) : fc_db_errcode(self->db);
        bool wal = rc == FC_DB_ROW && strcmp((const char *)fc_db_column_text(st, 0), "wal") == 0;
        fc_db_finalize(st);
        if (!wal) {
            rc = fc_db_errcode(self->db);
            fc_textf(text, textsize,
                     "database %s is unusable (corrupt or not a fleetcast database?): %s",
                     self->db_path, fc_db_errmsg(self->db));
            return rc == FC_DB_OK ? FC_EIO : fc_store_sqlite_error(rc);
        }
    }
    fc_store_exec(self, "PRAGMA synchronous=FULL");
    self->sync_full = true;

    fc_db_stmt_t *st = fc_store_prep(self, "PRAGMA user_version");
    int version = st && fc_db_step(st) == FC_DB_ROW ? fc_db_column_int(st, 0) : -1;
    fc_db_finalize(st);
    if (version < 0 || version > FC_STORE_SCHEMA) {
        fc_textf(text, textsize, "database %s has an unknown schema version %d", s_db_name(self),
                 version);
        return FC_EPROTO;
    }
    int err = fc_store_exec(self, "BEGIN IMMEDIATE");
    if (!err)
        err = fc_store_exec(self, s_schema);
    if (!err)
        err = fc_store_config_init(self); /* config tables: fc_store_config.c */
    if (!err)
        err = fc_store_trust_init(self); /* trusted-key lists: fc_store_trust.c */
    if (!err)
        err = fc_store_agent_keys_init(self); /* agent id -> key: fc_store_agent_keys.c */
    if (!err)
        err = fc_store_via_init(self); /* agent id -> its relay: fc_store_via.c */
    if (!err)
        err = fc_store_slots_init(self); /* restart slots: fc_store_slots.c */
    if (!err)
        err = fc_store_keys_init(self); /* enrolled CURVE keys: fc_store_keys.c */
    if (!err)
        err = fc_store_pieces_init(self); /* blobs in PostgreSQL: fc_store_pieces.c */
    if (!err)
        err = fc_store_release_rollout_init(self); /* fc_store_release_rollout.c */
    if (!err)
        err = fc_store_object_init(self); /* format-3 manifest objects: fc_store_object.c */
    if (!err)
        err = fc_store_backfill_init(self); /* the chunk index of older blobs */
    if (!err)
        err = fc_store_exec(self, "PRAGMA user_version=1");
    if (!err)
        err = fc_store_exec(self, "COMMIT");
    if (err) {
        fc_textf(text, textsize, "cannot initialise database %s: %s", s_db_name(self),
                 err == FC_EPROTO && fc_db_errcode(self->db) == FC_DB_OK
                     ? "its config tables come from a newer fleetcast-broker"
                     : fc_db_errmsg(self->db));
        fc_store_exec(self, "ROLLBACK");
        return err;
    }
    st = fc_store_prep(self, "SELECT value FROM meta WHERE key = 'seq'");
    if (!st || fc_db_step(st) != FC_DB_ROW) {
        fc_db_finalize(st);
        fc_textf(text, textsize, "database %s: cannot read the sequence number", self->db_path);
        return FC_EIO;
    }
    self->seq = (uint64_t)fc_db_column_int64(st, 0);
    fc_db_finalize(st);
    err = fc_store_agent_keys_load(self);
    if (err)
        fc_textf(text, textsize, "database %s: cannot read the agent keys", self->db_path);
    return err;
}

fc_store_t *fc_store_new(const char *dir, int *err, char *text, size_t textsize)
{
    return fc_store_new_db(dir, NULL, err, text, textsize);
}

fc_store_t *fc_store_new_db(const char *dir, const char *db, int *err, char *text, size_t textsize)
{
    int dummy;
    if (!err)
        err = &dummy;
    *err = FC_OK;
    struct stat sb;
    if (!dir || stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
        fc_textf(text, textsize, "data directory %s does not exist or is not a directory",
                 dir ? dir : "(null)");
        *err = FC_EIO;
        return NULL;
    }
    if (access(dir, R_OK | W_OK | X_OK) != 0) {
        fc_textf(text, textsize, "data directory %s is not writable: %s", dir, strerror(errno));
        *err = FC_EIO;
        return NULL;
    }
    fc_store_t *self = calloc(1, sizeof *self);
    if (!self) {
        *err = FC_ENOMEM;
        return NULL;
    }
    for (int i = 0; i < FC_STORE_FDS; i++)
        self->fds[i].fd = -1;
    self->dir = strdup(dir);
    size_t pathlen = strlen(dir) + sizeof "/fleetcast.db";
    self->db_path = db ? strdup(db) : malloc(pathlen);
    if (!self->dir || !self->db_path) {
        *err = FC_ENOMEM;
        fc_store_destroy(&self);
        return NULL;
    }
    if (!db)
        snprintf(self->db_path, pathlen, "%s/fleetcast.db", dir);
    const char *subdirs[] = {"blobs", "incoming"};
    for (size_t i = 0; i < 2; i++) {
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%s/%s", dir, subdirs[i]);
        if (fc_mkdirs(path, 0755) != 0) {
            *err = fc_errno_to_error(errno);
            fc_textf(text, textsize, "cannot create %s: %s", path, strerror(errno));
            fc_store_destroy(&self);
            return NULL;
        }
    }
    *err = s_open_db(self, text, textsize);
    if (*err) {
        fc_store_destroy(&self);
        return NULL;
    }
    return self;
}

void fc_store_destroy(fc_store_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    fc_store_t *self = *self_p;
    for (int i = 0; i < FC_STORE_FDS; i++)
        if (self->fds[i].fd >= 0)
            close(self->fds[i].fd);
    for (size_t i = 0; i < self->npending; i++)
        close(self->pending[i].fd);
    free(self->pending);
    zhashx_destroy(&self->agent_keys);
    fc_db_close(&self->db);
    free(self->db_path);
    free(self->dir);
    free(self);
    *self_p = NULL;
}

/* --- releases --------------------------------------------------------------------------- */

static void s_info_from_manifest(fc_release_info_t *info, const fc_manifest_t *m)
{
    memset(info, 0, sizeof *info);
    fc_msg_set_str(info->channel, sizeof info->channel, m->channel);
    fc_msg_set_str(info->version, sizeof info->version, m->version);
    info->serial = m->serial;
    info->size = fc_manifest_total_size(m);
    info->files = m->nfiles;
    info->created = m->created;
    info->mandatory = m->mandatory;
}

#define S_RELEASE_COLS "channel, version, serial, size, files, created, mandatory"

static void s_info_from_row(fc_release_info_t *info, fc_db_stmt_t *st)
{
    memset(info, 0, sizeof *info);
    s_col_str(st, 0, info->channel, sizeof info->channel);
    s_col_str(st, 1, info->version, sizeof info->version);
    info->serial = (uint64_t)fc_db_column_int64(st, 2);
    info->size = (uint64_t)fc_db_column_int64(st, 3);
    info->files = (uint64_t)fc_db_column_int64(st, 4);
    info->created = fc_db_column_int64(st, 5);
    info->mandatory = fc_db_column_int(st, 6) != 0;
}

/* Checks every file's blob is stored; FC_EMISSING naming the first that is not. */
static int s_check_blobs(fc_store_t *self, const fc_manifest_t *m, char *text, size_t textsize)
{
    for (uint32_t i = 0; i < m->nfiles; i++) {
        const fc_file_t *f = &m->files[i];
        uint64_t size;
        if (f->size == 0)
            continue; /* nothing to fetch: agents create empty files themselves */
        if (!fc_store_blob_exists(self, f->hash, &size) || size != f->size) {
            char hex[2 * FC_HASH_LEN + 1];
            fc_textf(text, textsize, "blob %s (%.200s) is not uploaded", fc_hash_hex(f->hash, hex),
                     f->path);
            return FC_EMISSING;
        }
    }
    return FC_OK;
}

/* Inside a transaction: bumps the sequence and inserts the release with it (*seq). */
static int s_insert_release(fc_store_t *self, const fc_manifest_t *m, const uint8_t *bytes,
                            size_t len, uint64_t *seq)
{
    int err = fc_store_seq_take(self, seq);
    if (err)
        return err;
    fc_db_stmt_t *st =
        fc_store_prep(self, "INSERT INTO releases (channel, serial, version, product,"
                            " manifest, size, files, created, mandatory, seq, committed)"
                            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    if (st) {
        fc_db_bind_text(st, 1, m->channel, -1);
        fc_db_bind_int64(st, 2, (int64_t)m->serial);
        fc_db_bind_text(st, 3, m->version, -1);
        fc_db_bind_text(st, 4, m->product, -1);
        fc_db_bind_blob(st, 5, bytes, len);
        fc_db_bind_int64(st, 6, (int64_t)fc_manifest_total_size(m));
        fc_db_bind_int64(st, 7, (int64_t)m->nfiles);
        fc_db_bind_int64(st, 8, m->created);
        fc_db_bind_int(st, 9, m->mandatory ? 1 : 0);
        fc_db_bind_int64(st, 10, (int64_t)*seq);
        fc_db_bind_int64(st, 11, (int64_t)time(NULL));
    }
    return fc_store_step_done(st);
}

/* need_blobs: a publisher's commit needs every blob here; a relay's mirror fetches them
   when an agent first asks (fc_relay.c), so it stores the manifest without them. */
static int s_release_commit(fc_store_t *self, const uint8_t *manifest, size_t len,
                            fc_release_info_t *info, uint64_t *seq, char *text, size_t textsize,
                            bool need_blobs)
{
    *seq = 0;
    if (text && textsize)
        text[0] = '\0';
    int err = FC_OK;
    uint8_t missing[FC_HASH_LEN];
    fc_manifest_t *m = fc_store_manifest_load(self, manifest, len, NULL, missing, &err);
    if (!m && err == FC_ENOTFOUND) {
        char hex[2 * FC_HASH_LEN + 1];
        fc_textf(text, textsize, "manifest object %s is not stored: PUT_OBJECT it first",
                 fc_hash_hex(missing, hex));
        return FC_EMISSING;
    }
    if (!m) {
        fc_textf(text, textsize, "manifest rejected: %s", fc_strerror(err));
        return err ? err : FC_EPROTO;
    }
    if (!fc_name_valid(m->channel) || !fc_name_valid(m->version)) {
        fc_textf(text, textsize, "manifest has an invalid channel or version name");
        err = FC_EINVAL;
    } else if (m->serial > INT64_MAX) {
        fc_textf(text, textsize, "serial %llu is too large", (unsigned long long)m->serial);
        err = FC_EINVAL;
    } else if (m->serial == 0) {
        /* An agent with nothing installed holds serial 0: a release 0 would never install. */
        fc_textf(text, textsize, "serial 0: release serials start at 1");
        err = FC_ESERIAL;
    }
    if (!err && need_blobs)
        err = s_check_blobs(self, m, text, textsize);
    if (!err) {
        fc_store_sync(self, true);
        err = fc_store_exec(self, "BEGIN IMMEDIATE");
    }
    if (err) {
        fc_manifest_destroy(&m);
        return err;
    }
    uint64_t prev = 0; /* the channel's latest before this one */
    fc_db_stmt_t *st = fc_store_prep(self, "SELECT serial, manifest FROM releases WHERE channel = ?"
                                           " ORDER BY serial DESC LIMIT 1");
    if (!st)
        err = FC_EIO;
    else {
        fc_db_bind_text(st, 1, m->channel, -1);
        int rc = fc_db_step(st);
        if (rc == FC_DB_ROW) {
            uint64_t latest = (uint64_t)fc_db_column_int64(st, 0);
            prev = latest;
            const void *old = fc_db_column_blob(st, 1);
            size_t oldlen = (size_t)fc_db_column_bytes(st, 1);
            if (m->serial == latest && oldlen == len && memcmp(old, manifest, len) == 0)
                err = -1; /* identical re-commit: nothing to store or announce */
            else if (m->serial <= latest) {
                fc_textf(text, textsize, "serial %llu is not above channel %s's latest (%llu)",
                         (unsigned long long)m->serial, m->channel, (unsigned long long)latest);
                err = FC_ESERIAL;
            }
        } else if (rc != FC_DB_DONE)
            err = fc_store_sqlite_error(rc);
        fc_db_finalize(st);
    }
    uint64_t taken = 0;
    if (err == 0) {
        err = s_insert_release(self, m, manifest, len, &taken);
        if (!err) /* its planned rollout starts with it, or not at all */
            err = fc_store_rollout_on_commit(self, m->channel, m->serial, m->version, prev);
        if (!err)
            err = fc_store_exec(self, "COMMIT");
        if (!err)
            *seq = self->seq = taken;
        else
            fc_textf(text, textsize, "cannot store the release: %s", fc_db_errmsg(self->db));
    }
    if (err)
        fc_store_exec(self, "ROLLBACK");
    if (err == -1)
        err = FC_OK;
    if (!err && info)
        s_info_from_manifest(info, m);
    fc_manifest_destroy(&m);
    return err;
}

int fc_store_release_commit(fc_store_t *self, const uint8_t *manifest, size_t len,
                            fc_release_info_t *info, uint64_t *seq, char *text, size_t textsize)
{
    return s_release_commit(self, manifest, len, info, seq, text, textsize, true);
}

int fc_store_release_mirror(fc_store_t *self, const uint8_t *manifest, size_t len,
                            fc_release_info_t *info, uint64_t *seq, char *text, size_t textsize)
{
    return s_release_commit(self, manifest, len, info, seq, text, textsize, false);
}

int fc_store_latest(fc_store_t *self, const char *channel, fc_release_info_t *info,
                    uint8_t **manifest, size_t *len)
{
    return fc_store_release_get(self, channel, 0, info, manifest, len);
}

int fc_store_release_get(fc_store_t *self, const char *channel, uint64_t serial,
                         fc_release_info_t *info, uint8_t **manifest, size_t *len)
{
    fc_db_stmt_t *st = fc_store_prep(self, "SELECT " S_RELEASE_COLS ", manifest FROM releases"
                                           " WHERE channel = ?1 AND (?2 = 0 OR serial = ?2)"
                                           " ORDER BY serial DESC LIMIT 1");
    if (!st)
        return FC_EIO;
    fc_db_bind_text(st, 1, channel ? channel : "", -1);
    fc_db_bind_int64(st, 2, (int64_t)(serial > INT64_MAX ? INT64_MAX : serial));
    int rc = fc_db_step(st);
    int err = rc == FC_DB_ROW ? FC_OK : rc == FC_DB_DONE ? FC_ENOTFOUND : fc_store_sqlite_error(rc);
    if (!err && info)
        s_info_from_row(info, st);
    if (!err && manifest) {
        size_t n = (size_t)fc_db_column_bytes(st, 7);
        *manifest = malloc(n ? n : 1);
        if (!*manifest)
            err = FC_ENOMEM;
        else {
            if (n)
                memcpy(*manifest, fc_db_column_blob(st, 7), n);
            *len = n;
        }
    }
    fc_db_finalize(st);
    return err;
}

/* fc_store_row_fn: a row of S_RELEASE_COLS. */
static bool s_release_row(fc_db_stmt_t *st, void *entry, void *arg)
{
    (void)arg;
    s_info_from_row((fc_release_info_t *)entry, st);
    return true;
}

/* Collects rows of S_RELEASE_COLS into a malloc'd array. */
static int s_collect_releases(fc_db_stmt_t *st, size_t max, fc_release_info_t **list, size_t *n)
{
    void *rows = NULL;
    int err = fc_store_rows(st, max, sizeof **list, s_release_row, NULL, &rows, n);
    *list = rows;
    return err;
}

int fc_store_list(fc_store_t *self, const char *channel, size_t max, fc_release_info_t **list,
                  size_t *n)
{
    bool all = !channel || !*channel;
    fc_db_stmt_t *st =
        fc_store_prep(self, all ? "SELECT " S_RELEASE_COLS " FROM releases"
                                  " ORDER BY seq DESC, id DESC LIMIT ?"
                                : "SELECT " S_RELEASE_COLS " FROM releases"
                                  " WHERE channel = ?2 ORDER BY seq DESC, id DESC LIMIT ?1");
    if (!st)
        return FC_EIO;
    fc_db_bind_int64(st, 1, (int64_t)max);
    if (!all)
        fc_db_bind_text(st, 2, channel, -1);
    return s_collect_releases(st, max, list, n);
}

int fc_store_list_page(fc_store_t *self, const char *channel, uint64_t before, uint64_t before_id,
                       size_t max, fc_release_info_t **list, size_t *n, bool *more, uint64_t *last,
                       uint64_t *last_id)
{
    *list = NULL;
    *n = 0;
    *more = false;
    *last = *last_id = 0;
    /* By (seq, id): the schema does not make seq unique, the row id is, so a page never
       ends between two releases of one sequence number and skips or repeats one. */
    fc_db_stmt_t *st = fc_store_prep(self, "SELECT " S_RELEASE_COLS " FROM releases"
                                           " WHERE (?2 = '' OR channel = ?2)"
                                           " AND (?3 = 0 OR seq < ?3 OR (seq = ?3 AND id < ?4))"
                                           " ORDER BY seq DESC, id DESC LIMIT ?1");
    if (!st)
        return FC_EIO;
    /* One more than asked: whether it exists says whether more follow. */
    fc_db_bind_int64(st, 1, (int64_t)max + 1);
    fc_db_bind_text(st, 2, channel ? channel : "", -1);
    fc_db_bind_int64(st, 3, (int64_t)(before > INT64_MAX ? INT64_MAX : before));
    fc_db_bind_int64(st, 4, (int64_t)(before_id > INT64_MAX ? INT64_MAX : before_id));
    int err = s_collect_releases(st, max + 1, list, n);
    if (err || *n == 0)
        return err;
    if (*n > max) {
        *n = max;
        *more = true;
    }
    /* The cursor: the position of the last one listed (release-info has none). */
    st = fc_store_prep(self, "SELECT seq, id FROM releases WHERE channel = ?1 AND serial = ?2");
    if (!st)
        err = FC_EIO;
    else {
        const fc_release_info_t *r = &(*list)[*n - 1];
        fc_db_bind_text(st, 1, r->channel, -1);
        fc_db_bind_int64(st, 2, (int64_t)r->serial);
        if (fc_db_step(st) == FC_DB_ROW) {
            *last = (uint64_t)fc_db_column_int64(st, 0);
            *last_id = (uint64_t)fc_db_column_int64(st, 1);
        } else
            err = FC_EIO;
        fc_db_finalize(st);
    }
    if (err) {
        free(*list);
        *list = NULL;
        *n = 0;
    }
    return err;
}

int fc_store_latest_all(fc_store_t *self, size_t max, fc_release_info_t **list, size_t *n)
{
    fc_db_stmt_t *st =
        fc_store_prep(self, "SELECT " S_RELEASE_COLS " FROM releases r WHERE serial ="
                            " (SELECT max(serial) FROM releases WHERE channel = r.channel)"
                            " ORDER BY channel LIMIT ?");
    if (!st)
        return FC_EIO;
    fc_db_bind_int64(st, 1, (int64_t)max);
    return s_collect_releases(st, max, list, n);
}

/* --- agents ----------------------------------------------------------------------------- */

int fc_store_agent_report(fc_store_t *self, const fc_agent_status_t *s)
{
    if (!fc_name_valid(s->id) || (*s->channel && !fc_name_valid(s->channel)))
        return FC_EINVAL;
    fc_store_sync(self, false);
    fc_db_stmt_t *st =
        fc_store_prep(self, "INSERT OR REPLACE INTO agents (id, channel, version, state,"
                            " message, done, total, last_seen)"
                            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
    if (st) {
        fc_db_bind_text(st, 1, s->id, -1);
        fc_db_bind_text(st, 2, s->channel, -1);
        fc_db_bind_text(st, 3, s->version, -1);
        fc_db_bind_text(st, 4, s->state, -1);
        fc_db_bind_text(st, 5, s->message, -1);
        fc_db_bind_int64(st, 6, (int64_t)s->done);
        fc_db_bind_int64(st, 7, (int64_t)s->total);
        fc_db_bind_int64(st, 8, (int64_t)time(NULL));
    }
    return fc_store_step_done(st);
}

int fc_store_agent_seen(fc_store_t *self, const char *id, const char *channel)
{
    if (!id || !fc_name_valid(id) || !channel || (*channel && !fc_name_valid(channel)))
        return FC_EINVAL;
    fc_store_sync(self, false);
    fc_db_stmt_t *st =
        fc_store_prep(self, "INSERT INTO agents (id, channel, version, state, message,"
                            " done, total, last_seen) VALUES (?1, ?2, '', 'unknown', '',"
                            " 0, 0, ?3) ON CONFLICT (id) DO UPDATE SET"
                            " channel = ?2, last_seen = ?3");
    if (st) {
        fc_db_bind_text(st, 1, id, -1);
        fc_db_bind_text(st, 2, channel, -1);
        fc_db_bind_int64(st, 3, (int64_t)time(NULL));
    }
    int err = fc_store_step_done(st);
    return err ? err : fc_store_agent_known_mark(self, id);
}

/* fc_store_row_fn: a row of the agents table. */
static bool s_agent_row(fc_db_stmt_t *st, void *entry, void *arg)
{
    (void)arg;
    fc_agent_status_t *a = (fc_agent_status_t *)entry;
    s_col_str(st, 0, a->id, sizeof a->id);
    s_col_str(st, 1, a->channel, sizeof a->channel);
    s_col_str(st, 2, a->version, sizeof a->version);
    s_col_str(st, 3, a->state, sizeof a->state);
    s_col_str(st, 4, a->message, sizeof a->message);
    a->done = (uint64_t)fc_db_column_int64(st, 5);
    a->total = (uint64_t)fc_db_column_int64(st, 6);
    a->last_seen = fc_db_column_int64(st, 7);
    return true;
}

int fc_store_agents(fc_store_t *self, const char *channel, size_t max, fc_agent_status_t **list,
                    size_t *n)
{
    bool more;
    return fc_store_agents_page(self, channel, "", "", 0, max, list, n, &more);
}

int fc_store_agents_page(fc_store_t *self, const char *channel, const char *after,
                         const char *state, int64_t online_since, size_t max,
                         fc_agent_status_t **list, size_t *n, bool *more)
{
    *list = NULL;
    *n = 0;
    *more = false;
    /* By id, after the cursor: agents arriving during a paged read land before or after it
       and never shift the ones already read into the next page (no duplicate, no skip). */
    fc_db_stmt_t *st =
        fc_store_prep(self, "SELECT id, channel, version, state, message, done, total, last_seen"
                            " FROM agents WHERE id > ?2 AND (?3 = '' OR channel = ?3)"
                            " AND (?4 = '' OR (?4 = 'offline' AND last_seen < ?5)"
                            "      OR (state = ?4 AND last_seen >= ?5)) ORDER BY id LIMIT ?1");
    if (!st)
        return FC_EIO;
    /* One more than asked: whether it exists says whether more follow. */
    fc_db_bind_int64(st, 1, (int64_t)max + 1);
    fc_db_bind_text(st, 2, after ? after : "", -1);
    fc_db_bind_text(st, 3, channel ? channel : "", -1);
    fc_db_bind_text(st, 4, state ? state : "", -1);
    fc_db_bind_int64(st, 5, online_since);
    void *rows = NULL;
    int err = fc_store_rows(st, max + 1, sizeof **list, s_agent_row, NULL, &rows, n);
    if (!err && *n > max) {
        *n = max;
        *more = true;
    }
    *list = rows;
    return err;
}

/* --- sequence and checks ---------------------------------------------------------------- */

uint64_t fc_store_seq(fc_store_t *self)
{
    return self->seq;
}

bool fc_store_shared(const fc_store_t *self)
{
    return fc_db_is_pg(self->db);
}

int fc_store_seq_reload(fc_store_t *self, bool *moved)
{
    if (moved)
        *moved = false;
    fc_db_stmt_t *st = fc_store_prep(self, "SELECT value FROM meta WHERE key = 'seq'");
    int rc = st ? fc_db_step(st) : FC_DB_ERROR;
    if (rc == FC_DB_ROW) {
        uint64_t seq = (uint64_t)fc_db_column_int64(st, 0);
        /* Only forward: a reader that saw a later value (its own commit) keeps it. */
        if (seq > self->seq) {
            self->seq = seq;
            if (moved)
                *moved = true;
        }
    }
    fc_db_finalize(st);
    return rc == FC_DB_ROW ? FC_OK : fc_store_sqlite_error(rc);
}

int fc_store_seq_take(fc_store_t *self, uint64_t *seq)
{
    fc_db_stmt_t *st =
        fc_store_prep(self, "UPDATE meta SET value = value + 1 WHERE key = 'seq' RETURNING value");
    int rc = st ? fc_db_step(st) : FC_DB_ERROR;
    if (rc == FC_DB_ROW)
        *seq = (uint64_t)fc_db_column_int64(st, 0);
    fc_db_finalize(st);
    if (rc == FC_DB_ROW && fc_db_is_pg(self->db)) {
        /* Brokers sharing the database LISTEN on this channel (fc_store_listen.c): the
           notification goes out only if this transaction commits, so they reload the
           sequence at once instead of at their next heartbeat. */
        st = fc_store_prep(self, "SELECT pg_notify('" FC_STORE_CHANNEL "', '') IS NULL");
        rc = st ? fc_db_step(st) : FC_DB_ERROR;
        fc_db_finalize(st);
        return rc == FC_DB_ROW ? FC_OK : fc_store_sqlite_error(rc);
    }
    return rc == FC_DB_ROW ? FC_OK : fc_store_sqlite_error(rc);
}

int fc_store_next_seq(fc_store_t *self, uint64_t *seq)
{
    fc_store_sync(self, true);
    int err = fc_store_seq_take(self, seq);
    if (!err)
        self->seq = *seq;
    return err;
}

int fc_store_check(fc_store_t *self)
{
    fc_db_stmt_t *st = fc_store_prep(self, "PRAGMA integrity_check");
    if (!st)
        return FC_EIO;
    bool ok =
        fc_db_step(st) == FC_DB_ROW && strcmp((const char *)fc_db_column_text(st, 0), "ok") == 0;
    fc_db_finalize(st);
    return ok ? FC_OK : FC_EPROTO;
}
