/* fc_db_keys.c: the enrolled_keys table, through fc_db on SQLite and PostgreSQL (fc_db_keys.h). */
#include "fc_db_keys.h"
#include <stdio.h>
#include <string.h>
#include <time.h>

static const char *s_schema =
    "CREATE TABLE IF NOT EXISTS enrolled_keys (pubkey TEXT PRIMARY KEY, role TEXT NOT NULL,"
    " name TEXT NOT NULL, added INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS enrolled_keys_serial (name TEXT PRIMARY KEY,"
    " serial INTEGER NOT NULL);"
    "INSERT OR IGNORE INTO enrolled_keys_serial (name, serial) VALUES ('keys', 0);";

int fc_db_keys_init(fc_db_t *db)
{
    return fc_db_exec(db, s_schema);
}

/* Steps st once to its end and finalizes it: FC_DB_OK or the error. */
static int s_done(fc_db_t *db, fc_db_stmt_t *st)
{
    int rc = st ? fc_db_step(st) : fc_db_errcode(db);
    fc_db_finalize(st);
    if (rc == FC_DB_DONE || rc == FC_DB_ROW)
        return FC_DB_OK;
    return rc == FC_DB_OK ? FC_DB_ERROR : rc;
}

/* Inside the open transaction: the serial moves on and (PostgreSQL) brokers are told, the
   notification delivered only if the transaction commits. */
static int s_moved(fc_db_t *db)
{
    int rc = s_done(
        db, fc_db_prepare(db, "UPDATE enrolled_keys_serial SET serial = serial + 1 WHERE name = "
                              "'keys'"));
    if (!rc && fc_db_is_pg(db))
        rc =
            s_done(db, fc_db_prepare(db, "SELECT pg_notify('" FC_DB_KEYS_CHANNEL "', '') IS NULL"));
    return rc;
}

static int s_end(fc_db_t *db, int rc)
{
    if (!rc)
        rc = fc_db_exec(db, "COMMIT");
    if (rc)
        fc_db_exec(db, "ROLLBACK");
    return rc;
}

int fc_db_keys_add(fc_db_t *db, const char *key, const char *role, const char *name)
{
    int rc = fc_db_exec(db, "BEGIN IMMEDIATE");
    if (rc)
        return rc;
    rc = fc_db_keys_init(db);
    if (!rc) {
        fc_db_stmt_t *st = fc_db_prepare(db, "INSERT OR REPLACE INTO enrolled_keys (pubkey, role,"
                                             " name, added) VALUES (?, ?, ?, ?)");
        if (st) {
            fc_db_bind_text(st, 1, key, -1);
            fc_db_bind_text(st, 2, role, -1);
            fc_db_bind_text(st, 3, name ? name : "", -1);
            fc_db_bind_int64(st, 4, (int64_t)time(NULL));
        }
        rc = s_done(db, st);
    }
    if (!rc)
        rc = s_moved(db);
    return s_end(db, rc);
}

int fc_db_keys_revoke(fc_db_t *db, const char *key, int *removed)
{
    *removed = 0;
    int rc = fc_db_exec(db, "BEGIN IMMEDIATE");
    if (rc)
        return rc;
    rc = fc_db_keys_init(db);
    if (!rc) {
        fc_db_stmt_t *st = fc_db_prepare(db, "DELETE FROM enrolled_keys WHERE pubkey = ?");
        if (st)
            fc_db_bind_text(st, 1, key, -1);
        rc = s_done(db, st);
    }
    if (!rc)
        *removed = (int)fc_db_changes(db);
    if (!rc && *removed)
        rc = s_moved(db);
    return s_end(db, rc);
}

int fc_db_keys_serial(fc_db_t *db, uint64_t *serial)
{
    *serial = 0;
    fc_db_stmt_t *st =
        fc_db_prepare(db, "SELECT serial FROM enrolled_keys_serial WHERE name = 'keys'");
    int rc = st ? fc_db_step(st) : fc_db_errcode(db);
    if (rc == FC_DB_ROW)
        *serial = (uint64_t)fc_db_column_int64(st, 0);
    fc_db_finalize(st);
    return rc == FC_DB_ROW || rc == FC_DB_DONE ? FC_DB_OK : rc == FC_DB_OK ? FC_DB_ERROR : rc;
}

int fc_db_keys_each(fc_db_t *db, fc_db_keys_fn *fn, void *arg)
{
    fc_db_stmt_t *st = fc_db_prepare(db, "SELECT pubkey, role, name, added FROM enrolled_keys "
                                         "ORDER BY role, pubkey");
    if (!st)
        return fc_db_errcode(db) ? fc_db_errcode(db) : FC_DB_ERROR;
    int rc;
    while ((rc = fc_db_step(st)) == FC_DB_ROW) {
        const char *key = (const char *)fc_db_column_text(st, 0);
        const char *role = (const char *)fc_db_column_text(st, 1);
        const char *name = (const char *)fc_db_column_text(st, 2);
        if (!fn(key ? key : "", role ? role : "", name ? name : "", fc_db_column_int64(st, 3), arg))
            break;
    }
    fc_db_finalize(st);
    return rc == FC_DB_ROW || rc == FC_DB_DONE ? FC_DB_OK : rc;
}
