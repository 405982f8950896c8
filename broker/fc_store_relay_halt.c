/* fc_store_relay_halt.c: a relay marks halted the canary revisions its upstream halted (the
   `halted` list of the upstream's CONFIG_SNAPSHOT); a private part of fc_store. */
#include "fc_error.h"
#include "fc_store_config.h"
#include "fc_store_priv.h"

#include "fc_db.h"
#include <stdio.h>

int fc_store_config_halt_upstream(fc_store_t *self, const uint64_t *revs, size_t n,
                                  const char *upstream, size_t *halted)
{
    *halted = 0;
    if (!n)
        return FC_OK;
    char why[FC_MAX_TEXT + 1];
    snprintf(why, sizeof why, "halted at the upstream broker %.200s", upstream);
    int err = fc_store_begin(self);
    if (err)
        return err;
    for (size_t i = 0; i < n && !err; i++) {
        /* Only a canary the relay holds, neither halted nor promoted: a broker cannot take
           back a revision meant for everyone (agents would not honour it either). */
        fc_db_stmt_t *st = fc_store_prep(self, "UPDATE config_revisions SET halted = 1,"
                                               " halt_reason = ? WHERE rev = ? AND halted = 0"
                                               " AND canary > 0 AND promoted_by = 0");
        if (!st) {
            err = FC_EIO;
            break;
        }
        fc_db_bind_text(st, 1, why, -1);
        fc_db_bind_int64(st, 2, (int64_t)(revs[i] > INT64_MAX ? INT64_MAX : revs[i]));
        int rc = fc_db_step(st);
        int changed = (int)fc_db_changes(self->db);
        fc_db_finalize(st);
        if (rc != FC_DB_DONE) {
            err = fc_store_sqlite_error(rc);
            break;
        }
        if (!changed)
            continue;
        (*halted)++;
        char detail[64];
        snprintf(detail, sizeof detail, "rev %llu", (unsigned long long)revs[i]);
        err = fc_store_audit_add(self, "relay", "config.halt", detail, why);
    }
    /* Agents revert the canary's values once a CONFIG_SNAPSHOT names the halt: a new
       sequence number, carried by the next heartbeat, sends every one of them to sync. */
    uint64_t seq = 0;
    if (!err && *halted)
        err = fc_store_next_seq(self, &seq);
    if (err) {
        fc_store_rollback(self);
        *halted = 0;
        return err;
    }
    return fc_store_commit(self);
}
