/* fc_chunks.c: the broker's chunk server: GET_CHUNK answered by positioned reads within a
   budget of bytes held, the rest queued per peer and served one peer at a time in turn. */
#include "fc_chunks.h"
#include "fc_error.h"
#include "fc_hash.h"
#include "fc_limits.h"
#include "fc_msg.h"
#include "fc_tsan.h"

#include <pthread.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Shared with ZeroMQ's I/O thread, which releases each reply's bytes once it has written
   them: counted there, so it must outlive the server while replies are still queued. The
   server holds one reference, and each reply in ZeroMQ one. */
typedef struct {
    uint64_t held; /* bytes */
    uint64_t refs;
    /* Chunk-sized buffers kept for reuse (at most a budget's worth): freed by one thread
       and allocated by another at thousands a second, they would otherwise fragment the
       heap until it holds many times the budget. */
    pthread_mutex_t lock;
    uint64_t **spare;
    size_t nspare, maxspare;
} s_account_t;

/* A reply's bytes travel behind a two-word header: their length, and whether the buffer is
   chunk-sized (kept for reuse) or not. */
#define S_HEADER 2
#define S_POOLED FC_CHUNK_SIZE

typedef struct {
    uint64_t req, offset, length;
    uint8_t blob[FC_HASH_LEN];
} s_waiting_t;

/* The request ids last answered on one connection, and when it last asked for anything. */
#define S_SERVED 64
typedef struct {
    uint64_t req[S_SERVED];
    size_t next;
    int64_t seen; /* zclock_mono ms */
} s_served_t;

/* A connection that asked for nothing this long is forgotten (an agent re-sends a request
   after at most 60 s, so a re-send of a chunk it is still receiving comes well before). */
#define S_SERVED_TTL_MS (120 * 1000)
#define S_SWEEP_MS (10 * 1000)

/* A peer with requests waiting, oldest first. */
typedef struct {
    zframe_t *peer;
    char *key; /* its routing id in hex */
    zlistx_t *queue;
    void *handle; /* its place in the turn */
} s_peer_t;

struct fc_chunks_t {
    fc_store_t *store;
    void *router;
    uint64_t budget;
    s_account_t *account;
    /* Peers whose turn it is, in order: each gets one chunk, then goes to the back. In
       arrival order instead, an agent's whole window would be served before the next agent
       got anything, and with a thousand agents the last ones would hear nothing for long
       enough to re-send everything. */
    zlistx_t *turn;  /* s_peer_t, owned */
    zhashx_t *peers; /* key -> s_peer_t, borrowed from turn */
    size_t nwaiting;
    /* Per connection (routing id), the requests answered last. A request re-sent on the
       same connection after its chunk went out is not answered again: ZeroMQ delivers in
       order on a live connection, so that reply is on its way, merely late because the
       link or the requester is slow. Sending it again would add load exactly when there
       is too much, and make the next re-sends likelier. After a reconnect the routing id
       is new, so a requester that lost replies with its connection gets them again. */
    zhashx_t *served; /* key -> s_served_t, owned */
    int64_t swept;
    uint64_t send_failed, dropped, duplicates, nserved;
};

static void s_account_release(s_account_t *a, uint64_t bytes)
{
    __atomic_sub_fetch(&a->held, bytes, __ATOMIC_RELEASE);
    if (__atomic_sub_fetch(&a->refs, 1, __ATOMIC_ACQ_REL) == 0) {
        for (size_t i = 0; i < a->nspare; i++)
            free(a->spare[i]);
        free(a->spare);
        pthread_mutex_destroy(&a->lock);
        free(a);
    }
}

/* A buffer for length bytes after the header: a spare one if chunk-sized. */
static uint64_t *s_block_new(s_account_t *a, uint64_t length)
{
    uint64_t *block = NULL;
    bool pooled = length <= S_POOLED;
    if (pooled) {
        pthread_mutex_lock(&a->lock);
        if (a->nspare > 0)
            block = a->spare[--a->nspare];
        pthread_mutex_unlock(&a->lock);
    }
    if (!block)
        block = malloc(S_HEADER * sizeof(uint64_t) + (size_t)(pooled ? S_POOLED : length));
    if (block) {
        block[0] = length;
        block[1] = pooled;
    }
    return block;
}

/* Keeps a chunk-sized buffer for reuse, or frees it. */
static void s_block_free(s_account_t *a, uint64_t *block)
{
    if (block[1]) {
        pthread_mutex_lock(&a->lock);
        bool kept = a->nspare < a->maxspare;
        if (kept)
            a->spare[a->nspare++] = block;
        pthread_mutex_unlock(&a->lock);
        if (kept)
            return;
    }
    free(block);
}

/* ZeroMQ is done with a reply's bytes (any thread). */
static void s_free_chunk(void *data, void *hint)
{
    /* The bytes were written on the broker's thread and reached this one inside libzmq. */
    fc_tsan_acquire(data);
    uint64_t *block = (uint64_t *)data - S_HEADER;
    s_account_t *a = (s_account_t *)hint;
    uint64_t length = block[0];
    s_block_free(a, block);
    s_account_release(a, length);
}

static void s_free_item(void **item)
{
    free(*item);
    *item = NULL;
}

static void s_peer_destroy(void **item)
{
    s_peer_t *p = (s_peer_t *)*item;
    if (p) {
        zframe_destroy(&p->peer);
        zstr_free(&p->key);
        zlistx_destroy(&p->queue);
        free(p);
        *item = NULL;
    }
}

static void s_served_destroy(void **item)
{
    free(*item);
    *item = NULL;
}

/* Forgets connections idle past the TTL (gone, or done). */
static void s_sweep(fc_chunks_t *self, int64_t now)
{
    if (now - self->swept < S_SWEEP_MS)
        return;
    self->swept = now;
    zlistx_t *old = zlistx_new();
    if (!old)
        return;
    for (s_served_t *sv = (s_served_t *)zhashx_first(self->served); sv;
         sv = (s_served_t *)zhashx_next(self->served))
        if (now - sv->seen > S_SERVED_TTL_MS)
            zlistx_add_end(old, (void *)zhashx_cursor(self->served));
    for (const char *k = (const char *)zlistx_first(old); k; k = (const char *)zlistx_next(old))
        zhashx_delete(self->served, k);
    zlistx_destroy(&old);
}

static bool s_was_served(fc_chunks_t *self, const char *key, uint64_t req, int64_t now)
{
    s_served_t *sv = (s_served_t *)zhashx_lookup(self->served, key);
    if (!sv)
        return false;
    sv->seen = now;
    for (size_t i = 0; i < S_SERVED; i++)
        if (sv->req[i] == req)
            return true;
    return false;
}

static void s_mark_served(fc_chunks_t *self, const char *key, uint64_t req)
{
    s_served_t *sv = (s_served_t *)zhashx_lookup(self->served, key);
    if (!sv) {
        sv = calloc(1, sizeof *sv);
        if (!sv || zhashx_insert(self->served, key, sv) != 0) {
            free(sv);
            return; /* not remembered: a re-send is answered again, as before */
        }
    }
    sv->seen = zclock_mono();
    sv->req[sv->next] = req;
    sv->next = (sv->next + 1) % S_SERVED;
}

fc_chunks_t *fc_chunks_new(fc_store_t *store, void *router, uint64_t budget)
{
    fc_chunks_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->store = store;
    self->router = router;
    self->budget = budget ? budget : FC_CHUNKS_BUDGET;
    self->account = calloc(1, sizeof *self->account);
    if (self->account) {
        self->account->maxspare = (size_t)(self->budget / S_POOLED) + 2;
        self->account->spare = calloc(self->account->maxspare, sizeof *self->account->spare);
        pthread_mutex_init(&self->account->lock, NULL);
    }
    self->turn = zlistx_new();
    self->peers = zhashx_new();
    self->served = zhashx_new();
    if (!self->account || !self->account->spare || !self->turn || !self->peers || !self->served) {
        if (self->account) {
            free(self->account->spare);
            pthread_mutex_destroy(&self->account->lock);
        }
        free(self->account);
        zlistx_destroy(&self->turn);
        zhashx_destroy(&self->peers);
        zhashx_destroy(&self->served);
        free(self);
        return NULL;
    }
    zhashx_set_destructor(self->served, s_served_destroy);
    self->swept = zclock_mono();
    self->account->refs = 1;
    zlistx_set_destructor(self->turn, s_peer_destroy);
    return self;
}

void fc_chunks_destroy(fc_chunks_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    fc_chunks_t *self = *self_p;
    zhashx_destroy(&self->peers);
    zlistx_destroy(&self->turn);
    zhashx_destroy(&self->served);
    s_account_release(self->account, 0);
    free(self);
    *self_p = NULL;
}

static void s_error(fc_chunks_t *self, zframe_t *peer, uint64_t req, int code)
{
    fc_msg_t *reply = fc_msg_new(FC_MSG_ERROR);
    reply->code = (uint32_t)code;
    reply->req = req;
    fc_msg_set_str(reply->text, sizeof reply->text, fc_strerror(code));
    if (fc_msg_send_to(&reply, peer, self->router) != 0)
        self->send_failed++;
}

/* Reads and sends one chunk (the request was checked when it came). */
static void s_serve(fc_chunks_t *self, zframe_t *peer, const char *key, uint64_t req,
                    const uint8_t blob[FC_HASH_LEN], uint64_t offset, uint64_t length)
{
    /* Read straight into the bytes that go on the wire, with their length in front for the
       accounting: one copy of the chunk, held only until ZeroMQ has sent it. */
    uint64_t *block = s_block_new(self->account, length);
    if (!block) {
        s_error(self, peer, req, FC_ENOMEM);
        return;
    }
    uint8_t *data = (uint8_t *)(block + S_HEADER);
    int err = fc_store_blob_read(self->store, blob, offset, data, (size_t)length);
    if (err) {
        s_block_free(self->account, block);
        s_error(self, peer, req, err);
        return;
    }
    fc_msg_t *reply = fc_msg_new(FC_MSG_CHUNK);
    reply->req = req;
    memcpy(reply->blob, blob, FC_HASH_LEN);
    reply->offset = offset;
    __atomic_add_fetch(&self->account->held, length, __ATOMIC_RELAXED);
    __atomic_add_fetch(&self->account->refs, 1, __ATOMIC_RELAXED);
    fc_tsan_release(data); /* s_free_chunk reads the block on ZeroMQ's I/O thread */
    if (fc_msg_send_to_owned(&reply, peer, self->router, data, (size_t)length, s_free_chunk,
                             self->account) != 0)
        self->send_failed++;
    else {
        self->nserved++;
        if (key)
            s_mark_served(self, key, req);
    }
}

/* Room for length more bytes? One chunk always goes, so a budget below a chunk still
   serves. */
static bool s_room(const fc_chunks_t *self, uint64_t length)
{
    uint64_t held = __atomic_load_n(&self->account->held, __ATOMIC_ACQUIRE);
    return held == 0 || held + length <= self->budget;
}

int fc_chunks_get(fc_chunks_t *self, zframe_t *peer, uint64_t req, const uint8_t blob[FC_HASH_LEN],
                  uint64_t offset, uint64_t length, char *text, size_t textsize)
{
    uint64_t size;
    if (length == 0 || length > FC_MAX_CHUNK_REQ) {
        snprintf(text, textsize, "length %llu outside 1..%u", (unsigned long long)length,
                 FC_MAX_CHUNK_REQ);
        return FC_EINVAL;
    }
    int err = fc_store_blob_size(self->store, blob, &size);
    if (err) {
        char hex[2 * FC_HASH_LEN + 1];
        if (err == FC_ENOTFOUND && fc_store_blob_marked(self->store, blob))
            snprintf(text, textsize, "blob %s corrupt at the broker: re-push a release holding it",
                     fc_hash_hex(blob, hex));
        else
            snprintf(text, textsize, "%s", fc_strerror(err));
        return err;
    }
    if (offset > size || length > size - offset) {
        snprintf(text, textsize, "range %llu+%llu outside the blob (%llu bytes)",
                 (unsigned long long)offset, (unsigned long long)length, (unsigned long long)size);
        return FC_EINVAL;
    }
    char *key = zframe_strhex(peer);
    int64_t now = zclock_mono();
    s_sweep(self, now);
    if (key && s_was_served(self, key, req, now)) {
        zstr_free(&key);
        self->duplicates++;
        return 0;
    }
    s_peer_t *p = key ? (s_peer_t *)zhashx_lookup(self->peers, key) : NULL;
    /* Behind its own queue, never ahead of it: each peer gets its chunks in the order it
       asked for them. */
    if (zlistx_size(self->turn) == 0 && s_room(self, length)) {
        s_serve(self, peer, key, req, blob, offset, length);
        zstr_free(&key);
        return 0;
    }
    /* A re-sent request (same id) already waiting is waiting still: queueing it again would
       send the chunk twice, and a requester that re-sends while it waits would make the
       queue grow without end. */
    for (s_waiting_t *w = p ? (s_waiting_t *)zlistx_first(p->queue) : NULL; w;
         w = (s_waiting_t *)zlistx_next(p->queue))
        if (w->req == req) {
            zstr_free(&key);
            return 0;
        }
    /* Past the cap (distinct requests of thousands of full windows), dropped unanswered:
       every request is idempotent, and its requester re-sends it. */
    s_waiting_t *w = key && self->nwaiting < FC_CHUNKS_MAX_WAITING ? calloc(1, sizeof *w) : NULL;
    if (!w) {
        zstr_free(&key);
        self->dropped++;
        return 0;
    }
    w->req = req;
    w->offset = offset;
    w->length = length;
    memcpy(w->blob, blob, FC_HASH_LEN);
    if (!p) {
        p = calloc(1, sizeof *p);
        zlistx_t *queue = p ? zlistx_new() : NULL;
        if (!queue) {
            free(p);
            free(w);
            zstr_free(&key);
            self->dropped++;
            return 0;
        }
        p->queue = queue;
        zlistx_set_destructor(p->queue, s_free_item);
        p->peer = zframe_dup(peer);
        p->key = key;
        key = NULL;
        p->handle = zlistx_add_end(self->turn, p);
        zhashx_insert(self->peers, p->key, p);
    }
    zstr_free(&key);
    zlistx_add_end(p->queue, w);
    self->nwaiting++;
    return 0;
}

size_t fc_chunks_pump(fc_chunks_t *self)
{
    size_t n = 0;
    s_peer_t *p;
    while ((p = (s_peer_t *)zlistx_first(self->turn))) {
        s_waiting_t *w = (s_waiting_t *)zlistx_first(p->queue);
        if (!s_room(self, w->length))
            break;
        s_serve(self, p->peer, p->key, w->req, w->blob, w->offset, w->length);
        zlistx_delete(p->queue, zlistx_cursor(p->queue));
        self->nwaiting--;
        n++;
        if (zlistx_size(p->queue) == 0) {
            zhashx_delete(self->peers, p->key);
            zlistx_delete(self->turn, p->handle); /* destroys p */
        } else
            zlistx_move_end(self->turn, p->handle);
    }
    return n;
}

size_t fc_chunks_waiting(const fc_chunks_t *self)
{
    return self->nwaiting;
}

uint64_t fc_chunks_held(const fc_chunks_t *self)
{
    return __atomic_load_n(&self->account->held, __ATOMIC_ACQUIRE);
}

uint64_t fc_chunks_send_failed(const fc_chunks_t *self)
{
    return self->send_failed;
}

uint64_t fc_chunks_dropped(const fc_chunks_t *self)
{
    return self->dropped;
}

uint64_t fc_chunks_served(const fc_chunks_t *self)
{
    return self->nserved;
}

uint64_t fc_chunks_duplicates(const fc_chunks_t *self)
{
    return self->duplicates;
}
