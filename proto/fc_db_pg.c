/* fc_db_pg.c: fc_db's PostgreSQL side over libpq, giving SQLite's calls their SQLite meaning
   (fc_db.h); the SQL itself is rewritten by fc_db_pg_sql.c. */
#include "fc_db_pg.h"
#include <czmq.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define FC_DB_PG_BYTEA 17
#define FC_DB_PG_BOOL 16
#define FC_DB_PG_TEXT 25
/* After a failed attempt to connect again, the next no sooner than this many ms later: a
   broker's loop calls the store often and must not spin on a refused port. */
#define S_RECONNECT_MS 500

/* A lost connection (the server restarted, its machine gone, a standby promoted) is opened
   again with the same conninfo, so a multi-host string with target_session_attrs=read-write
   finds whichever server is the primary now. The session is set up again (s_setup and the
   SET statements run through fc_db_pg_exec), and prepared statements, which die with the
   session, are forgotten. A statement that found the connection lost outside a transaction
   runs once more on the new one; inside one it fails, and so does every statement after it
   until the caller ends that transaction (ROLLBACK: FC_DB_OK), so nothing the caller meant
   as one transaction runs half on the new connection in autocommit. */

struct fc_db_pg_t {
    PGconn *conn;      /* NULL while the server cannot be reached (libpq takes NULL) */
    char *conninfo;    /* to connect again */
    zlist_t *settings; /* SET statements run outside a transaction: run again on reconnect */
    bool lost;         /* the connection is gone and not yet opened again */
    bool lost_txn;     /* the caller's transaction went with the connection: not ended yet */
    bool warned;       /* a failed attempt to connect again was logged for this loss */
    char lost_why[256];
    int64_t last_try;  /* zclock_mono at the end of the last failed attempt to connect */
    zhash_t *sql;      /* SQLite text -> s_sql_t: each text rewritten once */
    zhash_t *prepared; /* parameter kinds + "|" + PostgreSQL text -> statement name */
    zhash_t *keys;     /* table -> its primary key ("a, b"), for INSERT OR REPLACE */
    zlist_t *uncached; /* rewrites not kept in sql (a key not found yet): freed at close */
    bool cache;        /* prepare once per connection (FC_DB_PG_CACHE=0: never, to measure) */
    unsigned next_name;
    int64_t changes;
    int errcode;
    char errmsg[1024];
};

/* How a statement ends a transaction, if it does. */
typedef enum { S_END_NONE = 0, S_END_COMMIT, S_END_ROLLBACK } s_end_t;

typedef struct {
    char *pg; /* PostgreSQL's text */
    int nparams;
    fc_db_pg_flags_t flags;
    s_end_t end;
} s_sql_t;

struct fc_db_pgstmt_t {
    fc_db_pg_t *db;
    const s_sql_t *sql; /* borrowed from db->sql */
    char **values;      /* per parameter: NULL is SQL NULL */
    int *lengths, *formats;
    Oid *types;
    PGresult *res;
    int row;                 /* the current row, -1 before the first */
    bool ran;                /* res is this execution's answer */
    unsigned char **decoded; /* per column of the current row: a bytea's bytes */
    int *decoded_len;
    int ncols_decoded;
};

static void s_sql_free(void *item)
{
    s_sql_t *s = item;
    free(s->pg);
    free(s);
}

/* SQLSTATE to SQLite's code. */
static int s_code(const char *state)
{
    if (!state || strlen(state) != 5)
        return FC_DB_ERROR;
    if (strcmp(state, "53100") == 0)
        return FC_DB_FULL;
    if (strcmp(state, "53200") == 0)
        return FC_DB_NOMEM;
    if (strncmp(state, "23", 2) == 0)
        return FC_DB_CONSTRAINT;
    if (strcmp(state, "40P01") == 0 || strcmp(state, "40001") == 0 || strcmp(state, "55P03") == 0)
        return FC_DB_BUSY;
    if (strcmp(state, "XX001") == 0 || strcmp(state, "XX002") == 0)
        return FC_DB_CORRUPT;
    return FC_DB_ERROR;
}

static void s_set_error(fc_db_pg_t *self, int code, const char *msg)
{
    self->errcode = code;
    snprintf(self->errmsg, sizeof self->errmsg, "%s", msg && *msg ? msg : "unknown error");
    /* libpq's messages end with a newline and may run on: keep the first line */
    self->errmsg[strcspn(self->errmsg, "\n")] = 0;
    if (getenv("FC_DB_TRACE")) /* fc_db.h */
        fprintf(stderr, "fc_db_pg: %s\n", self->errmsg);
}

/* Whether res succeeded; otherwise the error is recorded and the code returned in *rc. */
static bool s_ok(fc_db_pg_t *self, PGresult *res, int *rc)
{
    ExecStatusType s = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    if (s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK || s == PGRES_EMPTY_QUERY) {
        self->errcode = FC_DB_OK;
        snprintf(self->errmsg, sizeof self->errmsg, "not an error");
        return true;
    }
    if (!res) {
        s_set_error(self, FC_DB_ERROR, PQerrorMessage(self->conn));
        if (PQstatus(self->conn) == CONNECTION_BAD)
            self->errcode = FC_DB_ERROR;
    } else
        s_set_error(self, s_code(PQresultErrorField(res, PG_DIAG_SQLSTATE)),
                    PQresultErrorMessage(res));
    *rc = self->errcode;
    return false;
}

static bool s_res_ok(PGresult *res)
{
    ExecStatusType s = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    return s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK || s == PGRES_EMPTY_QUERY;
}

/* libpq's text of what ended res or the connection, on one line (a multi-host attempt says
   one line per host: all kept, joined by "; "). */
static void s_why(fc_db_pg_t *self, PGresult *res, char *why, size_t size)
{
    const char *msg = res ? PQresultErrorMessage(res) : NULL;
    if (!msg || !*msg)
        msg = PQerrorMessage(self->conn);
    if (!msg || !*msg)
        msg = "the connection is gone";
    size_t n = 0;
    for (const char *p = msg; *p && n + 3 < size; p++) {
        if (*p == '\n') {
            /* a line starting with a tab goes on the one before */
            if (p[1] == '\t')
                why[n++] = ' ';
            else if (p[1] && n > 0) {
                why[n++] = ';';
                why[n++] = ' ';
            }
        } else if (*p != '\t')
            why[n++] = *p;
    }
    why[n] = 0;
}

static bool s_setup(fc_db_pg_t *self, int *rc);

/* The connection found gone: said once per loss, and its prepared statements forgotten. */
static void s_lose(fc_db_pg_t *self, const char *why)
{
    if (self->lost)
        return;
    self->lost = true;
    self->warned = false;
    snprintf(self->lost_why, sizeof self->lost_why, "%s", why);
    /* CZMQ 4.2's stable API has no zhash_purge */
    zhash_destroy(&self->prepared);
    self->prepared = zhash_new();
    if (self->prepared)
        zhash_autofree(self->prepared);
    else
        self->cache = false; /* out of memory: parse every time (s_run) */
    zsys_warning("database connection lost: %s; reconnecting", why);
}

/* The session settings of fc_db_pg_open and of every SET the caller ran, on a new
   connection. */
static bool s_replay(fc_db_pg_t *self, int *rc)
{
    if (!s_setup(self, rc))
        return false;
    for (const char *sql = zlist_first(self->settings); sql; sql = zlist_next(self->settings)) {
        PGresult *res = PQexec(self->conn, sql);
        bool ok = s_ok(self, res, rc);
        PQclear(res);
        if (!ok)
            return false;
    }
    return true;
}

/* Connects again after a loss, at once the first time, then at most once per
   S_RECONNECT_MS while it fails: whether the connection is back (if not, the error says
   why). */
static bool s_reconnect(fc_db_pg_t *self)
{
    char msg[1024];
    int64_t now = zclock_mono();
    if (self->last_try && now - self->last_try < S_RECONNECT_MS) {
        snprintf(msg, sizeof msg,
                 "database connection lost: %.255s; next attempt to connect within %d ms",
                 self->lost_why, S_RECONNECT_MS);
        s_set_error(self, FC_DB_ERROR, msg);
        return false;
    }
    PQfinish(self->conn);
    self->conn = PQconnectdb(self->conninfo);
    char why[700] = "";
    int rc = FC_DB_OK;
    bool ok = PQstatus(self->conn) == CONNECTION_OK;
    if (!ok)
        s_why(self, NULL, why, sizeof why);
    else if (!s_replay(self, &rc)) {
        snprintf(why, sizeof why, "cannot set up the session: %.600s", self->errmsg);
        ok = false;
    }
    if (!ok) {
        PQfinish(self->conn);
        self->conn = NULL;
        /* from the attempt's end: one that took long (a host timing out) still waits */
        self->last_try = zclock_mono();
        if (!self->warned)
            zsys_warning(
                "cannot reconnect to the database yet: %s (trying again at most every %d ms)", why,
                S_RECONNECT_MS);
        self->warned = true;
        snprintf(msg, sizeof msg, "database connection lost: %.255s; cannot connect again: %s",
                 self->lost_why, why);
        s_set_error(self, FC_DB_ERROR, msg);
        return false;
    }
    self->lost = false;
    self->last_try = 0; /* a loss after this one tries at once: only failures wait */
    zsys_notice("database connection lost: %s; reconnected to %s:%s", self->lost_why,
                PQhost(self->conn), PQport(self->conn));
    return true;
}

/* Whether there is a connection to run a statement on, connecting again if it was lost. */
static bool s_usable(fc_db_pg_t *self)
{
    if (!self->lost && PQstatus(self->conn) != CONNECTION_BAD)
        return true;
    if (!self->lost) {
        char why[400];
        s_why(self, NULL, why, sizeof why);
        s_lose(self, why);
    }
    return s_reconnect(self);
}

typedef PGresult *(s_query_fn)(fc_db_pg_t *self, void *arg);

/* Runs query (end: how it ends a transaction), following a lost connection (the top of
   this file): its result, or NULL with the error set. */
static PGresult *s_query(fc_db_pg_t *self, s_query_fn *query, void *arg, s_end_t end)
{
    if (!s_usable(self))
        return NULL;
    bool in_txn = PQtransactionStatus(self->conn) != PQTRANS_IDLE;
    PGresult *res = query(self, arg);
    if (s_res_ok(res) || PQstatus(self->conn) != CONNECTION_BAD)
        return res;
    char why[400];
    s_why(self, res, why, sizeof why);
    PQclear(res);
    s_lose(self, why);
    bool back = s_reconnect(self);
    if (!in_txn)
        /* Once: it may have run before the connection went (a loss mid-statement); an
           idle connection's loss, the common case, means it never reached the server. */
        return back ? query(self, arg) : NULL;
    /* The server rolls back a transaction whose connection goes. */
    if (end == S_END_ROLLBACK)
        return PQmakeEmptyPGresult(NULL, PGRES_COMMAND_OK);
    char msg[700];
    if (end == S_END_COMMIT)
        snprintf(msg, sizeof msg,
                 "database connection lost at COMMIT (%s): whether the transaction was "
                 "committed is unknown",
                 why);
    else {
        self->lost_txn = true;
        snprintf(msg, sizeof msg,
                 "database connection lost in a transaction, which is rolled back (%s): "
                 "roll back and run it again",
                 why);
    }
    s_set_error(self, FC_DB_ERROR, msg);
    return NULL;
}

/* After a transaction went with its connection every statement fails until the caller ends
   the transaction: true when s is answered here, with *rc. */
static bool s_lost_txn_gate(fc_db_pg_t *self, const s_sql_t *s, int *rc)
{
    if (!self->lost_txn)
        return false;
    if (s->end == S_END_ROLLBACK) {
        self->lost_txn = false;
        self->errcode = FC_DB_OK;
        snprintf(self->errmsg, sizeof self->errmsg, "not an error");
        *rc = FC_DB_OK;
        return true;
    }
    if (s->end == S_END_COMMIT) {
        self->lost_txn = false;
        s_set_error(self, FC_DB_ERROR,
                    "cannot commit: the transaction was lost with the database connection");
    } else
        s_set_error(self, FC_DB_ERROR,
                    "the transaction was lost with the database connection: roll it back");
    *rc = FC_DB_ERROR;
    return true;
}

/* Whether pg (PostgreSQL's text of a transaction statement) ends the transaction. */
static s_end_t s_txn_end(const char *pg)
{
    s_end_t end = S_END_NONE;
    bool first = true;
    for (const char *p = pg; *p;) {
        while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
            p++;
        size_t n = strcspn(p, " \t\n\r;");
        if (n == 0)
            break;
        if (first) {
            first = false;
            if (n == 6 && strncasecmp(p, "COMMIT", 6) == 0)
                return S_END_COMMIT;
            if ((n == 8 && strncasecmp(p, "ROLLBACK", 8) == 0) ||
                (n == 5 && strncasecmp(p, "ABORT", 5) == 0))
                end = S_END_ROLLBACK;
            else
                return S_END_NONE;
        } else if (n == 2 && strncasecmp(p, "TO", 2) == 0)
            return S_END_NONE; /* ROLLBACK TO a savepoint: the transaction goes on */
        p += n;
    }
    return end;
}

/* Rows changed, as sqlite3_changes counts them: only INSERT, UPDATE and DELETE set it. */
static void s_count_changes(fc_db_pg_t *self, PGresult *res)
{
    const char *status = PQcmdStatus(res);
    if (strncmp(status, "INSERT", 6) == 0 || strncmp(status, "UPDATE", 6) == 0 ||
        strncmp(status, "DELETE", 6) == 0)
        self->changes = strtoll(PQcmdTuples(res), NULL, 10);
}

static PGresult *s_keys_query(fc_db_pg_t *self, void *arg)
{
    const char *params[1] = {arg};
    return PQexecParams(
        self->conn,
        "SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY k.n) FROM pg_index"
        " i CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(att, n)"
        " JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.att"
        " WHERE i.indrelid = to_regclass($1) AND i.indisprimary",
        1, NULL, params, NULL, NULL, 0);
}

/* The primary key of table, from the catalog (so it holds whichever connection or broker
   created the table), cached. */
static char *s_keys(void *ctx, const char *table)
{
    fc_db_pg_t *self = ctx;
    const char *known = zhash_lookup(self->keys, table);
    if (known)
        return strdup(known);
    PGresult *res = s_query(self, s_keys_query, (void *)table, S_END_NONE);
    char *key = NULL;
    if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1 && !PQgetisnull(res, 0, 0)) {
        key = strdup(PQgetvalue(res, 0, 0));
        if (key)
            zhash_insert(self->keys, table, key);
    }
    PQclear(res);
    return key;
}

/* The rewritten form of sql, once per connection. */
static const s_sql_t *s_translate(fc_db_pg_t *self, const char *sql)
{
    s_sql_t *s = zhash_lookup(self->sql, sql);
    if (s)
        return s;
    s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->pg = fc_db_pg_sql_with(sql, &s->nparams, &s->flags, s_keys, self);
    if (!s->pg) {
        free(s);
        return NULL;
    }
    if (s->flags.txn)
        s->end = s_txn_end(s->pg);
    /* A rewrite that asked the catalog for a key it did not find is not kept: the table
       may exist next time. */
    if (strstr(s->pg, "fc_db_unknown_primary_key") == NULL && zhash_insert(self->sql, sql, s) == 0)
        zhash_freefn(self->sql, sql, s_sql_free);
    else if (zlist_append(self->uncached, s) == 0)
        zlist_freefn(self->uncached, s, s_sql_free, true);
    else {
        s_sql_free(s);
        return NULL;
    }
    return s;
}

/* Once per connection: what the rewritten SQL relies on (fc_pragma for PRAGMA user_version,
   fc_num for total), created under a session lock so brokers starting together do not
   collide on the catalog. */
static bool s_setup(fc_db_pg_t *self, int *rc)
{
    static const char *steps[] = {
        "SET client_min_messages = warning",
        /* SQLite's busy timeout: wait for another writer this long, then FC_DB_BUSY */
        "SET lock_timeout = '5s'",
        "SELECT pg_advisory_lock(7400740075)",
        "CREATE TABLE IF NOT EXISTS fc_pragma (one INT PRIMARY KEY CHECK (one = 1),"
        " v BIGINT NOT NULL)",
        "CREATE OR REPLACE FUNCTION fc_num(boolean) RETURNS bigint"
        " AS 'SELECT $1::int::bigint' LANGUAGE sql IMMUTABLE",
        "CREATE OR REPLACE FUNCTION fc_num(bigint) RETURNS bigint"
        " AS 'SELECT $1' LANGUAGE sql IMMUTABLE",
        "CREATE OR REPLACE FUNCTION fc_num(double precision) RETURNS double precision"
        " AS 'SELECT $1' LANGUAGE sql IMMUTABLE",
        "SELECT pg_advisory_unlock(7400740075)",
    };
    for (size_t i = 0; i < sizeof steps / sizeof *steps; i++) {
        PGresult *res = PQexec(self->conn, steps[i]);
        bool ok = s_ok(self, res, rc);
        PQclear(res);
        if (!ok)
            return false;
    }
    return true;
}

fc_db_pg_t *fc_db_pg_open(const char *conninfo, int *rc, char *text, size_t textsize)
{
    fc_db_pg_t *self = calloc(1, sizeof *self);
    if (!self) {
        *rc = FC_DB_NOMEM;
        snprintf(text, textsize, "out of memory");
        return NULL;
    }
    self->conn = PQconnectdb(conninfo);
    self->conninfo = strdup(conninfo);
    self->settings = zlist_new();
    self->sql = zhash_new();
    self->prepared = zhash_new();
    self->keys = zhash_new();
    self->uncached = zlist_new();
    const char *cache = getenv("FC_DB_PG_CACHE");
    self->cache = !cache || strcmp(cache, "0") != 0;
    if (!self->conn || !self->conninfo || !self->settings || !self->sql || !self->prepared ||
        !self->keys || !self->uncached) {
        *rc = FC_DB_NOMEM;
        snprintf(text, textsize, "out of memory");
        fc_db_pg_close(&self);
        return NULL;
    }
    zhash_autofree(self->prepared);
    zhash_autofree(self->keys);
    zlist_autofree(self->settings);
    if (PQstatus(self->conn) != CONNECTION_OK) {
        *rc = FC_DB_ERROR;
        s_set_error(self, FC_DB_ERROR, PQerrorMessage(self->conn));
        snprintf(text, textsize, "cannot connect to PostgreSQL: %s", self->errmsg);
        fc_db_pg_close(&self);
        return NULL;
    }
    if (!s_setup(self, rc)) {
        snprintf(text, textsize, "cannot set up the PostgreSQL session: %s", self->errmsg);
        fc_db_pg_close(&self);
        return NULL;
    }
    *rc = FC_DB_OK;
    return self;
}

void fc_db_pg_close(fc_db_pg_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    fc_db_pg_t *self = *self_p;
    PQfinish(self->conn);
    free(self->conninfo);
    zlist_destroy(&self->settings);
    zhash_destroy(&self->sql);
    zhash_destroy(&self->prepared);
    zhash_destroy(&self->keys);
    zlist_destroy(&self->uncached);
    free(self);
    *self_p = NULL;
}

static PGresult *s_exec_query(fc_db_pg_t *self, void *arg)
{
    return PQexec(self->conn, arg);
}

/* A session setting (SET name ...) run outside a transaction, kept to run again on a new
   connection (fc_db_open_readonly's default_transaction_read_only, for one). */
static void s_keep_setting(fc_db_pg_t *self, const char *sql)
{
    if (strncasecmp(sql, "SET ", 4) != 0 || strncasecmp(sql + 4, "LOCAL ", 6) == 0 ||
        strncasecmp(sql + 4, "TRANSACTION ", 12) == 0 ||
        strncasecmp(sql + 4, "CONSTRAINTS ", 12) == 0 ||
        PQtransactionStatus(self->conn) != PQTRANS_IDLE)
        return;
    for (const char *kept = zlist_first(self->settings); kept; kept = zlist_next(self->settings))
        if (strcmp(kept, sql) == 0)
            return;
    zlist_append(self->settings, (void *)sql); /* autofree: a copy */
}

int fc_db_pg_exec(fc_db_pg_t *self, const char *sql)
{
    const s_sql_t *s = s_translate(self, sql);
    if (!s) {
        s_set_error(self, FC_DB_NOMEM, "out of memory");
        return FC_DB_NOMEM;
    }
    if (s->flags.empty || !*s->pg)
        return FC_DB_OK;
    int rc = FC_DB_OK;
    if (s_lost_txn_gate(self, s, &rc))
        return rc;
    /* SQLite refuses to end a transaction that is not there; PostgreSQL only warns, which
       would hide a batch lost under the store (its commit must fail). */
    if ((strcasecmp(sql, "COMMIT") == 0 || strcasecmp(sql, "ROLLBACK") == 0) &&
        PQtransactionStatus(self->conn) == PQTRANS_IDLE) {
        s_set_error(self, FC_DB_ERROR, "cannot end the transaction: no transaction is active");
        return FC_DB_ERROR;
    }
    PGresult *res = s_query(self, s_exec_query, s->pg, s->end);
    if (!res)
        return self->errcode;
    if (s_ok(self, res, &rc)) {
        s_count_changes(self, res);
        s_keep_setting(self, sql);
    }
    PQclear(res);
    return rc;
}

fc_db_pgstmt_t *fc_db_pg_prepare(fc_db_pg_t *self, const char *sql)
{
    const s_sql_t *s = s_translate(self, sql);
    if (!s) {
        s_set_error(self, FC_DB_NOMEM, "out of memory");
        return NULL;
    }
    if (s->flags.multi && s->nparams > 0) {
        s_set_error(self, FC_DB_ERROR, "one statement at a time when it has parameters");
        return NULL;
    }
    fc_db_pgstmt_t *st = calloc(1, sizeof *st);
    if (!st)
        return NULL;
    st->db = self;
    st->sql = s;
    st->row = -1;
    int n = s->nparams > 0 ? s->nparams : 1;
    st->values = calloc((size_t)n, sizeof *st->values);
    st->lengths = calloc((size_t)n, sizeof *st->lengths);
    st->formats = calloc((size_t)n, sizeof *st->formats);
    st->types = calloc((size_t)n, sizeof *st->types);
    if (!st->values || !st->lengths || !st->formats || !st->types) {
        fc_db_pg_finalize(st);
        s_set_error(self, FC_DB_NOMEM, "out of memory");
        return NULL;
    }
    return st;
}

static int s_bind(fc_db_pgstmt_t *st, int i, char *value, int len, int format, Oid type)
{
    if (i < 1 || i > st->sql->nparams) {
        free(value);
        return FC_DB_ERROR; /* SQLite's SQLITE_RANGE has no FC_DB_ code */
    }
    free(st->values[i - 1]);
    st->values[i - 1] = value;
    st->lengths[i - 1] = len;
    st->formats[i - 1] = format;
    st->types[i - 1] = type;
    return FC_DB_OK;
}

int fc_db_pg_bind_int64(fc_db_pgstmt_t *st, int i, int64_t value)
{
    char *text = malloc(24);
    if (!text)
        return FC_DB_NOMEM;
    snprintf(text, 24, "%lld", (long long)value);
    return s_bind(st, i, text, 0, 0, 0);
}

int fc_db_pg_bind_text(fc_db_pgstmt_t *st, int i, const char *text, int len)
{
    if (!text)
        return fc_db_pg_bind_null(st, i);
    size_t n = len < 0 ? strlen(text) : (size_t)len;
    char *copy = malloc(n + 1);
    if (!copy)
        return FC_DB_NOMEM;
    memcpy(copy, text, n);
    copy[n] = 0;
    return s_bind(st, i, copy, 0, 0, 0);
}

int fc_db_pg_bind_blob(fc_db_pgstmt_t *st, int i, const void *data, size_t len)
{
    if (len > INT32_MAX)
        return FC_DB_ERROR;
    char *copy = malloc(len ? len : 1);
    if (!copy)
        return FC_DB_NOMEM;
    if (len)
        memcpy(copy, data, len);
    return s_bind(st, i, copy, (int)len, 1, FC_DB_PG_BYTEA);
}

int fc_db_pg_bind_null(fc_db_pgstmt_t *st, int i)
{
    return s_bind(st, i, NULL, 0, 0, 0);
}

static void s_clear_row(fc_db_pgstmt_t *st)
{
    for (int c = 0; c < st->ncols_decoded; c++)
        PQfreemem(st->decoded[c]);
    free(st->decoded);
    free(st->decoded_len);
    st->decoded = NULL;
    st->decoded_len = NULL;
    st->ncols_decoded = 0;
}

/* Runs the statement with its bindings: server-side prepared once per connection, keyed
   by the kinds of its parameters (bytea or inferred) and its text. */
static PGresult *s_run(fc_db_pgstmt_t *st)
{
    fc_db_pg_t *self = st->db;
    const s_sql_t *s = st->sql;
    for (int i = 0; i < s->nparams && i < 64; i++)
        if (!(s->flags.used & (1ULL << i)) && st->types[i] == 0)
            st->types[i] = FC_DB_PG_TEXT;
    if (s->flags.txn || s->flags.multi || s->nparams == 0 || !self->cache)
        return s->nparams == 0
                   ? PQexec(self->conn, s->pg)
                   : PQexecParams(self->conn, s->pg, s->nparams, st->types,
                                  (const char *const *)st->values, st->lengths, st->formats, 0);
    size_t keylen = (size_t)s->nparams + 1 + strlen(s->pg) + 1;
    char *key = malloc(keylen);
    if (!key)
        return NULL;
    for (int i = 0; i < s->nparams; i++) {
        key[i] = st->types[i] == FC_DB_PG_BYTEA ? 'b' : st->types[i] == FC_DB_PG_TEXT ? 't' : '0';
    }
    key[s->nparams] = '|';
    strcpy(key + s->nparams + 1, s->pg);
    const char *name = zhash_lookup(self->prepared, key);
    char fresh[24];
    if (!name) {
        snprintf(fresh, sizeof fresh, "fc_s%u", self->next_name++);
        PGresult *res = PQprepare(self->conn, fresh, s->pg, s->nparams, st->types);
        if (PQresultStatus(res) != PGRES_COMMAND_OK) {
            free(key);
            return res; /* its error is the statement's */
        }
        PQclear(res);
        zhash_insert(self->prepared, key, fresh);
        name = fresh;
    }
    free(key);
    return PQexecPrepared(self->conn, name, s->nparams, (const char *const *)st->values,
                          st->lengths, st->formats, 0);
}

static PGresult *s_run_query(fc_db_pg_t *self, void *arg)
{
    (void)self;
    return s_run(arg);
}

int fc_db_pg_step(fc_db_pgstmt_t *st)
{
    fc_db_pg_t *self = st->db;
    s_clear_row(st);
    if (!st->ran) {
        PQclear(st->res);
        st->res = NULL;
        st->row = -1;
        st->ran = true;
        if (st->sql->flags.empty)
            return FC_DB_DONE;
        int rc = FC_DB_OK;
        if (s_lost_txn_gate(self, st->sql, &rc))
            return rc == FC_DB_OK ? FC_DB_DONE : rc;
        st->res = s_query(self, s_run_query, st, st->sql->end);
        if (!st->res)
            return self->errcode;
        if (!s_ok(self, st->res, &rc)) {
            PQclear(st->res);
            st->res = NULL;
            return rc;
        }
        s_count_changes(self, st->res);
    }
    /* BEGIN IMMEDIATE's lock query answers a row: a transaction statement has none */
    if (!st->res || PQresultStatus(st->res) != PGRES_TUPLES_OK || st->sql->flags.txn)
        return FC_DB_DONE;
    st->row++;
    if (st->row >= PQntuples(st->res))
        return FC_DB_DONE;
    return FC_DB_ROW;
}

static bool s_have(fc_db_pgstmt_t *st, int col)
{
    return st->res && st->row >= 0 && st->row < PQntuples(st->res) && col >= 0 &&
           col < PQnfields(st->res) && !PQgetisnull(st->res, st->row, col);
}

int64_t fc_db_pg_column_int64(fc_db_pgstmt_t *st, int col)
{
    if (!s_have(st, col))
        return 0;
    const char *v = PQgetvalue(st->res, st->row, col);
    if (PQftype(st->res, col) == FC_DB_PG_BOOL)
        return *v == 't';
    return strtoll(v, NULL, 10); /* a numeric's or float's integer part, as SQLite */
}

/* A bytea column's bytes, decoded once per row. */
static bool s_decode(fc_db_pgstmt_t *st, int col)
{
    if (!st->decoded) {
        int n = PQnfields(st->res);
        st->decoded = calloc((size_t)n, sizeof *st->decoded);
        st->decoded_len = calloc((size_t)n, sizeof *st->decoded_len);
        if (!st->decoded || !st->decoded_len) {
            free(st->decoded);
            free(st->decoded_len);
            st->decoded = NULL;
            st->decoded_len = NULL;
            return false;
        }
        st->ncols_decoded = n;
    }
    if (st->decoded[col])
        return true;
    size_t len = 0;
    unsigned char *raw =
        PQunescapeBytea((const unsigned char *)PQgetvalue(st->res, st->row, col), &len);
    if (!raw)
        return false;
    /* SQLite's text of a blob ends with a NUL past its bytes: room for one */
    unsigned char *withnul = malloc(len + 1);
    if (!withnul) {
        PQfreemem(raw);
        return false;
    }
    memcpy(withnul, raw, len);
    withnul[len] = 0;
    PQfreemem(raw);
    st->decoded[col] = withnul;
    st->decoded_len[col] = (int)len;
    return true;
}

const unsigned char *fc_db_pg_column_text(fc_db_pgstmt_t *st, int col)
{
    if (!s_have(st, col))
        return NULL;
    if (PQftype(st->res, col) == FC_DB_PG_BYTEA)
        return s_decode(st, col) ? st->decoded[col] : NULL;
    return (const unsigned char *)PQgetvalue(st->res, st->row, col);
}

const void *fc_db_pg_column_blob(fc_db_pgstmt_t *st, int col)
{
    return fc_db_pg_column_text(st, col);
}

int fc_db_pg_column_bytes(fc_db_pgstmt_t *st, int col)
{
    if (!s_have(st, col))
        return 0;
    if (PQftype(st->res, col) == FC_DB_PG_BYTEA)
        return s_decode(st, col) ? st->decoded_len[col] : 0;
    return PQgetlength(st->res, st->row, col);
}

bool fc_db_pg_column_is_null(fc_db_pgstmt_t *st, int col)
{
    return !s_have(st, col);
}

int fc_db_pg_reset(fc_db_pgstmt_t *st)
{
    s_clear_row(st);
    PQclear(st->res);
    st->res = NULL;
    st->row = -1;
    st->ran = false;
    return FC_DB_OK;
}

void fc_db_pg_finalize(fc_db_pgstmt_t *st)
{
    if (!st)
        return;
    s_clear_row(st);
    PQclear(st->res);
    if (st->values)
        for (int i = 0; i < st->sql->nparams; i++)
            free(st->values[i]);
    free(st->values);
    free(st->lengths);
    free(st->formats);
    free(st->types);
    free(st);
}

int64_t fc_db_pg_changes(fc_db_pg_t *self)
{
    return self->changes;
}

const char *fc_db_pg_errmsg(fc_db_pg_t *self)
{
    return self->errmsg;
}

int fc_db_pg_errcode(fc_db_pg_t *self)
{
    return self->errcode;
}

bool fc_db_pg_autocommit(fc_db_pg_t *self)
{
    if (self->lost_txn)
        return false;
    /* a connection lost outside a transaction: the next statement runs in autocommit */
    if (self->lost || PQstatus(self->conn) == CONNECTION_BAD)
        return true;
    return PQtransactionStatus(self->conn) == PQTRANS_IDLE;
}

int fc_db_pg_listen(fc_db_pg_t *self, const char *channel)
{
    char *name = PQescapeIdentifier(self->conn, channel, strlen(channel));
    if (!name) {
        s_set_error(self, FC_DB_ERROR, PQerrorMessage(self->conn));
        return FC_DB_ERROR;
    }
    char sql[256];
    int n = snprintf(sql, sizeof sql, "LISTEN %s", name);
    PQfreemem(name);
    if (n < 0 || (size_t)n >= sizeof sql) {
        s_set_error(self, FC_DB_ERROR, "channel name too long");
        return FC_DB_ERROR;
    }
    int rc = FC_DB_OK;
    PGresult *res = PQexec(self->conn, sql);
    s_ok(self, res, &rc);
    PQclear(res);
    return rc;
}

int fc_db_pg_fd(fc_db_pg_t *self)
{
    return PQsocket(self->conn);
}

int fc_db_pg_notified(fc_db_pg_t *self, int *count)
{
    *count = 0;
    if (!PQconsumeInput(self->conn) || PQstatus(self->conn) == CONNECTION_BAD) {
        s_set_error(self, FC_DB_ERROR, PQerrorMessage(self->conn));
        return FC_DB_ERROR;
    }
    PGnotify *note;
    while ((note = PQnotifies(self->conn)) != NULL) {
        (*count)++;
        PQfreemem(note);
    }
    return FC_DB_OK;
}
