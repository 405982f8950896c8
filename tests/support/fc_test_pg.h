/* fc_test_pg.h: a fresh, empty PostgreSQL database per self-test case, on the server that
   tests/pg.sh started (FC_TEST_PG). */
#ifndef FC_TEST_PG_H
#define FC_TEST_PG_H

#include <stdbool.h>
#include <stddef.h>

/* Creates a new empty database on the server FC_TEST_PG names (a libpq "key=value" string)
   and writes a conninfo for it into out (FC_TEST_PG with its own dbname=). False, with the
   reason on stderr, when FC_TEST_PG is unset or the database cannot be made: the caller
   skips its PostgreSQL cases. The database is left for the server's temp dir to take. */
bool fc_test_pg_fresh(char *out, size_t size);
/* fc_test_pg_fresh for the database called name (a plain identifier): made if missing, the
   one already there otherwise (a test opening the same store again). */
bool fc_test_pg_named(const char *name, char *out, size_t size);

#endif
