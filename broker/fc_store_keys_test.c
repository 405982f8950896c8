/* fc_store_keys_test.c: fc_store_keys' self-test: enrolments and revocations written through
   a second connection, as `fleetcast keys --store` makes them, reach keys/<role>/. */
#include "fc_curve.h"
#include "fc_db_keys.h"
#include "fc_error.h"
#include "fc_file.h"
#include "fc_store_keys.h"
#include "fc_store_testdb.h"
#include "fc_test_check.h"

#include <czmq.h>
#include <string.h>
#include <unistd.h>

/* Whether data_dir/keys/dir/ has a cert named after key (as the mirror writes it). */
static bool s_has(const char *data_dir, const char *dir, const char *key)
{
    char hex[65], path[PATH_MAX];
    fc_curve_key_hex(key, hex);
    snprintf(path, sizeof path, "%s/keys/%s/%s.cert", data_dir, dir, hex);
    return access(path, F_OK) == 0;
}

static bool s_count(const char *key, const char *role, const char *name, int64_t added, void *arg)
{
    (void)key;
    (void)role;
    (void)name;
    (void)added;
    (*(int *)arg)++;
    return true;
}

void fc_store_keys_test(bool verbose)
{
    printf(" * fc_store_keys: ");
    char dir[] = "/tmp/fc_store_keys_test.XXXXXX";
    FC_CHECK(mkdtemp(dir));
    int err = 0;
    char text[256], where[1024], path[PATH_MAX];
    fc_store_t *store = fc_store_testdb_new(dir, &err, text, sizeof text);
    FC_CHECK(store);
    /* The CLI's own connection to the same database (`fleetcast keys ... --store`). */
    const char *w = fc_store_testdb_where(dir, where, sizeof where);
    snprintf(path, sizeof path, "%s/fleetcast.db", dir);
    int rc = 0;
    fc_db_t *cli = fc_db_open(w ? w : path, &rc, text, sizeof text);
    FC_CHECK(cli);
    char keys[3][FC_CURVE_Z85_LEN + 1];
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s/k%d.cert", dir, i);
        FC_CHECK(fc_curve_generate(path, false, keys[i]) == 0);
    }
    uint64_t serial = 99;
    FC_CHECK(fc_db_keys_serial(cli, &serial) == FC_DB_OK && serial == 0);

    fc_store_keys_t *sk = fc_store_keys_new(dir, true);
    FC_CHECK(sk);
    bool changed = false;
    FC_CHECK(fc_store_keys_sync(sk, store, false, &changed) == FC_OK && changed);

    /* Enrolled through the database: written under each role's directory. */
    FC_CHECK(fc_db_keys_add(cli, keys[0], "agent", "k0.cert") == FC_DB_OK);
    FC_CHECK(fc_db_keys_add(cli, keys[1], "publisher", "k1") == FC_DB_OK);
    FC_CHECK(fc_db_keys_add(cli, keys[1], "publisher", "k1 again") == FC_DB_OK); /* replaced */
    FC_CHECK(fc_db_keys_serial(cli, &serial) == FC_DB_OK && serial == 3);
    int n = 0;
    FC_CHECK(fc_db_keys_each(cli, s_count, &n) == FC_DB_OK && n == 2);
    FC_CHECK(fc_store_keys_sync(sk, store, false, &changed) == FC_OK && changed);
    FC_CHECK(s_has(dir, "agents", keys[0]) && s_has(dir, "publishers", keys[1]));
    FC_CHECK(!s_has(dir, "agents", keys[1]) && !s_has(dir, "relays", keys[0]));
    /* Nothing moved: nothing read again. */
    FC_CHECK(fc_store_keys_sync(sk, store, false, &changed) == FC_OK && !changed);

    /* A key enrolled by hand as a file stays through every mirror. */
    snprintf(path, sizeof path, "%s/keys/agents/by-hand.cert", dir);
    FC_CHECK(fc_curve_save_public(keys[2], path) == 0);

    /* Revoked in the database: its file goes; a key not enrolled changes nothing. */
    int removed = -1;
    FC_CHECK(fc_db_keys_revoke(cli, keys[0], &removed) == FC_DB_OK && removed == 1);
    FC_CHECK(fc_db_keys_revoke(cli, keys[2], &removed) == FC_DB_OK && removed == 0);
    FC_CHECK(fc_db_keys_serial(cli, &serial) == FC_DB_OK && serial == 4);
    FC_CHECK(fc_store_keys_sync(sk, store, false, &changed) == FC_OK && changed);
    FC_CHECK(!s_has(dir, "agents", keys[0]) && s_has(dir, "publishers", keys[1]));
    FC_CHECK(access(path, F_OK) == 0);

    /* After a restart the record says what was mirrored; a revoked key copied back by hand
       is removed again. */
    fc_store_keys_destroy(&sk);
    sk = fc_store_keys_new(dir, true);
    FC_CHECK(sk);
    FC_CHECK(fc_store_keys_sync(sk, store, false, &changed) == FC_OK);
    zclock_sleep(20); /* a new directory mtime */
    char copy[PATH_MAX];
    snprintf(copy, sizeof copy, "%s/keys/agents/copied-back.cert", dir);
    FC_CHECK(fc_curve_save_public(keys[0], copy) == 0);
    FC_CHECK(fc_store_keys_enforce(sk) == 1 && access(copy, F_OK) != 0);

    /* A row with an unknown role or a malformed key is never written. */
    fc_db_stmt_t *st = fc_db_prepare(cli, "INSERT INTO enrolled_keys (pubkey, role, name, "
                                          "added) VALUES ('short', 'agent', 'x', 0), (?, "
                                          "'wizard', 'y', 0)");
    FC_CHECK(st);
    fc_db_bind_text(st, 1, keys[2], -1);
    FC_CHECK(fc_db_step(st) == FC_DB_DONE);
    fc_db_finalize(st);
    FC_CHECK(fc_store_keys_sync(sk, store, true, &changed) == FC_OK && changed);
    FC_CHECK(s_has(dir, "publishers", keys[1]) && access(path, F_OK) == 0);

    fc_store_keys_destroy(&sk);
    fc_store_keys_destroy(&sk);
    fc_db_close(&cli);
    fc_store_destroy(&store);
    fc_remove_tree(dir);
    if (verbose)
        printf("(in %s) ", dir);
    printf("OK\n");
}
