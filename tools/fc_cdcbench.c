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

static double s_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    if (argc > 2 || (argc == 2 && argv[1][0] == '-')) {
        printf("usage: fleetcast-cdcbench [FILE]\n"
               "For each candidate min/avg/max: chunks per MiB, the bytes a 4 KiB overwrite and "
               "a 1 KiB insertion at the start of a 1 MiB random file cost, and with FILE "
               "(e.g. a source tarball) what a 20-byte insertion in its middle costs.\n");
        return argc == 2 && !strcmp(argv[1], "--help") ? 0 : 2;
    }
    fc_crypto_init();
    const size_t sets[][3] = {{8 << 10, 32 << 10, 128 << 10},
                              {16 << 10, 64 << 10, 256 << 10},
                              {32 << 10, 128 << 10, 512 << 10},
                              {64 << 10, 256 << 10, 1024 << 10}};
    const size_t fsz = 1 << 20;
    uint8_t *d = s_alloc(fsz), *over = s_alloc(fsz), *ins = s_alloc(fsz + 1024);
    uint64_t x = 1;
    for (size_t i = 0; i < fsz; i++)
        d[i] = (uint8_t)s_rand(&x);
    memcpy(over, d, fsz);
    memset(over + fsz / 3, 0x55, 4096);
    memset(ins, 7, 1024);
    memcpy(ins + 1024, d, fsz);
    uint8_t *t = NULL, *tins = NULL;
    size_t tsz = 0;
    FILE *f = argc == 2 ? fopen(argv[1], "rb") : NULL;
    if (argc == 2 && !f) {
        perror(argv[1]);
        return 1;
    }
    if (f) {
        fseek(f, 0, SEEK_END);
        tsz = (size_t)ftell(f);
        rewind(f);
        t = s_alloc(tsz);
        tins = s_alloc(tsz + 20);
        if (fread(t, 1, tsz, f) != tsz)
            return 1;
        fclose(f);
        memcpy(tins, t, tsz / 2);
        memcpy(tins + tsz / 2, "/* inserted line */\n", 20);
        memcpy(tins + tsz / 2 + 20, t + tsz / 2, tsz - tsz / 2);
    }
    printf("| min/avg/max KiB | chunks per MiB | 4 KiB overwritten | 1 KiB inserted at start |%s\n",
           t ? " 20 B inserted mid-FILE | FILE chunks |" : "");
    printf("|---|---|---|---|%s\n", t ? "---|---|" : "");
    for (size_t k = 0; k < sizeof sets / sizeof *sets; k++) {
        fc_cdc_t cdc;
        fc_cdc_init_sizes(&cdc, sets[k][0], sets[k][1], sets[k][2]);
        s_cuts_t a, b, c;
        s_cut(&cdc, d, fsz, &a);
        s_cut(&cdc, over, fsz, &b);
        s_cut(&cdc, ins, fsz + 1024, &c);
        printf("| %zu/%zu/%zu | %zu | %zu B | %zu B |", sets[k][0] >> 10, sets[k][1] >> 10,
               sets[k][2] >> 10, a.n, s_new_bytes(&a, &b), s_new_bytes(&a, &c));
        s_free(&a);
        s_free(&b);
        s_free(&c);
        if (t) {
            s_cut(&cdc, t, tsz, &a);
            s_cut(&cdc, tins, tsz + 20, &b);
            printf(" %zu B | %zu |", s_new_bytes(&a, &b), a.n);
            s_free(&a);
            s_free(&b);
        }
        printf("\n");
    }
    /* Speed of the cut alone and of the hash it sits beside. */
    const size_t big = 64u << 20;
    uint8_t *bb = s_alloc(big);
    for (size_t i = 0; i < big; i++)
        bb[i] = (uint8_t)s_rand(&x);
    fc_cdc_t cdc;
    fc_cdc_init(&cdc);
    double t0 = s_now();
    size_t n = 0;
    for (size_t s = 0; s < big; n++)
        s += fc_cdc_cut(&cdc, bb + s, big - s);
    double cut = s_now() - t0;
    uint8_t h[FC_HASH_LEN];
    t0 = s_now();
    for (size_t s = 0; s < big; s += 65536)
        fc_hash_buf(h, bb + s, 65536);
    double hash = s_now() - t0;
    printf("\ncut (%u/%u/%u KiB): %.0f MiB/s, %zu chunks in 64 MiB; BLAKE2b: %.0f MiB/s\n",
           FC_CDC_MIN >> 10, FC_CDC_AVG >> 10, FC_CDC_MAX >> 10, 64 / cut, n, 64 / hash);
    free(bb);
    free(d);
    free(over);
    free(ins);
    free(t);
    free(tins);
    return 0;
}
