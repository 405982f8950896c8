/* fc_store_trust.c: the trusted-key lists in the broker's database: accept only a higher
   serial signed by a key of the previous list, serve the latest. */
#include "fc_error.h"
#include "fc_hash.h"
#include "fc_store_config.h"
#include "fc_store_priv.h"
#include "fc_trustlist.h"
#include "fc_util.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *s_tables =
    "CREATE TABLE IF NOT EXISTS trust_lists (serial INTEGER PRIMARY KEY, signed BLOB NOT NULL,"
    "  signer TEXT NOT NULL, nkeys INTEGER NOT NULL, created INTEGER NOT NULL,"
    "  committed INTEGER NOT NULL);";

int fc_store_trust_init(fc_store_t *self)
{
    return fc_store_exec(self, s_tables);
}

int fc_store_trust_latest(fc_store_t *self, uint64_t *serial, uint8_t **bytes, size_t *len)
{
    *serial = 0;
    if (bytes)
        *bytes = NULL;
    if (len)
        *len = 0;
    sqlite3_stmt *st =
        fc_store_prep(self, "SELECT serial, signed FROM trust_lists ORDER BY serial DESC LIMIT 1");
    if (!st)
        return FC_EIO;
    int rc = sqlite3_step(st);
    int err = rc == SQLITE_ROW ? FC_OK : rc == SQLITE_DONE ? FC_ENOTFOUND : FC_EIO;
    if (rc == SQLITE_ROW) {
        *serial = (uint64_t)sqlite3_column_int64(st, 0);
        size_t n = (size_t)sqlite3_column_bytes(st, 1);
        const void *blob = sqlite3_column_blob(st, 1);
        if (bytes && n) {
            *bytes = malloc(n);
            if (!*bytes)
                err = FC_ENOMEM;
            else {
                memcpy(*bytes, blob, n);
                *len = n;
            }
        }
    }
    sqlite3_finalize(st);
    return err;
}

/* Checks a pushed list against the stored one; FC_OK with *list filled, or why not. */
static int s_check(fc_store_t *self, const uint8_t *bytes, size_t len, fc_trustlist_t *list,
                   char *text, size_t textsize)
{
    uint64_t cur_serial = 0;
    uint8_t *cur = NULL;
    size_t cur_len = 0;
    int err = fc_store_trust_latest(self, &cur_serial, &cur, &cur_len);
    if (err && err != FC_ENOTFOUND)
        return err;
    fc_trust_t *prev = NULL;
    if (!err) {
        /* The stored list was checked when it came: opening it again (no trust needed) only
           reads its keys. */
        fc_trustlist_t stored;
        err = fc_trustlist_open(cur, cur_len, NULL, &stored);
        if (!err)
            prev = fc_trustlist_trust(&stored);
    } else
        err = FC_OK; /* the first list: the broker pins nothing, so any valid signature */
    free(cur);
    if (!err) {
        err = fc_trustlist_open(bytes, len, prev, list);
        if (err == FC_EUNTRUSTED)
            fc_textf(text, textsize,
                     "trust list not signed by a key of the current list (serial"
                     " %llu)",
                     (unsigned long long)cur_serial);
        else if (err)
            fc_textf(text, textsize, "trust list refused: %s", fc_strerror(err));
    }
    if (!err && prev && list->serial <= cur_serial) {
        err = FC_ESERIAL;
        fc_textf(text, textsize, "trust list serial %llu is not above the current %llu",
                 (unsigned long long)list->serial, (unsigned long long)cur_serial);
    }
    fc_trust_destroy(&prev);
    return err;
}

int fc_store_trust_push(fc_store_t *self, const uint8_t *bytes, size_t len, uint64_t *serial,
                        uint64_t *seq, char *text, size_t textsize)
{
    *serial = *seq = 0;
    fc_trustlist_t list;
    char who[FC_MAX_NAME + 1], detail[FC_MAX_TEXT + 1];
    fc_store_audit_who(bytes, len, who, sizeof who);
    int err = s_check(self, bytes, len, &list, text, textsize);
    snprintf(detail, sizeof detail, "serial=%llu keys=%zu", (unsigned long long)list.serial,
             list.nkeys);
    if (err) {
        fc_store_audit_add(self, who, "trust.push", detail,
                           text && *text ? text : fc_strerror(err));
        return err;
    }
    fc_store_sync(self, true);
    err = fc_store_begin(self);
    if (err)
        return err;
    char signer[2 * FC_PUBKEY_LEN + 1];
    fc_hex_encode(signer, list.signer, FC_PUBKEY_LEN);
    sqlite3_stmt *st = fc_store_prep(self, "INSERT INTO trust_lists (serial, signed, signer,"
                                           " nkeys, created, committed) VALUES (?, ?, ?, ?, ?, ?)");
    if (st) {
        sqlite3_bind_int64(st, 1, (sqlite3_int64)list.serial);
        sqlite3_bind_blob(st, 2, bytes, (int)len, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, signer, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 4, (sqlite3_int64)list.nkeys);
        sqlite3_bind_int64(st, 5, list.created);
        sqlite3_bind_int64(st, 6, (sqlite3_int64)time(NULL));
    }
    err = fc_store_step_done(st);
    /* The sequence moves only once the commit stands (an announcement is for news). */
    if (!err) {
        st = fc_store_prep(self, "UPDATE meta SET value = ? WHERE key = 'seq'");
        if (st)
            sqlite3_bind_int64(st, 1, (sqlite3_int64)(self->seq + 1));
        err = fc_store_step_done(st);
    }
    if (!err)
        err = fc_store_audit_add(self, who, "trust.push", detail, "ok");
    if (!err)
        err = fc_store_commit(self);
    else
        fc_store_rollback(self);
    if (!err) {
        *serial = list.serial;
        *seq = ++self->seq;
    }
    return err;
}
