/* fc_cdcbench.c: measures candidate content-defined chunk sizes (bytes an edit costs, chunks
   per MiB, cut speed), the figures behind FC_CDC_MIN/AVG/MAX (docs/BENCHMARKS.md). */
#include "fc_cdc.h"
#include "fc_hash.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct {
    size_t n;
    uint8_t (*hash)[FC_HASH_LEN];
    size_t *len;
} s_cuts_t;

static void *s_alloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) {
        fprintf(stderr, "fc_cdcbench: out of memory\n");
        exit(1);
    }
    return p;
}

static void s_cut(const fc_cdc_t *cdc, const uint8_t *d, size_t size, s_cuts_t *out)
{
    size_t cap = size / 1024 + 16;
    out->n = 0;
    out->hash = s_alloc(cap * FC_HASH_LEN);
    out->len = s_alloc(cap * sizeof *out->len);
    for (size_t s = 0; s < size;) {
        size_t n = fc_cdc_cut(cdc, d + s, size - s);
        fc_hash_buf(out->hash[out->n], d + s, n);
        out->len[out->n++] = n;
        s += n;
    }
}

static void s_free(s_cuts_t *c)
{
    free(c->hash);
    free(c->len);
}

/* Bytes of b's chunks that a lacks: what an agent holding a fetches for b. */
static size_t s_new_bytes(const s_cuts_t *a, const s_cuts_t *b)
{
    size_t total = 0;
    for (size_t i = 0; i < b->n; i++) {
        bool found = false;
        for (size_t j = 0; j < a->n && !found; j++)
            found = !memcmp(a->hash[j], b->hash[i], FC_HASH_LEN);
        total += found ? 0 : b->len[i];
    }
    return total;
}

static uint64_t s_rand(uint64_t *x)
{
    *x = *x * 6364136223846793005ull + 1442695040888963407ull;
    return *x >> 56;
}

static int s_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double s_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Bytes of the chunk list object naming c's chunks (proto/fc_manifest_parts.c packs each as
   [length, hash]): what an agent fetches beside the data for a changed file. */
static size_t s_list_bytes(const s_cuts_t *c)
{
    size_t total = c->n < 16 ? 1 : c->n < 65536 ? 3 : 5;
    for (size_t i = 0; i < c->n; i++)
        total += 1 + (c->len[i] < 128 ? 1 : c->len[i] < 256 ? 2 : c->len[i] < 65536 ? 3 : 5) + 34;
    return total;
}

static uint8_t *s_read(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        exit(1);
    }
    fseek(f, 0, SEEK_END);
    *size = (size_t)ftell(f);
    rewind(f);
    uint8_t *d = s_alloc(*size);
    if (fread(d, 1, *size, f) != *size) {
        perror(path);
        exit(1);
    }
    fclose(f);
    return d;
}

/* The candidates, min/avg/max and normalization level: 16/64/256 KiB at level 2 (chosen
   first, still the cut of large files) and smaller ones now that format 3 sends only a
   changed file's chunk list, at levels 1 and 2. */
static const size_t s_sets[][4] = {
    {1 << 10, 4 << 10, 16 << 10, 1},     {1 << 10, 4 << 10, 16 << 10, 2},
    {2 << 10, 8 << 10, 32 << 10, 1},     {2 << 10, 8 << 10, 32 << 10, 2},
    {4 << 10, 16 << 10, 64 << 10, 1},    {4 << 10, 16 << 10, 64 << 10, 2},
    {8 << 10, 32 << 10, 128 << 10, 2},   {16 << 10, 64 << 10, 256 << 10, 2},
    {32 << 10, 128 << 10, 512 << 10, 2}, {64 << 10, 256 << 10, 1024 << 10, 2}};
#define S_NSETS (sizeof s_sets / sizeof *s_sets)
#define S_TRIALS 200

/* OLD NEW: per candidate, what NEW costs an agent holding OLD: new chunk bytes, and those
   plus NEW's chunk list. */
static int s_pair(const char *old_path, const char *new_path)
{
    size_t osz, nsz;
    uint8_t *o = s_read(old_path, &osz), *n = s_read(new_path, &nsz);
    printf("| min/avg/max KiB, level | chunks of NEW | new chunk bytes | + chunk list |\n"
           "|---|---|---|---|\n");
    for (size_t k = 0; k < S_NSETS; k++) {
        fc_cdc_t cdc;
        fc_cdc_init_sizes(&cdc, s_sets[k][0], s_sets[k][1], s_sets[k][2], (unsigned)s_sets[k][3]);
        s_cuts_t a, b;
        s_cut(&cdc, o, osz, &a);
        s_cut(&cdc, n, nsz, &b);
        size_t bytes = s_new_bytes(&a, &b);
        printf("| %zu/%zu/%zu, %zu | %zu | %zu B | %zu B |\n", s_sets[k][0] >> 10,
               s_sets[k][1] >> 10, s_sets[k][2] >> 10, s_sets[k][3], b.n, bytes,
               bytes + s_list_bytes(&b));
        s_free(&a);
        s_free(&b);
    }
    free(o);
    free(n);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 3 || (argc >= 2 && argv[1][0] == '-')) {
        printf("usage: fleetcast-cdcbench [FILE | OLD NEW]\n"
               "For each candidate min/avg/max, over %d random 1 MiB files: chunks per MiB, the "
               "bytes of new chunks a 4 KiB overwrite at a random offset and a 1 KiB "
               "insertion at the start cost (mean), and those plus the file's chunk list (mean, "
               "90th percentile, max) (what an agent "
               "fetches for a changed file beside the top and page); with FILE (e.g. a source "
               "tarball) what a 20-byte insertion in its middle costs; with OLD NEW what NEW "
               "costs an agent holding OLD.\n",
               S_TRIALS);
        return argc == 2 && !strcmp(argv[1], "--help") ? 0 : 2;
    }
    fc_crypto_init();
    if (argc == 3)
        return s_pair(argv[1], argv[2]);
    const size_t fsz = 1 << 20;
    uint8_t *d = s_alloc(fsz), *over = s_alloc(fsz), *ins = s_alloc(fsz + 1024);
    uint64_t x = 1;
    uint8_t *t = NULL, *tins = NULL;
    size_t tsz = 0;
    if (argc == 2) {
        t = s_read(argv[1], &tsz);
        tins = s_alloc(tsz + 20);
        memcpy(tins, t, tsz / 2);
        memcpy(tins + tsz / 2, "/* inserted line */\n", 20);
        memcpy(tins + tsz / 2 + 20, t + tsz / 2, tsz - tsz / 2);
    }
    printf("| min/avg/max KiB, level | chunks per MiB | 4 KiB overwritten: data, + list (mean "
           "/ p90 / max) | 1 KiB inserted at start: data, + list (mean / p90 / max) | cut MiB/s "
           "|%s\n",
           t ? " 20 B inserted mid-FILE | FILE chunks |" : "");
    printf("|---|---|---|---|---|%s\n", t ? "---|---|" : "");
    const size_t big = 64u << 20;
    uint8_t *bb = s_alloc(big);
    for (size_t i = 0; i < big; i++)
        bb[i] = (uint8_t)s_rand(&x);
    for (size_t k = 0; k < S_NSETS; k++) {
        fc_cdc_t cdc;
        fc_cdc_init_sizes(&cdc, s_sets[k][0], s_sets[k][1], s_sets[k][2], (unsigned)s_sets[k][3]);
        /* Over S_TRIALS files: one file's figure moves by chunks with where cuts fall, and a
           benchmark run sees one file, so the tail matters as much as the mean. */
        double nch = 0, ov = 0, in = 0, ovl[S_TRIALS], inl[S_TRIALS];
        for (int r = 0; r < S_TRIALS; r++) {
            for (size_t i = 0; i < fsz; i++)
                d[i] = (uint8_t)s_rand(&x);
            memcpy(over, d, fsz);
            size_t at = (size_t)((s_rand(&x) << 16 | s_rand(&x) << 8 | s_rand(&x)) % (fsz - 4096));
            for (size_t i = 0; i < 4096; i++)
                over[at + i] = (uint8_t)s_rand(&x);
            for (size_t i = 0; i < 1024; i++)
                ins[i] = (uint8_t)s_rand(&x);
            memcpy(ins + 1024, d, fsz);
            s_cuts_t a, b, c;
            s_cut(&cdc, d, fsz, &a);
            s_cut(&cdc, over, fsz, &b);
            s_cut(&cdc, ins, fsz + 1024, &c);
            nch += (double)a.n;
            ov += (double)s_new_bytes(&a, &b);
            ovl[r] = (double)(s_new_bytes(&a, &b) + s_list_bytes(&b));
            in += (double)s_new_bytes(&a, &c);
            inl[r] = (double)(s_new_bytes(&a, &c) + s_list_bytes(&c));
            s_free(&a);
            s_free(&b);
            s_free(&c);
        }
        double ovm = 0, inm = 0;
        for (int r = 0; r < S_TRIALS; r++)
            ovm += ovl[r], inm += inl[r];
        qsort(ovl, S_TRIALS, sizeof *ovl, s_cmp);
        qsort(inl, S_TRIALS, sizeof *inl, s_cmp);
        /* Speed of the cut alone, over 64 MiB. */
        double t0 = s_now();
        for (size_t s = 0; s < big;)
            s += fc_cdc_cut(&cdc, bb + s, big - s);
        double cut = s_now() - t0;
        printf(
            "| %zu/%zu/%zu, %zu | %.0f | %.0f, %.0f / %.0f / %.0f B | %.0f, %.0f / %.0f / %.0f B "
            "| %.0f |",
            s_sets[k][0] >> 10, s_sets[k][1] >> 10, s_sets[k][2] >> 10, s_sets[k][3],
            nch / S_TRIALS, ov / S_TRIALS, ovm / S_TRIALS, ovl[S_TRIALS * 9 / 10],
            ovl[S_TRIALS - 1], in / S_TRIALS, inm / S_TRIALS, inl[S_TRIALS * 9 / 10],
            inl[S_TRIALS - 1], 64 / cut);
        if (t) {
            s_cuts_t a, b;
            s_cut(&cdc, t, tsz, &a);
            s_cut(&cdc, tins, tsz + 20, &b);
            printf(" %zu B | %zu |", s_new_bytes(&a, &b), a.n);
            s_free(&a);
            s_free(&b);
        }
        printf("\n");
    }
    /* The hash every chunk needs anyway, beside the cut. */
    uint8_t h[FC_HASH_LEN];
    double t0 = s_now();
    for (size_t s = 0; s < big; s += 65536)
        fc_hash_buf(h, bb + s, 65536);
    printf("\nBLAKE2b: %.0f MiB/s; in use: %u/%u/%u KiB, level %u, below %u MiB; %u/%u/%u KiB, "
           "level %u, from there\n",
           64 / (s_now() - t0), FC_CDC_MIN >> 10, FC_CDC_AVG >> 10, FC_CDC_MAX >> 10, FC_CDC_LEVEL,
           FC_CDC_LARGE_FILE >> 20, FC_CDC_LARGE_MIN >> 10, FC_CDC_LARGE_AVG >> 10,
           FC_CDC_LARGE_MAX >> 10, FC_CDC_LARGE_LEVEL);
    free(bb);
    free(d);
    free(over);
    free(ins);
    free(t);
    free(tins);
    return 0;
}
