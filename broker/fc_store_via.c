/* fc_store_via.c: which relay each agent reports through (docs/PROTOCOL.md 3.16, "Reports
   up"), a private part of fc_store (fc_store_priv.h); a table of its own, so older data
   directories need no migration of the agents table. */
#include "fc_store_via.h"
#include "fc_error.h"
#include "fc_manifest.h"
#include "fc_store_priv.h"
#include "fc_store_testdb.h"
#include "fc_test_check.h"

#include <stdio.h>
#include <string.h>

int fc_store_via_init(fc_store_t *self)
{
    return fc_store_exec(self, "CREATE TABLE IF NOT EXISTS agent_via (id TEXT PRIMARY KEY,"
                               "  via TEXT NOT NULL);");
}

int fc_store_via_set(fc_store_t *self, const char *id, const char *via)
{
    if (!fc_name_valid(id) || (*via && !fc_name_valid(via)))
        return FC_EINVAL;
    fc_store_sync(self, false);
    fc_db_stmt_t *st =
        fc_store_prep(self, *via ? "INSERT OR REPLACE INTO agent_via (id, via) VALUES (?, ?)"
                                 : "DELETE FROM agent_via WHERE id = ?");
    if (st) {
        fc_db_bind_text(st, 1, id, -1);
        if (*via)
            fc_db_bind_text(st, 2, via, -1);
    }
    return fc_store_step_done(st);
}

/* Fills the via of n agent-status structs, stride bytes apart, with one statement. */
static void s_fill(fc_store_t *self, char *first, size_t n, size_t stride)
{
    if (!n)
        return;
    fc_db_stmt_t *st = fc_store_prep(self, "SELECT via FROM agent_via WHERE id = ?");
    if (!st)
        return; /* the lists still answer, without the column */
    for (size_t i = 0; i < n; i++) {
        fc_agent_status_t *a = (fc_agent_status_t *)(first + i * stride);
        a->via[0] = '\0';
        fc_db_reset(st);
        fc_db_bind_text(st, 1, a->id, -1);
        if (fc_db_step(st) == FC_DB_ROW)
            snprintf(a->via, sizeof a->via, "%s", fc_store_col(st, 0));
    }
    fc_db_finalize(st);
}

void fc_store_via_fill(fc_store_t *self, fc_agent_status_t *agents, size_t n)
{
    s_fill(self, (char *)agents, n, sizeof *agents);
}

void fc_store_via_fill_rows(fc_store_t *self, fc_store_agent_row_t *rows, size_t n)
{
    if (n)
        s_fill(self, (char *)&rows[0].status, n, sizeof *rows);
}

void fc_store_via_test(bool verbose)
{
    if (verbose)
        printf(" * fc_store_via: ");
    char dir[] = "/tmp/fc_store_via_test_XXXXXX";
    FC_CHECK(mkdtemp(dir) != NULL);
    int err = FC_OK;
    fc_store_t *store = fc_store_testdb_new(dir, &err, NULL, 0);
    FC_CHECK(store != NULL);
    fc_agent_status_t a[2];
    memset(a, 0, sizeof a);
    snprintf(a[0].id, sizeof a[0].id, "a1");
    snprintf(a[1].id, sizeof a[1].id, "a2");
    snprintf(a[1].via, sizeof a[1].via, "stale");
    FC_CHECK(fc_store_via_set(store, "a1", "site1") == FC_OK);
    FC_CHECK(fc_store_via_set(store, "a1", "site2") == FC_OK); /* moved: the latest wins */
    FC_CHECK(fc_store_via_set(store, "../x", "site1") == FC_EINVAL);
    FC_CHECK(fc_store_via_set(store, "a2", "no/name") == FC_EINVAL);
    fc_store_via_fill(store, a, 2);
    FC_CHECK(streq(a[0].via, "site2"));
    FC_CHECK(streq(a[1].via, ""));
    FC_CHECK(fc_store_via_set(store, "a1", "") == FC_OK); /* reports directly now */
    fc_store_via_fill(store, a, 1);
    FC_CHECK(streq(a[0].via, ""));
    fc_store_agent_row_t rows[2];
    memset(rows, 0, sizeof rows);
    snprintf(rows[0].status.id, sizeof rows[0].status.id, "a2");
    snprintf(rows[1].status.id, sizeof rows[1].status.id, "a3");
    FC_CHECK(fc_store_via_set(store, "a3", "site3") == FC_OK);
    fc_store_via_fill_rows(store, rows, 2);
    FC_CHECK(streq(rows[0].status.via, "") && streq(rows[1].status.via, "site3"));
    fc_store_destroy(&store);
    char cmd[sizeof dir + 16];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    FC_CHECK(system(cmd) == 0);
    if (verbose)
        printf("OK\n");
}
