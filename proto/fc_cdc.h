/* fc_cdc.h: content-defined chunking (a gear rolling hash with FastCDC's normalized cut), the
   cut the publisher makes in every released file. */
#ifndef FC_CDC_H
#define FC_CDC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The chunk sizes (docs/BENCHMARKS.md, "Choosing the chunk sizes", says why these). Every
   chunk but a file's last is FC_CDC_MIN..FC_CDC_MAX long; FC_CDC_MAX is at most
   FC_CHUNK_SIZE, so a chunk fits every buffer sized for the fixed chunks of before. */
#define FC_CDC_MIN (16u * 1024u)
#define FC_CDC_AVG (64u * 1024u)
#define FC_CDC_MAX (256u * 1024u)

/* The chunker's parameters and its gear table. Plain data, no resources: declare one, call
   fc_cdc_init, share it read-only between threads. */
typedef struct {
    uint64_t gear[256];
    size_t min, avg, max;
    uint64_t mask_small; /* before avg: more bits, a cut is rarer */
    uint64_t mask_large; /* after avg: fewer bits, a cut is likelier */
} fc_cdc_t;

/* Sets self up with sizes min < avg < max (avg a power of two); asserts they are sane. The
   gear table is fixed (the same on every machine): the cut is part of the release format. */
void fc_cdc_init_sizes(fc_cdc_t *self, size_t min, size_t avg, size_t max);
/* fc_cdc_init_sizes with FC_CDC_MIN, FC_CDC_AVG, FC_CDC_MAX. */
void fc_cdc_init(fc_cdc_t *self);

/* The length of the chunk that starts at buf[0]: 1..min(len, max), 0 only if len is 0. buf
   must hold at least max bytes unless it runs to the end of the data: the cut looks at most
   max bytes ahead, so a reader that keeps max bytes buffered cuts as one that holds it all. */
size_t fc_cdc_cut(const fc_cdc_t *self, const uint8_t *buf, size_t len);

void fc_cdc_test(bool verbose);

#endif
