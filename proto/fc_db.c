/* fc_db.c: fc_db's SQLite side, and the dispatch to fc_db_pg.c for PostgreSQL. */
#include "fc_db.h"
#include <stdio.h>
#ifdef FC_HAVE_PG
#include "fc_db_pg.h"
#else
/* Built without libpq: PostgreSQL is never opened, so these are never reached. */
typedef struct fc_db_pg_t fc_db_pg_t;
typedef struct fc_db_pgstmt_t fc_db_pgstmt_t;
#define fc_db_pg_close(p) ((void)(p))
#define fc_db_pg_exec(p, s) ((void)(p), (void)(s), FC_DB_ERROR)
#define fc_db_pg_prepare(p, s) ((void)(p), (void)(s), (fc_db_pgstmt_t *)NULL)
#define fc_db_pg_bind_int64(p, i, v) ((void)(p), (void)(i), (void)(v), FC_DB_ERROR)
#define fc_db_pg_bind_text(p, i, v, n) ((void)(p), (void)(i), (void)(v), (void)(n), FC_DB_ERROR)
#define fc_db_pg_bind_blob(p, i, v, n) ((void)(p), (void)(i), (void)(v), (void)(n), FC_DB_ERROR)
#define fc_db_pg_bind_null(p, i) ((void)(p), (void)(i), FC_DB_ERROR)
#define fc_db_pg_step(p) ((void)(p), FC_DB_ERROR)
#define fc_db_pg_column_int64(p, c) ((void)(p), (void)(c), (int64_t)0)
#define fc_db_pg_column_text(p, c) ((void)(p), (void)(c), (const unsigned char *)NULL)
#define fc_db_pg_column_blob(p, c) ((void)(p), (void)(c), (const void *)NULL)
#define fc_db_pg_column_bytes(p, c) ((void)(p), (void)(c), 0)
#define fc_db_pg_column_is_null(p, c) ((void)(p), (void)(c), true)
#define fc_db_pg_reset(p) ((void)(p), FC_DB_ERROR)
#define fc_db_pg_finalize(p) ((void)(p))
#define fc_db_pg_changes(p) ((void)(p), (int64_t)0)
#define fc_db_pg_errmsg(p) ((void)(p), "")
#define fc_db_pg_errcode(p) ((void)(p), FC_DB_ERROR)
#define fc_db_pg_autocommit(p) ((void)(p), true)
#define fc_db_pg_listen(p, c) ((void)(p), (void)(c), FC_DB_ERROR)
#define fc_db_pg_fd(p) ((void)(p), -1)
#define fc_db_pg_notified(p, n) ((void)(p), (void)(n), FC_DB_ERROR)
static fc_db_pg_t *fc_db_pg_open(const char *where, int *rc, char *text, size_t textsize)
{
    (void)where;
    *rc = FC_DB_ERROR;
    snprintf(text, textsize,
             "this build has no PostgreSQL support: install libpq-dev and build again");
    return NULL;
}
#endif
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct fc_db_t {
    sqlite3 *lite; /* one of the two */
    fc_db_pg_t *pg;
};

struct fc_db_stmt_t {
    sqlite3_stmt *lite; /* one of the two */
    fc_db_pgstmt_t *pg;
};

bool fc_db_where_is_pg(const char *where)
{
    return strncmp(where, "postgresql://", 13) == 0 || strncmp(where, "postgres://", 11) == 0 ||
           strncmp(where, "host=", 5) == 0 || strncmp(where, "dbname=", 7) == 0;
}

static fc_db_t *s_open(const char *where, bool readonly, int *rc, char *text, size_t textsize)
{
    fc_db_t *self = calloc(1, sizeof *self);
    if (!self) {
        *rc = FC_DB_NOMEM;
        snprintf(text, textsize, "out of memory");
        return NULL;
    }
    if (fc_db_where_is_pg(where)) {
        self->pg = fc_db_pg_open(where, rc, text, textsize);
        if (self->pg && readonly &&
            (*rc = fc_db_pg_exec(self->pg, "SET default_transaction_read_only = on")) != FC_DB_OK) {
            snprintf(text, textsize, "%s", fc_db_pg_errmsg(self->pg));
            fc_db_pg_close(&self->pg);
        }
        if (!self->pg) {
            free(self);
            return NULL;
        }
        return self;
    }
    int flags = readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
    *rc = sqlite3_open_v2(where, &self->lite, flags | SQLITE_OPEN_NOMUTEX, NULL);
    if (*rc != SQLITE_OK) {
        snprintf(text, textsize, "%s",
                 self->lite ? sqlite3_errmsg(self->lite) : sqlite3_errstr(*rc));
        sqlite3_close_v2(self->lite);
        free(self);
        return NULL;
    }
    /* Another process (fleetcast-check, a second broker by mistake) may hold the lock a
       moment: wait for it rather than fail. */
    sqlite3_busy_timeout(self->lite, 5000);
    return self;
}

fc_db_t *fc_db_open(const char *where, int *rc, char *text, size_t textsize)
{
    return s_open(where, false, rc, text, textsize);
}

fc_db_t *fc_db_open_readonly(const char *where, int *rc, char *text, size_t textsize)
{
    return s_open(where, true, rc, text, textsize);
}

void fc_db_close(fc_db_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    fc_db_t *self = *self_p;
    if (self->pg)
        fc_db_pg_close(&self->pg);
    else
        sqlite3_close_v2(self->lite);
    free(self);
    *self_p = NULL;
}

bool fc_db_is_pg(const fc_db_t *self)
{
    return self->pg != NULL;
}

int fc_db_exec(fc_db_t *self, const char *sql)
{
    if (self->pg)
        return fc_db_pg_exec(self->pg, sql);
    return sqlite3_exec(self->lite, sql, NULL, NULL, NULL);
}

fc_db_stmt_t *fc_db_prepare(fc_db_t *self, const char *sql)
{
    fc_db_stmt_t *st = calloc(1, sizeof *st);
    if (!st)
        return NULL;
    if (self->pg)
        st->pg = fc_db_pg_prepare(self->pg, sql);
    else if (sqlite3_prepare_v2(self->lite, sql, -1, &st->lite, NULL) != SQLITE_OK) {
        sqlite3_finalize(st->lite);
        st->lite = NULL;
    }
    if (!st->pg && !st->lite) {
        free(st);
        return NULL;
    }
    return st;
}

int fc_db_bind_int64(fc_db_stmt_t *st, int i, int64_t value)
{
    if (st->pg)
        return fc_db_pg_bind_int64(st->pg, i, value);
    return sqlite3_bind_int64(st->lite, i, value);
}

int fc_db_bind_int(fc_db_stmt_t *st, int i, int value)
{
    return fc_db_bind_int64(st, i, value);
}

int fc_db_bind_text(fc_db_stmt_t *st, int i, const char *text, int len)
{
    if (st->pg)
        return fc_db_pg_bind_text(st->pg, i, text, len);
    return sqlite3_bind_text(st->lite, i, text, len, SQLITE_TRANSIENT);
}

int fc_db_bind_blob(fc_db_stmt_t *st, int i, const void *data, size_t len)
{
    if (st->pg)
        return fc_db_pg_bind_blob(st->pg, i, data, len);
    return sqlite3_bind_blob64(st->lite, i, data, len, SQLITE_TRANSIENT);
}

int fc_db_bind_null(fc_db_stmt_t *st, int i)
{
    if (st->pg)
        return fc_db_pg_bind_null(st->pg, i);
    return sqlite3_bind_null(st->lite, i);
}

int fc_db_step(fc_db_stmt_t *st)
{
    if (st->pg)
        return fc_db_pg_step(st->pg);
    return sqlite3_step(st->lite);
}

int64_t fc_db_column_int64(fc_db_stmt_t *st, int col)
{
    if (st->pg)
        return fc_db_pg_column_int64(st->pg, col);
    return sqlite3_column_int64(st->lite, col);
}

int fc_db_column_int(fc_db_stmt_t *st, int col)
{
    return (int)fc_db_column_int64(st, col);
}

const unsigned char *fc_db_column_text(fc_db_stmt_t *st, int col)
{
    if (st->pg)
        return fc_db_pg_column_text(st->pg, col);
    return sqlite3_column_text(st->lite, col);
}

const void *fc_db_column_blob(fc_db_stmt_t *st, int col)
{
    if (st->pg)
        return fc_db_pg_column_blob(st->pg, col);
    return sqlite3_column_blob(st->lite, col);
}

int fc_db_column_bytes(fc_db_stmt_t *st, int col)
{
    if (st->pg)
        return fc_db_pg_column_bytes(st->pg, col);
    return sqlite3_column_bytes(st->lite, col);
}

bool fc_db_column_is_null(fc_db_stmt_t *st, int col)
{
    if (st->pg)
        return fc_db_pg_column_is_null(st->pg, col);
    return sqlite3_column_type(st->lite, col) == SQLITE_NULL;
}

int fc_db_reset(fc_db_stmt_t *st)
{
    if (st->pg)
        return fc_db_pg_reset(st->pg);
    return sqlite3_reset(st->lite);
}

void fc_db_finalize(fc_db_stmt_t *st)
{
    if (!st)
        return;
    if (st->pg)
        fc_db_pg_finalize(st->pg);
    else
        sqlite3_finalize(st->lite);
    free(st);
}

int64_t fc_db_changes(fc_db_t *self)
{
    if (self->pg)
        return fc_db_pg_changes(self->pg);
    return sqlite3_changes(self->lite);
}

const char *fc_db_errmsg(fc_db_t *self)
{
    if (self->pg)
        return fc_db_pg_errmsg(self->pg);
    return sqlite3_errmsg(self->lite);
}

int fc_db_errcode(fc_db_t *self)
{
    if (self->pg)
        return fc_db_pg_errcode(self->pg);
    return sqlite3_errcode(self->lite) & 0xff;
}

bool fc_db_autocommit(fc_db_t *self)
{
    if (self->pg)
        return fc_db_pg_autocommit(self->pg);
    return sqlite3_get_autocommit(self->lite) != 0;
}

int fc_db_listen(fc_db_t *self, const char *channel)
{
    if (self->pg)
        return fc_db_pg_listen(self->pg, channel);
    return FC_DB_ERROR; /* SQLite has no notifications */
}

int fc_db_fd(fc_db_t *self)
{
    if (self->pg)
        return fc_db_pg_fd(self->pg);
    return -1;
}

int fc_db_notified(fc_db_t *self, int *count)
{
    *count = 0;
    if (self->pg)
        return fc_db_pg_notified(self->pg, count);
    return FC_DB_ERROR;
}
