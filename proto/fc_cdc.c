/* fc_cdc.c: content-defined chunking: a gear rolling hash cut with FastCDC's normalized
   chunking (Xia et al., USENIX ATC 2016), so an edit moves only the chunks around it. */
#include "fc_cdc.h"
#include "fc_error.h"
#include "fc_hash.h"
#include "fc_limits.h"
#include "fc_test_check.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* splitmix64: a fixed, portable source for the gear table (any fixed random table works;
   it must only never change, since the cut names every released chunk). */
static uint64_t s_splitmix(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* The top `bits` bits set. The gear hash shifts left, so its high bits depend on the last 64
   bytes and its low bits on the last few only: a cut tests high bits. */
static uint64_t s_top_bits(unsigned bits)
{
    return bits == 0 ? 0 : ~0ull << (64 - bits);
}

void fc_cdc_init_sizes(fc_cdc_t *self, size_t min, size_t avg, size_t max, unsigned level)
{
    assert(self && min > 64 && min < avg && avg < max && max <= FC_MAX_CHUNK && level <= 3);
    assert((avg & (avg - 1)) == 0);
    uint64_t state = 0x666c656574636173ull; /* "fleetcas" */
    for (size_t i = 0; i < 256; i++)
        self->gear[i] = s_splitmix(&state);
    unsigned bits = 0;
    while (((size_t)1 << bits) < avg)
        bits++;
    self->min = min;
    self->avg = avg;
    self->max = max;
    /* Normalization: more bits before avg, fewer after, which narrows the spread of chunk
       lengths around avg (fewer tiny and fewer maximal chunks). The price: a cut found after
       avg is no cut when a shifted chunk start puts it before avg, so after an insertion the
       chunks take longer to fall back on the old cuts; the higher the level, the longer. */
    self->mask_small = s_top_bits(bits + level);
    self->mask_large = s_top_bits(bits - level);
}

static void s_init_large(fc_cdc_t *self, bool large)
{
    if (large)
        fc_cdc_init_sizes(self, FC_CDC_LARGE_MIN, FC_CDC_LARGE_AVG, FC_CDC_LARGE_MAX,
                          FC_CDC_LARGE_LEVEL);
    else
        fc_cdc_init_sizes(self, FC_CDC_MIN, FC_CDC_AVG, FC_CDC_MAX, FC_CDC_LEVEL);
}

void fc_cdc_init(fc_cdc_t *self, uint64_t size)
{
    s_init_large(self, size >= FC_CDC_LARGE_FILE);
}

void fc_cdc_init_other(fc_cdc_t *self, uint64_t size)
{
    s_init_large(self, size < FC_CDC_LARGE_FILE);
}

size_t fc_cdc_cut(const fc_cdc_t *self, const uint8_t *buf, size_t len)
{
    if (len <= self->min)
        return len;
    size_t end = len < self->max ? len : self->max;
    size_t normal = end < self->avg ? end : self->avg;
    uint64_t h = 0;
    /* The first min bytes are never a cut: skipping them is FastCDC's speed-up too. */
    size_t i = self->min;
    for (; i < normal; i++) {
        h = (h << 1) + self->gear[buf[i]];
        if (!(h & self->mask_small))
            return i + 1;
    }
    for (; i < end; i++) {
        h = (h << 1) + self->gear[buf[i]];
        if (!(h & self->mask_large))
            return i + 1;
    }
    return end;
}

/* The longest chunk the reader's cut makes. */
static size_t s_reader_max(const fc_cdc_reader_t *self)
{
    return self->cdc ? self->cdc->max : FC_CHUNK_SIZE;
}

int fc_cdc_reader_init(fc_cdc_reader_t *self, const fc_cdc_t *cdc, int fd)
{
    *self = (fc_cdc_reader_t){.cdc = cdc, .fd = fd};
    self->buf = malloc(2 * s_reader_max(self));
    return self->buf ? FC_OK : FC_ENOMEM;
}

int fc_cdc_reader_next(fc_cdc_reader_t *self, const uint8_t **chunk, size_t *len)
{
    size_t max = s_reader_max(self), cap = 2 * max;
    /* Keep at least max bytes ahead of the cut (fc_cdc_cut's rule) unless the file ends. */
    if (self->fill - self->pos < max && !self->eof) {
        memmove(self->buf, self->buf + self->pos, self->fill - self->pos);
        self->fill -= self->pos;
        self->pos = 0;
        while (self->fill < cap && !self->eof) {
            ssize_t n =
                pread(self->fd, self->buf + self->fill, cap - self->fill, (off_t)self->offset);
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0)
                return -1;
            self->eof = n == 0;
            self->fill += (size_t)n;
            self->offset += (uint64_t)n;
        }
    }
    size_t left = self->fill - self->pos;
    size_t n = self->cdc    ? fc_cdc_cut(self->cdc, self->buf + self->pos, left)
               : left < max ? left
                            : max;
    if (n == 0)
        return 0;
    *chunk = self->buf + self->pos;
    *len = n;
    self->pos += n;
    return 1;
}

void fc_cdc_reader_free(fc_cdc_reader_t *self)
{
    free(self->buf);
    self->buf = NULL;
}

/* --- self-test -------------------------------------------------------------------------- */

typedef struct {
    size_t n;
    size_t len[4096];
    uint8_t hash[4096][FC_HASH_LEN];
} s_cuts_t;

/* Cuts data as a streaming reader would, feeding it step bytes at a time into a buffer of
   max + step bytes (step 0: all at once). */
static void s_cut_all(const fc_cdc_t *cdc, const uint8_t *data, size_t size, size_t step,
                      s_cuts_t *out)
{
    out->n = 0;
    size_t start = 0, have = 0; /* data[start .. start+have) is "buffered" */
    while (start < size) {
        size_t avail = size - start;
        if (step) {
            while (have < cdc->max && start + have < size)
                have += step;
            if (start + have > size)
                have = size - start;
            avail = have;
        }
        size_t n = fc_cdc_cut(cdc, data + start, avail);
        FC_CHECK(n >= 1 && n <= cdc->max && out->n < 4096);
        out->len[out->n] = n;
        fc_hash_buf(out->hash[out->n], data + start, n);
        out->n++;
        start += n;
        have = have > n ? have - n : 0;
    }
}

static bool s_has(const s_cuts_t *c, const uint8_t hash[FC_HASH_LEN])
{
    for (size_t i = 0; i < c->n; i++)
        if (!memcmp(c->hash[i], hash, FC_HASH_LEN))
            return true;
    return false;
}

/* Bytes of b's chunks that a has no chunk for. */
static size_t s_new_bytes(const s_cuts_t *a, const s_cuts_t *b, size_t *nnew)
{
    size_t bytes = 0;
    *nnew = 0;
    for (size_t i = 0; i < b->n; i++)
        if (!s_has(a, b->hash[i])) {
            bytes += b->len[i];
            (*nnew)++;
        }
    return bytes;
}

/* Every property of one cut (the small or the large one), on fixed data. */
static void s_test_cut(const fc_cdc_t *cdcp, bool verbose)
{
    fc_cdc_t cdc = *cdcp;
    FC_CHECK(cdc.max <= FC_CHUNK_SIZE && cdc.max <= FC_MAX_CHUNK);
    if (verbose)
        printf("%zu/%zu/%zu KiB: ", cdc.min >> 10, cdc.avg >> 10, cdc.max >> 10);

    /* Fixed data: 8 MiB from a fixed seed, so the cuts below are the same on every run. */
    const size_t size = 8u << 20, ins = 1024;
    uint8_t *data = malloc(size + ins);
    FC_CHECK(data);
    uint64_t seed = 42;
    for (size_t i = 0; i < size; i += 8) {
        uint64_t v = s_splitmix(&seed);
        memcpy(data + i, &v, 8);
    }
    s_cuts_t *a = malloc(sizeof *a), *b = malloc(sizeof *b);
    FC_CHECK(a && b);

    /* Bounds: every chunk but the last is min..max long; they cover the data; the mean is
       near avg (normalized chunking keeps it within a factor of two). */
    s_cut_all(&cdc, data, size, 0, a);
    size_t total = 0, at_max = 0;
    for (size_t i = 0; i < a->n; i++) {
        total += a->len[i];
        FC_CHECK(a->len[i] <= cdc.max);
        FC_CHECK(i + 1 == a->n || a->len[i] >= cdc.min);
        at_max += a->len[i] == cdc.max;
    }
    FC_CHECK(total == size);
    FC_CHECK(size / a->n > cdc.avg / 2 && size / a->n < cdc.avg * 2);
    FC_CHECK(at_max * 20 < a->n); /* random data is rarely cut by the max */
    if (verbose)
        printf("%zu chunks, mean %zu, %zu at max; ", a->n, size / a->n, at_max);

    /* Determinism: a streaming reader holding max bytes cuts exactly as one holding it all,
       whatever its read size. */
    size_t steps[] = {1000, 4096, 65536, 300000};
    for (size_t s = 0; s < sizeof steps / sizeof *steps; s++) {
        s_cut_all(&cdc, data, size, steps[s], b);
        FC_CHECK(b->n == a->n);
        for (size_t i = 0; i < a->n; i++)
            FC_CHECK(b->len[i] == a->len[i] && !memcmp(b->hash[i], a->hash[i], FC_HASH_LEN));
    }

    /* Short input is one chunk; nothing is no chunk. */
    FC_CHECK(fc_cdc_cut(&cdc, data, 0) == 0);
    FC_CHECK(fc_cdc_cut(&cdc, data, 100) == 100);
    FC_CHECK(fc_cdc_cut(&cdc, data, cdc.min) == cdc.min);

    /* Runs of one byte have no cut: every chunk is max long, the same, stored once. */
    uint8_t *zero = calloc(1, cdc.max * 3);
    FC_CHECK(zero && fc_cdc_cut(&cdc, zero, cdc.max * 3) == cdc.max);
    free(zero);

    /* An insertion at the start moves only the chunk around it: the rest are found again. */
    memmove(data + ins, data, size);
    for (size_t i = 0; i < ins; i++)
        data[i] = (uint8_t)(i * 31 + 7);
    s_cut_all(&cdc, data, size + ins, 0, b);
    size_t nnew, bytes = s_new_bytes(a, b, &nnew);
    FC_CHECK(nnew >= 1 && nnew <= 2 && bytes <= 2 * cdc.max);
    if (verbose)
        printf("insert at start: %zu new chunks, %zu bytes; ", nnew, bytes);

    /* An overwrite in the middle changes only the chunks it touches (and maybe the next). */
    memmove(data, data + ins, size); /* back to the original */
    s_cut_all(&cdc, data, size, 0, a);
    memset(data + size / 2, 0xab, 4096);
    s_cut_all(&cdc, data, size, 0, b);
    bytes = s_new_bytes(a, b, &nnew);
    FC_CHECK(nnew >= 1 && nnew <= 3 && bytes <= 3 * cdc.max);
    if (verbose)
        printf("4 KiB overwritten: %zu new chunks, %zu bytes; ", nnew, bytes);

    /* The file reader cuts as the whole buffer does (here the overwritten data, b). */
    char path[] = "/tmp/fc_cdc_test.XXXXXX";
    int fd = mkstemp(path);
    FC_CHECK(fd >= 0 && write(fd, data, size) == (ssize_t)size);
    unlink(path);
    fc_cdc_reader_t rd;
    FC_CHECK(fc_cdc_reader_init(&rd, &cdc, fd) == FC_OK);
    const uint8_t *chunk;
    size_t len, k = 0;
    int more;
    while ((more = fc_cdc_reader_next(&rd, &chunk, &len)) == 1) {
        uint8_t h[FC_HASH_LEN];
        fc_hash_buf(h, chunk, len);
        FC_CHECK(k < b->n && len == b->len[k] && !memcmp(h, b->hash[k], FC_HASH_LEN));
        k++;
    }
    FC_CHECK(more == 0 && k == b->n);
    fc_cdc_reader_free(&rd);
    /* Without a cut: FC_CHUNK_SIZE pieces, the last one shorter. */
    FC_CHECK(fc_cdc_reader_init(&rd, NULL, fd) == FC_OK);
    for (k = 0; (more = fc_cdc_reader_next(&rd, &chunk, &len)) == 1; k++)
        FC_CHECK(len == (k < size / FC_CHUNK_SIZE ? FC_CHUNK_SIZE : size % FC_CHUNK_SIZE) &&
                 !memcmp(chunk, data + k * FC_CHUNK_SIZE, len));
    FC_CHECK(more == 0 && k == (size + FC_CHUNK_SIZE - 1) / FC_CHUNK_SIZE);
    fc_cdc_reader_free(&rd);
    /* An empty file has no chunk. */
    FC_CHECK(ftruncate(fd, 0) == 0);
    FC_CHECK(fc_cdc_reader_init(&rd, &cdc, fd) == FC_OK);
    FC_CHECK(fc_cdc_reader_next(&rd, &chunk, &len) == 0);
    fc_cdc_reader_free(&rd);
    close(fd);

    free(a);
    free(b);
    free(data);
}

void fc_cdc_test(bool verbose)
{
    if (verbose)
        printf(" * fc_cdc: ");
    /* The file's size picks the cut; the other is the large one below FC_CDC_LARGE_FILE and
       the small one from there. */
    fc_cdc_t small, large, other;
    fc_cdc_init(&small, FC_CDC_LARGE_FILE - 1);
    FC_CHECK(small.min == FC_CDC_MIN && small.avg == FC_CDC_AVG && small.max == FC_CDC_MAX);
    fc_cdc_init(&large, FC_CDC_LARGE_FILE);
    FC_CHECK(large.min == FC_CDC_LARGE_MIN && large.avg == FC_CDC_LARGE_AVG &&
             large.max == FC_CDC_LARGE_MAX);
    fc_cdc_init(&other, 0);
    FC_CHECK(other.max == FC_CDC_MAX);
    fc_cdc_init_other(&other, 0);
    FC_CHECK(other.max == FC_CDC_LARGE_MAX);
    fc_cdc_init_other(&other, 1ull << 40);
    FC_CHECK(other.max == FC_CDC_MAX);
    /* Both gear tables are the same fixed table: only the sizes differ. */
    FC_CHECK(!memcmp(small.gear, large.gear, sizeof small.gear));
    s_test_cut(&small, verbose);
    s_test_cut(&large, verbose);
    if (verbose)
        printf("OK\n");
}
