/* fc_store_rollout.c: config rollout state in the broker's database: agent groups, acks,
   canary halting, and fleet convergence per revision; a private part of fc_store
   (fc_store_priv.h). */
#include "fc_ack.h"
#include "fc_array.h"
#include "fc_error.h"
#include "fc_manifest.h"
#include "fc_revision.h"
#include "fc_store_config.h"
#include "fc_store_priv.h"
#include "fc_text.h"

#include "fc_db.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static bool s_group_valid(const char *group)
{
    return group && (*group == '\0' || fc_name_valid(group));
}

/* --- groups ----------------------------------------------------------------------------- */

int fc_store_agent_known_mark(fc_store_t *self, const char *id)
{
    fc_db_stmt_t *st =
        fc_store_prep(self, "INSERT OR IGNORE INTO agent_known (id, since_seq) VALUES (?, ?)");
    if (st) {
        fc_db_bind_text(st, 1, id, -1);
        fc_db_bind_int64(st, 2, (int64_t)fc_store_seq(self));
    }
    return fc_store_step_done(st);
}

int fc_store_agent_known_since(fc_store_t *self, const char *id, uint64_t *since_seq)
{
    *since_seq = 0;
    fc_db_stmt_t *st = fc_store_prep(self, "SELECT since_seq FROM agent_known WHERE id = ?");
    if (!st)
        return FC_EIO;
    fc_db_bind_text(st, 1, id ? id : "", -1);
    int rc = fc_db_step(st);
    if (rc == FC_DB_ROW)
        *since_seq = (uint64_t)fc_db_column_int64(st, 0);
    fc_db_finalize(st);
    return rc == FC_DB_ROW ? FC_OK : rc == FC_DB_DONE ? FC_ENOTFOUND : fc_store_sqlite_error(rc);
}

/* Upsert without choosing durability: callers inside a transaction already did. */
static int s_group_upsert(fc_store_t *self, const char *id, const char *group)
{
    int err = fc_store_agent_known_mark(self, id);
    if (err)
        return err;
    fc_db_stmt_t *st =
        fc_store_prep(self, "INSERT INTO agent_groups (id, grp, last_seen) VALUES (?1, ?2, ?3)"
                            " ON CONFLICT (id) DO UPDATE SET"
                            " grp = CASE WHEN ?2 = '' THEN grp ELSE ?2 END, last_seen = ?3");
    if (st) {
        fc_db_bind_text(st, 1, id, -1);
        fc_db_bind_text(st, 2, group, -1);
        fc_db_bind_int64(st, 3, (int64_t)time(NULL));
    }
    return fc_store_step_done(st);
}

int fc_store_agent_group_set(fc_store_t *self, const char *id, const char *group)
{
    if (!id || !fc_name_valid(id) || !s_group_valid(group))
        return FC_EINVAL;
    /* Like HELLO: losing the last second of this to a power cut costs nothing. */
    fc_store_sync(self, false);
    return s_group_upsert(self, id, group);
}

void fc_store_agent_group(fc_store_t *self, const char *id, char *group, size_t size)
{
    if (size)
        group[0] = '\0';
    fc_db_stmt_t *st = fc_store_prep(self, "SELECT grp FROM agent_groups WHERE id = ?");
    if (!st)
        return;
    fc_db_bind_text(st, 1, id ? id : "", -1);
    if (fc_db_step(st) == FC_DB_ROW) {
        const char *g = (const char *)fc_db_column_text(st, 0);
        snprintf(group, size, "%s", g ? g : "");
    }
    fc_db_finalize(st);
}

/* --- acks and canary halting ------------------------------------------------------------ */

/* Inside the ack transaction: counts canary members' acks of a canary revision and marks
   it halted (and audits that) when failures pass its threshold. */
static int s_halt_check(fc_store_t *self, const fc_store_rev_t *info, bool *halted_now,
                        char *reason, size_t reasonsize)
{
    /* Only agents known before the revision: ids made up after it cannot vote. */
    fc_db_stmt_t *st = fc_store_prep(self, "SELECT k.agent, k.state FROM config_acks k"
                                           " JOIN agent_known n ON n.id = k.agent"
                                           " WHERE k.rev = ?1 AND n.since_seq < ?2");
    if (!st)
        return FC_EIO;
    fc_db_bind_int64(st, 1, (int64_t)info->rev);
    fc_db_bind_int64(st, 2, (int64_t)(info->seq > INT64_MAX ? INT64_MAX : info->seq));
    uint64_t acks = 0, failures = 0;
    int rc;
    while ((rc = fc_db_step(st)) == FC_DB_ROW) {
        const char *agent = (const char *)fc_db_column_text(st, 0);
        const char *state = (const char *)fc_db_column_text(st, 1);
        if (!agent || !state || !fc_canary_member(agent, info->canary))
            continue;
        acks++;
        fc_ack_t ack;
        if (fc_ack_from_name(state, &ack) && fc_ack_is(ack, FC_ACK_F_FAILURE))
            failures++;
    }
    fc_db_finalize(st);
    if (rc != FC_DB_DONE)
        return fc_store_sqlite_error(rc);
    if (failures == 0 || failures * 100 <= (uint64_t)info->halt_percent * acks)
        return FC_OK;
    char why[FC_MAX_TEXT + 1], detail[FC_MAX_TEXT + 1];
    snprintf(why, sizeof why, "halted: %llu of %llu canaries failed or vetoed",
             (unsigned long long)failures, (unsigned long long)acks);
    /* Only if it still is an unhalted, unpromoted canary now, inside the transaction: info
       was read before it, and another broker on the same database may have halted or
       promoted it since (then this ack only counts: no second halt, audit or sequence). */
    st = fc_store_prep(self, "UPDATE config_revisions SET halted = 1, halt_reason = ?"
                             " WHERE rev = ? AND halted = 0 AND promoted_by = 0");
    if (!st)
        return FC_EIO;
    fc_db_bind_text(st, 1, why, -1);
    fc_db_bind_int64(st, 2, (int64_t)info->rev);
    rc = fc_db_step(st);
    int64_t changed = fc_db_changes(self->db);
    fc_db_finalize(st);
    if (rc != FC_DB_DONE)
        return fc_store_sqlite_error(rc);
    if (changed == 0)
        return FC_OK;
    int err = FC_OK;
    snprintf(detail, sizeof detail, "rev %llu %s (canary %u%%, halt at %u%%)",
             (unsigned long long)info->rev, info->scope, info->canary, info->halt_percent);
    if (!err)
        err = fc_store_audit_add(self, "broker", "config.halt", detail, why);
    /* Agents revert the canary's values once they see the halt in a CONFIG_SNAPSHOT: a new
       sequence number, carried by the next heartbeat, sends every one of them to sync. */
    uint64_t seq = 0;
    if (!err)
        err = fc_store_next_seq(self, &seq);
    if (!err) {
        if (halted_now)
            *halted_now = true;
        fc_textf(reason, reasonsize, "%s", why);
    }
    return err;
}

bool fc_store_config_in_scope(fc_store_t *self, const fc_store_rev_t *info, const char *id)
{
    char scope[FC_MAX_SCOPE + 1], group[FC_MAX_NAME + 1];
    if (fc_store_config_rev_scope(self, info, scope, sizeof scope) != FC_OK)
        return false;
    fc_store_agent_group(self, id, group, sizeof group);
    return fc_scope_matches(scope, id, group);
}

int fc_store_config_ack(fc_store_t *self, uint64_t rev, const char *id, const char *group,
                        const char *state, const char *text, bool *halted_now, char *reason,
                        size_t reasonsize)
{
    if (halted_now)
        *halted_now = false;
    if (reason && reasonsize)
        reason[0] = '\0';
    fc_ack_t ack;
    if (!id || !fc_name_valid(id) || !s_group_valid(group) || !fc_ack_from_agent(state, &ack))
        return FC_EINVAL;
    fc_store_rev_t info;
    int err = fc_store_config_rev(self, rev, &info);
    if (err)
        return err;
    if (!fc_store_config_in_scope(self, &info, id))
        return FC_EPERM;
    /* An ack answered OK is never re-sent: it must be on disk first. */
    fc_store_sync(self, true);
    err = fc_store_begin(self);
    if (err)
        return err;
    fc_db_stmt_t *st =
        fc_store_prep(self, "INSERT OR REPLACE INTO config_acks (rev, agent, grp, state, text,"
                            " time) VALUES (?, ?, ?, ?, ?, ?)");
    if (st) {
        fc_db_bind_int64(st, 1, (int64_t)rev);
        fc_db_bind_text(st, 2, id, -1);
        fc_db_bind_text(st, 3, group, -1);
        fc_db_bind_text(st, 4, state, -1);
        fc_db_bind_text(st, 5, text ? text : "", -1);
        fc_db_bind_int64(st, 6, (int64_t)time(NULL));
    }
    err = fc_store_step_done(st);
    if (!err)
        err = s_group_upsert(self, id, group);
    if (!err && info.kind == FC_REV_SET && info.canary > 0 && info.canary < 100 && !info.halted &&
        !info.promoted_by)
        err = s_halt_check(self, &info, halted_now, reason, reasonsize);
    if (!err)
        err = fc_store_commit(self);
    if (err) {
        fc_store_rollback(self);
        if (halted_now)
            *halted_now = false;
    }
    return err;
}

/* --- fleet ------------------------------------------------------------------------------ */

/* Every agent the broker knows, with its recorded group, when it was last heard from, its
   ack of rev (state NULL if none), and whether it was known before announcement seq. */
static fc_db_stmt_t *s_fleet_query(fc_store_t *self, uint64_t rev, uint64_t seq, const char *after)
{
    fc_db_stmt_t *st = fc_store_prep(
        self, "SELECT ids.id, coalesce(g.grp, ''),"
              " max(coalesce(a.last_seen, 0), coalesce(g.last_seen, 0)), k.state, k.text, k.grp,"
              " CASE WHEN n.since_seq < ?2 THEN 1 ELSE 0 END"
              " FROM (SELECT id FROM agents UNION SELECT id FROM agent_groups"
              "       UNION SELECT agent FROM config_acks WHERE rev = ?1) ids"
              " LEFT JOIN agents a ON a.id = ids.id"
              " LEFT JOIN agent_groups g ON g.id = ids.id"
              " LEFT JOIN config_acks k ON k.rev = ?1 AND k.agent = ids.id"
              " LEFT JOIN agent_known n ON n.id = ids.id"
              " WHERE ids.id > ?3 ORDER BY ids.id");
    if (st) {
        fc_db_bind_text(st, 3, after ? after : "", -1);
        fc_db_bind_int64(st, 1, (int64_t)(rev > INT64_MAX ? 0 : rev));
        fc_db_bind_int64(st, 2, (int64_t)(seq > INT64_MAX ? INT64_MAX : seq));
    }
    return st;
}

int fc_store_config_matching(fc_store_t *self, const char *scope, size_t *count)
{
    *count = 0;
    fc_db_stmt_t *st = s_fleet_query(self, 0, 0, "");
    if (!st)
        return FC_EIO;
    int rc;
    while ((rc = fc_db_step(st)) == FC_DB_ROW)
        if (fc_scope_matches(scope, fc_store_col(st, 0), fc_store_col(st, 1)))
            (*count)++;
    fc_db_finalize(st);
    return rc == FC_DB_DONE ? FC_OK : fc_store_sqlite_error(rc);
}

/* fc_store_row_fn: an agent's part in a revision (a row of s_fleet_query), if it acked the
   revision or is in its scope (arg). */
typedef struct {
    const char *scope;
    const char *state; /* only agents in this state ("" = any) */
} s_filter_t;

static bool s_status_row(fc_db_stmt_t *st, void *entry, void *arg)
{
    const s_filter_t *filter = (const s_filter_t *)arg;
    bool acked = !fc_db_column_is_null(st, 3);
    const char *id = fc_store_col(st, 0), *group = fc_store_col(st, 1);
    if (!acked && !fc_scope_matches(filter->scope, id, group))
        return false;
    if (*filter->state &&
        strcmp(filter->state, acked ? fc_store_col(st, 3) : fc_ack_name(FC_ACK_PENDING)) != 0)
        return false;
    fc_agent_status_t *a = (fc_agent_status_t *)entry;
    fc_msg_set_str(a->id, sizeof a->id, id);
    fc_msg_set_str(a->channel, sizeof a->channel,
                   acked && *fc_store_col(st, 5) ? fc_store_col(st, 5) : group);
    fc_msg_set_str(a->state, sizeof a->state,
                   acked ? fc_store_col(st, 3) : fc_ack_name(FC_ACK_PENDING));
    if (acked && !fc_db_column_int(st, 6))
        snprintf(a->message, sizeof a->message, "%s%s", FC_STORE_NOT_COUNTED, fc_store_col(st, 4));
    else
        fc_msg_set_str(a->message, sizeof a->message, acked ? fc_store_col(st, 4) : "");
    a->last_seen = fc_db_column_int64(st, 2);
    return true;
}

/* The agents scope matches and those that acked rev (0: none), with their acks of it (seq:
   the revision's announcement, for which acks count), at most max. */
static int s_fleet_list(fc_store_t *self, const char *scope, uint64_t rev, uint64_t seq,
                        const char *after, const char *state, size_t max, fc_agent_status_t **list,
                        size_t *n, bool *more)
{
    *list = NULL;
    *n = 0;
    *more = false;
    fc_db_stmt_t *st = s_fleet_query(self, rev, seq, after);
    if (!st)
        return FC_EIO;
    void *rows = NULL;
    s_filter_t filter = {scope, state ? state : ""};
    /* One more than asked: whether it exists says whether more follow. */
    int err = fc_store_rows(st, max + 1, sizeof **list, s_status_row, &filter, &rows, n);
    if (!err && *n > max) {
        *n = max;
        *more = true;
    }
    *list = rows;
    return err;
}

int fc_store_config_status(fc_store_t *self, uint64_t rev, size_t max, fc_store_rev_t *info,
                           fc_agent_status_t **list, size_t *n)
{
    bool more;
    return fc_store_config_status_page(self, rev, "", "", max, info, list, n, &more);
}

int fc_store_config_status_page(fc_store_t *self, uint64_t rev, const char *after,
                                const char *state, size_t max, fc_store_rev_t *info,
                                fc_agent_status_t **list, size_t *n, bool *more)
{
    *list = NULL;
    *n = 0;
    *more = false;
    int err = fc_store_config_rev(self, rev, info);
    char scope[FC_MAX_SCOPE + 1];
    if (!err)
        err = fc_store_config_rev_scope(self, info, scope, sizeof scope);
    return err ? err : s_fleet_list(self, scope, rev, info->seq, after, state, max, list, n, more);
}

/* The agents of s_fleet_query that a revision counts, by ack state ("pending": none) with
   how many were last heard before ?3, counted by SQLite: no row per agent reaches C, and
   no temporary b-tree de-duplicates ids (each id comes from one arm: the agents table, a
   group known without an agents row, an ack known from neither). The scope is ?4 (an
   fc_scope_kind_t) and ?5 (its name), as fc_scope_matches reads them; an ack always counts,
   in scope or not, as CONFIG_STATUS lists it. */
static const char *s_summary_sql =
    "SELECT state, count(*), total(seen < ?2) FROM ("
    " SELECT coalesce(k.state, 'pending') AS state,"
    "  max(a.last_seen, coalesce(g.last_seen, 0)) AS seen, a.id AS id,"
    "  coalesce(g.grp, '') AS grp, CASE WHEN k.state IS NULL THEN 0 ELSE 1 END AS acked"
    " FROM agents a LEFT JOIN agent_groups g ON g.id = a.id"
    " LEFT JOIN config_acks k ON k.rev = ?1 AND k.agent = a.id"
    " UNION ALL"
    " SELECT coalesce(k.state, 'pending'), g.last_seen, g.id, g.grp,"
    "  CASE WHEN k.state IS NULL THEN 0 ELSE 1 END"
    " FROM agent_groups g LEFT JOIN config_acks k ON k.rev = ?1 AND k.agent = g.id"
    " WHERE NOT EXISTS (SELECT 1 FROM agents a WHERE a.id = g.id)"
    " UNION ALL"
    " SELECT k.state, 0, k.agent, '', 1 FROM config_acks k WHERE k.rev = ?1"
    " AND NOT EXISTS (SELECT 1 FROM agents a WHERE a.id = k.agent)"
    " AND NOT EXISTS (SELECT 1 FROM agent_groups g WHERE g.id = k.agent))"
    " WHERE acked = 1 OR ?3 = ?5 OR (?3 = ?6 AND grp <> '' AND grp = ?4)"
    " OR (?3 = ?7 AND id = ?4) GROUP BY state";

int fc_store_config_summary(fc_store_t *self, uint64_t rev, int64_t online_since,
                            fc_store_rev_t *info, fc_fleet_count_t counts[FC_ACK_COUNT])
{
    memset(counts, 0, FC_ACK_COUNT * sizeof *counts);
    for (size_t i = 0; i < FC_ACK_COUNT; i++)
        fc_msg_set_str(counts[i].state, sizeof counts[i].state, fc_ack_name((fc_ack_t)i));
    int err = fc_store_config_rev(self, rev, info);
    char scope[FC_MAX_SCOPE + 1];
    if (!err)
        err = fc_store_config_rev_scope(self, info, scope, sizeof scope);
    if (err)
        return err;
    const char *name = "";
    fc_scope_kind_t kind = fc_scope_kind(scope, &name);
    fc_db_stmt_t *st = fc_store_prep(self, s_summary_sql);
    if (!st)
        return FC_EIO;
    fc_db_bind_int64(st, 1, (int64_t)(rev > INT64_MAX ? 0 : rev));
    fc_db_bind_int64(st, 2, (int64_t)online_since);
    fc_db_bind_int(st, 3, (int)kind);
    fc_db_bind_text(st, 4, name ? name : "", -1);
    fc_db_bind_int(st, 5, FC_SCOPE_GLOBAL);
    fc_db_bind_int(st, 6, FC_SCOPE_GROUP);
    fc_db_bind_int(st, 7, FC_SCOPE_AGENT);
    int rc;
    while ((rc = fc_db_step(st)) == FC_DB_ROW) {
        fc_ack_t ack;
        if (!fc_ack_from_name(fc_store_col(st, 0), &ack))
            continue; /* none: fc_store_config_ack stores only fc_ack_from_agent names */
        counts[ack].agents = (uint64_t)fc_db_column_int64(st, 1);
        counts[ack].offline = (uint64_t)fc_db_column_int64(st, 2);
    }
    fc_db_finalize(st);
    return rc == FC_DB_DONE ? FC_OK : fc_store_sqlite_error(rc);
}

/* --- canary choice ---------------------------------------------------------------------- */

int fc_store_config_agents(fc_store_t *self, const char *scope, const char *after, size_t max,
                           fc_agent_status_t **list, size_t *n, bool *more)
{
    /* revision 0: no acks */
    return s_fleet_list(self, scope, 0, 0, after, "", max, list, n, more);
}

int fc_store_config_canary_check(fc_store_t *self, const char *scope, uint32_t percent, char *text,
                                 size_t textsize)
{
    if (percent == 0 || percent >= 100)
        return FC_OK;
    /* Every agent of the scope, page by page (a scope may match more than FC_MAX_LIST):
       the lowest bucket among them is what fc_canary_widen would choose from. */
    uint32_t lowest = 100;
    size_t total = 0;
    char after[FC_MAX_NAME + 1] = "";
    bool more = true;
    while (more && lowest >= percent) {
        fc_agent_status_t *list = NULL;
        size_t n = 0;
        int err = s_fleet_list(self, scope, 0, 0, after, "", FC_MAX_LIST, &list, &n, &more);
        if (err)
            return err;
        for (size_t i = 0; i < n; i++) {
            uint32_t b = fc_canary_bucket(list[i].id);
            lowest = b < lowest ? b : lowest;
        }
        total += n;
        if (n)
            snprintf(after, sizeof after, "%s", list[n - 1].id);
        free(list);
        more = more && n > 0;
    }
    if (total == 0 || lowest < percent)
        return FC_OK;
    fc_textf(text, textsize,
             "canary %u%% chooses none of the %zu agents scope %s matches: it would stay "
             "pending for ever (%u%% chooses one; fleetcast config set widens it itself)",
             percent, total, scope, lowest + 1);
    return FC_EINVAL;
}

/* --- halted canaries -------------------------------------------------------------------- */

int fc_store_config_halted(fc_store_t *self, uint64_t **revs, size_t *n)
{
    *revs = NULL;
    *n = 0;
    /* The newest FC_MAX_LIST, read newest first and handed out in ascending order. */
    fc_db_stmt_t *st = fc_store_prep(self, "SELECT rev FROM config_revisions WHERE halted = 1"
                                           " ORDER BY rev DESC LIMIT ?");
    if (!st)
        return FC_EIO;
    fc_db_bind_int64(st, 1, FC_MAX_LIST);
    size_t cap = 0;
    int rc;
    while ((rc = fc_db_step(st)) == FC_DB_ROW) {
        uint64_t *bigger = fc_grow(*revs, *n, &cap, sizeof **revs);
        if (!bigger) {
            rc = FC_DB_NOMEM;
            break;
        }
        *revs = bigger;
        (*revs)[(*n)++] = (uint64_t)fc_db_column_int64(st, 0);
    }
    fc_db_finalize(st);
    if (rc != FC_DB_DONE) {
        free(*revs);
        *revs = NULL;
        *n = 0;
        return fc_store_sqlite_error(rc);
    }
    for (size_t i = 0; i < *n / 2; i++) {
        uint64_t t = (*revs)[i];
        (*revs)[i] = (*revs)[*n - 1 - i];
        (*revs)[*n - 1 - i] = t;
    }
    return FC_OK;
}
