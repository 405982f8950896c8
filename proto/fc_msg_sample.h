/* fc_msg_sample.h: what the codec's self-tests share: sample messages, a complete equality,
   and decode-must-succeed / decode-must-fail checks (they assert: tests only). */
#ifndef FC_MSG_SAMPLE_H
#define FC_MSG_SAMPLE_H

#include "fc_msg.h"

/* A message of a release, status or trust type with every field the header says it uses set,
   written out by hand (not from the layout table) so that a field the table forgets fails the
   round trip; other types come back with only their req set. The caller owns it. */
fc_msg_t *fc_msg_sample(fc_msg_type_t type);
/* Two Z85 public keys, A sorting before B (RELAY_KEYS samples). */
#define FC_MSG_SAMPLE_KEY_A "(#ZxP$9!2XsWF8Nb.vxtUQ/W=mTx@d1M&V0TSjq+"
#define FC_MSG_SAMPLE_KEY_B "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"
/* Fills a hash with seed, seed + 1, ... */
void fc_msg_sample_hash(uint8_t *h, uint8_t seed);
/* Gives m n release-infos with distinct values, limit-length strings and a negative time. */
void fc_msg_sample_releases(fc_msg_t *m, size_t n);

/* Whether a and b agree in every field of every type, lists and data included. */
bool fc_msg_equal(const fc_msg_t *a, const fc_msg_t *b);

/* Decodes *msg (consumed) and asserts it succeeds; returns the message, the caller's. */
fc_msg_t *fc_msg_accept(zmsg_t *msg);
/* Decodes *msg (consumed) and asserts it fails with error want. */
void fc_msg_reject(zmsg_t *msg, int want);

#endif
