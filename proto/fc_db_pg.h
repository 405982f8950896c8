/* fc_db_pg.h: fc_db's PostgreSQL side (fc_db_pg.c, libpq), called by fc_db.c's dispatch
   when a database is PostgreSQL. Each call has the meaning of its fc_db.h namesake. */
#ifndef FC_DB_PG_H
#define FC_DB_PG_H

#include "fc_db.h"

typedef struct fc_db_pg_t fc_db_pg_t;
typedef struct fc_db_pgstmt_t fc_db_pgstmt_t;

/* What fc_db_pg_sql_with learnt of a statement. */
typedef struct {
    bool txn;      /* transaction control (BEGIN, COMMIT, SAVEPOINT...): never prepared */
    bool multi;    /* several statements: run by the simple protocol, with no parameters */
    bool pragma;   /* was a PRAGMA */
    bool empty;    /* nothing for PostgreSQL to do (a PRAGMA of SQLite's own) */
    uint64_t used; /* bit n-1: the text names $n (SQLite lets ?1 go unused, PostgreSQL
                      cannot guess an unused parameter's type) */
} fc_db_pg_flags_t;
/* The primary key of table as "a, b" (malloc'd), NULL when unknown. */
typedef char *(fc_db_pg_keys_fn)(void *ctx, const char *table);
/* fc_db_pg_sql (fc_db.h), with what it learnt in *flags (may be NULL) and keys to find the
   conflict target of INSERT OR REPLACE (NULL: none known). fc_db_pg_sql.c. */
char *fc_db_pg_sql_with(const char *sql, int *nparams, fc_db_pg_flags_t *flags,
                        fc_db_pg_keys_fn *keys, void *ctx);

fc_db_pg_t *fc_db_pg_open(const char *conninfo, int *rc, char *text, size_t textsize);
void fc_db_pg_close(fc_db_pg_t **self_p);
int fc_db_pg_exec(fc_db_pg_t *self, const char *sql);
fc_db_pgstmt_t *fc_db_pg_prepare(fc_db_pg_t *self, const char *sql);
int fc_db_pg_bind_int64(fc_db_pgstmt_t *st, int i, int64_t value);
int fc_db_pg_bind_text(fc_db_pgstmt_t *st, int i, const char *text, int len);
int fc_db_pg_bind_blob(fc_db_pgstmt_t *st, int i, const void *data, size_t len);
int fc_db_pg_bind_null(fc_db_pgstmt_t *st, int i);
int fc_db_pg_step(fc_db_pgstmt_t *st);
int64_t fc_db_pg_column_int64(fc_db_pgstmt_t *st, int col);
const unsigned char *fc_db_pg_column_text(fc_db_pgstmt_t *st, int col);
const void *fc_db_pg_column_blob(fc_db_pgstmt_t *st, int col);
int fc_db_pg_column_bytes(fc_db_pgstmt_t *st, int col);
bool fc_db_pg_column_is_null(fc_db_pgstmt_t *st, int col);
int fc_db_pg_reset(fc_db_pgstmt_t *st);
void fc_db_pg_finalize(fc_db_pgstmt_t *st);
int64_t fc_db_pg_changes(fc_db_pg_t *self);
const char *fc_db_pg_errmsg(fc_db_pg_t *self);
int fc_db_pg_errcode(fc_db_pg_t *self);
bool fc_db_pg_autocommit(fc_db_pg_t *self);
int fc_db_pg_listen(fc_db_pg_t *self, const char *channel);
int fc_db_pg_fd(fc_db_pg_t *self);
int fc_db_pg_notified(fc_db_pg_t *self, int *count);

#endif
