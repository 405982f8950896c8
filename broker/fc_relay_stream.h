/* fc_relay_stream.h: serving a relay's held GET_CHUNK requests from the pieces of a blob still
   crossing the upstream link, each chunk checked against the manifest's chunk hash first (as
   the agent checks it), within a byte budget of replies ZeroMQ has yet to send. */
#ifndef FC_RELAY_STREAM_H
#define FC_RELAY_STREAM_H

#include "fc_hash.h"
#include "fc_manifest.h"
#include <czmq.h>
#include <stdbool.h>
#include <stdint.h>

/* Bytes of replies served from pieces and not yet sent by ZeroMQ, at most: past it, held
   requests wait for the next piece or tick (or for the blob's commit). */
#define FC_RELAY_STREAM_BUDGET (32u * 1024u * 1024u)

typedef struct fc_relay_stream_t fc_relay_stream_t;

/* router: the relay's own ROUTER (libzmq handle, borrowed) the replies go out on. */
fc_relay_stream_t *fc_relay_stream_new(void *router, uint64_t budget);
/* Forgets the chunk lists; replies still queued in ZeroMQ keep what they need until sent.
   Nulls *self_p; safe on NULL. */
void fc_relay_stream_destroy(fc_relay_stream_t **self_p);

/* Keeps file's chunk list (copied), by its blob id: what a range of its pieces is checked
   against. */
void fc_relay_stream_note(fc_relay_stream_t *self, const fc_file_t *file);

/* Whether [offset, offset + length) of blob is a run of its whole chunks (as an agent asks),
   so that data can be checked chunk by chunk. */
bool fc_relay_stream_checkable(const fc_relay_stream_t *self, const uint8_t blob[FC_HASH_LEN],
                               uint64_t offset, uint64_t length);
/* Room in the budget for length more bytes (one reply always goes). */
bool fc_relay_stream_room(const fc_relay_stream_t *self, uint64_t length);

/* Reads length bytes at offset of blob with read (the caller's reader of the fetch's pieces:
   fc_error_t), checks each chunk against its hash, and sends a CHUNK reply with them to peer
   for req. FC_OK if sent; FC_EIO if the send failed (peer gone or its queue full). Nothing
   sent, the request still the caller's: FC_EHASH if a chunk does not match, FC_EINVAL if
   the range is not checkable, FC_ENOTFOUND if the reader failed, FC_ENOMEM. */
typedef int(fc_relay_stream_read_fn)(void *arg, const uint8_t blob[FC_HASH_LEN], uint64_t offset,
                                     void *buf, size_t len);
int fc_relay_stream_serve(fc_relay_stream_t *self, zframe_t *peer, uint64_t req,
                          const uint8_t blob[FC_HASH_LEN], uint64_t offset, uint64_t length,
                          fc_relay_stream_read_fn *read, void *arg);

/* Replies sent from pieces, and their bytes. */
uint64_t fc_relay_stream_served(const fc_relay_stream_t *self, uint64_t *bytes);

void fc_relay_stream_test(bool verbose);

#endif
