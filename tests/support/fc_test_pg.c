/* fc_test_pg.c: a fresh, empty PostgreSQL database per self-test case (fc_test_pg.h). */
#include "fc_test_pg.h"
#include "fc_db.h"
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

bool fc_test_pg_fresh(char *out, size_t size)
{
    /* Unique across the processes of one server (pid) and the calls of one (the clock and
       a random number): CREATE DATABASE of a name taken fails rather than share one. */
    const char *server = getenv("FC_TEST_PG");
    if (!server || !*server)
        return false;
    int rc = 0;
    char text[256];
    fc_db_t *db = fc_db_open(server, &rc, text, sizeof text);
    if (!db) {
        fprintf(stderr, "fc_test_pg_fresh: %s\n", text);
        return false;
    }
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    char name[64];
    snprintf(name, sizeof name, "t%d_%ld_%u", (int)getpid(), (long)ts.tv_nsec,
             (unsigned)randombytes_random());
    char sql[96];
    snprintf(sql, sizeof sql, "CREATE DATABASE %s", name);
    rc = fc_db_exec(db, sql);
    if (rc != FC_DB_OK)
        fprintf(stderr, "fc_test_pg_fresh: %s: %s\n", sql, fc_db_errmsg(db));
    fc_db_close(&db);
    if (rc != FC_DB_OK)
        return false;
    /* libpq takes the last of a repeated keyword */
    int n = snprintf(out, size, "%s dbname=%s", server, name);
    return n > 0 && (size_t)n < size;
}
