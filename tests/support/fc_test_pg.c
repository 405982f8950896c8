/* fc_test_pg.c: a fresh, empty PostgreSQL database per self-test case (fc_test_pg.h). */
#include "fc_test_pg.h"
#include "fc_db.h"
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

bool fc_test_pg_named(const char *name, char *out, size_t size)
{
    const char *server = getenv("FC_TEST_PG");
    if (!server || !*server)
        return false;
    int rc = 0;
    char text[256];
    fc_db_t *db = fc_db_open(server, &rc, text, sizeof text);
    if (!db) {
        fprintf(stderr, "fc_test_pg: %s\n", text);
        return false;
    }
    fc_db_stmt_t *st = fc_db_prepare(db, "SELECT 1 FROM pg_database WHERE datname = ?");
    if (st)
        fc_db_bind_text(st, 1, name, -1);
    rc = st ? fc_db_step(st) : FC_DB_ERROR;
    fc_db_finalize(st);
    if (rc == FC_DB_DONE) {
        char sql[96];
        snprintf(sql, sizeof sql, "CREATE DATABASE %s", name);
        rc = fc_db_exec(db, sql) == FC_DB_OK ? FC_DB_ROW : FC_DB_ERROR;
    }
    if (rc != FC_DB_ROW)
        fprintf(stderr, "fc_test_pg: cannot make database %s: %s\n", name, fc_db_errmsg(db));
    fc_db_close(&db);
    if (rc != FC_DB_ROW)
        return false;
    /* libpq takes the last of a repeated keyword */
    int n = snprintf(out, size, "%s dbname=%s", server, name);
    return n > 0 && (size_t)n < size;
}

bool fc_test_pg_fresh(char *out, size_t size)
{
    /* Unique across the processes of one server (pid) and the calls of one (the clock and
       a random number). */
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    char name[64];
    snprintf(name, sizeof name, "t%d_%ld_%u", (int)getpid(), (long)ts.tv_nsec,
             (unsigned)randombytes_random());
    return fc_test_pg_named(name, out, size);
}
