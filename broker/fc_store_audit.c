/* fc_store_audit.c: the broker's audit log: who did what, when, with what result; a private
   part of fc_store (fc_store_priv.h). */
#include "fc_array.h"
#include "fc_error.h"
#include "fc_hash.h"
#include "fc_mpack.h"
#include "fc_store_config.h"
#include "fc_store_priv.h"

#include "fc_db.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int fc_store_audit_add(fc_store_t *self, const char *who, const char *action, const char *detail,
                       const char *result)
{
    /* Inside a caller's transaction this only joins it; on its own it commits durably. */
    if (fc_db_autocommit(self->db))
        fc_store_sync(self, true);
    fc_db_stmt_t *st = fc_store_prep(self, "INSERT INTO audit (time, who, action, detail, result)"
                                           " VALUES (?, substr(?, 1, ?), substr(?, 1, ?),"
                                           " substr(?, 1, ?), substr(?, 1, ?))");
    if (st) {
        fc_db_bind_int64(st, 1, (int64_t)time(NULL));
        fc_db_bind_text(st, 2, who ? who : "", -1);
        fc_db_bind_int(st, 3, FC_MAX_NAME);
        fc_db_bind_text(st, 4, action ? action : "", -1);
        fc_db_bind_int(st, 5, FC_MAX_NAME);
        fc_db_bind_text(st, 6, detail ? detail : "", -1);
        fc_db_bind_int(st, 7, FC_MAX_TEXT);
        fc_db_bind_text(st, 8, result ? result : "", -1);
        fc_db_bind_int(st, 9, FC_MAX_TEXT);
    }
    return fc_store_step_done(st);
}

/* fc_store_row_fn: a row of the audit table. */
static bool s_entry_row(fc_db_stmt_t *st, void *entry, void *arg)
{
    (void)arg;
    fc_audit_entry_t *e = (fc_audit_entry_t *)entry;
    e->time = fc_db_column_int64(st, 0);
    /* substr counts characters, the fields bytes: fc_msg_set_str bounds them again. */
    for (int col = 1; col <= 4; col++) {
        char *out = col == 1 ? e->who : col == 2 ? e->action : col == 3 ? e->detail : e->result;
        size_t size = col <= 2 ? sizeof e->who : sizeof e->detail;
        fc_msg_set_str(out, size, fc_store_col(st, col));
    }
    return true;
}

int fc_store_audit_list(fc_store_t *self, size_t max, fc_audit_entry_t **list, size_t *n)
{
    *list = NULL;
    *n = 0;
    fc_db_stmt_t *st = fc_store_prep(self, "SELECT time, who, action, detail, result FROM audit"
                                           " ORDER BY id DESC LIMIT ?");
    if (!st)
        return FC_EIO;
    fc_db_bind_int64(st, 1, (int64_t)(max > INT64_MAX ? INT64_MAX : max));
    void *rows = NULL;
    int err = fc_store_rows(st, max, sizeof **list, s_entry_row, NULL, &rows, n);
    *list = rows;
    return err;
}

int fc_store_audit_page(fc_store_t *self, uint64_t before, size_t max, fc_audit_entry_t **list,
                        size_t *n, bool *more, uint64_t *last)
{
    *list = NULL;
    *n = 0;
    *more = false;
    *last = 0;
    /* The id rides along as a sixth column s_entry_row does not read. */
    fc_db_stmt_t *st = fc_store_prep(self, "SELECT time, who, action, detail, result, id FROM audit"
                                           " WHERE ?2 = 0 OR id < ?2 ORDER BY id DESC LIMIT ?1");
    if (!st)
        return FC_EIO;
    fc_db_bind_int64(st, 1, (int64_t)max + 1);
    fc_db_bind_int64(st, 2, (int64_t)(before > INT64_MAX ? INT64_MAX : before));
    void *rows = NULL;
    int err = fc_store_rows(st, max + 1, sizeof **list, s_entry_row, NULL, &rows, n);
    *list = rows;
    if (err || *n == 0)
        return err;
    if (*n > max) {
        *n = max;
        *more = true;
    }
    /* The cursor: the id of the last entry listed (time is not unique). */
    st = fc_store_prep(self, "SELECT id FROM audit WHERE ?1 = 0 OR id < ?1 ORDER BY id DESC"
                             " LIMIT 1 OFFSET ?2");
    if (!st)
        err = FC_EIO;
    else {
        fc_db_bind_int64(st, 1, (int64_t)(before > INT64_MAX ? INT64_MAX : before));
        fc_db_bind_int64(st, 2, (int64_t)(*n - 1));
        if (fc_db_step(st) == FC_DB_ROW)
            *last = (uint64_t)fc_db_column_int64(st, 0);
        else
            err = FC_EIO;
        fc_db_finalize(st);
    }
    if (err) {
        free(*list);
        *list = NULL;
        *n = 0;
    }
    return err;
}

void fc_store_audit_who(const uint8_t *envelope, size_t len, char *who, size_t size)
{
    snprintf(who, size, "unknown");
    if (!envelope || len == 0 || len > FC_MAX_FRAME)
        return;
    msgpack_zone zone;
    msgpack_zone_init(&zone, 256);
    msgpack_object obj;
    const msgpack_object *items;
    size_t n;
    uint8_t pk[FC_PUBKEY_LEN];
    if (fc_mpack_unpack(envelope, len, 2, &zone, &obj) == 0 &&
        fc_mpack_array(&obj, 3, 3, &items, &n) == 0 &&
        fc_mpack_fixbin(&items[1], pk, sizeof pk) == 0) {
        char hex[2 * FC_PUBKEY_LEN + 1];
        fc_hex_encode(hex, pk, sizeof pk);
        snprintf(who, size, "%.*s", FC_STORE_WHO_HEX, hex);
    }
    msgpack_zone_destroy(&zone);
}
