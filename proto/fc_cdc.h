/* fc_cdc.h: content-defined chunking (a gear rolling hash with FastCDC's normalized cut), the
   cut the publisher makes in every released file. */
#ifndef FC_CDC_H
#define FC_CDC_H

#include "fc_limits.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The chunk sizes, FC_CDC_* and the file size that picks between them, are in fc_limits.h
   (docs/BENCHMARKS.md, "Choosing the content-defined chunk sizes", says why these). */

/* The chunker's parameters and its gear table. Plain data, no resources: declare one, call
   fc_cdc_init, share it read-only between threads. */
typedef struct {
    uint64_t gear[256];
    size_t min, avg, max;
    uint64_t mask_small; /* before avg: more bits, a cut is rarer */
    uint64_t mask_large; /* after avg: fewer bits, a cut is likelier */
} fc_cdc_t;

/* Sets self up with sizes min < avg < max (avg a power of two) and FastCDC's normalization
   level (0 to 3: the mask has level more bits before avg, level fewer after); asserts they
   are sane. The gear table is fixed (the same on every machine): the cut is part of the
   release format. */
void fc_cdc_init_sizes(fc_cdc_t *self, size_t min, size_t avg, size_t max, unsigned level);
/* The cut a publisher makes in a file of size bytes: FC_CDC_MIN/AVG/MAX at FC_CDC_LEVEL below
   FC_CDC_LARGE_FILE, FC_CDC_LARGE_MIN/AVG/MAX at FC_CDC_LARGE_LEVEL from there. */
void fc_cdc_init(fc_cdc_t *self, uint64_t size);
/* The other content-defined cut for that size, which a blob may still be named by: a file
   cut before the small cut existed (every file was cut FC_CDC_LARGE_*), or one whose size
   changed while the publisher read it. */
void fc_cdc_init_other(fc_cdc_t *self, uint64_t size);

/* The length of the chunk that starts at buf[0]: 1..min(len, max), 0 only if len is 0. buf
   must hold at least max bytes unless it runs to the end of the data: the cut looks at most
   max bytes ahead, so a reader that keeps max bytes buffered cuts as one that holds it all. */
size_t fc_cdc_cut(const fc_cdc_t *self, const uint8_t *buf, size_t len);

/* Cuts a file into chunks as it reads it, holding at most 2 * max bytes: by content with cdc,
   or (cdc NULL) in FC_CHUNK_SIZE pieces, the cut before issue 13 that blobs stored then are
   named by. Reads with pread from offset 0 (the descriptor's position is left alone, so a
   shared one may be used). */
typedef struct {
    const fc_cdc_t *cdc; /* borrowed: must outlive the reader; NULL: fixed pieces */
    int fd;              /* borrowed */
    uint8_t *buf;        /* owned */
    size_t pos, fill;    /* buf[pos..fill) is read and not yet cut */
    uint64_t offset;     /* file offset of buf[fill] */
    bool eof;
} fc_cdc_reader_t;

/* Starts reading fd. FC_OK or FC_ENOMEM; fc_cdc_reader_free in any case. */
int fc_cdc_reader_init(fc_cdc_reader_t *self, const fc_cdc_t *cdc, int fd);
/* The next chunk: *chunk (borrowed, valid until the next call) and *len. 1, 0 at the end of
   the file, -1 on a read error (errno set). */
int fc_cdc_reader_next(fc_cdc_reader_t *self, const uint8_t **chunk, size_t *len);
void fc_cdc_reader_free(fc_cdc_reader_t *self);

void fc_cdc_test(bool verbose);

#endif
