/* fc_store_view.c: the store's read-only queries behind the fleet view; a private part of
   the store (fc_store_priv.h). */
#include "fc_store_view.h"
#include "fc_error.h"
#include "fc_revision.h"
#include "fc_store_priv.h"

#include <stdio.h>
#include <string.h>

/* fc_store_row_fn: an agents row joined with its group. */
static bool s_agent_row(sqlite3_stmt *st, void *entry, void *arg)
{
    (void)arg;
    fc_store_agent_row_t *r = (fc_store_agent_row_t *)entry;
    fc_agent_status_t *a = &r->status;
    snprintf(a->id, sizeof a->id, "%s", fc_store_col(st, 0));
    snprintf(a->channel, sizeof a->channel, "%s", fc_store_col(st, 1));
    snprintf(a->version, sizeof a->version, "%s", fc_store_col(st, 2));
    snprintf(a->state, sizeof a->state, "%s", fc_store_col(st, 3));
    snprintf(a->message, sizeof a->message, "%s", fc_store_col(st, 4));
    a->done = (uint64_t)sqlite3_column_int64(st, 5);
    a->total = (uint64_t)sqlite3_column_int64(st, 6);
    a->last_seen = sqlite3_column_int64(st, 7);
    snprintf(r->group, sizeof r->group, "%s", fc_store_col(st, 8));
    return true;
}

int fc_store_view_agents(fc_store_t *self, size_t max, fc_store_agent_row_t **list, size_t *n)
{
    *list = NULL;
    *n = 0;
    sqlite3_stmt *st = fc_store_prep(
        self, "SELECT a.id, a.channel, a.version, a.state, a.message, a.done, a.total,"
              " a.last_seen, coalesce(g.grp, '') FROM agents a"
              " LEFT JOIN agent_groups g ON g.id = a.id ORDER BY a.id LIMIT ?");
    if (!st)
        return FC_EIO;
    sqlite3_bind_int64(st, 1, (sqlite3_int64)max);
    void *rows = NULL;
    int err = fc_store_rows(st, max, sizeof **list, s_agent_row, NULL, &rows, n);
    *list = rows;
    return err;
}

/* fc_store_row_fn: one (channel, version, state) group of agents. */
static bool s_count_row(sqlite3_stmt *st, void *entry, void *arg)
{
    (void)arg;
    fc_store_agent_count_t *c = (fc_store_agent_count_t *)entry;
    snprintf(c->channel, sizeof c->channel, "%s", fc_store_col(st, 0));
    snprintf(c->version, sizeof c->version, "%s", fc_store_col(st, 1));
    snprintf(c->state, sizeof c->state, "%s", fc_store_col(st, 2));
    c->count = (uint64_t)sqlite3_column_int64(st, 3);
    c->online = (uint64_t)sqlite3_column_int64(st, 4);
    return true;
}

int fc_store_view_agent_counts(fc_store_t *self, int64_t online_since, size_t max,
                               fc_store_agent_count_t **list, size_t *n)
{
    *list = NULL;
    *n = 0;
    sqlite3_stmt *st = fc_store_prep(
        self, "SELECT channel, version, state, count(*), total(last_seen >= ?1) FROM agents"
              " GROUP BY channel, version, state ORDER BY channel, version, state LIMIT ?2");
    if (!st)
        return FC_EIO;
    sqlite3_bind_int64(st, 1, (sqlite3_int64)online_since);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)max);
    void *rows = NULL;
    int err = fc_store_rows(st, max, sizeof **list, s_count_row, NULL, &rows, n);
    *list = rows;
    return err;
}

/* fc_store_row_fn: a revision number. */
static bool s_rev_row(sqlite3_stmt *st, void *entry, void *arg)
{
    (void)arg;
    *(uint64_t *)entry = (uint64_t)sqlite3_column_int64(st, 0);
    return true;
}

int fc_store_view_revisions(fc_store_t *self, size_t max, uint64_t **revs, size_t *n)
{
    *revs = NULL;
    *n = 0;
    sqlite3_stmt *st = fc_store_prep(
        self, "SELECT rev FROM config_revisions WHERE kind = ?1 ORDER BY rev DESC LIMIT ?2");
    if (!st)
        return FC_EIO;
    sqlite3_bind_int(st, 1, FC_REV_SET);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)max);
    void *rows = NULL;
    int err = fc_store_rows(st, max, sizeof **revs, s_rev_row, NULL, &rows, n);
    *revs = rows;
    return err;
}

int fc_store_view_uploads(fc_store_t *self, uint64_t *count)
{
    *count = 0;
    sqlite3_stmt *st = fc_store_prep(self, "SELECT count(*) FROM uploads");
    if (!st)
        return FC_EIO;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *count = (uint64_t)sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return rc == SQLITE_ROW ? FC_OK : fc_store_sqlite_error(rc);
}

/* fc_store_row_fn: one row of a fleet summary (fc_store_view_summary's two queries). */
static bool s_summary_row(sqlite3_stmt *st, void *entry, void *arg)
{
    (void)arg;
    fc_fleet_count_t *c = (fc_fleet_count_t *)entry;
    snprintf(c->channel, sizeof c->channel, "%s", fc_store_col(st, 0));
    snprintf(c->version, sizeof c->version, "%s", fc_store_col(st, 1));
    snprintf(c->state, sizeof c->state, "%s", fc_store_col(st, 2));
    snprintf(c->reason, sizeof c->reason, "%s", fc_store_col(st, 3));
    c->agents = (uint64_t)sqlite3_column_int64(st, 4);
    c->offline = (uint64_t)sqlite3_column_int64(st, 5);
    c->done = (uint64_t)sqlite3_column_int64(st, 6);
    c->total = (uint64_t)sqlite3_column_int64(st, 7);
    return true;
}

int fc_store_view_summary(fc_store_t *self, const char *channel, int64_t online_since,
                          size_t reasons, size_t max, fc_fleet_count_t **list, size_t *n)
{
    *list = NULL;
    *n = 0;
    /* Groups first: one row per (channel, version, state), whatever the fleet size. */
    sqlite3_stmt *st = fc_store_prep(
        self, "SELECT channel, version, state, '', count(*), total(last_seen < ?1),"
              " total(CASE WHEN state = 'downloading' THEN done ELSE 0 END),"
              " total(CASE WHEN state = 'downloading' THEN total ELSE 0 END)"
              " FROM agents WHERE ?2 = '' OR channel = ?2"
              " GROUP BY channel, version, state ORDER BY channel, version, state LIMIT ?3");
    if (!st)
        return FC_EIO;
    sqlite3_bind_int64(st, 1, (sqlite3_int64)online_since);
    sqlite3_bind_text(st, 2, channel ? channel : "", -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, (sqlite3_int64)max + 1);
    void *rows = NULL;
    size_t ngroups = 0;
    int err = fc_store_rows(st, max + 1, sizeof **list, s_summary_row, NULL, &rows, &ngroups);
    if (!err && ngroups > max)
        err = FC_ETOOBIG; /* more groups than a reply holds: never a summary silently cut */
    if (err) {
        free(rows);
        return err;
    }
    /* Then each channel's most common failure reasons, in the room left. */
    st = fc_store_prep(self, "SELECT channel, '', state, message, c, 0, 0, 0 FROM ("
                             " SELECT channel, state, message, count(*) AS c, row_number() OVER ("
                             "  PARTITION BY channel ORDER BY count(*) DESC, state, message) AS r"
                             " FROM agents WHERE state IN ('failed', 'rejected', 'rolled-back')"
                             " AND (?2 = '' OR channel = ?2) GROUP BY channel, state, message)"
                             " WHERE r <= ?1 ORDER BY channel, c DESC, state, message LIMIT ?3");
    if (!st) {
        free(rows);
        return FC_EIO;
    }
    sqlite3_bind_int64(st, 1, (sqlite3_int64)reasons);
    sqlite3_bind_text(st, 2, channel ? channel : "", -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, (sqlite3_int64)(max - ngroups));
    void *more = NULL;
    size_t nmore = 0;
    err = fc_store_rows(st, max - ngroups, sizeof **list, s_summary_row, NULL, &more, &nmore);
    fc_fleet_count_t *all = err ? NULL : realloc(rows, (ngroups + nmore + 1) * sizeof *all);
    if (!all) {
        free(rows);
        free(more);
        return err ? err : FC_ENOMEM;
    }
    if (nmore)
        memcpy(all + ngroups, more, nmore * sizeof *all);
    free(more);
    *list = all;
    *n = ngroups + nmore;
    return FC_OK;
}
