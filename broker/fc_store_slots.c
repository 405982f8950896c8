/* fc_store_slots.c: restart slots decided in the store's database, inside one write
   transaction, so brokers sharing one database grant one fleet-wide share; a private part
   of fc_store (fc_store_priv.h). */
#include "fc_store_slots.h"
#include "fc_error.h"
#include "fc_manifest.h"
#include "fc_store_priv.h"

#include <stdint.h>
#include <string.h>

int fc_store_slots_init(fc_store_t *self)
{
    return fc_store_exec(self, "CREATE TABLE IF NOT EXISTS restart_slots (rev INTEGER NOT NULL,"
                               "  id TEXT NOT NULL, key TEXT NOT NULL,"
                               "  granted_ms INTEGER NOT NULL, PRIMARY KEY (rev, id));");
}

static int64_t s_i64(uint64_t v)
{
    return v > INT64_MAX ? INT64_MAX : (int64_t)v;
}

/* The decision, inside the open transaction. */
static int s_take(fc_store_t *self, uint64_t rev, const char *id, const char *key, size_t limit,
                  size_t per_key_max, int64_t ttl_ms, int64_t now_ms, bool *granted)
{
    /* Slots of agents that died mid-restart go back, whoever granted them. */
    fc_db_stmt_t *st = fc_store_prep(self, "DELETE FROM restart_slots WHERE granted_ms <= ?");
    if (st)
        fc_db_bind_int64(st, 1, now_ms - ttl_ms);
    int err = fc_store_step_done(st);
    if (err)
        return err;
    /* A re-sent request keeps its slot (and its original expiry), through any broker. */
    st = fc_store_prep(self, "SELECT 1 FROM restart_slots WHERE rev = ? AND id = ?");
    if (!st)
        return FC_EIO;
    fc_db_bind_int64(st, 1, s_i64(rev));
    fc_db_bind_text(st, 2, id, -1);
    int rc = fc_db_step(st);
    fc_db_finalize(st);
    if (rc == FC_DB_ROW) {
        *granted = true;
        return FC_OK;
    }
    if (rc != FC_DB_DONE)
        return fc_store_sqlite_error(rc);
    /* Held of this revision, by this key of this revision, by this key in all: one scan.
       An agent with no key (insecure brokers) is held back by the share only. */
    bool keyed = key && *key;
    st = fc_store_prep(self, "SELECT count(CASE WHEN rev = ?1 THEN 1 END),"
                             " count(CASE WHEN rev = ?1 AND key = ?2 THEN 1 END),"
                             " count(CASE WHEN key = ?2 THEN 1 END)"
                             " FROM restart_slots WHERE rev = ?1 OR key = ?2");
    if (!st)
        return FC_EIO;
    fc_db_bind_int64(st, 1, s_i64(rev));
    fc_db_bind_text(st, 2, keyed ? key : "", -1);
    rc = fc_db_step(st);
    int64_t active = rc == FC_DB_ROW ? fc_db_column_int64(st, 0) : 0;
    int64_t held_here = rc == FC_DB_ROW ? fc_db_column_int64(st, 1) : 0;
    int64_t held = rc == FC_DB_ROW ? fc_db_column_int64(st, 2) : 0;
    fc_db_finalize(st);
    if (rc != FC_DB_ROW)
        return fc_store_sqlite_error(rc);
    if (!keyed)
        held_here = held = 0;
    /* One key cannot hold the fleet's slots through ids of its own making: one slot per
       revision (a made-up id in a small scope cannot take the slot its real agents need; slots
       are not kept from agents first heard of after the revision, so the scope alone does not
       stop it), at most per_key_max across revisions. */
    if ((uint64_t)active >= limit || held_here >= 1 || (uint64_t)held >= per_key_max)
        return FC_OK;
    st = fc_store_prep(self,
                       "INSERT INTO restart_slots (rev, id, key, granted_ms) VALUES (?, ?, ?, ?)");
    if (st) {
        fc_db_bind_int64(st, 1, s_i64(rev));
        fc_db_bind_text(st, 2, id, -1);
        fc_db_bind_text(st, 3, keyed ? key : "", -1);
        fc_db_bind_int64(st, 4, now_ms);
    }
    err = fc_store_step_done(st);
    if (!err)
        *granted = true;
    return err;
}

int fc_store_slot_take(fc_store_t *self, uint64_t rev, const char *id, const char *key,
                       size_t limit, size_t per_key_max, int64_t ttl_ms, int64_t now_ms,
                       bool *granted)
{
    *granted = false;
    if (!fc_name_valid(id))
        return FC_EINVAL;
    /* A slot lost with a power cut costs one restart more than the share, not data: no
       sync of its own (inside a batch the batch's commit syncs anyway). */
    fc_store_sync(self, false);
    /* BEGIN IMMEDIATE (PostgreSQL: the writers' advisory lock): the count and the grant
       below see no other broker's grant in between. */
    int err = fc_store_begin(self);
    if (err)
        return err;
    err = s_take(self, rev, id, key, limit, per_key_max, ttl_ms, now_ms, granted);
    if (!err)
        err = fc_store_commit(self);
    if (err) {
        fc_store_rollback(self);
        *granted = false;
    }
    return err;
}

int fc_store_slot_release(fc_store_t *self, uint64_t rev, const char *id)
{
    if (!fc_name_valid(id))
        return FC_EINVAL;
    fc_store_sync(self, false);
    /* Its own transaction (a savepoint inside a batch): on PostgreSQL a failed statement
       would otherwise spoil the batch it runs in. */
    int err = fc_store_begin(self);
    if (err)
        return err;
    fc_db_stmt_t *st = fc_store_prep(self, "DELETE FROM restart_slots WHERE rev = ? AND id = ?");
    if (st) {
        fc_db_bind_int64(st, 1, s_i64(rev));
        fc_db_bind_text(st, 2, id, -1);
    }
    err = fc_store_step_done(st);
    return fc_store_end(self, err);
}
