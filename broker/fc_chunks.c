/* fc_chunks.c: the broker's chunk server: GET_CHUNK answered by positioned reads within a
   budget of bytes held, the rest queued in arrival order. */
#include "fc_chunks.h"
#include "fc_error.h"
#include "fc_limits.h"
#include "fc_msg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Shared with ZeroMQ's I/O thread, which releases each reply's bytes once it has written
   them: counted there, so it must outlive the server while replies are still queued. The
   server holds one reference, and each reply in ZeroMQ one. */
typedef struct {
    uint64_t held; /* bytes */
    uint64_t refs;
} s_account_t;

typedef struct {
    zframe_t *peer;
    uint64_t req, offset, length;
    uint8_t blob[FC_HASH_LEN];
} s_waiting_t;

struct fc_chunks_t {
    fc_store_t *store;
    void *router;
    uint64_t budget;
    s_account_t *account;
    zlistx_t *waiting; /* s_waiting_t, oldest first */
    uint64_t send_failed;
};

static void s_account_release(s_account_t *a, uint64_t bytes)
{
    __atomic_sub_fetch(&a->held, bytes, __ATOMIC_RELEASE);
    if (__atomic_sub_fetch(&a->refs, 1, __ATOMIC_ACQ_REL) == 0)
        free(a);
}

/* ZeroMQ is done with a reply's bytes (any thread). The length travels in front of them. */
static void s_free_chunk(void *data, void *hint)
{
    uint64_t *block = (uint64_t *)data - 1;
    s_account_release((s_account_t *)hint, *block);
    free(block);
}

static void s_waiting_destroy(void **item)
{
    s_waiting_t *w = (s_waiting_t *)*item;
    if (w) {
        zframe_destroy(&w->peer);
        free(w);
        *item = NULL;
    }
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
    self->waiting = zlistx_new();
    if (!self->account || !self->waiting) {
        free(self->account);
        zlistx_destroy(&self->waiting);
        free(self);
        return NULL;
    }
    self->account->refs = 1;
    zlistx_set_destructor(self->waiting, s_waiting_destroy);
    return self;
}

void fc_chunks_destroy(fc_chunks_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    fc_chunks_t *self = *self_p;
    zlistx_destroy(&self->waiting);
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
static void s_serve(fc_chunks_t *self, zframe_t *peer, uint64_t req,
                    const uint8_t blob[FC_HASH_LEN], uint64_t offset, uint64_t length)
{
    /* Read straight into the bytes that go on the wire, with their length in front for the
       accounting: one copy of the chunk, held only until ZeroMQ has sent it. */
    uint64_t *block = malloc(sizeof(uint64_t) + (size_t)length);
    if (!block) {
        s_error(self, peer, req, FC_ENOMEM);
        return;
    }
    *block = length;
    int err = fc_store_blob_read(self->store, blob, offset, block + 1, (size_t)length);
    if (err) {
        free(block);
        s_error(self, peer, req, err);
        return;
    }
    fc_msg_t *reply = fc_msg_new(FC_MSG_CHUNK);
    reply->req = req;
    memcpy(reply->blob, blob, FC_HASH_LEN);
    reply->offset = offset;
    __atomic_add_fetch(&self->account->held, length, __ATOMIC_RELAXED);
    __atomic_add_fetch(&self->account->refs, 1, __ATOMIC_RELAXED);
    if (fc_msg_send_to_owned(&reply, peer, self->router, block + 1, (size_t)length, s_free_chunk,
                             self->account) != 0)
        self->send_failed++;
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
        snprintf(text, textsize, "%s", fc_strerror(err));
        return err;
    }
    if (offset > size || length > size - offset) {
        snprintf(text, textsize, "range %llu+%llu outside the blob (%llu bytes)",
                 (unsigned long long)offset, (unsigned long long)length, (unsigned long long)size);
        return FC_EINVAL;
    }
    /* Behind the queue, never ahead of it: each peer gets its chunks in the order asked. */
    if (zlistx_size(self->waiting) == 0 && s_room(self, length)) {
        s_serve(self, peer, req, blob, offset, length);
        return 0;
    }
    if (zlistx_size(self->waiting) >= FC_CHUNKS_MAX_WAITING) {
        fc_chunks_pump(self);
        s_serve(self, peer, req, blob, offset, length);
        return 0;
    }
    s_waiting_t *w = calloc(1, sizeof *w);
    if (!w) {
        snprintf(text, textsize, "%s", fc_strerror(FC_ENOMEM));
        return FC_ENOMEM;
    }
    w->peer = zframe_dup(peer);
    w->req = req;
    w->offset = offset;
    w->length = length;
    memcpy(w->blob, blob, FC_HASH_LEN);
    zlistx_add_end(self->waiting, w);
    return 0;
}

size_t fc_chunks_pump(fc_chunks_t *self)
{
    size_t n = 0;
    s_waiting_t *w;
    while ((w = (s_waiting_t *)zlistx_first(self->waiting)) && s_room(self, w->length)) {
        s_serve(self, w->peer, w->req, w->blob, w->offset, w->length);
        zlistx_delete(self->waiting, zlistx_cursor(self->waiting));
        n++;
    }
    return n;
}

size_t fc_chunks_waiting(const fc_chunks_t *self)
{
    return zlistx_size(self->waiting);
}

uint64_t fc_chunks_held(const fc_chunks_t *self)
{
    return __atomic_load_n(&self->account->held, __ATOMIC_ACQUIRE);
}

uint64_t fc_chunks_send_failed(const fc_chunks_t *self)
{
    return self->send_failed;
}
