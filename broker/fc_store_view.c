/* fc_store_view.c: the store's read-only queries behind the fleet view; a private part of
   the store (fc_store_priv.h). */
#include "fc_store_view.h"
#include "fc_error.h"
#include "fc_revision.h"
#include "fc_store_priv.h"

#include <stdio.h>
#include <string.h>

/* fc_store_row_fn: an agents row joined with its group. */
static bool s_agent_row(fc_db_stmt_t *st, void *entry, void *arg)
{
    (void)arg;
    fc_store_agent_row_t *r = (fc_store_agent_row_t *)entry;
    fc_agent_status_t *a = &r->status;
    snprintf(a->id, sizeof a->id, "%s", fc_store_col(st, 0));
    snprintf(a->channel, sizeof a->channel, "%s", fc_store_col(st, 1));
    snprintf(a->version, sizeof a->version, "%s", fc_store_col(st, 2));
    snprintf(a->state, sizeof a->state, "%s", fc_store_col(st, 3));
    snprintf(a->message, sizeof a->message, "%s", fc_store_col(st, 4));
    a->done = (uint64_t)fc_db_column_int64(st, 5);
    a->total = (uint64_t)fc_db_column_int64(st, 6);
    a->last_seen = fc_db_column_int64(st, 7);
    snprintf(r->group, sizeof r->group, "%s", fc_store_col(st, 8));
    return true;
}

int fc_store_view_agents(fc_store_t *self, size_t max, fc_store_agent_row_t **list, size_t *n)
{
    *list = NULL;
    *n = 0;
    fc_db_stmt_t *st = fc_store_prep(
        self, "SELECT a.id, a.channel, a.version, a.state, a.message, a.done, a.total,"
              " a.last_seen, coalesce(g.grp, '') FROM agents a"
              " LEFT JOIN agent_groups g ON g.id = a.id ORDER BY a.id LIMIT ?");
    if (!st)
        return FC_EIO;
    fc_db_bind_int64(st, 1, (int64_t)max);
    void *rows = NULL;
    int err = fc_store_rows(st, max, sizeof **list, s_agent_row, NULL, &rows, n);
    *list = rows;
    return err;
}

/* The first column of sql's one row into *count, and the second into *second (if not
   NULL); ?1 is bound to reasons, ?2 to channel (a statement without ?1 ignores it). */
static int s_count(fc_store_t *self, const char *sql, size_t reasons, const char *channel,
                   uint64_t *count, uint64_t *second)
{
    fc_db_stmt_t *st = fc_store_prep(self, sql);
    if (!st)
        return FC_EIO;
    fc_db_bind_int64(st, 1, (int64_t)reasons);
    fc_db_bind_text(st, 2, channel, -1);
    int rc = fc_db_step(st);
    if (rc == FC_DB_ROW) {
        *count = (uint64_t)fc_db_column_int64(st, 0);
        if (second)
            *second = (uint64_t)fc_db_column_int64(st, 1);
    }
    fc_db_finalize(st);
    return rc == FC_DB_ROW ? FC_OK : fc_store_sqlite_error(rc);
}

/* fc_store_row_fn: one (channel, version, state) group of agents. */
static bool s_count_row(fc_db_stmt_t *st, void *entry, void *arg)
{
    (void)arg;
    fc_store_agent_count_t *c = (fc_store_agent_count_t *)entry;
    snprintf(c->channel, sizeof c->channel, "%s", fc_store_col(st, 0));
    snprintf(c->version, sizeof c->version, "%s", fc_store_col(st, 1));
    snprintf(c->state, sizeof c->state, "%s", fc_store_col(st, 2));
    c->count = (uint64_t)fc_db_column_int64(st, 3);
    c->online = (uint64_t)fc_db_column_int64(st, 4);
    return true;
}

int fc_store_view_agent_counts(fc_store_t *self, int64_t online_since, size_t max,
                               fc_store_agent_count_t **list, size_t *n, uint64_t *left_out)
{
    *list = NULL;
    *n = 0;
    *left_out = 0;
    fc_db_stmt_t *st = fc_store_prep(
        self, "SELECT channel, version, state, count(*), total(last_seen >= ?1) FROM agents"
              " GROUP BY channel, version, state ORDER BY channel, version, state LIMIT ?2");
    if (!st)
        return FC_EIO;
    fc_db_bind_int64(st, 1, (int64_t)online_since);
    fc_db_bind_int64(st, 2, (int64_t)max + 1);
    void *rows = NULL;
    int err = fc_store_rows(st, max + 1, sizeof **list, s_count_row, NULL, &rows, n);
    *list = rows;
    /* One more than max says some are left out: then count them, never cut silently. */
    if (!err && *n > max) {
        *n = max;
        uint64_t groups = 0;
        err = s_count(self,
                      "SELECT count(*) FROM (SELECT 1 FROM agents"
                      " GROUP BY channel, version, state)",
                      0, "", &groups, NULL);
        *left_out = groups > max ? groups - max : 0;
    }
    return err;
}

int fc_store_view_agent_totals(fc_store_t *self, int64_t online_since, uint64_t *agents,
                               uint64_t *online)
{
    *agents = *online = 0;
    fc_db_stmt_t *st = fc_store_prep(self, "SELECT count(*), total(last_seen >= ?1) FROM agents");
    if (!st)
        return FC_EIO;
    fc_db_bind_int64(st, 1, (int64_t)online_since);
    int rc = fc_db_step(st);
    if (rc == FC_DB_ROW) {
        *agents = (uint64_t)fc_db_column_int64(st, 0);
        *online = (uint64_t)fc_db_column_int64(st, 1);
    }
    fc_db_finalize(st);
    return rc == FC_DB_ROW ? FC_OK : fc_store_sqlite_error(rc);
}

int fc_store_view_channel_agents(fc_store_t *self, const char *channel, const char *version,
                                 uint64_t *agents, uint64_t *on_version)
{
    *agents = *on_version = 0;
    fc_db_stmt_t *st =
        fc_store_prep(self, "SELECT count(*), total(version = ?2) FROM agents WHERE channel = ?1");
    if (!st)
        return FC_EIO;
    fc_db_bind_text(st, 1, channel, -1);
    fc_db_bind_text(st, 2, version, -1);
    int rc = fc_db_step(st);
    if (rc == FC_DB_ROW) {
        *agents = (uint64_t)fc_db_column_int64(st, 0);
        *on_version = (uint64_t)fc_db_column_int64(st, 1);
    }
    fc_db_finalize(st);
    return rc == FC_DB_ROW ? FC_OK : fc_store_sqlite_error(rc);
}

/* fc_store_row_fn: a revision number. */
static bool s_rev_row(fc_db_stmt_t *st, void *entry, void *arg)
{
    (void)arg;
    *(uint64_t *)entry = (uint64_t)fc_db_column_int64(st, 0);
    return true;
}

int fc_store_view_revisions(fc_store_t *self, size_t max, uint64_t **revs, size_t *n)
{
    *revs = NULL;
    *n = 0;
    fc_db_stmt_t *st = fc_store_prep(
        self, "SELECT rev FROM config_revisions WHERE kind = ?1 ORDER BY rev DESC LIMIT ?2");
    if (!st)
        return FC_EIO;
    fc_db_bind_int(st, 1, FC_REV_SET);
    fc_db_bind_int64(st, 2, (int64_t)max);
    void *rows = NULL;
    int err = fc_store_rows(st, max, sizeof **revs, s_rev_row, NULL, &rows, n);
    *revs = rows;
    return err;
}

int fc_store_view_uploads(fc_store_t *self, uint64_t *count)
{
    *count = 0;
    fc_db_stmt_t *st = fc_store_prep(self, "SELECT count(*) FROM uploads");
    if (!st)
        return FC_EIO;
    int rc = fc_db_step(st);
    if (rc == FC_DB_ROW)
        *count = (uint64_t)fc_db_column_int64(st, 0);
    fc_db_finalize(st);
    return rc == FC_DB_ROW ? FC_OK : fc_store_sqlite_error(rc);
}

/* fc_store_row_fn: one row of a fleet summary (fc_store_view_summary's two queries). */
static bool s_summary_row(fc_db_stmt_t *st, void *entry, void *arg)
{
    (void)arg;
    fc_fleet_count_t *c = (fc_fleet_count_t *)entry;
    snprintf(c->channel, sizeof c->channel, "%s", fc_store_col(st, 0));
    snprintf(c->version, sizeof c->version, "%s", fc_store_col(st, 1));
    snprintf(c->state, sizeof c->state, "%s", fc_store_col(st, 2));
    snprintf(c->reason, sizeof c->reason, "%s", fc_store_col(st, 3));
    c->agents = (uint64_t)fc_db_column_int64(st, 4);
    c->offline = (uint64_t)fc_db_column_int64(st, 5);
    c->done = (uint64_t)fc_db_column_int64(st, 6);
    c->total = (uint64_t)fc_db_column_int64(st, 7);
    return true;
}

/* Each channel's most common failure messages, the first reasons of each (?1), of channel
   ?2 ("" = all): fc_store_view_summary lists them, or counts them when it has no room. */
#define S_REASONS_FROM                                                                             \
    " FROM (SELECT channel, state, message, count(*) AS c, row_number() OVER ("                    \
    "  PARTITION BY channel ORDER BY count(*) DESC, state, message) AS r"                          \
    " FROM agents WHERE state IN ('failed', 'rejected', 'rolled-back')"                            \
    " AND (?2 = '' OR channel = ?2) GROUP BY channel, state, message) WHERE r <= ?1"

int fc_store_view_summary(fc_store_t *self, const char *channel, int64_t online_since,
                          size_t reasons, size_t max, bool cut_ok, fc_fleet_count_t **list,
                          size_t *n, fc_store_left_out_t *left)
{
    *list = NULL;
    *n = 0;
    memset(left, 0, sizeof *left);
    channel = channel ? channel : "";
    /* Groups first: one row per (channel, version, state), whatever the fleet size. */
    fc_db_stmt_t *st = fc_store_prep(
        self, "SELECT channel, version, state, '', count(*), total(last_seen < ?1),"
              " total(CASE WHEN state = 'downloading' THEN done ELSE 0 END),"
              " total(CASE WHEN state = 'downloading' THEN total ELSE 0 END)"
              " FROM agents WHERE ?2 = '' OR channel = ?2"
              " GROUP BY channel, version, state ORDER BY channel, version, state LIMIT ?3");
    if (!st)
        return FC_EIO;
    fc_db_bind_int64(st, 1, (int64_t)online_since);
    fc_db_bind_text(st, 2, channel, -1);
    fc_db_bind_int64(st, 3, (int64_t)max + 1);
    void *rows = NULL;
    size_t ngroups = 0;
    int err = fc_store_rows(st, max + 1, sizeof **list, s_summary_row, NULL, &rows, &ngroups);
    /* One more than fits says whether any is left out: never a summary silently cut. */
    if (!err && ngroups > max && !cut_ok)
        err = FC_ETOOBIG;
    if (!err && ngroups > max) {
        ngroups = max;
        uint64_t groups = 0, agents = 0, listed = 0;
        err = s_count(self,
                      "SELECT count(*), total(c) FROM (SELECT count(*) AS c FROM agents"
                      " WHERE ?2 = '' OR channel = ?2"
                      " GROUP BY channel, version, state)",
                      reasons, channel, &groups, &agents);
        for (size_t i = 0; i < ngroups; i++)
            listed += ((fc_fleet_count_t *)rows)[i].agents;
        left->groups = groups > ngroups ? groups - ngroups : 0;
        left->agents = agents > listed ? agents - listed : 0;
        left->rows = left->groups;
    }
    if (err) {
        free(rows);
        return err;
    }
    /* Then each channel's most common failure reasons, in the room left. */
    size_t room = max - ngroups;
    st = fc_store_prep(self, "SELECT channel, '', state, message, c, 0, 0, 0" S_REASONS_FROM
                             " ORDER BY channel, c DESC, state, message LIMIT ?3");
    if (!st) {
        free(rows);
        return FC_EIO;
    }
    fc_db_bind_int64(st, 1, (int64_t)reasons);
    fc_db_bind_text(st, 2, channel, -1);
    fc_db_bind_int64(st, 3, (int64_t)room + 1);
    void *more = NULL;
    size_t nmore = 0;
    err = fc_store_rows(st, room + 1, sizeof **list, s_summary_row, NULL, &more, &nmore);
    if (!err && nmore > room && !cut_ok)
        err = FC_ETOOBIG;
    if (!err && nmore > room) {
        nmore = room;
        uint64_t all = 0;
        err = s_count(self, "SELECT count(*)" S_REASONS_FROM, reasons, channel, &all, NULL);
        left->rows += all > room ? all - room : 0;
    }
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
