/* fc_store_object.c: the objects of format-3 manifests (pages and chunk lists), stored by
   their hash, served to agents, and collected once no stored release names them. A private
   part of fc_store.c (fc_store_priv.h). */
#include "fc_error.h"
#include "fc_hash.h"
#include "fc_manifest_load.h"
#include "fc_manifest_parts.h"
#include "fc_store_priv.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

int fc_store_object_init(fc_store_t *self)
{
    return fc_store_exec(self, "CREATE TABLE IF NOT EXISTS objects (hash BLOB PRIMARY KEY,"
                               "  data BLOB NOT NULL, added INTEGER NOT NULL) WITHOUT ROWID;");
}

int fc_store_object_put(fc_store_t *self, const uint8_t hash[FC_HASH_LEN], const uint8_t *data,
                        size_t len)
{
    int err = fc_mobj_check(hash, data, len);
    if (err)
        return err;
    fc_db_stmt_t *st =
        /* REPLACE: data is checked against its name, so a copy damaged in the store is
           repaired by storing the object again (a push re-run). */
        fc_store_prep(self, "INSERT OR REPLACE INTO objects (hash, data, added) VALUES (?, ?, ?)");
    if (st) {
        fc_db_bind_blob(st, 1, hash, FC_HASH_LEN);
        fc_db_bind_blob(st, 2, data, len);
        fc_db_bind_int64(st, 3, (int64_t)time(NULL));
    }
    return fc_store_step_done(st);
}

int fc_store_object_get(fc_store_t *self, const uint8_t hash[FC_HASH_LEN], uint8_t **data,
                        size_t *len)
{
    *data = NULL;
    *len = 0;
    fc_db_stmt_t *st = fc_store_prep(self, "SELECT data FROM objects WHERE hash = ?");
    if (!st)
        return FC_EIO;
    fc_db_bind_blob(st, 1, hash, FC_HASH_LEN);
    int rc = fc_db_step(st);
    int err = rc == FC_DB_ROW ? FC_OK : rc == FC_DB_DONE ? FC_ENOTFOUND : fc_store_sqlite_error(rc);
    if (!err) {
        size_t n = (size_t)fc_db_column_bytes(st, 0);
        *data = n ? malloc(n) : NULL;
        if (n && !*data)
            err = FC_ENOMEM;
        else if (n) {
            memcpy(*data, fc_db_column_blob(st, 0), n);
            *len = n;
        } else
            err = FC_ENOTFOUND; /* never stored empty: as good as absent */
    }
    fc_db_finalize(st);
    return err;
}

int fc_store_object_derive(fc_store_t *self, const uint8_t hash[FC_HASH_LEN],
                           const uint8_t blob[FC_HASH_LEN])
{
    fc_chunk_t *chunks = NULL;
    uint32_t n = 0;
    int err = fc_store_blob_chunks(self, blob, FC_MAX_DERIVE_BLOB, &chunks, &n);
    uint8_t *data = NULL;
    size_t len = 0;
    if (!err)
        err = fc_mchunks_encode(chunks, n, &data, &len);
    free(chunks);
    if (!err) /* checked against its name there, as a received copy is */
        err = fc_store_object_put(self, hash, data, len);
    free(data);
    return err;
}

bool fc_store_object_held(fc_store_t *self, const uint8_t hash[FC_HASH_LEN])
{
    uint8_t *data = NULL;
    size_t len = 0;
    if (fc_store_object_get(self, hash, &data, &len) != FC_OK)
        return false;
    int bad = fc_mobj_check(hash, data, len);
    free(data);
    if (bad)
        return false;
    fc_db_stmt_t *st = fc_store_prep(self, "UPDATE objects SET added = ? WHERE hash = ?");
    if (st) {
        fc_db_bind_int64(st, 1, (int64_t)time(NULL));
        fc_db_bind_blob(st, 2, hash, FC_HASH_LEN);
    }
    /* Not refreshed (a failed write) is still held: the next query refreshes it. */
    (void)fc_store_step_done(st);
    return true;
}

/* fc_mobj_get_fn over the store: the last object read stays alive until the next call. */
typedef struct {
    fc_store_t *store;
    zhashx_t *used;
    uint8_t *last;
} s_reader_t;

static const uint8_t *s_read(const uint8_t hash[FC_HASH_LEN], size_t *len, void *arg)
{
    s_reader_t *r = (s_reader_t *)arg;
    free(r->last);
    r->last = NULL;
    if (r->used) {
        char hex[2 * FC_HASH_LEN + 1];
        zhashx_update(r->used, fc_hash_hex(hash, hex), (void *)1);
    }
    if (fc_store_object_get(r->store, hash, &r->last, len))
        return NULL;
    return r->last;
}

fc_manifest_t *fc_store_manifest_load(fc_store_t *self, const uint8_t *bytes, size_t len,
                                      zhashx_t *used, uint8_t missing[FC_HASH_LEN], int *err)
{
    s_reader_t r = {self, used, NULL};
    fc_mref_t ref;
    bool have = false;
    fc_manifest_t *m = fc_manifest_load(bytes, len, NULL, s_read, &r, &ref, &have, err);
    free(r.last);
    if (missing && have)
        memcpy(missing, ref.hash, FC_HASH_LEN);
    return m;
}

int fc_store_object_gc(fc_store_t *self, zhashx_t *keep, zhashx_t *freed, int64_t now,
                       uint64_t *removed)
{
    if (removed)
        *removed = 0;
    fc_db_stmt_t *st = fc_store_prep(self, "SELECT hash, added < ? FROM objects");
    if (!st)
        return FC_EIO;
    fc_db_bind_int64(st, 1, (int64_t)(now - FC_STORE_OBJECT_GRACE_S));
    zlistx_t *gone = zlistx_new();
    zlistx_set_destructor(gone, (zlistx_destructor_fn *)zstr_free);
    int rc;
    while ((rc = fc_db_step(st)) == FC_DB_ROW) {
        char hex[2 * FC_HASH_LEN + 1];
        if (fc_db_column_bytes(st, 0) != FC_HASH_LEN)
            continue;
        fc_hash_hex((const uint8_t *)fc_db_column_blob(st, 0), hex);
        bool old = fc_db_column_int(st, 1) != 0;
        if (!zhashx_lookup(keep, hex) && (old || (freed && zhashx_lookup(freed, hex))))
            zlistx_add_end(gone, strdup(hex));
    }
    fc_db_finalize(st);
    int err = rc == FC_DB_DONE ? FC_OK : fc_store_sqlite_error(rc);
    for (char *hex = zlistx_first(gone); hex && !err; hex = zlistx_next(gone)) {
        uint8_t hash[FC_HASH_LEN];
        if (fc_hex_decode(hash, FC_HASH_LEN, hex))
            continue;
        st = fc_store_prep(self, "DELETE FROM objects WHERE hash = ?");
        if (st)
            fc_db_bind_blob(st, 1, hash, FC_HASH_LEN);
        err = fc_store_step_done(st);
        if (!err && removed)
            (*removed)++;
    }
    zlistx_destroy(&gone);
    return err;
}
