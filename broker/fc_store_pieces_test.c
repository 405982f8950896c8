/* fc_store_pieces_test.c: self-test of blobs kept as pieces in a PostgreSQL store: a blob
   committed through one store (broker) is read whole by another store on the same database
   with another data dir, whose file then appears complete; on SQLite nothing changes (the
   other data dir has no blob). */
#include "fc_db.h"
#include "fc_error.h"
#include "fc_file.h"
#include "fc_limits.h"
#include "fc_store_pieces.h"
#include "fc_store_priv.h"
#include "fc_store_testdb.h"
#include "fc_test_blob.h"
#include "fc_test_check.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* 2.5 MiB: three pieces, the last one short. */
#define S_LEN (5u * 512u * 1024u)

static void s_upload(fc_store_t *store, const uint8_t *buf, size_t len, uint8_t blob[FC_HASH_LEN])
{
    fc_test_blob_id(blob, buf, len);
    bool complete;
    fc_range_t *ranges;
    size_t nranges;
    FC_CHECK(fc_store_blob_state(store, blob, len, &complete, &ranges, &nranges) == FC_OK);
    free(ranges);
    for (size_t off = 0; off < len; off += FC_CHUNK_SIZE) {
        size_t n = len - off < FC_CHUNK_SIZE ? len - off : FC_CHUNK_SIZE;
        uint8_t h[FC_HASH_LEN];
        fc_hash_buf(h, buf + off, n);
        FC_CHECK(fc_store_put_chunk(store, blob, off, buf + off, n, h) == FC_OK);
    }
    FC_CHECK(fc_store_blob_commit(store, blob, len) == FC_OK);
}

void fc_store_pieces_test(bool verbose)
{
    if (verbose)
        printf(" * fc_store_pieces: ");
    char a[] = "/tmp/fc_store_pieces_test_XXXXXX", b[] = "/tmp/fc_store_pieces_test_XXXXXX";
    FC_CHECK(mkdtemp(a) && mkdtemp(b));
    char where[1024];
    const char *db = fc_store_testdb_where(a, where, sizeof where);
    int err = FC_OK;
    fc_store_t *sa = fc_store_new_db(a, db, &err, NULL, 0);
    fc_store_t *sb = fc_store_new_db(b, db, &err, NULL, 0);
    FC_CHECK(sa && sb);

    uint8_t *buf = malloc(S_LEN), *back = malloc(S_LEN);
    FC_CHECK(buf && back);
    for (size_t i = 0; i < S_LEN; i++)
        buf[i] = (uint8_t)(i * 131u + (i >> 12));
    uint8_t blob[FC_HASH_LEN];
    s_upload(sa, buf, S_LEN, blob);
    uint64_t size = 0;
    bool pg = fc_store_testdb_pg();
    if (!pg) {
        FC_CHECK(fc_store_pieces_size(sa, blob, &size) == FC_ENOTFOUND);
        FC_CHECK(!fc_store_blob_exists(sb, blob, &size)); /* SQLite: unchanged */
    } else {
        FC_CHECK(fc_store_pieces_size(sa, blob, &size) == FC_OK && size == S_LEN);
        /* The other broker reads it (its file filled from the database at the first ask). */
        FC_CHECK(fc_store_blob_read(sb, blob, 0, back, S_LEN) == FC_OK);
        FC_CHECK(memcmp(back, buf, S_LEN) == 0);
        FC_CHECK(fc_store_blob_verify(sb, blob) == FC_OK);
        FC_CHECK(fc_store_blob_exists(sb, blob, &size) && size == S_LEN);
        char hex[2 * FC_HASH_LEN + 1], path[512];
        fc_hash_hex(blob, hex);
        snprintf(path, sizeof path, "%s/incoming/%s.fill", b, hex);
        FC_CHECK(access(path, F_OK) != 0); /* renamed into blobs/, none left */

        /* A damaged piece: the fill's verification refuses it and no file appears. */
        uint8_t other[FC_HASH_LEN];
        uint8_t *buf2 = malloc(S_LEN);
        FC_CHECK(buf2);
        for (size_t i = 0; i < S_LEN; i++)
            buf2[i] = (uint8_t)(i * 7u + 3u);
        s_upload(sa, buf2, S_LEN, other);
        char why[256];
        fc_db_t *conn = fc_db_open(db, &err, why, sizeof why);
        FC_CHECK(conn);
        fc_db_stmt_t *st =
            fc_db_prepare(conn, "UPDATE blob_pieces SET data = ? WHERE blob = ? AND piece = 1");
        FC_CHECK(st);
        fc_db_bind_blob(st, 1, buf, 1024 * 1024);
        fc_db_bind_blob(st, 2, other, FC_HASH_LEN);
        FC_CHECK(fc_db_step(st) == FC_DB_DONE);
        fc_db_finalize(st);
        fc_db_close(&conn);
        FC_CHECK(!fc_store_blob_exists(sb, other, &size));
        FC_CHECK(fc_store_blob_read(sb, other, 0, back, 1) == FC_ENOTFOUND);
        fc_hash_hex(other, hex);
        snprintf(path, sizeof path, "%s/blobs/%.2s/%s", b, hex, hex);
        FC_CHECK(access(path, F_OK) != 0);
        free(buf2);
    }
    free(buf);
    free(back);
    fc_store_destroy(&sa);
    fc_store_destroy(&sb);
    fc_remove_tree(a);
    fc_remove_tree(b);
    if (verbose)
        printf("OK\n");
}
