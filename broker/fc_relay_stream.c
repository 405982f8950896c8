/* fc_relay_stream.c: serving a relay's held GET_CHUNK requests from the pieces of a blob still
   crossing the upstream link. The relay cannot check a piece on its own (pieces are cut at
   FC_CHUNK_SIZE, the blob's hash covers its content-defined chunks), but the mirrored manifest
   names every chunk's hash: a run of whole chunks is checked against them, as the agent will
   check it, before it is sent. Whatever does not check waits for the blob's commit. */
#include "fc_relay_stream.h"
#include "fc_error.h"
#include "fc_msg.h"
#include "fc_test_check.h"
#include "fc_tsan.h"

#include <stdlib.h>
#include <string.h>

/* The bytes replies hold until ZeroMQ has sent them, counted from ZeroMQ's I/O thread. It
   outlives the stream while replies are queued: the last one out frees it. */
typedef struct {
    uint64_t held;
    uint64_t refs;
} s_account_t;

typedef struct {
    uint32_t n;
    fc_chunk_t *chunks; /* in offset order, as the manifest lists them */
} s_list_t;

struct fc_relay_stream_t {
    void *router;
    uint64_t budget;
    s_account_t *account;
    zhashx_t *lists; /* blob hex -> s_list_t */
    uint64_t served, bytes;
};

/* In front of each reply's bytes: its length, for the accounting when ZeroMQ frees it. */
#define S_HEADER 2

static void s_account_drop(s_account_t *a)
{
    if (__atomic_sub_fetch(&a->refs, 1, __ATOMIC_ACQ_REL) == 0)
        free(a);
}

/* zmq_free_fn: ZeroMQ is done with a reply's bytes (on its I/O thread, or at once on a
   failed send). */
static void s_free_reply(void *data, void *hint)
{
    fc_tsan_acquire(data);
    uint64_t *block = (uint64_t *)data - S_HEADER;
    s_account_t *a = hint;
    __atomic_sub_fetch(&a->held, block[0], __ATOMIC_RELEASE);
    free(block);
    s_account_drop(a);
}

static void s_list_free(void **item)
{
    s_list_t *l = *item;
    if (l) {
        free(l->chunks);
        free(l);
    }
    *item = NULL;
}

fc_relay_stream_t *fc_relay_stream_new(void *router, uint64_t budget)
{
    fc_relay_stream_t *self = zmalloc(sizeof *self);
    self->router = router;
    self->budget = budget;
    self->account = zmalloc(sizeof *self->account);
    self->account->refs = 1;
    self->lists = zhashx_new();
    zhashx_set_destructor(self->lists, s_list_free);
    return self;
}

void fc_relay_stream_destroy(fc_relay_stream_t **self_p)
{
    fc_relay_stream_t *self = *self_p;
    if (!self)
        return;
    zhashx_destroy(&self->lists);
    s_account_drop(self->account);
    free(self);
    *self_p = NULL;
}

void fc_relay_stream_note(fc_relay_stream_t *self, const fc_file_t *file)
{
    char hex[2 * FC_HASH_LEN + 1];
    if (!file->nchunks || zhashx_lookup(self->lists, fc_hash_hex(file->hash, hex)))
        return; /* content-addressed: the same blob has the same chunks in every release */
    s_list_t *l = zmalloc(sizeof *l);
    l->chunks = malloc(file->nchunks * sizeof *l->chunks);
    if (!l->chunks) {
        free(l);
        return; /* that blob is served once committed, as before */
    }
    memcpy(l->chunks, file->chunks, file->nchunks * sizeof *l->chunks);
    l->n = file->nchunks;
    zhashx_insert(self->lists, hex, l);
}

/* The index of the chunk starting at offset, then how many chunks end exactly at offset +
   length (*count); false if the range is not such a run. */
static bool s_run(const fc_relay_stream_t *self, const uint8_t blob[FC_HASH_LEN], uint64_t offset,
                  uint64_t length, const s_list_t **list, uint32_t *first, uint32_t *count)
{
    char hex[2 * FC_HASH_LEN + 1];
    const s_list_t *l = zhashx_lookup(self->lists, fc_hash_hex(blob, hex));
    if (!l || length == 0 || length > FC_MAX_CHUNK_REQ)
        return false;
    uint32_t lo = 0, hi = l->n;
    while (lo < hi) { /* the first chunk starting at or after offset */
        uint32_t mid = lo + (hi - lo) / 2;
        if (l->chunks[mid].offset < offset)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == l->n || l->chunks[lo].offset != offset)
        return false;
    uint64_t end = offset + length, at = offset;
    uint32_t i = lo;
    for (; i < l->n && at < end; i++)
        at = l->chunks[i].offset + l->chunks[i].length;
    if (at != end)
        return false;
    *list = l;
    *first = lo;
    *count = i - lo;
    return true;
}

bool fc_relay_stream_checkable(const fc_relay_stream_t *self, const uint8_t blob[FC_HASH_LEN],
                               uint64_t offset, uint64_t length)
{
    const s_list_t *l;
    uint32_t first, count;
    return s_run(self, blob, offset, length, &l, &first, &count);
}

bool fc_relay_stream_room(const fc_relay_stream_t *self, uint64_t length)
{
    uint64_t held = __atomic_load_n(&self->account->held, __ATOMIC_ACQUIRE);
    return held == 0 || held + length <= self->budget;
}

int fc_relay_stream_serve(fc_relay_stream_t *self, zframe_t *peer, uint64_t req,
                          const uint8_t blob[FC_HASH_LEN], uint64_t offset, uint64_t length,
                          fc_relay_stream_read_fn *read, void *arg)
{
    const s_list_t *l;
    uint32_t first, count;
    if (!s_run(self, blob, offset, length, &l, &first, &count))
        return FC_EINVAL;
    uint64_t *block = malloc(S_HEADER * sizeof *block + length);
    if (!block)
        return FC_ENOMEM;
    block[0] = length;
    uint8_t *data = (uint8_t *)(block + S_HEADER);
    /* Whatever the reader's error, FC_ENOTFOUND: FC_EIO says the send failed. */
    int err = read(arg, blob, offset, data, (size_t)length) == FC_OK ? FC_OK : FC_ENOTFOUND;
    for (uint32_t i = first; !err && i < first + count; i++) {
        uint8_t hash[FC_HASH_LEN];
        fc_hash_buf(hash, data + (l->chunks[i].offset - offset), l->chunks[i].length);
        if (memcmp(hash, l->chunks[i].hash, FC_HASH_LEN) != 0)
            err = FC_EHASH;
    }
    if (err) {
        free(block);
        return err;
    }
    fc_msg_t *reply = fc_msg_new(FC_MSG_CHUNK);
    reply->req = req;
    memcpy(reply->blob, blob, FC_HASH_LEN);
    reply->offset = offset;
    __atomic_add_fetch(&self->account->held, length, __ATOMIC_RELEASE);
    __atomic_add_fetch(&self->account->refs, 1, __ATOMIC_RELAXED);
    fc_tsan_release(data); /* s_free_reply reads the block on ZeroMQ's I/O thread */
    if (fc_msg_send_to_owned(&reply, peer, self->router, data, (size_t)length, s_free_reply,
                             self->account) != 0)
        return FC_EIO; /* peer gone or its queue full: its agent asks again */
    self->served++;
    self->bytes += length;
    return FC_OK;
}

uint64_t fc_relay_stream_served(const fc_relay_stream_t *self, uint64_t *bytes)
{
    if (bytes)
        *bytes = self->bytes;
    return self->served;
}

/* --- self-test -------------------------------------------------------------------------- */

typedef struct {
    const uint8_t *buf;
    size_t len;
    int flip; /* a byte offset to damage on reading, or -1 */
} s_src_t;

static int s_read(void *arg, const uint8_t blob[FC_HASH_LEN], uint64_t offset, void *buf,
                  size_t len)
{
    (void)blob;
    s_src_t *src = arg;
    if (offset > src->len || len > src->len - offset)
        return FC_EIO;
    memcpy(buf, src->buf + offset, len);
    if (src->flip >= 0 && (uint64_t)src->flip >= offset && (uint64_t)src->flip < offset + len)
        ((uint8_t *)buf)[src->flip - offset] ^= 0xff;
    return FC_OK;
}

void fc_relay_stream_test(bool verbose)
{
    if (verbose)
        printf(" * fc_relay_stream: ");
    /* A file of three chunks: 1000, 2000 and 500 bytes. */
    static uint8_t buf[3500];
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = (uint8_t)(i * 13 + i / 251);
    fc_chunk_t chunks[3] = {{0, 1000, {0}}, {1000, 2000, {0}}, {3000, 500, {0}}};
    for (int i = 0; i < 3; i++)
        fc_hash_buf(chunks[i].hash, buf + chunks[i].offset, chunks[i].length);
    fc_file_t file = {.size = sizeof buf, .chunks = chunks, .nchunks = 3};
    memset(file.hash, 0xab, FC_HASH_LEN);

    zsock_t *router = zsock_new_router("inproc://fc_relay_stream_test");
    zsock_t *dealer = zsock_new(ZMQ_DEALER);
    zsock_set_identity(dealer, "peer");
    FC_CHECK(router && dealer && zsock_connect(dealer, "inproc://fc_relay_stream_test") == 0);
    zframe_t *peer = zframe_new("peer", 4);
    fc_relay_stream_t *s = fc_relay_stream_new(zsock_resolve(router), 2500);
    fc_relay_stream_note(s, &file);
    fc_relay_stream_note(s, &file); /* twice: kept once */

    /* Runs of whole chunks are checkable; anything else is not. */
    FC_CHECK(fc_relay_stream_checkable(s, file.hash, 0, 1000));
    FC_CHECK(fc_relay_stream_checkable(s, file.hash, 0, 3000));
    FC_CHECK(fc_relay_stream_checkable(s, file.hash, 1000, 2500));
    FC_CHECK(!fc_relay_stream_checkable(s, file.hash, 0, 999));
    FC_CHECK(!fc_relay_stream_checkable(s, file.hash, 1, 999));
    FC_CHECK(!fc_relay_stream_checkable(s, file.hash, 3000, 501));
    FC_CHECK(!fc_relay_stream_checkable(s, file.hash, 0, 0));
    uint8_t other[FC_HASH_LEN] = {0};
    FC_CHECK(!fc_relay_stream_checkable(s, other, 0, 1000));

    /* A good run is sent as a CHUNK; its bytes count against the budget until received. */
    s_src_t src = {buf, sizeof buf, -1};
    FC_CHECK(fc_relay_stream_serve(s, peer, 7, file.hash, 1000, 2000, s_read, &src) == FC_OK);
    FC_CHECK(!fc_relay_stream_room(s, 1000) && fc_relay_stream_room(s, 500));
    zmsg_t *got = zmsg_recv(dealer);
    FC_CHECK(got && zmsg_size(got) == 2);
    zframe_t *body = zmsg_first(got), *data = zmsg_next(got);
    FC_CHECK(zframe_size(data) == 2000 && memcmp(zframe_data(data), buf + 1000, 2000) == 0);
    (void)body;
    zmsg_destroy(&got);
    for (int i = 0; i < 100 && !fc_relay_stream_room(s, 2500); i++)
        zclock_sleep(10); /* freed on ZeroMQ's side once received */
    FC_CHECK(fc_relay_stream_room(s, 2500));

    /* A damaged byte: FC_EHASH and nothing sent. Not a run: FC_EINVAL. */
    src.flip = 3100;
    FC_CHECK(fc_relay_stream_serve(s, peer, 8, file.hash, 3000, 500, s_read, &src) == FC_EHASH);
    FC_CHECK(fc_relay_stream_serve(s, peer, 9, file.hash, 10, 990, s_read, &src) == FC_EINVAL);
    /* Pieces that cannot be read: FC_ENOTFOUND (not FC_EIO, which says the send failed). */
    s_src_t short_src = {buf, 100, -1};
    FC_CHECK(fc_relay_stream_serve(s, peer, 11, file.hash, 0, 1000, s_read, &short_src) ==
             FC_ENOTFOUND);
    zsock_set_rcvtimeo(dealer, 50);
    got = zmsg_recv(dealer);
    FC_CHECK(!got);
    uint64_t bytes = 0;
    FC_CHECK(fc_relay_stream_served(s, &bytes) == 1 && bytes == 2000);

    /* A reply still queued when the stream goes: its bytes stay valid until sent. */
    src.flip = -1;
    FC_CHECK(fc_relay_stream_serve(s, peer, 10, file.hash, 0, 1000, s_read, &src) == FC_OK);
    fc_relay_stream_destroy(&s);
    fc_relay_stream_destroy(&s); /* safe on NULL */
    zsock_set_rcvtimeo(dealer, 1000);
    got = zmsg_recv(dealer);
    FC_CHECK(got && zframe_size(zmsg_last(got)) == 1000);
    FC_CHECK(memcmp(zframe_data(zmsg_last(got)), buf, 1000) == 0);
    zmsg_destroy(&got);
    zframe_destroy(&peer);
    zsock_destroy(&dealer);
    zsock_destroy(&router);
    if (verbose)
        printf("OK\n");
}
