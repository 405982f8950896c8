/* fc_store_testdb.h: the store a self-test opens (fc_store_testdb.c). */
#ifndef FC_STORE_TESTDB_H
#define FC_STORE_TESTDB_H

#include "fc_store.h"
#include <stdbool.h>

/* fc_store_new for self-tests: under FC_TEST_PG (a libpq "key=value" conninfo of a
   PostgreSQL server the test may create databases on), the store's database is a
   PostgreSQL database of its own for dir, created if missing; otherwise DIR/fleetcast.db. */
fc_store_t *fc_store_testdb_new(const char *dir, int *err, char *text, size_t textsize);
/* The database a broker started on dir by a self-test opens (fc_broker_config_t.store): a
   connection string in where under FC_TEST_PG (one that fails to connect if the database
   cannot be made), NULL (DIR/fleetcast.db) otherwise. */
const char *fc_store_testdb_where(const char *dir, char *where, size_t wheresize);
/* Whether the self-tests run on PostgreSQL (FC_TEST_PG set): tests of SQLite's own file
   (a damaged fleetcast.db) have nothing to test there. */
bool fc_store_testdb_pg(void);

#endif
