/* fc_store_agent_keys.c: which agent key each agent id belongs to (trust on first use),
   durable in the database and cached in memory for the per-message check; a private part of
   fc_store (fc_store_priv.h). */
#include "fc_curve.h"
#include "fc_error.h"
#include "fc_manifest.h"
#include "fc_store_config.h"
#include "fc_store_priv.h"
#include "fc_text.h"

#include "fc_db.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *s_tables =
    "CREATE TABLE IF NOT EXISTS agent_keys (agent_id TEXT PRIMARY KEY, pubkey TEXT NOT NULL,"
    "  first_seen INTEGER NOT NULL);";

int fc_store_agent_keys_init(fc_store_t *self)
{
    return fc_store_exec(self, s_tables);
}

/* The cache owns copies of the keys it holds. */
static void *s_key_dup(const void *key)
{
    return strdup(key);
}

static void s_key_free(void **key_p)
{
    free(*key_p);
    *key_p = NULL;
}

/* A new cache, filled from the table; NULL with *err if the table cannot be read. */
static zhashx_t *s_cache_read(fc_store_t *self, int *err)
{
    zhashx_t *cache = zhashx_new();
    fc_db_stmt_t *st =
        cache ? fc_store_prep(self, "SELECT agent_id, pubkey FROM agent_keys") : NULL;
    if (!st) {
        zhashx_destroy(&cache);
        *err = FC_EIO;
        return NULL;
    }
    zhashx_set_destructor(cache, s_key_free);
    zhashx_set_duplicator(cache, s_key_dup);
    int rc;
    while ((rc = fc_db_step(st)) == FC_DB_ROW) {
        const char *id = (const char *)fc_db_column_text(st, 0);
        const char *key = (const char *)fc_db_column_text(st, 1);
        if (id && key)
            zhashx_update(cache, id, (void *)key);
    }
    fc_db_finalize(st);
    if (rc != FC_DB_DONE) {
        zhashx_destroy(&cache);
        *err = fc_store_sqlite_error(rc);
        return NULL;
    }
    return cache;
}

int fc_store_agent_keys_load(fc_store_t *self)
{
    int err = FC_OK;
    zhashx_t *cache = s_cache_read(self, &err);
    /* A cache that could not be read again is kept but marked stale: claims fail closed
       (FC_EIO) until a reload succeeds, never taking an id it might not list. */
    self->agent_keys_stale = !cache;
    if (!cache)
        return err;
    zhashx_destroy(&self->agent_keys);
    self->agent_keys = cache;
    return FC_OK;
}

const char *fc_store_agent_key(fc_store_t *self, const char *id)
{
    return id ? zhashx_lookup(self->agent_keys, id) : NULL;
}

/* Binds id to key in one durable transaction with its audit entry; previous is the key it
   belonged to before ("" for a first use). The statement holds only if the table agrees
   with previous (a new row, or the row still naming previous): a cache out of step with
   the table fails closed (FC_EPERM) instead of taking the id. */
static int s_bind(fc_store_t *self, const char *id, const char *key, const char *previous)
{
    char detail[FC_MAX_TEXT + 1];
    if (*previous)
        snprintf(detail, sizeof detail,
                 "agent %s moved to this key from key %s (no longer enrolled)", id, previous);
    else
        snprintf(detail, sizeof detail, "agent %s bound to this key (first use)", id);
    fc_store_sync(self, true);
    int err = fc_store_begin(self);
    if (err)
        return err;
    fc_db_stmt_t *st = fc_store_prep(
        self, *previous ? "UPDATE agent_keys SET pubkey = ?2, first_seen = ?3"
                          " WHERE agent_id = ?1 AND pubkey = ?4"
                        : "INSERT OR IGNORE INTO agent_keys (agent_id, pubkey, first_seen)"
                          " VALUES (?1, ?2, ?3)");
    if (st) {
        fc_db_bind_text(st, 1, id, -1);
        fc_db_bind_text(st, 2, key, -1);
        fc_db_bind_int64(st, 3, (int64_t)time(NULL));
        if (*previous)
            fc_db_bind_text(st, 4, previous, -1);
    }
    err = fc_store_step_done(st);
    if (!err && fc_db_changes(self->db) != 1)
        err = FC_EPERM; /* the table names another key than the cache did */
    if (!err)
        err =
            fc_store_audit_add(self, key, *previous ? "agent.rebind" : "agent.bind", detail, "ok");
    if (!err)
        err = fc_store_commit(self);
    else
        fc_store_rollback(self);
    return err;
}

int fc_store_agent_claim(fc_store_t *self, const char *id, const char *key,
                         fc_store_enrolled_fn *enrolled, void *arg, char *holder, size_t holdersize)
{
    fc_textf(holder, holdersize, "%s", "");
    if (!id || !fc_name_valid(id) || !key || strlen(key) != FC_CURVE_Z85_LEN)
        return FC_EINVAL;
    if (self->agent_keys_stale && fc_store_agent_keys_load(self) != FC_OK)
        return FC_EIO;
    const char *bound = zhashx_lookup(self->agent_keys, id);
    if (bound && streq(bound, key))
        return FC_OK; /* every message after the first: a lookup, no SQLite */
    if (bound && (!enrolled || enrolled(bound, arg))) {
        fc_textf(holder, holdersize, "%s", bound);
        return FC_EPERM;
    }
    char previous[FC_CURVE_Z85_LEN + 1];
    snprintf(previous, sizeof previous, "%s", bound ? bound : "");
    int err = s_bind(self, id, key, previous);
    if (err == FC_EPERM) {
        fc_store_agent_keys_load(self); /* the table knew better: take it from there */
        const char *now = zhashx_lookup(self->agent_keys, id);
        fc_textf(holder, holdersize, "%s", now ? now : "");
    }
    /* Inside a batch this is on disk only with the batch's commit; should that fail,
       fc_store_batch_commit reloads the cache from the table. */
    if (!err)
        zhashx_update(self->agent_keys, id, (void *)key);
    return err;
}
