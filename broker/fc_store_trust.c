/* fc_store_trust.c: the trusted-key lists in the broker's database: accept only a higher
   serial signed by a key of the previous list, serve the latest; a private part of fc_store
   (fc_store_priv.h). */
#include "fc_error.h"
#include "fc_file.h"
#include "fc_hash.h"
#include "fc_store_config.h"
#include "fc_store_priv.h"
#include "fc_store_testdb.h"
#include "fc_test_check.h"
#include "fc_text.h"
#include "fc_trustlist.h"

#include "fc_db.h"
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
    fc_db_stmt_t *st =
        fc_store_prep(self, "SELECT serial, signed FROM trust_lists ORDER BY serial DESC LIMIT 1");
    if (!st)
        return FC_EIO;
    int rc = fc_db_step(st);
    int err = rc == FC_DB_ROW ? FC_OK : rc == FC_DB_DONE ? FC_ENOTFOUND : FC_EIO;
    if (rc == FC_DB_ROW) {
        *serial = (uint64_t)fc_db_column_int64(st, 0);
        size_t n = (size_t)fc_db_column_bytes(st, 1);
        const void *blob = fc_db_column_blob(st, 1);
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
    fc_db_finalize(st);
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
    fc_db_stmt_t *st = fc_store_prep(self, "INSERT INTO trust_lists (serial, signed, signer,"
                                           " nkeys, created, committed) VALUES (?, ?, ?, ?, ?, ?)");
    if (st) {
        fc_db_bind_int64(st, 1, (int64_t)list.serial);
        fc_db_bind_blob(st, 2, bytes, (int)len);
        fc_db_bind_text(st, 3, signer, -1);
        fc_db_bind_int64(st, 4, (int64_t)list.nkeys);
        fc_db_bind_int64(st, 5, list.created);
        fc_db_bind_int64(st, 6, (int64_t)time(NULL));
    }
    err = fc_store_step_done(st);
    /* The sequence moves only once the commit stands (an announcement is for news). */
    uint64_t taken = 0;
    if (!err)
        err = fc_store_seq_take(self, &taken);
    if (!err)
        err = fc_store_audit_add(self, who, "trust.push", detail, "ok");
    if (!err)
        err = fc_store_commit(self);
    else
        fc_store_rollback(self);
    if (!err) {
        *serial = list.serial;
        *seq = self->seq = taken;
    }
    return err;
}

/* ---------------------------------------------------------------------------------------- */
/* Self-test */

static int s_push(fc_store_t *store, const fc_signkey_t *signer, uint64_t serial,
                  const fc_signkey_t *member)
{
    fc_trustlist_t list;
    memset(&list, 0, sizeof list);
    list.serial = serial;
    list.nkeys = 1;
    memcpy(list.keys[0], member->pk, FC_PUBKEY_LEN);
    size_t len = 0;
    uint8_t *sealed = fc_trustlist_seal(&list, signer, &len);
    FC_CHECK(sealed);
    uint64_t got = 0, seq = 0;
    char text[FC_MAX_TEXT + 1] = "";
    int err = fc_store_trust_push(store, sealed, len, &got, &seq, text, sizeof text);
    FC_CHECK(err ? got == 0 && seq == 0 && *text : got == serial && seq > 0);
    free(sealed);
    return err;
}

void fc_store_trust_test(bool verbose)
{
    (void)verbose;
    printf(" * fc_store_trust: ");
    char dir[] = "/tmp/fc_store_trust_test.XXXXXX";
    FC_CHECK(mkdtemp(dir));
    int err = 0;
    fc_store_t *store = fc_store_testdb_new(dir, &err, NULL, 0);
    FC_CHECK(store);
    uint64_t serial = 99;
    FC_CHECK(fc_store_trust_latest(store, &serial, NULL, NULL) == FC_ENOTFOUND && serial == 0);

    fc_signkey_t a, b, c;
    fc_signkey_generate(&a);
    fc_signkey_generate(&b);
    fc_signkey_generate(&c);
    /* The first list: any valid signature (the broker pins nothing). */
    FC_CHECK(s_push(store, &a, 1, &b) == FC_OK);
    uint64_t seq = fc_store_seq(store);
    /* Then only a key of the current list ({b}) may sign, and only a higher serial. */
    FC_CHECK(s_push(store, &a, 2, &c) == FC_EUNTRUSTED);
    FC_CHECK(s_push(store, &c, 2, &c) == FC_EUNTRUSTED);
    FC_CHECK(s_push(store, &b, 1, &c) == FC_ESERIAL);
    FC_CHECK(fc_store_seq(store) == seq); /* refusals announce nothing */
    FC_CHECK(s_push(store, &b, 5, &c) == FC_OK);
    FC_CHECK(fc_store_seq(store) == seq + 1);
    uint64_t none = 0, nseq = 0;
    FC_CHECK(fc_store_trust_push(store, (const uint8_t *)"junk", 4, &none, &nseq, NULL, 0) ==
             FC_EPROTO);

    /* It survives a reopen, and the latest is what is served. */
    fc_store_destroy(&store);
    store = fc_store_testdb_new(dir, &err, NULL, 0);
    FC_CHECK(store);
    uint8_t *bytes = NULL;
    size_t len = 0;
    FC_CHECK(fc_store_trust_latest(store, &serial, &bytes, &len) == FC_OK && serial == 5);
    fc_trustlist_t list;
    FC_CHECK(fc_trustlist_open(bytes, len, NULL, &list) == FC_OK && list.nkeys == 1);
    FC_CHECK(!memcmp(list.keys[0], c.pk, FC_PUBKEY_LEN) && !memcmp(list.signer, b.pk, 32));
    free(bytes);

    /* Every push is audited, accepted or refused. */
    fc_audit_entry_t *audit = NULL;
    size_t naudit = 0;
    FC_CHECK(fc_store_audit_list(store, 100, &audit, &naudit) == FC_OK);
    size_t pushes = 0, refused = 0;
    for (size_t i = 0; i < naudit; i++)
        if (streq(audit[i].action, "trust.push")) {
            pushes++;
            refused += !streq(audit[i].result, "ok");
        }
    FC_CHECK(pushes == 6 && refused == 4);
    free(audit);
    fc_store_destroy(&store);
    fc_remove_tree(dir);
    fc_signkey_wipe(&a);
    fc_signkey_wipe(&b);
    fc_signkey_wipe(&c);
    printf("OK\n");
}
