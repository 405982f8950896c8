/* fc_store_backfill.c: fills the chunk index for blobs stored before it existed, a bounded step
   at a time in hex order, with the position kept in the database so a restart resumes. A
   private part of fc_store.c (fc_store_priv.h). */
#include "fc_error.h"
#include "fc_hash.h"
#include "fc_store_priv.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int fc_store_backfill_init(fc_store_t *self)
{
    /* One row: the last blob looked at (hex, "" before the first) and whether all were. */
    return fc_store_exec(self,
                         "CREATE TABLE IF NOT EXISTS chunk_index_backfill (id INTEGER PRIMARY KEY"
                         "  CHECK (id = 1), cursor TEXT NOT NULL, done INTEGER NOT NULL);"
                         "INSERT OR IGNORE INTO chunk_index_backfill (id, cursor, done)"
                         "  VALUES (1, '', 0);");
}

static int s_load(fc_store_t *self, char cursor[2 * FC_HASH_LEN + 1], bool *done)
{
    fc_db_stmt_t *st =
        fc_store_prep(self, "SELECT cursor, done FROM chunk_index_backfill WHERE id = 1");
    if (!st)
        return FC_EIO;
    int rc = fc_db_step(st);
    const char *text = rc == FC_DB_ROW ? (const char *)fc_db_column_text(st, 0) : NULL;
    snprintf(cursor, 2 * FC_HASH_LEN + 1, "%s",
             text && strlen(text) == 2 * FC_HASH_LEN ? text : "");
    *done = rc == FC_DB_ROW && fc_db_column_int(st, 1) != 0;
    fc_db_finalize(st);
    return rc == FC_DB_ROW ? FC_OK : rc == FC_DB_DONE ? FC_EIO : fc_store_sqlite_error(rc);
}

static int s_save(fc_store_t *self, const char *cursor, bool done)
{
    fc_db_stmt_t *st =
        fc_store_prep(self, "UPDATE chunk_index_backfill SET cursor = ?, done = ? WHERE id = 1");
    if (st) {
        fc_db_bind_text(st, 1, cursor, -1);
        fc_db_bind_int(st, 2, done);
    }
    return fc_store_step_done(st);
}

static int s_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The blob names in blobs/<prefix>/ after cursor, sorted (owned, *n of them). */
static char **s_list(fc_store_t *self, unsigned prefix, const char *cursor, size_t *n)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/blobs/%02x", self->dir, prefix);
    *n = 0;
    DIR *d = opendir(dir);
    if (!d)
        return NULL;
    char **names = NULL;
    size_t cap = 0;
    struct dirent *e;
    uint8_t blob[FC_HASH_LEN];
    while ((e = readdir(d)) != NULL) {
        /* Only blob files: partial uploads and anything else live elsewhere or look
           otherwise. */
        if (strlen(e->d_name) != 2 * FC_HASH_LEN || fc_hex_decode(blob, FC_HASH_LEN, e->d_name) ||
            strcmp(e->d_name, cursor) <= 0)
            continue;
        if (*n == cap) {
            cap = cap ? 2 * cap : 64;
            char **bigger = (char **)realloc(names, cap * sizeof *names);
            if (!bigger)
                break;
            names = bigger;
        }
        if (!(names[*n] = strdup(e->d_name)))
            break;
        (*n)++;
    }
    closedir(d);
    if (names)
        qsort(names, *n, sizeof *names, s_cmp);
    return names;
}

int fc_store_backfill_step(fc_store_t *self, uint64_t budget, fc_store_backfill_t *res)
{
    memset(res, 0, sizeof *res);
    char cursor[2 * FC_HASH_LEN + 1];
    int err = s_load(self, cursor, &res->done);
    if (err || res->done)
        return err;
    unsigned prefix = 0;
    if (*cursor)
        sscanf(cursor, "%2x", &prefix);
    for (; prefix < 256; prefix++) {
        size_t n = 0;
        char **names = s_list(self, prefix, cursor, &n);
        for (size_t i = 0; i < n && res->bytes < budget; i++) {
            uint8_t blob[FC_HASH_LEN];
            fc_hex_decode(blob, FC_HASH_LEN, names[i]);
            uint64_t read = 0;
            /* A damaged blob is left unindexed: agents' reports and a re-push handle it. */
            if (!fc_store_has_row(self, "SELECT 1 FROM chunk_index WHERE blob = ? LIMIT 1", blob) &&
                fc_store_blob_index(self, blob, &read) == FC_OK)
                res->indexed++;
            res->blobs++;
            res->bytes += read;
            snprintf(cursor, sizeof cursor, "%s", names[i]);
        }
        for (size_t i = 0; i < n; i++)
            free(names[i]);
        free(names);
        if (res->bytes >= budget)
            return s_save(self, cursor, false);
    }
    res->done = true;
    return s_save(self, cursor, true);
}
