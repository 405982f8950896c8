/* fc_store_rollout_cut.c: the upstream's rank cut per followed rollout (fc_store_rollout_cut.h);
   a private part of fc_store (fc_store_priv.h). */
#include "fc_store_rollout_cut.h"
#include "fc_error.h"
#include "fc_limits.h"
#include "fc_manifest.h"
#include "fc_msg.h"
#include "fc_store_priv.h"

#include "fc_db.h"
#include <stdio.h>
#include <string.h>

int fc_store_rollout_cut_init(fc_store_t *self)
{
    /* Its own table, not a column of rollouts: a relay's data dir from before it opens as is,
       and the cut is known before the release (and so its rollout) is mirrored. */
    return fc_store_exec(self, "CREATE TABLE IF NOT EXISTS rollout_cuts (channel TEXT NOT NULL,"
                               "  serial INTEGER NOT NULL, cut TEXT NOT NULL,"
                               "  PRIMARY KEY (channel, serial)) WITHOUT ROWID;");
}

int fc_store_rollout_cut_set(fc_store_t *self, const char *channel, uint64_t serial,
                             const char *cut)
{
    if (!fc_name_valid(channel) || serial == 0 || serial > INT64_MAX ||
        (strcmp(cut, FC_ROLLOUT_CUT_ALL) && strcmp(cut, FC_ROLLOUT_CUT_NONE) &&
         !fc_name_valid(cut)))
        return FC_EINVAL;
    fc_db_stmt_t *st = fc_store_prep(self, "INSERT OR REPLACE INTO rollout_cuts (channel,"
                                           " serial, cut) VALUES (?, ?, ?)");
    if (st) {
        fc_db_bind_text(st, 1, channel, -1);
        fc_db_bind_int64(st, 2, (int64_t)serial);
        fc_db_bind_text(st, 3, cut, -1);
    }
    return fc_store_step_done(st);
}

bool fc_store_rollout_cut_get(fc_store_t *self, const char *channel, uint64_t serial, char *out)
{
    out[0] = '\0';
    fc_db_stmt_t *st =
        fc_store_prep(self, "SELECT cut FROM rollout_cuts WHERE channel = ? AND serial = ?");
    if (!st)
        return false;
    fc_db_bind_text(st, 1, channel, -1);
    fc_db_bind_int64(st, 2, (int64_t)serial);
    bool found = fc_db_step(st) == FC_DB_ROW && fc_db_column_text(st, 0);
    if (found)
        snprintf(out, FC_MAX_NAME + 1, "%s", (const char *)fc_db_column_text(st, 0));
    fc_db_finalize(st);
    return found && out[0];
}
