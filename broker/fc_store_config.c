/* fc_store_config.c: config revisions in the broker's database: tables, push checks, sync; a
   private part of fc_store (fc_store_priv.h). */
#include "fc_store_config.h"
#include "fc_array.h"
#include "fc_error.h"
#include "fc_hash.h"
#include "fc_revision.h"
#include "fc_schema.h"
#include "fc_store_priv.h"
#include "fc_text.h"

#include "fc_db.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Version of the config tables; bump with a migration when they change. */
#define S_CONFIG_SCHEMA 2

static const char *s_tables =
    "CREATE TABLE IF NOT EXISTS config_revisions (rev INTEGER PRIMARY KEY,"
    "  kind INTEGER NOT NULL, scope TEXT NOT NULL, signed BLOB NOT NULL,"
    "  created INTEGER NOT NULL, committed INTEGER NOT NULL, signer TEXT NOT NULL,"
    "  canary INTEGER NOT NULL, halt_percent INTEGER NOT NULL, target INTEGER NOT NULL,"
    "  promoted_by INTEGER NOT NULL DEFAULT 0, halted INTEGER NOT NULL DEFAULT 0,"
    "  halt_reason TEXT NOT NULL DEFAULT '', seq INTEGER NOT NULL);"
    "CREATE INDEX IF NOT EXISTS config_revisions_kind ON config_revisions (kind, rev);"
    "CREATE TABLE IF NOT EXISTS config_acks (rev INTEGER NOT NULL, agent TEXT NOT NULL,"
    "  grp TEXT NOT NULL, state TEXT NOT NULL, text TEXT NOT NULL, time INTEGER NOT NULL,"
    "  PRIMARY KEY (rev, agent)) WITHOUT ROWID;"
    /* A table of its own rather than a column of agents: REPORT replaces agents rows
       wholesale, which would forget the group. */
    "CREATE TABLE IF NOT EXISTS agent_groups (id TEXT PRIMARY KEY, grp TEXT NOT NULL,"
    "  last_seen INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS audit (id INTEGER PRIMARY KEY, time INTEGER NOT NULL,"
    "  who TEXT NOT NULL, action TEXT NOT NULL, detail TEXT NOT NULL, result TEXT NOT NULL);"
    /* When the broker first heard of each agent id, as the announcement sequence then: an
       ack counts towards a canary only from an agent known before the revision (schema 2). */
    "CREATE TABLE IF NOT EXISTS agent_known (id TEXT PRIMARY KEY, since_seq INTEGER NOT NULL)"
    "  WITHOUT ROWID;"
    "INSERT OR IGNORE INTO meta (key, value) VALUES ('config_schema', 2);";

/* Schema 1 to 2: the agents a broker already knew were known before every revision. */
static const char *s_migrate_2 = "INSERT OR IGNORE INTO agent_known (id, since_seq)"
                                 "  SELECT id, 0 FROM agents UNION SELECT id, 0 FROM agent_groups;"
                                 "UPDATE meta SET value = 2 WHERE key = 'config_schema';";

#define S_REV_COLS                                                                                 \
    "rev, kind, scope, signer, created, committed, canary, halt_percent, target,"                  \
    " promoted_by, halted, halt_reason, seq"

int fc_store_config_init(fc_store_t *self)
{
    int err = fc_store_exec(self, s_tables);
    if (err)
        return err;
    fc_db_stmt_t *st = fc_store_prep(self, "SELECT value FROM meta WHERE key = 'config_schema'");
    int version = st && fc_db_step(st) == FC_DB_ROW ? fc_db_column_int(st, 0) : -1;
    fc_db_finalize(st);
    if (version < 0)
        return FC_EIO;
    if (version > S_CONFIG_SCHEMA)
        return FC_EPROTO;
    return version < 2 ? fc_store_exec(self, s_migrate_2) : FC_OK;
}

static void s_rev_from_row(fc_store_rev_t *info, fc_db_stmt_t *st)
{
    memset(info, 0, sizeof *info);
    const char *s;
    info->rev = (uint64_t)fc_db_column_int64(st, 0);
    info->kind = fc_db_column_int(st, 1);
    s = (const char *)fc_db_column_text(st, 2);
    snprintf(info->scope, sizeof info->scope, "%s", s ? s : "");
    s = (const char *)fc_db_column_text(st, 3);
    snprintf(info->signer, sizeof info->signer, "%s", s ? s : "");
    info->created = fc_db_column_int64(st, 4);
    info->committed = fc_db_column_int64(st, 5);
    info->canary = (uint32_t)fc_db_column_int64(st, 6);
    info->halt_percent = (uint32_t)fc_db_column_int64(st, 7);
    info->target = (uint64_t)fc_db_column_int64(st, 8);
    info->promoted_by = (uint64_t)fc_db_column_int64(st, 9);
    info->halted = fc_db_column_int(st, 10) != 0;
    s = (const char *)fc_db_column_text(st, 11);
    snprintf(info->reason, sizeof info->reason, "%s", s ? s : "");
    info->seq = (uint64_t)fc_db_column_int64(st, 12);
}

int fc_store_config_rev(fc_store_t *self, uint64_t rev, fc_store_rev_t *info)
{
    if (rev == 0 || rev > INT64_MAX)
        return FC_ENOTFOUND;
    fc_db_stmt_t *st = fc_store_prep(self, "SELECT " S_REV_COLS " FROM config_revisions"
                                           " WHERE rev = ?");
    if (!st)
        return FC_EIO;
    fc_db_bind_int64(st, 1, (int64_t)rev);
    int rc = fc_db_step(st);
    int err = rc == FC_DB_ROW ? FC_OK : rc == FC_DB_DONE ? FC_ENOTFOUND : fc_store_sqlite_error(rc);
    if (!err && info)
        s_rev_from_row(info, st);
    fc_db_finalize(st);
    return err;
}

uint64_t fc_store_config_latest(fc_store_t *self)
{
    fc_db_stmt_t *st = fc_store_prep(self, "SELECT coalesce(max(rev), 0) FROM config_revisions");
    uint64_t latest = st && fc_db_step(st) == FC_DB_ROW ? (uint64_t)fc_db_column_int64(st, 0) : 0;
    fc_db_finalize(st);
    return latest;
}

int fc_store_config_latest_set(fc_store_t *self, uint64_t *rev)
{
    fc_db_stmt_t *st = fc_store_prep(self, "SELECT max(rev) FROM config_revisions WHERE kind = ?");
    if (!st)
        return FC_EIO;
    fc_db_bind_int(st, 1, FC_REV_SET);
    int rc = fc_db_step(st);
    int err = rc != FC_DB_ROW               ? fc_store_sqlite_error(rc)
              : fc_db_column_is_null(st, 0) ? FC_ENOTFOUND
                                            : FC_OK;
    if (!err)
        *rev = (uint64_t)fc_db_column_int64(st, 0);
    fc_db_finalize(st);
    return err;
}

int fc_store_config_rev_scope(fc_store_t *self, const fc_store_rev_t *info, char *scope,
                              size_t size)
{
    if (info->kind == FC_REV_PROMOTE) {
        fc_store_rev_t target;
        int err = fc_store_config_rev(self, info->target, &target);
        if (err)
            return err;
        snprintf(scope, size, "%s", target.scope);
    } else if (info->kind == FC_REV_SET)
        snprintf(scope, size, "%s", info->scope);
    else
        snprintf(scope, size, "global");
    return FC_OK;
}

/* --- push ------------------------------------------------------------------------------- */

static const char *s_action(fc_rev_kind_t kind)
{
    return kind == FC_REV_SET       ? "config.set"
           : kind == FC_REV_SCHEMA  ? "config.schema"
           : kind == FC_REV_PROMOTE ? "config.promote"
                                    : "config.push";
}

/* What the audit log says a revision does. */
static void s_detail(const fc_revision_t *r, size_t len, char *out, size_t size)
{
    size_t used = 0;
#define S_ADD(...)                                                                                 \
    do {                                                                                           \
        if (used < size)                                                                           \
            used += (size_t)snprintf(out + used, size - used, __VA_ARGS__);                        \
    } while (0)
    out[0] = '\0';
    S_ADD("rev %llu", (unsigned long long)r->rev);
    if (r->kind == FC_REV_SET) {
        S_ADD(" %s:", r->scope);
        for (int pass = 0; pass < 2; pass++) {
            bool first = true;
            for (size_t i = 0; i < r->nchanges; i++) {
                if (r->changes[i].unset != (pass == 1))
                    continue;
                S_ADD("%s%s", first ? (pass ? "; unset " : " set ") : ", ", r->changes[i].key);
                first = false;
            }
        }
        if (r->canary > 0 && r->canary < 100)
            S_ADD(" (canary %u%%, halt at %u%%)", r->canary, r->halt_percent);
    } else if (r->kind == FC_REV_SCHEMA)
        S_ADD(": schema (%zu bytes)", r->schema_json ? strlen(r->schema_json) : 0);
    else if (r->kind == FC_REV_PROMOTE)
        S_ADD(": promote rev %llu", (unsigned long long)r->target);
    if (*r->message)
        S_ADD(" \"%s\"", r->message);
    S_ADD(" [%zu bytes]", len);
#undef S_ADD
}

/* The signed bytes of rev into a malloc'd copy, or NULL (*err FC_ENOTFOUND / ...). */
static uint8_t *s_signed_bytes(fc_store_t *self, const char *where, uint64_t arg, size_t *len,
                               int *err)
{
    char sql[160];
    snprintf(sql, sizeof sql, "SELECT signed FROM config_revisions WHERE %s", where);
    fc_db_stmt_t *st = fc_store_prep(self, sql);
    if (!st) {
        *err = FC_EIO;
        return NULL;
    }
    fc_db_bind_int64(st, 1, (int64_t)arg);
    int rc = fc_db_step(st);
    uint8_t *copy = NULL;
    *err = rc == FC_DB_ROW ? FC_OK : rc == FC_DB_DONE ? FC_ENOTFOUND : fc_store_sqlite_error(rc);
    if (!*err) {
        *len = (size_t)fc_db_column_bytes(st, 0);
        copy = malloc(*len ? *len : 1);
        if (!copy)
            *err = FC_ENOMEM;
        else if (*len)
            memcpy(copy, fc_db_column_blob(st, 0), *len);
    }
    fc_db_finalize(st);
    return copy;
}

/* Checks a SET revision against the schema in force (the latest SCHEMA revision). */
static int s_check_schema(fc_store_t *self, const fc_revision_t *r, char *text, size_t textsize)
{
    size_t len = 0;
    int err;
    uint8_t *bytes =
        s_signed_bytes(self, "kind = ? ORDER BY rev DESC LIMIT 1", FC_REV_SCHEMA, &len, &err);
    if (err == FC_ENOTFOUND)
        return FC_OK; /* no schema: anything goes */
    if (err)
        return err;
    fc_revision_t *sr = fc_revision_parse(bytes, len, NULL, &err);
    free(bytes);
    if (!sr) {
        fc_textf(text, textsize, "the stored schema revision no longer parses: %s",
                 fc_strerror(err));
        return FC_EIO;
    }
    err = FC_OK;
    if (sr->schema_json && *sr->schema_json) {
        char msg[FC_MAX_TEXT + 1] = "";
        fc_schema_t *schema = fc_schema_parse(sr->schema_json, msg, sizeof msg);
        if (!schema) {
            fc_textf(text, textsize, "the schema in force (rev %llu) is invalid: %s",
                     (unsigned long long)sr->rev, msg);
            err = FC_EIO;
        } else {
            msg[0] = '\0';
            err = fc_schema_check_revision(schema, r, msg, sizeof msg);
            if (err)
                fc_textf(text, textsize, "%s", *msg ? msg : "refused by the schema");
            fc_schema_destroy(&schema);
        }
    }
    fc_revision_destroy(&sr);
    return err;
}

static int s_check_promote(fc_store_t *self, const fc_revision_t *r, char *text, size_t textsize)
{
    fc_store_rev_t t;
    int err = fc_store_config_rev(self, r->target, &t);
    if (err == FC_ENOTFOUND)
        fc_textf(text, textsize, "revision %llu does not exist", (unsigned long long)r->target);
    else if (err)
        return err;
    else if (t.kind != FC_REV_SET || t.canary == 0 || t.canary >= 100) {
        fc_textf(text, textsize, "revision %llu is not a canary revision",
                 (unsigned long long)r->target);
        err = FC_EINVAL;
    } else if (t.promoted_by) {
        fc_textf(text, textsize, "revision %llu was already promoted by revision %llu",
                 (unsigned long long)r->target, (unsigned long long)t.promoted_by);
        err = FC_EINVAL;
    } else if (t.halted) {
        fc_textf(text, textsize, "revision %llu %s", (unsigned long long)r->target,
                 *t.reason ? t.reason : "halted");
        err = FC_EREFUSED;
    }
    return err;
}

/* Inside a transaction: stores the revision, marks a promoted target, bumps the sequence. */
static int s_insert(fc_store_t *self, const fc_revision_t *r, const char *scope,
                    const uint8_t *bytes, size_t len, const char *who, uint64_t seq)
{
    fc_db_stmt_t *st = fc_store_prep(
        self, "INSERT INTO config_revisions (rev, kind, scope, signed, created, committed,"
              " signer, canary, halt_percent, target, seq)"
              " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    bool canary = r->kind == FC_REV_SET && r->canary > 0 && r->canary < 100;
    if (st) {
        fc_db_bind_int64(st, 1, (int64_t)r->rev);
        fc_db_bind_int(st, 2, (int)r->kind);
        fc_db_bind_text(st, 3, scope, -1);
        fc_db_bind_blob(st, 4, bytes, len);
        fc_db_bind_int64(st, 5, r->created);
        fc_db_bind_int64(st, 6, (int64_t)time(NULL));
        fc_db_bind_text(st, 7, who, -1);
        fc_db_bind_int64(st, 8, canary ? r->canary : 0);
        fc_db_bind_int64(st, 9, r->halt_percent);
        fc_db_bind_int64(st, 10, (int64_t)(r->kind == FC_REV_PROMOTE ? r->target : 0));
        fc_db_bind_int64(st, 11, (int64_t)seq);
    }
    int err = fc_store_step_done(st);
    if (!err && r->kind == FC_REV_PROMOTE) {
        st = fc_store_prep(self, "UPDATE config_revisions SET promoted_by = ? WHERE rev = ?");
        if (st) {
            fc_db_bind_int64(st, 1, (int64_t)r->rev);
            fc_db_bind_int64(st, 2, (int64_t)r->target);
        }
        err = fc_store_step_done(st);
    }
    return err;
}

/* Inside the push transaction: -1 if bytes are exactly the stored revision r->rev (a
   re-sent push), FC_ESERIAL if r->rev is not the next one, else the kind's checks. */
static int s_check_push(fc_store_t *self, const fc_revision_t *r, const uint8_t *bytes, size_t len,
                        char *text, size_t textsize)
{
    uint64_t latest = fc_store_config_latest(self);
    if (r->rev <= latest) {
        size_t oldlen = 0;
        int err;
        uint8_t *old = s_signed_bytes(self, "rev = ?", r->rev, &oldlen, &err);
        bool same = old && oldlen == len && memcmp(old, bytes, len) == 0;
        free(old);
        if (same)
            return -1;
    }
    if (r->rev != latest + 1) {
        fc_textf(text, textsize, "revision %llu is not the next one: the latest is %llu",
                 (unsigned long long)r->rev, (unsigned long long)latest);
        return FC_ESERIAL;
    }
    if (r->kind == FC_REV_SET) {
        int err = fc_store_config_canary_check(self, r->scope, r->canary, text, textsize);
        return err ? err : s_check_schema(self, r, text, textsize);
    }
    if (r->kind == FC_REV_PROMOTE)
        return s_check_promote(self, r, text, textsize);
    if (r->kind == FC_REV_SCHEMA && r->schema_json && *r->schema_json) {
        char msg[FC_MAX_TEXT + 1] = "";
        fc_schema_t *schema = fc_schema_parse(r->schema_json, msg, sizeof msg);
        if (!schema) {
            fc_textf(text, textsize, "invalid schema: %s", *msg ? msg : "cannot parse");
            return FC_EINVAL;
        }
        fc_schema_destroy(&schema);
    }
    return FC_OK;
}

int fc_store_config_push(fc_store_t *self, const uint8_t *bytes, size_t len, fc_store_rev_t *info,
                         uint64_t *seq, char *text, size_t textsize)
{
    *seq = 0;
    char dummy[FC_MAX_TEXT + 1];
    if (!text || textsize == 0) {
        text = dummy;
        textsize = sizeof dummy;
    }
    text[0] = '\0';
    char who[FC_MAX_NAME + 1], detail[FC_MAX_TEXT + 1], result[FC_MAX_TEXT + 1];
    fc_store_audit_who(bytes, len, who, sizeof who);
    int err = FC_OK;
    bool parsable = bytes && len > 0 && len <= FC_MAX_REVISION;
    fc_revision_t *r = parsable ? fc_revision_parse(bytes, len, NULL, &err) : NULL;
    if (!r) {
        if (len > FC_MAX_REVISION)
            err = FC_ETOOBIG;
        err = err ? err : FC_EPROTO;
        fc_textf(text, textsize, "revision rejected: %s", fc_strerror(err));
        snprintf(detail, sizeof detail, "%zu bytes", len);
        fc_store_audit_add(self, who, "config.push", detail, text);
        return err;
    }
    char scope[FC_MAX_SCOPE + 1];
    snprintf(scope, sizeof scope, "%s", *r->scope ? r->scope : "global");
    s_detail(r, len, detail, sizeof detail);
    if (r->rev == 0 || r->rev > INT64_MAX) {
        fc_textf(text, textsize, "revision number %llu is out of range",
                 (unsigned long long)r->rev);
        err = FC_EINVAL;
    }
    fc_store_sync(self, true);
    if (!err)
        err = fc_store_exec(self, "BEGIN IMMEDIATE");
    if (!err) {
        err = s_check_push(self, r, bytes, len, text, textsize);
        if (err == FC_OK) {
            uint64_t taken = 0;
            err = fc_store_seq_take(self, &taken);
            if (!err)
                err = s_insert(self, r, scope, bytes, len, who, taken);
            if (!err)
                err = fc_store_audit_add(self, who, s_action(r->kind), detail, "ok");
            if (!err)
                err = fc_store_exec(self, "COMMIT");
            if (!err)
                *seq = self->seq = taken;
            else
                fc_textf(text, textsize, "cannot store the revision: %s", fc_db_errmsg(self->db));
        }
        if (err)
            fc_store_exec(self, "ROLLBACK");
    }
    if (err == -1) {
        err = FC_OK;
        fc_store_audit_add(self, who, s_action(r->kind), detail, "ok (already stored)");
    } else if (err) {
        if (!*text)
            fc_textf(text, textsize, "%s", fc_strerror(err));
        fc_textf(result, sizeof result, "%s: %s", fc_strerror(err), text); /* may cut text */
        fc_store_audit_add(self, who, s_action(r->kind), detail, result);
    }
    if (!err && info && fc_store_config_rev(self, r->rev, info) != FC_OK)
        memset(info, 0, sizeof *info);
    fc_revision_destroy(&r);
    return err;
}

/* --- sync ------------------------------------------------------------------------------- */

void fc_store_items_free(fc_item_t **items, size_t n)
{
    if (!items || !*items)
        return;
    for (size_t i = 0; i < n; i++)
        free((*items)[i].data);
    free(*items);
    *items = NULL;
}

int fc_store_config_sync(fc_store_t *self, const char *id, const char *group, uint64_t after,
                         size_t max_items, size_t max_bytes, fc_item_t **items, size_t *n,
                         bool *more)
{
    *items = NULL;
    *n = 0;
    *more = false;
    bool everything = !id || !*id;
    fc_db_stmt_t *st = fc_store_prep(self, "SELECT kind, scope, signed FROM config_revisions"
                                           " WHERE rev > ? ORDER BY rev");
    if (!st)
        return FC_EIO;
    fc_db_bind_int64(st, 1, (int64_t)(after > INT64_MAX ? INT64_MAX : after));
    size_t cap = 0, bytes = 0;
    int rc, err = FC_OK;
    while ((rc = fc_db_step(st)) == FC_DB_ROW) {
        int kind = fc_db_column_int(st, 0);
        const char *scope = (const char *)fc_db_column_text(st, 1);
        if (!everything && kind == FC_REV_SET &&
            !fc_scope_matches(scope ? scope : "", id, group ? group : ""))
            continue;
        size_t len = (size_t)fc_db_column_bytes(st, 2);
        /* msgpack bin header: at most 5 bytes per item. */
        if (*n >= max_items || bytes + len + 5 > max_bytes) {
            *more = true;
            break;
        }
        fc_item_t *bigger = fc_grow(*items, *n, &cap, sizeof **items);
        if (!bigger) {
            err = FC_ENOMEM;
            break;
        }
        *items = bigger;
        uint8_t *copy = malloc(len ? len : 1);
        if (!copy) {
            err = FC_ENOMEM;
            break;
        }
        if (len)
            memcpy(copy, fc_db_column_blob(st, 2), len);
        (*items)[*n].data = copy;
        (*items)[*n].len = len;
        (*n)++;
        bytes += len + 5;
    }
    if (!err && rc != FC_DB_ROW && rc != FC_DB_DONE)
        err = fc_store_sqlite_error(rc);
    fc_db_finalize(st);
    if (err) {
        fc_store_items_free(items, *n);
        *n = 0;
        *more = false;
    }
    return err;
}
