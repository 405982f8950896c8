/* fc_verifier.h: re-reads blobs agents report corrupt on a thread of its own (a CZMQ actor),
   so hashing a large blob never stalls the broker's loop. The owner polls fc_verifier_sock
   and reads each result with fc_verifier_result; acting on it (marking the blob corrupt in
   the store) stays on the owner's thread. The actor opens the blob files itself and never
   touches the store's database. */
#ifndef FC_VERIFIER_H
#define FC_VERIFIER_H

#include "fc_hash.h"
#include "fc_limits.h"
#include <czmq.h>
#include <stdbool.h>
#include <stdint.h>

/* Re-reads queued at most; a request past that is refused (FC_ETOOBIG). */
#define FC_VERIFIER_QUEUE 8

typedef struct fc_verifier_t fc_verifier_t;

/* Starts the actor for the blobs under data dir dir (copied). NULL if it cannot start. */
fc_verifier_t *fc_verifier_new(const char *dir);
/* Stops the actor, cutting a re-read in progress short at its next chunk; nulls *self_p. */
void fc_verifier_destroy(fc_verifier_t **self_p);
/* Queues a re-read of blob for who (an agent id, copied into the result). FC_OK, or
   FC_ETOOBIG when FC_VERIFIER_QUEUE are queued already. */
int fc_verifier_request(fc_verifier_t *self, const uint8_t blob[FC_HASH_LEN], const char *who);
/* The socket that becomes readable when a result is ready (for the owner's poller). */
zsock_t *fc_verifier_sock(fc_verifier_t *self);

typedef struct {
    uint8_t blob[FC_HASH_LEN];
    char who[FC_MAX_NAME + 1];
    int err;       /* FC_OK verifies, FC_EHASH damaged, FC_ENOTFOUND gone, FC_EIO */
    int64_t msecs; /* how long the re-read took */
} fc_verifier_result_t;

/* Reads one finished re-read into *result: FC_OK, or FC_EIO if none could be read. */
int fc_verifier_result(fc_verifier_t *self, fc_verifier_result_t *result);
/* Re-reads queued or running. */
size_t fc_verifier_pending(const fc_verifier_t *self);

void fc_verifier_test(bool verbose);

#endif
