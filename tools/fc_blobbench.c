/* fc_blobbench.c: what a blob costs as a file (the broker's write, fsync, rename) against as
   rows of pieces in PostgreSQL (bytea rows keyed (blob, piece), one transaction): write and
   random-read throughput, per-read latency and disk, side by side (issue 17's choice). */
#define _GNU_SOURCE
#include "fc_db.h"
#include "fc_file.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define S_PIECE (1024 * 1024) /* one row's bytes */
#define S_READ (64 * 1024)    /* one served chunk window read */
#define S_ROUNDS_MAX 9

typedef struct {
    double write_mbs, read_mbs, read_p50_us, read_p99_us;
    int64_t disk, wal;
} s_result_t;

static double s_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int s_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double s_median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, s_cmp_double);
    return v[n / 2];
}

/* p50 and p99 of n latencies (sorted in place). */
static void s_percentiles(double *lat, int n, double *p50, double *p99)
{
    qsort(lat, (size_t)n, sizeof *lat, s_cmp_double);
    *p50 = lat[n / 2] * 1e6;
    *p99 = lat[(int)((double)n * 0.99)] * 1e6;
}

/* The blob as the broker writes it: a part file written in 1 MiB writes, fsync, rename into
   blobs/, fsync of the directory. */
static int s_file_write(const char *dir, const uint8_t *data, size_t size, s_result_t *r)
{
    char part[PATH_MAX], path[PATH_MAX];
    snprintf(part, sizeof part, "%s/blob.part", dir);
    snprintf(path, sizeof path, "%s/blob", dir);
    unlink(path);
    double t0 = s_now();
    int fd = open(part, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return -1;
    for (size_t off = 0; off < size; off += S_PIECE) {
        size_t n = size - off < S_PIECE ? size - off : S_PIECE;
        if (write(fd, data + off, n) != (ssize_t)n) {
            close(fd);
            return -1;
        }
    }
    if (fsync(fd) != 0 || close(fd) != 0 || rename(part, path) != 0 || fc_fsync_dir(dir) != 0)
        return -1;
    r->write_mbs = (double)size / 1e6 / (s_now() - t0);
    struct stat sb;
    if (stat(path, &sb) != 0)
        return -1;
    r->disk = (int64_t)sb.st_blocks * 512;
    r->wal = 0;
    return 0;
}

/* Served reads: reads positioned 64 KiB reads at random aligned offsets. */
static int s_file_read(const char *dir, size_t size, int reads, const uint32_t *offs, s_result_t *r)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/blob", dir);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    static uint8_t buf[S_READ];
    double *lat = calloc((size_t)reads, sizeof *lat);
    if (!lat) {
        close(fd);
        return -1;
    }
    double t0 = s_now();
    for (int i = 0; i < reads; i++) {
        double a = s_now();
        size_t off = (size_t)offs[i] * S_READ;
        size_t n = size - off < S_READ ? size - off : S_READ;
        if (pread(fd, buf, n, (off_t)off) != (ssize_t)n) {
            free(lat);
            close(fd);
            return -1;
        }
        lat[i] = s_now() - a;
    }
    r->read_mbs = (double)reads * S_READ / 1e6 / (s_now() - t0);
    s_percentiles(lat, reads, &r->read_p50_us, &r->read_p99_us);
    free(lat);
    close(fd);
    return 0;
}

static int64_t s_pg_int(fc_db_t *db, const char *sql)
{
    fc_db_stmt_t *st = fc_db_prepare(db, sql);
    int64_t v = -1;
    if (st && fc_db_step(st) == FC_DB_ROW)
        v = fc_db_column_int64(st, 0);
    fc_db_finalize(st);
    return v;
}

static const char *S_WAL = "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::bigint";

/* The blob as rows of 1 MiB pieces, all in one transaction (the server's default
   synchronous_commit). */
static int s_pg_write(fc_db_t *db, const uint8_t *data, size_t size, s_result_t *r)
{
    if (fc_db_exec(db, "TRUNCATE blob_pieces") != FC_DB_OK)
        return -1;
    int64_t wal0 = s_pg_int(db, S_WAL);
    double t0 = s_now();
    if (fc_db_exec(db, "BEGIN") != FC_DB_OK)
        return -1;
    fc_db_stmt_t *st =
        fc_db_prepare(db, "INSERT INTO blob_pieces (blob, piece, data) VALUES (?, ?, ?)");
    if (!st)
        return -1;
    static const uint8_t blob[32] = {1};
    for (size_t off = 0, i = 0; off < size; off += S_PIECE, i++) {
        size_t n = size - off < S_PIECE ? size - off : S_PIECE;
        fc_db_bind_blob(st, 1, blob, sizeof blob);
        fc_db_bind_int64(st, 2, (int64_t)i);
        fc_db_bind_blob(st, 3, data + off, n);
        if (fc_db_step(st) != FC_DB_DONE) {
            fc_db_finalize(st);
            return -1;
        }
        fc_db_reset(st);
    }
    fc_db_finalize(st);
    if (fc_db_exec(db, "COMMIT") != FC_DB_OK)
        return -1;
    r->write_mbs = (double)size / 1e6 / (s_now() - t0);
    r->wal = s_pg_int(db, S_WAL) - wal0;
    r->disk = s_pg_int(db, "SELECT pg_total_relation_size('blob_pieces')");
    return 0;
}

/* Served reads: one SELECT of a piece's substring per 64 KiB read (storage EXTERNAL, so
   the server fetches only the TOAST chunks the range covers). */
static int s_pg_read(fc_db_t *db, size_t size, int reads, const uint32_t *offs, s_result_t *r)
{
    fc_db_stmt_t *st = fc_db_prepare(db, "SELECT substr(data, ?, ?) FROM blob_pieces "
                                         "WHERE blob = ? AND piece = ?");
    if (!st)
        return -1;
    static const uint8_t blob[32] = {1};
    double *lat = calloc((size_t)reads, sizeof *lat);
    if (!lat) {
        fc_db_finalize(st);
        return -1;
    }
    double t0 = s_now();
    for (int i = 0; i < reads; i++) {
        double a = s_now();
        size_t off = (size_t)offs[i] * S_READ;
        size_t n = size - off < S_READ ? size - off : S_READ;
        fc_db_bind_int64(st, 1, (int64_t)(off % S_PIECE) + 1);
        fc_db_bind_int64(st, 2, (int64_t)n);
        fc_db_bind_blob(st, 3, blob, sizeof blob);
        fc_db_bind_int64(st, 4, (int64_t)(off / S_PIECE));
        if (fc_db_step(st) != FC_DB_ROW || (size_t)fc_db_column_bytes(st, 0) != n ||
            !fc_db_column_blob(st, 0)) {
            fprintf(stderr, "fleetcast-blobbench: read at %zu: %s\n", off, fc_db_errmsg(db));
            free(lat);
            fc_db_finalize(st);
            return -1;
        }
        fc_db_reset(st);
        lat[i] = s_now() - a;
    }
    r->read_mbs = (double)reads * S_READ / 1e6 / (s_now() - t0);
    s_percentiles(lat, reads, &r->read_p50_us, &r->read_p99_us);
    free(lat);
    fc_db_finalize(st);
    return 0;
}

static void s_print(const char *name, s_result_t *rs, int rounds)
{
    double w[S_ROUNDS_MAX], rd[S_ROUNDS_MAX], p50[S_ROUNDS_MAX], p99[S_ROUNDS_MAX];
    double disk[S_ROUNDS_MAX], wal[S_ROUNDS_MAX];
    for (int i = 0; i < rounds; i++) {
        w[i] = rs[i].write_mbs;
        rd[i] = rs[i].read_mbs;
        p50[i] = rs[i].read_p50_us;
        p99[i] = rs[i].read_p99_us;
        disk[i] = (double)rs[i].disk / 1048576.0;
        wal[i] = (double)rs[i].wal / 1048576.0;
    }
    printf("%-6s write MB/s:", name);
    for (int i = 0; i < rounds; i++)
        printf(" %.1f", w[i]);
    printf("  median %.1f\n", s_median(w, rounds));
    printf("%-6s read MB/s:", name);
    for (int i = 0; i < rounds; i++)
        printf(" %.1f", rd[i]);
    printf("  median %.1f\n", s_median(rd, rounds));
    printf("%-6s read latency us: p50 median %.0f, p99 median %.0f\n", name, s_median(p50, rounds),
           s_median(p99, rounds));
    printf("%-6s disk MiB: median %.1f, WAL MiB: median %.1f\n", name, s_median(disk, rounds),
           s_median(wal, rounds));
}

int main(int argc, char **argv)
{
    if (argc != 3 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        printf("usage: fleetcast-blobbench DIR CONNINFO\n"
               "A blob of FC_BLOBBENCH_MIB MiB (default 256) of random bytes, stored as a file\n"
               "in DIR (write, fsync, rename, fsync of DIR) and as 1 MiB bytea rows in\n"
               "PostgreSQL (CONNINFO; one transaction), alternating for FC_BLOBBENCH_ROUNDS\n"
               "rounds (default 3): write MB/s, random 64 KiB reads (FC_BLOBBENCH_READS,\n"
               "default 2048) MB/s and p50/p99 latency, disk (file blocks; table size and\n"
               "WAL generated). Prints each round's figure and the median.\n");
        return argc != 3 ? 2 : 0;
    }
    const char *e = getenv("FC_BLOBBENCH_MIB");
    long mib = e ? strtol(e, NULL, 10) : 256;
    e = getenv("FC_BLOBBENCH_ROUNDS");
    int rounds = e ? (int)strtol(e, NULL, 10) : 3;
    e = getenv("FC_BLOBBENCH_READS");
    int reads = e ? (int)strtol(e, NULL, 10) : 2048;
    if (mib < 1 || mib > 4096 || rounds < 1 || rounds > S_ROUNDS_MAX || reads < 1 ||
        reads > 1000000) {
        fprintf(stderr,
                "fleetcast-blobbench: FC_BLOBBENCH_MIB 1..4096, _ROUNDS 1..%d, "
                "_READS 1..1000000\n",
                S_ROUNDS_MAX);
        return 2;
    }
    if (sodium_init() < 0)
        return 1;
    size_t size = (size_t)mib * 1048576;
    uint8_t *data = malloc(size);
    uint32_t *offs = malloc((size_t)reads * sizeof *offs);
    if (!data || !offs)
        return 1;
    randombytes_buf(data, size); /* incompressible, as most release payloads are */
    for (int i = 0; i < reads; i++)
        offs[i] = randombytes_uniform((uint32_t)(size / S_READ));
    int rc;
    char text[256];
    fc_db_t *db = fc_db_open(argv[2], &rc, text, sizeof text);
    if (!db) {
        fprintf(stderr, "fleetcast-blobbench: %s: %s\n", argv[2], text);
        return 1;
    }
    if (fc_db_exec(db, "CREATE TABLE IF NOT EXISTS blob_pieces (blob BLOB NOT NULL, "
                       "piece INTEGER NOT NULL, data BLOB NOT NULL, PRIMARY KEY (blob, piece))") !=
            FC_DB_OK ||
        fc_db_exec(db, "ALTER TABLE blob_pieces ALTER COLUMN data SET STORAGE EXTERNAL") !=
            FC_DB_OK) {
        fprintf(stderr, "fleetcast-blobbench: %s\n", fc_db_errmsg(db));
        return 1;
    }
    printf("blob %ld MiB, %d rounds, %d random reads of %d KiB a round\n", mib, rounds, reads,
           S_READ / 1024);
    s_result_t file[S_ROUNDS_MAX], pg[S_ROUNDS_MAX];
    for (int i = 0; i < rounds; i++) {
        /* alternating, the one first each round in turn, so drift in the machine's load
           falls on both */
        for (int k = 0; k < 2; k++) {
            bool pgturn = (k + i) % 2 == 1;
            int err = pgturn ? s_pg_write(db, data, size, &pg[i])
                             : s_file_write(argv[1], data, size, &file[i]);
            if (!err)
                err = pgturn ? s_pg_read(db, size, reads, offs, &pg[i])
                             : s_file_read(argv[1], size, reads, offs, &file[i]);
            if (err) {
                fprintf(stderr, "fleetcast-blobbench: round %d, %s: %s\n", i + 1,
                        pgturn ? "postgresql" : "file",
                        pgturn ? fc_db_errmsg(db) : strerror(errno));
                return 1;
            }
        }
        fprintf(stderr, "round %d: file %.1f/%.1f MB/s, postgresql %.1f/%.1f MB/s (write/read)\n",
                i + 1, file[i].write_mbs, file[i].read_mbs, pg[i].write_mbs, pg[i].read_mbs);
    }
    s_print("file", file, rounds);
    s_print("pg", pg, rounds);
    fc_db_exec(db, "DROP TABLE blob_pieces");
    fc_db_close(&db);
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/blob", argv[1]);
    unlink(path);
    free(data);
    free(offs);
    return 0;
}
