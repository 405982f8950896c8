/* fc_fetch.c: the agent's chunk fetcher: a window of GET_CHUNK requests, re-sends, writes. */
#include "fc_fetch.h"
#include "fc_error.h"
#include "fc_hash.h"

#include <sodium.h>
#include <string.h>

/* Slot numbers live in the low bits of a request id, so a reply finds its request in one
   step; the bits above count requests, so a re-issued request never reuses an old id. */
#define S_SLOT_BITS 10
#define S_SLOT_MASK ((uint64_t)FC_FETCH_SLOTS - 1)
#define S_BASE_TIMEOUT 5.0 /* a request unanswered this long may be re-sent ... */
#define S_QUIET 5.0        /* ... if nothing at all came back for this long, */
#define S_MAX_TIMEOUT 60.0 /* or in any case after this long */

typedef struct {
    uint64_t req;   /* 0: free */
    uint64_t index; /* global chunk index in the stage */
    uint32_t length;
    double sent;              /* last transmission */
    uint64_t replies_at_send; /* the fetcher's reply count then */
    uint32_t ahead;           /* requests outstanding then, itself included */
    double due;               /* parked until then (then re-issued with a new id); 0: not parked */
} s_slot_t;

struct fc_fetch_t {
    fc_stage_t *stage;
    uint64_t window;
    uint64_t nchunks;
    uint64_t cursor; /* chunks below it have been requested (or were present) */
    uint64_t gen;    /* request counter, shifted above the slot bits */
    s_slot_t slots[FC_FETCH_SLOTS];
    uint32_t free_slots[FC_FETCH_SLOTS];
    size_t nfree;
    size_t inflight;
    uint64_t inflight_bytes;
    double paused_until;
    uint64_t retried;
    uint64_t hash_errors;
    /* Replies matched so far, and when the last one came: a request is late when the link
       went quiet, or when more replies came since it was sent than requests were ahead of it
       (the broker answers in order, so it was skipped). A slow but moving link is neither,
       so its requests are not re-sent just because a full window takes more than 5 s. */
    uint64_t replies;
    double last_reply;
};

_Static_assert((FC_FETCH_SLOTS & (FC_FETCH_SLOTS - 1)) == 0, "slots must be a power of two");
_Static_assert(FC_FETCH_SLOTS == (1u << S_SLOT_BITS), "slot bits must match slots");

fc_fetch_t *fc_fetch_new(fc_stage_t *stage, uint64_t window)
{
    if (!stage)
        return NULL;
    fc_fetch_t *self = (fc_fetch_t *)zmalloc(sizeof(fc_fetch_t));
    self->stage = stage;
    self->window = window ? window : 4u * 1024u * 1024u;
    self->nchunks = fc_stage_nchunks(stage);
    for (size_t i = 0; i < FC_FETCH_SLOTS; i++)
        self->free_slots[i] = (uint32_t)(FC_FETCH_SLOTS - 1 - i);
    self->nfree = FC_FETCH_SLOTS;
    /* Random start, so replies meant for an earlier fetcher (or process) never match. */
    self->gen = ((uint64_t)randombytes_random() << 8) + 1;
    return self;
}

void fc_fetch_destroy(fc_fetch_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free(*self_p);
    *self_p = NULL;
}

static uint64_t s_new_req(fc_fetch_t *self, size_t slot)
{
    uint64_t req = ((self->gen++ << S_SLOT_BITS) | slot) & ~FC_FETCH_CTL_BIT;
    return req ? req : ((self->gen++ << S_SLOT_BITS) | slot);
}

static s_slot_t *s_lookup(const fc_fetch_t *self, uint64_t req)
{
    if (req == 0 || (req & FC_FETCH_CTL_BIT))
        return NULL;
    s_slot_t *slot = (s_slot_t *)&self->slots[req & S_SLOT_MASK];
    return slot->req == req ? slot : NULL;
}

/* Sends the slot's request with its current id. A send that cannot be queued right now
   (send timeout 0) is retried by the timeout scan soon after. */
static void s_transmit(fc_fetch_t *self, s_slot_t *slot, void *sock, double now)
{
    const fc_file_t *file = NULL;
    const fc_chunk_t *chunk = fc_stage_chunk(self->stage, slot->index, &file);
    slot->sent = now;
    slot->due = 0;
    slot->replies_at_send = self->replies;
    slot->ahead = (uint32_t)self->inflight;
    if (!chunk || !file)
        return;
    fc_msg_t *msg = fc_msg_new(FC_MSG_GET_CHUNK);
    msg->req = slot->req;
    memcpy(msg->blob, file->hash, FC_HASH_LEN);
    msg->offset = chunk->offset;
    msg->length = chunk->length;
    if (fc_msg_send(&msg, sock) != 0)
        slot->sent = now - S_MAX_TIMEOUT + 0.25; /* queue full: try again soon */
}

static void s_release(fc_fetch_t *self, s_slot_t *slot)
{
    self->inflight--;
    self->inflight_bytes -= slot->length;
    slot->req = 0;
    self->free_slots[self->nfree++] = (uint32_t)(slot - self->slots);
}

static void s_reissue(fc_fetch_t *self, s_slot_t *slot, void *sock, double now)
{
    slot->req = s_new_req(self, (size_t)(slot - self->slots));
    self->retried++;
    s_transmit(self, slot, sock, now);
}

size_t fc_fetch_pump(fc_fetch_t *self, void *sock, double now)
{
    if (now < self->paused_until)
        return 0;
    size_t sent = 0;
    while (self->nfree > 0) {
        while (self->cursor < self->nchunks && fc_stage_have(self->stage, self->cursor))
            self->cursor++;
        if (self->cursor >= self->nchunks)
            break;
        const fc_chunk_t *chunk = fc_stage_chunk(self->stage, self->cursor, NULL);
        if (!chunk)
            break;
        if (self->inflight > 0 && self->inflight_bytes + chunk->length > self->window)
            break;
        uint32_t n = self->free_slots[--self->nfree];
        s_slot_t *slot = &self->slots[n];
        slot->req = s_new_req(self, n);
        slot->index = self->cursor++;
        slot->length = chunk->length;
        self->inflight++;
        self->inflight_bytes += chunk->length;
        s_transmit(self, slot, sock, now);
        sent++;
    }
    return sent;
}

bool fc_fetch_owns(const fc_fetch_t *self, uint64_t req)
{
    return s_lookup(self, req) != NULL;
}

int fc_fetch_on_chunk(fc_fetch_t *self, const fc_msg_t *msg, void *sock, double now, double retry_s)
{
    s_slot_t *slot = s_lookup(self, msg->req);
    if (!slot)
        return -1;
    const fc_file_t *file = NULL;
    const fc_chunk_t *chunk = fc_stage_chunk(self->stage, slot->index, &file);
    size_t size = msg->data ? zframe_size(msg->data) : 0;
    self->replies++;
    self->last_reply = now;
    /* A reply naming another range than asked for is as wrong as a bad hash. */
    if (!chunk || !msg->data || memcmp(msg->blob, file->hash, FC_HASH_LEN) != 0 ||
        msg->offset != chunk->offset) {
        self->hash_errors++;
        s_reissue(self, slot, sock, now);
        return FC_EHASH;
    }
    /* Another chunk with the same content may have filled it already. */
    if (fc_stage_have(self->stage, slot->index)) {
        s_release(self, slot);
        return 0;
    }
    int rc = fc_stage_write(self->stage, slot->index, zframe_data(msg->data), size);
    if (rc == 0) {
        s_release(self, slot);
        return 0;
    }
    if (rc == FC_EHASH) {
        self->hash_errors++;
        s_reissue(self, slot, sock, now);
        return FC_EHASH;
    }
    /* Disk full or I/O error: keep the request and hold back new ones until retry time. */
    slot->due = now + retry_s;
    self->paused_until = now + retry_s;
    return rc;
}

bool fc_fetch_on_error(fc_fetch_t *self, const fc_msg_t *msg, double retry_s, double now)
{
    s_slot_t *slot = s_lookup(self, msg->req);
    if (!slot)
        return false;
    self->replies++;
    self->last_reply = now;
    slot->due = now + retry_s;
    return true;
}

/* Whether an unparked request has waited long enough to be sent again. */
static bool s_late(const fc_fetch_t *self, const s_slot_t *slot, double now)
{
    double age = now - slot->sent;
    if (age < S_BASE_TIMEOUT)
        return false;
    bool quiet = now - self->last_reply >= S_QUIET || self->last_reply < slot->sent;
    bool overtaken = self->replies - slot->replies_at_send > slot->ahead;
    return quiet || overtaken || age >= S_MAX_TIMEOUT;
}

size_t fc_fetch_expire(fc_fetch_t *self, void *sock, double now)
{
    if (self->inflight == 0)
        return 0;
    size_t resent = 0;
    for (size_t i = 0; i < FC_FETCH_SLOTS; i++) {
        s_slot_t *slot = &self->slots[i];
        if (slot->req == 0)
            continue;
        if (slot->due > 0) {
            if (now >= slot->due) {
                s_reissue(self, slot, sock, now);
                resent++;
            }
        } else if (s_late(self, slot, now)) {
            /* Same id: whichever copy is answered first completes it. */
            self->retried++;
            s_transmit(self, slot, sock, now);
            resent++;
        }
    }
    return resent;
}

size_t fc_fetch_resend_all(fc_fetch_t *self, void *sock, double now)
{
    size_t resent = 0;
    for (size_t i = 0; i < FC_FETCH_SLOTS && resent < self->inflight; i++) {
        s_slot_t *slot = &self->slots[i];
        if (slot->req == 0 || slot->due > 0)
            continue; /* parked requests wait for their own time */
        self->retried++;
        s_transmit(self, slot, sock, now);
        resent++;
    }
    return resent;
}

size_t fc_fetch_resend_before(fc_fetch_t *self, void *sock, double before, double now)
{
    size_t resent = 0;
    for (size_t i = 0; i < FC_FETCH_SLOTS; i++) {
        s_slot_t *slot = &self->slots[i];
        if (slot->req == 0 || slot->due > 0 || slot->sent >= before)
            continue;
        self->retried++;
        s_transmit(self, slot, sock, now);
        resent++;
    }
    return resent;
}

size_t fc_fetch_inflight(const fc_fetch_t *self)
{
    return self->inflight;
}

uint64_t fc_fetch_inflight_bytes(const fc_fetch_t *self)
{
    return self->inflight_bytes;
}

bool fc_fetch_done(fc_fetch_t *self)
{
    if (self->inflight > 0)
        return false;
    if (fc_stage_complete(self->stage))
        return true;
    /* Something the cursor passed is still missing: go round again. */
    if (self->cursor >= self->nchunks)
        self->cursor = 0;
    return false;
}

bool fc_fetch_paused(const fc_fetch_t *self, double now)
{
    return now < self->paused_until;
}

uint64_t fc_fetch_retried(const fc_fetch_t *self)
{
    return self->retried;
}

uint64_t fc_fetch_hash_errors(const fc_fetch_t *self)
{
    return self->hash_errors;
}
