/* fc_store_listen_test.c: fc_store_listen's self-test: a commit's notification reaches the
   owner's poller, and after the listening connection is killed it connects again and hears. */
#include "fc_db.h"
#include "fc_store_listen.h"
#include "fc_test_check.h"
#include "fc_test_pg.h"
#include <stdio.h>

/* Whether the listener signals within ms. */
static bool s_heard(fc_store_listen_t *ear, zpoller_t *poller, int ms)
{
    int64_t end = zclock_mono() + ms;
    while (zclock_mono() < end) {
        void *which = zpoller_wait(poller, (int)(end - zclock_mono()));
        if (fc_store_listen_handle(ear, which))
            return true;
    }
    return false;
}

static void s_exec(fc_db_t *db, const char *sql)
{
    fc_db_stmt_t *st = fc_db_prepare(db, sql);
    FC_CHECK(st);
    int rc = fc_db_step(st);
    FC_CHECK(rc == FC_DB_ROW || rc == FC_DB_DONE);
    fc_db_finalize(st);
}

void fc_store_listen_test(bool verbose)
{
    printf(" * fc_store_listen: ");
    FC_CHECK(fc_store_listen_new("/tmp/no-such-dir/fleetcast.db", true) == NULL);
    FC_CHECK(fc_store_listen_new(NULL, true) == NULL);
    fc_store_listen_t *none = NULL;
    fc_store_listen_destroy(&none);

    char where[512];
    if (!fc_test_pg_fresh(where, sizeof where)) {
        printf("(PostgreSQL cases skipped: FC_TEST_PG unset) OK\n");
        return;
    }
    fc_store_listen_t *ear = fc_store_listen_new(where, !verbose);
    FC_CHECK(ear);
    zpoller_t *poller = zpoller_new(fc_store_listen_sock(ear), NULL);
    /* connected: one signal, so the owner reads what came before LISTEN */
    FC_CHECK(s_heard(ear, poller, 10000));
    FC_CHECK(fc_store_listen_connects(ear) == 1);
    FC_CHECK(!s_heard(ear, poller, 200));
    FC_CHECK(!fc_store_listen_handle(ear, NULL));

    int rc = 0;
    char text[256];
    fc_db_t *db = fc_db_open(where, &rc, text, sizeof text);
    FC_CHECK(db);
    s_exec(db, "SELECT pg_notify('" FC_STORE_CHANNEL "', '') IS NULL");
    FC_CHECK(s_heard(ear, poller, 5000));
    /* a burst comes as one or a few signals, never lost */
    for (int i = 0; i < 20; i++)
        s_exec(db, "SELECT pg_notify('" FC_STORE_CHANNEL "', '') IS NULL");
    FC_CHECK(s_heard(ear, poller, 5000));
    while (s_heard(ear, poller, 300))
        ;

    /* The listening connection dies (a failover, a restart of the server): it comes back,
       signals once for what it may have missed, and hears again. */
    s_exec(db, "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
               " WHERE query LIKE 'LISTEN%' AND pid <> pg_backend_pid()");
    FC_CHECK(s_heard(ear, poller, 10000));
    FC_CHECK(fc_store_listen_connects(ear) == 2);
    s_exec(db, "SELECT pg_notify('" FC_STORE_CHANNEL "', '') IS NULL");
    FC_CHECK(s_heard(ear, poller, 5000));

    fc_db_close(&db);
    zpoller_destroy(&poller);
    fc_store_listen_destroy(&ear);
    FC_CHECK(ear == NULL);
    printf("OK\n");
}
