/* fc_chunks.h: the broker's chunk server: answers GET_CHUNK by positioned reads, holding at
   most a budget of chunk bytes that ZeroMQ has not yet handed to the kernel (and a share of
   it per connection), and queueing the requests beyond it per peer, the peers served in
   turn. */
#ifndef FC_CHUNKS_H
#define FC_CHUNKS_H

#include "fc_hash.h"
#include "fc_store.h"
#include <czmq.h>
#include <stdbool.h>
#include <stdint.h>

/* Default budget: chunk bytes read and not yet sent, across all peers. Many agents asking
   at once (each with a window of requests in flight) would otherwise have the broker read
   every request at disk speed and hold the replies until the network takes them. */
#define FC_CHUNKS_BUDGET (24u * 1024u * 1024u)
/* Requests queued beyond it; past this many the newest of the longest queue is dropped
   unanswered to make way for a new one from a shorter queue, else the new one is (its
   requester re-sends it, as after any loss). */
#define FC_CHUNKS_MAX_WAITING 100000
/* ... and past this many of one connection (a 1 GiB window of 1 MiB requests). */
#define FC_CHUNKS_MAX_WAITING_PEER 1024
/* ... and past this many of all the connections of one CURVE key (its two shares' worth of
   connections), so that one key's many connections cannot fill the cap. */
#define FC_CHUNKS_MAX_WAITING_KEY (2 * FC_CHUNKS_MAX_WAITING_PEER)
/* Default share of one connection (routing id) in the budget: the agent's default window.
   A peer that asks for more than it reads fills its share and is then passed over, so it
   cannot take the budget from the others. */
#define FC_CHUNKS_SHARE (4u * 1024u * 1024u)
/* ... and at most this many chunk replies (many tiny chunks); FC_BROKER_SNDHWM leaves room
   above it for the connection's other replies. */
#define FC_CHUNKS_SHARE_MSGS 32
/* All the connections of one CURVE key hold at most this many shares together, dropped ones
   included while ZeroMQ still holds their bytes: a key cannot open connections to take
   more (two, so an agent's new connection is served while its old one is still going). */
#define FC_CHUNKS_KEY_SHARES 2
/* A connection holding bytes of which ZeroMQ has taken none for this long is dropped: its
   bytes leave the budget, and its requests are not answered until ZeroMQ has released all
   of them (then it is served again). */
#define FC_CHUNKS_DEADLINE_MS (30 * 1000)

typedef struct fc_chunks_t fc_chunks_t;

/* store is borrowed; router is the raw libzmq ROUTER the replies go out on. budget 0:
   FC_CHUNKS_BUDGET. NULL if out of memory. */
fc_chunks_t *fc_chunks_new(fc_store_t *store, void *router, uint64_t budget);
/* Drops the queued requests (their peers re-send). Chunks still queued in ZeroMQ stay
   valid: their bytes are released by ZeroMQ whenever it is done. Safe on NULL. */
void fc_chunks_destroy(fc_chunks_t **self_p);

/* A GET_CHUNK for length bytes at offset of blob, from peer (copied) authenticated with CURVE
   key who (borrowed; NULL or "" with --insecure: each connection stands alone), request id
   req. Checks
   it (length, blob, range) and returns the fc_error_t with a reason in text if it is not
   servable (the caller answers ERROR). Otherwise 0: answered now, or queued until the
   budget allows (answered by fc_chunks_pump, which also answers read errors itself): each
   peer's requests in the order they came, peers in turn, one chunk each. A request id the
   peer already has waiting is not queued twice, and one answered lately on the same
   connection (routing id) is not answered again: that reply is on its way. A request from
   a connection dropped past the deadline returns 0 and is not answered while ZeroMQ still
   holds bytes of its replies (once it holds none, the connection is served again). */
int fc_chunks_get(fc_chunks_t *self, zframe_t *peer, const char *who, uint64_t req,
                  const uint8_t blob[FC_HASH_LEN], uint64_t offset, uint64_t length, char *text,
                  size_t textsize);
/* Answers queued requests while the budget allows, passing over connections at their
   share, drops connections past the deadline (logged and audited as "chunks.drop" with the
   routing id, at most once a minute per key), and serves again dropped ones whose bytes
   have all been released. Returns how many it answered. */
size_t fc_chunks_pump(fc_chunks_t *self);
/* Per-connection share (0: FC_CHUNKS_SHARE) and stall deadline (0: FC_CHUNKS_DEADLINE_MS). */
void fc_chunks_set_share(fc_chunks_t *self, uint64_t share);
void fc_chunks_set_deadline(fc_chunks_t *self, int64_t ms);
/* Connections dropped past the deadline; requests refused since because theirs. */
uint64_t fc_chunks_dropped_links(const fc_chunks_t *self);
uint64_t fc_chunks_ignored(const fc_chunks_t *self);
/* Requests queued, and chunk bytes held (read, not yet taken by the kernel). */
size_t fc_chunks_waiting(const fc_chunks_t *self);
uint64_t fc_chunks_held(const fc_chunks_t *self);
/* Replies that could not be sent (peer gone). */
uint64_t fc_chunks_send_failed(const fc_chunks_t *self);
/* Requests dropped past a waiting cap, made way for at FC_CHUNKS_MAX_WAITING, or out of
   memory. */
uint64_t fc_chunks_dropped(const fc_chunks_t *self);
/* Chunks sent (handed to ZeroMQ). */
uint64_t fc_chunks_served(const fc_chunks_t *self);
/* Bytes of the chunks sent; and the budget (bytes) fc_chunks_held counts against. */
uint64_t fc_chunks_bytes_served(const fc_chunks_t *self);
uint64_t fc_chunks_budget(const fc_chunks_t *self);
/* Re-sent requests not answered again, their chunk sent already on the same connection. */
uint64_t fc_chunks_duplicates(const fc_chunks_t *self);

void fc_chunks_test(bool verbose);

#endif
