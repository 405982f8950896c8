/* fc_stamp.h: the broker's signed timestamp (freeze defence): what is signed and how. */
#ifndef FC_STAMP_H
#define FC_STAMP_H

#include "fc_key.h"

#include <stdbool.h>
#include <stdint.h>

/* A heartbeat proves the broker is alive now only if nobody but the broker could have made
   it: the timestamp key signs "fleetcast-timestamp-v1\0" followed by epoch, seq and time_ms
   as big-endian 64-bit integers. The prefix keeps this signature from being mistaken for
   one over a manifest, a revision or a trust list made with the same key. */
void fc_stamp_sign(uint8_t sig[FC_SIG_LEN], uint64_t epoch, uint64_t seq, uint64_t time_ms,
                   const fc_signkey_t *key);
/* true if sig is pk's timestamp signature of (epoch, seq, time_ms). */
bool fc_stamp_verify(const uint8_t sig[FC_SIG_LEN], uint64_t epoch, uint64_t seq, uint64_t time_ms,
                     const uint8_t pk[FC_PUBKEY_LEN]);
/* The wall clock in unix milliseconds. */
uint64_t fc_stamp_now_ms(void);

void fc_stamp_test(bool verbose);

#endif
