/* fc_store_testdb.c: the store a self-test opens: SQLite under its directory, or, when
   FC_TEST_PG names a PostgreSQL server (tests/pg.sh starts one), a database of its own. */
#include "fc_store_testdb.h"
#include "fc_db.h"
#include "fc_error.h"
#include "fc_hash.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The database for dir: named after its path, so a test that closes and opens the store of
   one directory again finds what it left, and two directories never share one. */
static int s_database(const char *server, const char *dir, char *where, size_t wheresize)
{
    uint8_t hash[FC_HASH_LEN];
    char hex[2 * FC_HASH_LEN + 1];
    fc_hash_buf(hash, dir, strlen(dir));
    char name[24];
    snprintf(name, sizeof name, "t%.20s", fc_hash_hex(hash, hex));
    int rc = FC_DB_OK;
    char text[256];
    fc_db_t *db = fc_db_open(server, &rc, text, sizeof text);
    if (!db) {
        fprintf(stderr, "fc_store_testdb: %s\n", text);
        return -1;
    }
    fc_db_stmt_t *st = fc_db_prepare(db, "SELECT 1 FROM pg_database WHERE datname = ?");
    if (st)
        fc_db_bind_text(st, 1, name, -1);
    rc = st ? fc_db_step(st) : FC_DB_ERROR;
    fc_db_finalize(st);
    if (rc == FC_DB_DONE) {
        char sql[64];
        snprintf(sql, sizeof sql, "CREATE DATABASE %s", name);
        rc = fc_db_exec(db, sql) == FC_DB_OK ? FC_DB_ROW : FC_DB_ERROR;
    }
    if (rc != FC_DB_ROW)
        fprintf(stderr, "fc_store_testdb: cannot make database %s: %s\n", name, fc_db_errmsg(db));
    fc_db_close(&db);
    /* libpq takes the last of a repeated keyword: this dbname wins over the server's. */
    snprintf(where, wheresize, "%s dbname=%s", server, name);
    return rc == FC_DB_ROW ? 0 : -1;
}

bool fc_store_testdb_pg(void)
{
    const char *server = getenv("FC_TEST_PG");
    return server && *server;
}

const char *fc_store_testdb_where(const char *dir, char *where, size_t wheresize)
{
    if (!fc_store_testdb_pg())
        return NULL;
    if (s_database(getenv("FC_TEST_PG"), dir, where, wheresize) != 0)
        snprintf(where, wheresize, "%s dbname=fc_store_testdb_failed", getenv("FC_TEST_PG"));
    return where;
}

fc_store_t *fc_store_testdb_new(const char *dir, int *err, char *text, size_t textsize)
{
    char where[1024];
    return fc_store_new_db(dir, fc_store_testdb_where(dir, where, sizeof where), err, text,
                           textsize);
}
