/* fc_store_testdb.c: the store a self-test opens: SQLite under its directory, or, when
   FC_TEST_PG names a PostgreSQL server (tests/pg.sh starts one), a database of its own; a
   private part of fc_store (its self-tests' way in). */
#include "fc_store_testdb.h"
#include "fc_error.h"
#include "fc_hash.h"
#include "fc_test_pg.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The database for dir: named after its path, so a test that closes and opens the store of
   one directory again finds what it left, and two directories never share one. */
static int s_database(const char *dir, char *where, size_t wheresize)
{
    uint8_t hash[FC_HASH_LEN];
    char hex[2 * FC_HASH_LEN + 1];
    fc_hash_buf(hash, dir, strlen(dir));
    char name[24];
    snprintf(name, sizeof name, "t%.20s", fc_hash_hex(hash, hex));
    return fc_test_pg_named(name, where, wheresize) ? 0 : -1;
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
    if (s_database(dir, where, wheresize) != 0)
        snprintf(where, wheresize, "%s dbname=fc_store_testdb_failed", getenv("FC_TEST_PG"));
    return where;
}

fc_store_t *fc_store_testdb_new(const char *dir, int *err, char *text, size_t textsize)
{
    char where[1024];
    return fc_store_new_db(dir, fc_store_testdb_where(dir, where, sizeof where), err, text,
                           textsize);
}
