/* fc_db.h: one SQL interface over two databases, the embedded SQLite file and a PostgreSQL
   server (libpq), so the broker's store and the check tool are written once for both. */
#ifndef FC_DB_H
#define FC_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The calls and their meaning are SQLite's (sqlite3_prepare_v2, _bind_*, _step, _column_*,
   _reset, _finalize, _changes, _errmsg), because the store was written against it; the
   PostgreSQL side gives the same behaviour:
   - SQL is written in SQLite's dialect, with ? and ?N parameters. Before PostgreSQL sees a
     statement it is rewritten (fc_db_pg_sql): ? and ?N become $N; BLOB becomes BYTEA and
     INTEGER BIGINT in DDL; WITHOUT ROWID is dropped; INSERT OR IGNORE becomes
     INSERT ... ON CONFLICT DO NOTHING; scalar max(a, b) / min(a, b) become GREATEST / LEAST;
     BEGIN IMMEDIATE becomes BEGIN plus a transaction-scoped advisory lock, so writers on
     every broker sharing the database take turns as SQLite's writers do.
     Also: INSERT OR REPLACE becomes ON CONFLICT (the table's primary key, from the catalog)
     DO UPDATE SET every other listed column; INTEGER PRIMARY KEY an identity column (a row
     inserted without it is numbered); total(x) a sum that is 0 over no rows, of a number or
     a comparison; a bare column in ON CONFLICT's DO UPDATE is the existing row's; a
     subquery in FROM without a name gets one. Not rewritten: a comparison used as an
     integer outside total() (coalesce(a < b, 0), UNION of a comparison with 1), which
     PostgreSQL refuses: write CASE WHEN ... THEN 1 ELSE 0 END, which both accept.
   - A failed statement inside a transaction: SQLite's transaction goes on, PostgreSQL's is
     aborted until ROLLBACK or ROLLBACK TO a savepoint taken before it. Work that may fail
     inside a transaction runs under a SAVEPOINT and rolls back to it (as the store does).
   - PRAGMA statements are SQLite's own: PostgreSQL ignores them (FC_DB_OK, no rows), but
     for user_version (kept in a table fc_pragma), integrity_check (one row, 'ok') and
     journal_mode (one row, 'wal').
   - Column values read as SQLite converts them: an integer column read as text gives its
     digits, a boolean (t/f) read as an integer gives 1/0, a bytea gives its bytes.
   Return codes are SQLite's numbers, whichever database answers. With FC_DB_TRACE set in the
   environment every PostgreSQL error is also printed on stderr (finding which statement a
   store operation's FC_EIO came from). */
enum {
    FC_DB_OK = 0,
    FC_DB_ERROR = 1, /* anything else: SQL error, connection lost */
    FC_DB_BUSY = 5,  /* locked by another writer past the timeout */
    FC_DB_NOMEM = 7,
    FC_DB_CORRUPT = 11,    /* damaged database */
    FC_DB_FULL = 13,       /* disk full */
    FC_DB_CONSTRAINT = 19, /* unique or check constraint */
    FC_DB_NOTADB = 26,     /* not a database of this kind */
    FC_DB_ROW = 100,
    FC_DB_DONE = 101,
};

typedef struct fc_db_t fc_db_t;
typedef struct fc_db_stmt_t fc_db_stmt_t;

/* Opens where: a path (SQLite, created if missing), or a postgresql:// or postgres:// URI
   or a libpq "key=value" string starting with "host=" / "dbname=" (PostgreSQL). On failure
   NULL, with *rc set (an FC_DB_ code) and a one-line reason in text. */
fc_db_t *fc_db_open(const char *where, int *rc, char *text, size_t textsize);
/* fc_db_open for reading only: a SQLite file must exist and is opened read-only; a
   PostgreSQL session refuses writes (default_transaction_read_only). */
fc_db_t *fc_db_open_readonly(const char *where, int *rc, char *text, size_t textsize);
/* Closes; nulls *self_p; safe on NULL. Statements must be finalized first. */
void fc_db_close(fc_db_t **self_p);
/* Whether where names a PostgreSQL database (for fc_db_open). */
bool fc_db_where_is_pg(const char *where);
/* Whether self is PostgreSQL (some SQL has no portable form: the caller picks). */
bool fc_db_is_pg(const fc_db_t *self);

/* Runs one or more statements with no parameters and no rows wanted. */
int fc_db_exec(fc_db_t *self, const char *sql);
/* A statement for sql (one statement), NULL on failure (fc_db_errmsg says why). */
fc_db_stmt_t *fc_db_prepare(fc_db_t *self, const char *sql);
/* Binds parameter i (from 1). Values are copied: the caller's buffers may go at once. */
int fc_db_bind_int64(fc_db_stmt_t *st, int i, int64_t value);
int fc_db_bind_int(fc_db_stmt_t *st, int i, int value);
/* len -1: up to the NUL. */
int fc_db_bind_text(fc_db_stmt_t *st, int i, const char *text, int len);
int fc_db_bind_blob(fc_db_stmt_t *st, int i, const void *data, size_t len);
int fc_db_bind_null(fc_db_stmt_t *st, int i);
/* FC_DB_ROW (a row to read), FC_DB_DONE, or an error. */
int fc_db_step(fc_db_stmt_t *st);
/* The current row's column col (from 0). Pointers are valid until the next step, reset or
   finalize. NULL reads as 0, NULL text or blob. */
int64_t fc_db_column_int64(fc_db_stmt_t *st, int col);
int fc_db_column_int(fc_db_stmt_t *st, int col);
const unsigned char *fc_db_column_text(fc_db_stmt_t *st, int col);
const void *fc_db_column_blob(fc_db_stmt_t *st, int col);
/* Bytes of the text or blob of column col (after fc_db_column_text or _blob). */
int fc_db_column_bytes(fc_db_stmt_t *st, int col);
bool fc_db_column_is_null(fc_db_stmt_t *st, int col);
/* Back to before the first step; bindings are kept. */
int fc_db_reset(fc_db_stmt_t *st);
/* Frees; safe on NULL. */
void fc_db_finalize(fc_db_stmt_t *st);
/* Rows changed by the last INSERT, UPDATE or DELETE on self. */
int64_t fc_db_changes(fc_db_t *self);
/* The last error's text (never NULL) and code. */
const char *fc_db_errmsg(fc_db_t *self);
int fc_db_errcode(fc_db_t *self);
/* Whether no transaction is open. */
bool fc_db_autocommit(fc_db_t *self);

/* Notifications (PostgreSQL's LISTEN/NOTIFY), so a program learns at once of a commit made
   by another connection. SQLite has none: fc_db_listen and fc_db_notified give FC_DB_ERROR,
   fc_db_fd -1.
   fc_db_listen: LISTEN channel on self (a connection kept for it: a NOTIFY is delivered
   between the listener's statements, so one that runs transactions of its own may hold
   them back). FC_DB_OK or an error (fc_db_errmsg says why). */
int fc_db_listen(fc_db_t *self, const char *channel);
/* The connection's socket, to poll(2) for reading: readable means notifications (or the
   connection's loss) may be waiting for fc_db_notified. -1 when there is none. */
int fc_db_fd(fc_db_t *self);
/* Reads what the server sent and consumes the notifications received so far: *count gets
   how many (0: none). FC_DB_OK, or FC_DB_ERROR when the connection is lost (open again). */
int fc_db_notified(fc_db_t *self, int *count);

/* PostgreSQL's form of SQLite-dialect sql (the rules above): a malloc'd string, NULL out of
   memory. *nparams gets the number of parameters. Exposed for its self-test. */
char *fc_db_pg_sql(const char *sql, int *nparams);

/* Self-test (fc_db_test.c): on SQLite, and on PostgreSQL when FC_TEST_PG is set. */
void fc_db_test(bool verbose);

#endif
