/* fc_store_priv.h: internals shared by fc_store.c (database) and its private parts, the
   fc_store_*.c files (blobs, audit, agent keys, config, rollout, trust). */
#ifndef FC_STORE_PRIV_H
#define FC_STORE_PRIV_H

#include "fc_db.h"
#include "fc_store.h"

/* Open blobs kept around for positioned reads: an agent fetches a blob chunk by chunk, and
   many agents fetch the same few blobs of a new release at once. */
#define FC_STORE_FDS 16

typedef struct {
    uint8_t blob[FC_HASH_LEN];
    bool part;     /* the partial upload (read-write) rather than the complete blob */
    int fd;        /* -1 when the slot is free */
    uint64_t size; /* complete blobs only: they never change once stored */
    uint64_t used; /* LRU tick */
} fc_store_fd_t;

/* A verified upload whose move into blobs/ waits for its batch's flush. */
typedef struct {
    uint8_t blob[FC_HASH_LEN];
    int fd; /* the partial file, ours */
} fc_store_pending_t;

struct fc_store_t {
    char *dir;
    char *db_path;
    fc_db_t *db;
    bool sync_full; /* current PRAGMA synchronous */
    bool batch;     /* inside fc_store_batch_begin: transactions nest as savepoints */
    uint64_t seq;   /* cached meta 'seq' */
    /* agent id -> Z85 key it belongs to: every row of agent_keys, filled only by
       fc_store_agent_keys_load (fc_store_agent_keys.c) */
    zhashx_t *agent_keys;
    bool agent_keys_stale; /* the last reload failed: claims fail closed until one succeeds */
    fc_store_fd_t fds[FC_STORE_FDS];
    uint64_t tick;
    int64_t offline_after_s; /* agents not heard for this long are offline (rollouts) */
    /* Uploads acknowledged inside the open batch, made durable by fc_store_blob_flush before
       the batch commits (fc_store_blob.c): chunk data written without its own sync, and
       verified blobs waiting to move into blobs/. */
    bool pending_data;
    fc_store_pending_t *pending;
    size_t npending, pending_cap;
};

/* SQLite helpers (fc_store.c). Errors are fc_error_t. */
int fc_store_sqlite_error(int rc);
/* Prepared statement, NULL on failure. */
fc_db_stmt_t *fc_store_prep(fc_store_t *self, const char *sql);
/* Steps a statement once (NULL allowed: FC_EIO) and finalizes it. */
int fc_store_step_done(fc_db_stmt_t *st);
/* Whether sql, with hash bound to its one parameter, gives a row (false on an error too). */
bool fc_store_has_row(fc_store_t *self, const char *sql, const uint8_t hash[FC_HASH_LEN]);
int fc_store_exec(fc_store_t *self, const char *sql);
/* Column col of the current row as text: "" for NULL (borrowed: valid until the next step). */
const char *fc_store_col(fc_db_stmt_t *st, int col);
/* Reads the current row of st into entry (zeroed); false to skip the row. */
typedef bool(fc_store_row_fn)(fc_db_stmt_t *st, void *entry, void *arg);
/* Steps st, reading each row with row(st, entry, arg) into a new entry of elem bytes, until
   max entries are kept or the rows end, and finalizes st. *rows: a malloc'd array (the
   caller's to free; NULL if none) of *n entries. On an SQLite error or out of memory, the
   error, with *rows NULL and *n 0. */
int fc_store_rows(fc_db_stmt_t *st, size_t max, size_t elem, fc_store_row_fn *row, void *arg,
                  void **rows, size_t *n);
/* PRAGMA synchronous FULL (before anything acknowledged as durable) or NORMAL. Inside a
   batch it stays FULL: the batch's commit is what its replies wait for. */
void fc_store_sync(fc_store_t *self, bool full);
/* Inside the open write transaction: moves the announcement sequence on by one in the
   database and gives the new value in *seq (self->seq is the caller's to set once the
   transaction commits). The database's value, not self->seq, is what moves on: another broker
   on the same database (PostgreSQL) may have moved it since. */
int fc_store_seq_take(fc_store_t *self, uint64_t *seq);
/* One operation's transaction: BEGIN IMMEDIATE / COMMIT / ROLLBACK, or inside a batch a
   savepoint, so a failed operation undoes only itself. */
int fc_store_begin(fc_store_t *self);
int fc_store_commit(fc_store_t *self);
void fc_store_rollback(fc_store_t *self);
/* Ends the operation begun by fc_store_begin: commits if err is FC_OK, else (or if the
   commit fails) rolls back. Returns err, or the commit's error. */
int fc_store_end(fc_store_t *self, int err);
/* Runs each of the n statements (one "?", the blob's hash) in one operation: deleting a
   blob's rows from several tables at once. fc_error_t. */
int fc_store_delete_blob_rows(fc_store_t *self, const char *const *sqls, size_t n,
                              const uint8_t blob[FC_HASH_LEN]);

/* Creates the agent_keys table inside the store's open transaction (fc_store_agent_keys.c). */
int fc_store_agent_keys_init(fc_store_t *self);
/* (Re)fills the agent_keys cache from the table: at open, and after a batch that may have
   bound ids failed to commit. */
int fc_store_agent_keys_load(fc_store_t *self);

/* Removes a complete blob's file (garbage collection, fc_store_gc.c); *bytes its size.
   A blob not there is FC_OK. */
int fc_store_blob_remove(fc_store_t *self, const uint8_t blob[FC_HASH_LEN], uint64_t *bytes);
/* Drops a partial upload: its records, then its .part file. */
int fc_store_upload_discard(fc_store_t *self, const uint8_t blob[FC_HASH_LEN]);
/* Inside a batch, makes what its uploads acknowledged durable before the batch commits: one
   syncfs for every chunk written, the verified blobs renamed into blobs/, one syncfs for the
   renames (fc_store_blob.c). Instead of an fsync per chunk and three per blob: a push of many
   small files pays a few syncs per batch. fc_error_t; pending work is dropped either way
   (blobs not moved stay partial uploads, re-committed by the publisher's retry). */
int fc_store_blob_flush(fc_store_t *self);

/* true if the blob is complete (fc_store_blob.c); *size its size. */
bool fc_store_blob_exists(fc_store_t *self, const uint8_t blob[FC_HASH_LEN], uint64_t *size);
/* Records where each chunk of the complete blob lies (chunk_index), cut by content, once its
   content is checked against its name (either cut): FC_EHASH if it is not, FC_ENOTFOUND if
   it is not stored. *bytes gets how many bytes were read. */
int fc_store_blob_index(fc_store_t *self, const uint8_t blob[FC_HASH_LEN], uint64_t *bytes);
/* Creates the backfill's table (fc_store_backfill.c). */
int fc_store_backfill_init(fc_store_t *self);

#endif
