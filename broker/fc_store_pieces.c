/* fc_store_pieces.c: blobs kept as rows of pieces in a PostgreSQL store, the replicated copy
   each broker's file cache fills from (fc_store_pieces.h); a private part of fc_store
   (fc_store_priv.h). */
#include "fc_store_pieces.h"
#include "fc_error.h"
#include "fc_file.h"
#include "fc_store_priv.h"

#include <errno.h>
#include <stdlib.h>

/* One row's bytes: 1 MiB rows wrote at 225 MB/s and read back at 200 MB/s in
   fleetcast-blobbench, and bound what one row costs in memory on either side. */
#define S_PIECE (1024 * 1024)

int fc_store_pieces_init(fc_store_t *self)
{
    if (!fc_db_is_pg(self->db))
        return FC_OK;
    return fc_store_exec(self, "CREATE TABLE IF NOT EXISTS blob_pieces (blob BLOB NOT NULL,"
                               "  piece INTEGER NOT NULL, data BLOB NOT NULL,"
                               "  PRIMARY KEY (blob, piece));"
                               "CREATE TABLE IF NOT EXISTS blob_stored (blob BLOB PRIMARY KEY,"
                               "  size INTEGER NOT NULL);");
}

int fc_store_pieces_size(fc_store_t *self, const uint8_t blob[FC_HASH_LEN], uint64_t *size)
{
    if (!fc_db_is_pg(self->db))
        return FC_ENOTFOUND;
    fc_db_stmt_t *st = fc_store_prep(self, "SELECT size FROM blob_stored WHERE blob = ?");
    if (!st)
        return FC_EIO;
    fc_db_bind_blob(st, 1, blob, FC_HASH_LEN);
    int rc = fc_db_step(st);
    int err = rc == FC_DB_ROW ? FC_OK : rc == FC_DB_DONE ? FC_ENOTFOUND : fc_store_sqlite_error(rc);
    if (rc == FC_DB_ROW) {
        int64_t v = fc_db_column_int64(st, 0);
        if (v < 0)
            err = FC_ENOTFOUND;
        *size = (uint64_t)v;
    }
    fc_db_finalize(st);
    return err;
}

/* Inserts every piece and then the blob_stored row, inside the open transaction. */
static int s_put_rows(fc_store_t *self, const uint8_t blob[FC_HASH_LEN], int fd, uint64_t size,
                      uint8_t *buf)
{
    fc_db_stmt_t *st = fc_store_prep(
        self, "INSERT OR IGNORE INTO blob_pieces (blob, piece, data) VALUES (?, ?, ?)");
    if (!st)
        return FC_EIO;
    int err = FC_OK;
    for (uint64_t off = 0, i = 0; off < size && !err; off += S_PIECE, i++) {
        size_t n = size - off < S_PIECE ? (size_t)(size - off) : S_PIECE;
        if (fc_pread_all(fd, buf, n, off) != 0) {
            err = FC_EIO;
            break;
        }
        fc_db_bind_blob(st, 1, blob, FC_HASH_LEN);
        fc_db_bind_int64(st, 2, (int64_t)i);
        fc_db_bind_blob(st, 3, buf, n);
        int rc = fc_db_step(st);
        if (rc != FC_DB_DONE)
            err = fc_store_sqlite_error(rc);
        fc_db_reset(st);
    }
    fc_db_finalize(st);
    if (err)
        return err;
    st = fc_store_prep(self, "INSERT OR IGNORE INTO blob_stored (blob, size) VALUES (?, ?)");
    if (st) {
        fc_db_bind_blob(st, 1, blob, FC_HASH_LEN);
        fc_db_bind_int64(st, 2, (int64_t)size);
    }
    return fc_store_step_done(st);
}

int fc_store_pieces_put(fc_store_t *self, const uint8_t blob[FC_HASH_LEN], int fd, uint64_t size)
{
    uint64_t have;
    int err = fc_store_pieces_size(self, blob, &have);
    if (err != FC_ENOTFOUND)
        return err; /* stored already (FC_OK), or an error */
    if (size > INT64_MAX)
        return FC_ETOOBIG;
    uint8_t *buf = malloc(S_PIECE);
    if (!buf)
        return FC_ENOMEM;
    err = fc_store_begin(self); /* a savepoint inside a batch */
    if (!err)
        err = s_put_rows(self, blob, fd, size, buf);
    err = fc_store_end(self, err);
    free(buf);
    return err;
}

int fc_store_pieces_copy(fc_store_t *self, const uint8_t blob[FC_HASH_LEN], uint64_t size, int fd)
{
    fc_db_stmt_t *st =
        fc_store_prep(self, "SELECT data FROM blob_pieces WHERE blob = ? AND piece = ?");
    if (!st)
        return FC_EIO;
    int err = FC_OK;
    /* One row a query: a SELECT of all of them would hold the whole blob in libpq's memory. */
    for (uint64_t off = 0, i = 0; off < size && !err; off += S_PIECE, i++) {
        size_t want = size - off < S_PIECE ? (size_t)(size - off) : S_PIECE;
        fc_db_bind_blob(st, 1, blob, FC_HASH_LEN);
        fc_db_bind_int64(st, 2, (int64_t)i);
        int rc = fc_db_step(st);
        if (rc == FC_DB_ROW) {
            const void *data = fc_db_column_blob(st, 0);
            size_t n = (size_t)fc_db_column_bytes(st, 0);
            if (n != want || (n > 0 && !data))
                err = FC_EHASH; /* rows that do not add up to the recorded size */
            else if (fc_pwrite_all(fd, data, n, off) != 0)
                err = fc_errno_to_error(errno);
        } else
            err = rc == FC_DB_DONE ? FC_EHASH : fc_store_sqlite_error(rc);
        fc_db_reset(st);
    }
    fc_db_finalize(st);
    return err;
}

int fc_store_pieces_remove(fc_store_t *self, const uint8_t blob[FC_HASH_LEN])
{
    if (!fc_db_is_pg(self->db))
        return FC_OK;
    const char *const sqls[] = {"DELETE FROM blob_stored WHERE blob = ?",
                                "DELETE FROM blob_pieces WHERE blob = ?"};
    return fc_store_delete_blob_rows(self, sqls, 2, blob);
}
