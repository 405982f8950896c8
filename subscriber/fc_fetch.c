/* fc_fetch.c: the agent's chunk fetcher: a window of GET_CHUNK requests, re-sends, and the
   workers that hash and write the replies off the event loop. */
#include "fc_fetch.h"
#include "fc_error.h"
#include "fc_hash.h"
#include "fc_install_priv.h"
#include "fc_tsan.h"

#include <sodium.h>
#include <string.h>
#include <unistd.h>

/* Slot numbers live in the low bits of a request id, so a reply finds its request in one
   step; the bits above count requests, so a re-issued request never reuses an old id. */
#define S_SLOT_BITS 10
#define S_SLOT_MASK ((uint64_t)FC_FETCH_SLOTS - 1)
#define S_BASE_TIMEOUT 5.0 /* a request unanswered this long may be re-sent ... */
#define S_QUIET 5.0        /* ... if nothing at all came back for this long, */
#define S_MAX_TIMEOUT 60.0 /* or in any case after this long */
#define S_BAD_RETRY 0.5    /* a chunk that failed its hash is asked again after (s) */
/* Hashing is most of an agent's work (BLAKE2b: about 1.6 s of CPU per GiB), so replies are
   hashed and written by worker actors while the loop receives the next ones. Each worker
   holds at most this many chunks (queued or at work); beyond that, or for chunks too small
   to be worth a handoff, the loop's own thread does it. Memory stays bounded by the window:
   a request's slot is freed only once its chunk is written. */
#define S_MAX_WORKERS 4
#define S_JOBS_PER_WORKER 4
#define S_INLINE_BELOW (64u * 1024u)
/* One request asks for a run of chunks back to back in one file, up to this many bytes (or
   one chunk of any size): with content-defined chunks of 16-64 KiB, a request per chunk cost
   the agent and the broker more per byte (a request, a reply, a handoff, a wakeup each)
   than the copying. Each chunk of a reply is still checked against its own hash. */
#define S_RUN_BYTES (256u * 1024u)

typedef struct {
    uint64_t req;             /* 0: free */
    uint64_t index;           /* global chunk index in the stage: the first of the run */
    uint32_t count;           /* chunks asked for: index..index+count-1, back to back in one file */
    uint32_t length;          /* their bytes */
    double sent;              /* last transmission */
    uint64_t replies_at_send; /* the fetcher's reply count then */
    uint32_t ahead;           /* requests outstanding then, itself included */
    double due;               /* parked until then (then re-issued with a new id); 0: not parked */
    bool busy;                /* answered; its chunk is with a worker */
} s_slot_t;

/* What travels to a worker and back, with the chunks' data in a second frame. */
typedef struct {
    uint64_t req; /* the request the chunk answered */
    fc_stage_job_t job;
} s_job_t;

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
    uint64_t bad_index; /* the last chunk whose content did not match its hash */
    bool have_bad;
    /* Replies matched so far, and when the last one came: a request is late when the link
       went quiet, or when more replies came since it was sent than requests were ahead of it
       (the broker answers in order, so it was skipped). A slow but moving link is neither,
       so its requests are not re-sent just because a full window takes more than 5 s. */
    uint64_t replies;
    double last_reply;
    zactor_t *workers[S_MAX_WORKERS];
    size_t jobs[S_MAX_WORKERS]; /* chunks each worker holds */
    size_t nworkers;
};

_Static_assert((FC_FETCH_SLOTS & (FC_FETCH_SLOTS - 1)) == 0, "slots must be a power of two");
_Static_assert(FC_FETCH_SLOTS == (1u << S_SLOT_BITS), "slot bits must match slots");
/* A ZeroMQ message stores at most its own size (64 bytes) inline and moves anything larger
   by pointer: the job's bytes keep their address across the pipe (see s_worker). */
_Static_assert(sizeof(s_job_t) > sizeof(zmq_msg_t), "a job must not fit inline in a zmq_msg_t");

/* A worker: hashes and writes each chunk it is given (fc_stage_job_run touches nothing but
   the job), and sends the job back with its outcome and the data (for duplicate chunks). */
static void s_worker(zsock_t *pipe, void *args)
{
    (void)args;
    zsock_signal(pipe, 0);
    while (true) {
        zmsg_t *msg = zmsg_recv(pipe);
        if (!msg)
            break;
        zframe_t *head = zmsg_first(msg);
        zframe_t *data = zmsg_next(msg);
        if (!data || zframe_size(head) != sizeof(s_job_t)) {
            zmsg_destroy(&msg); /* $TERM */
            break;
        }
        /* The job's frames pass between threads by libzmq's pipe, an ordering
           ThreadSanitizer cannot see: named at each end (the head frame's bytes keep their
           address, being larger than a ZeroMQ inline message). */
        fc_tsan_acquire(zframe_data(head));
        s_job_t j;
        memcpy(&j, zframe_data(head), sizeof j);
        fc_stage_job_run(&j.job, zframe_data(data), zframe_size(data));
        memcpy(zframe_data(head), &j, sizeof j);
        fc_tsan_release(zframe_data(head));
        if (zmsg_send(&msg, pipe) != 0)
            zmsg_destroy(&msg);
    }
}

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
    /* One worker per CPU but one: the loop's thread is the last hasher, taking what the
       workers cannot (on one CPU it does everything, as a handoff would gain nothing). */
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    size_t want = cpus > 1 ? (size_t)cpus - 1 : 0;
    if (want > S_MAX_WORKERS)
        want = S_MAX_WORKERS;
    while (self->nworkers < want) {
        zactor_t *w = zactor_new(s_worker, NULL);
        if (!w)
            break; /* fewer workers (or none: everything on the loop's thread) */
        self->workers[self->nworkers++] = w;
    }
    return self;
}

void fc_fetch_destroy(fc_fetch_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    fc_fetch_t *self = *self_p;
    /* Each worker finishes what it holds first (closing its fds); the outcomes are dropped:
       those chunks are not journaled, so a new fetcher asks for them again. */
    for (size_t i = 0; i < self->nworkers; i++)
        zactor_destroy(&self->workers[i]);
    free(self);
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
    msg->length = slot->length;
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

/* A chunk that came back wrong is asked for again after a pause, not at once: a broker
   serving bytes that do not match the signed manifest (compromised, or its disk damaged)
   would otherwise get the same request back thousands of times a second. */
static void s_park_bad(s_slot_t *slot, double now)
{
    slot->due = now + S_BAD_RETRY;
}

static void s_reissue(fc_fetch_t *self, s_slot_t *slot, void *sock, double now)
{
    slot->req = s_new_req(self, (size_t)(slot - self->slots));
    self->retried++;
    s_transmit(self, slot, sock, now);
}

/* Grows the slot's run with the chunks after it in the same file, contiguous, still
   missing and not awaiting an earlier copy, within S_RUN_BYTES and the window. */
static void s_extend(fc_fetch_t *self, s_slot_t *slot)
{
    const fc_file_t *file = NULL, *next_file = NULL;
    const fc_chunk_t *first = fc_stage_chunk(self->stage, slot->index, &file);
    while (first && slot->count < FC_STAGE_RUN_MAX && self->cursor < self->nchunks) {
        const fc_chunk_t *next = fc_stage_chunk(self->stage, self->cursor, &next_file);
        uint64_t grown = (uint64_t)slot->length + (next ? next->length : 0);
        if (!next || next_file != file || next->offset != first->offset + slot->length ||
            grown > S_RUN_BYTES ||
            (self->inflight > 0 && self->inflight_bytes + grown > self->window) ||
            fc_stage_have(self->stage, self->cursor) ||
            fc_stage_dup_pending(self->stage, self->cursor))
            return;
        slot->length = (uint32_t)grown;
        slot->count++;
        self->cursor++;
    }
}

size_t fc_fetch_pump(fc_fetch_t *self, void *sock, double now)
{
    if (now < self->paused_until)
        return 0;
    size_t sent = 0;
    while (self->nfree > 0) {
        /* A chunk whose earlier copy is still to come is filled with it: not asked twice. */
        while (self->cursor < self->nchunks && (fc_stage_have(self->stage, self->cursor) ||
                                                fc_stage_dup_pending(self->stage, self->cursor)))
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
        slot->count = 1;
        slot->length = chunk->length;
        s_extend(self, slot);
        self->inflight++;
        self->inflight_bytes += slot->length;
        s_transmit(self, slot, sock, now);
        sent++;
    }
    return sent;
}

bool fc_fetch_owns(const fc_fetch_t *self, uint64_t req)
{
    return s_lookup(self, req) != NULL;
}

/* The outcome of a chunk's check and write, on the loop's thread: a written chunk is
   journaled and its request freed, a bad one asked for again, a failed write parked. */
static int s_settle(fc_fetch_t *self, s_slot_t *slot, int rc, uint32_t bad, void *sock, double now,
                    double retry_s)
{
    slot->busy = false;
    if (rc == 0) {
        s_release(self, slot);
        return 0;
    }
    if (rc == FC_EHASH) {
        self->hash_errors++;
        self->bad_index = slot->index + bad;
        self->have_bad = true;
        s_park_bad(slot, now);
        return FC_EHASH;
    }
    /* Disk full or I/O error: keep the request and hold back new ones until retry time. */
    slot->due = now + retry_s;
    self->paused_until = now + retry_s;
    return rc;
}

/* Hands the chunk to the least busy worker: 1 if it took it (the data is gone from
 *data_p), 0 if none can take it now (the data stays). */
static int s_dispatch(fc_fetch_t *self, s_slot_t *slot, zframe_t **data_p)
{
    size_t best = self->nworkers;
    for (size_t i = 0; i < self->nworkers; i++)
        if (self->jobs[i] < S_JOBS_PER_WORKER &&
            (best == self->nworkers || self->jobs[i] < self->jobs[best]))
            best = i;
    if (best == self->nworkers)
        return 0;
    s_job_t j;
    memset(&j, 0, sizeof j);
    j.req = slot->req;
    if (fc_stage_job_prepare(self->stage, slot->index, &j.job) != 0)
        return 0; /* the loop's thread tries, and reports the error */
    for (uint32_t i = 1; i < slot->count; i++)
        if (!fc_stage_job_add(self->stage, &j.job, slot->index + i)) {
            close(j.job.fd); /* cannot be: the run was built from the same manifest */
            return 0;
        }
    zmsg_t *msg = zmsg_new();
    zmsg_addmem(msg, &j, sizeof j);
    fc_tsan_release(zframe_data(zmsg_first(msg))); /* s_worker acquires it */
    zmsg_append(msg, data_p);
    int rc = zmsg_send(&msg, zactor_sock(self->workers[best]));
    if (rc != 0 && zmsg_size(msg) == 2) {
        /* Not sent (only when interrupted): CZMQ gives the message back. */
        zframe_t *head = zmsg_pop(msg);
        *data_p = zmsg_pop(msg);
        zframe_destroy(&head);
    }
    zmsg_destroy(&msg);
    if (rc != 0) {
        if (j.job.fd >= 0)
            close(j.job.fd);
        return 0; /* with the data gone, the caller asks for the chunk again */
    }
    self->jobs[best]++;
    slot->busy = true;
    return 1;
}

/* Checks and writes the run on the loop's thread, chunk by chunk: 0, or the first
   failure (*bad: which chunk of the run, for FC_EHASH); the chunks before it count. */
static int s_write_inline(fc_fetch_t *self, const s_slot_t *slot, const uint8_t *data, size_t size,
                          uint32_t *bad)
{
    size_t off = 0;
    for (uint32_t i = 0; i < slot->count; i++) {
        const fc_chunk_t *c = fc_stage_chunk(self->stage, slot->index + i, NULL);
        size_t len = c && off <= size ? c->length : 0;
        int rc = c && len <= size - off
                     ? fc_stage_write(self->stage, slot->index + i, data + off, len)
                     : FC_EHASH;
        if (rc != 0) {
            *bad = i;
            return rc;
        }
        off += len;
    }
    return 0;
}

int fc_fetch_on_chunk(fc_fetch_t *self, fc_msg_t *msg, void *sock, double now, double retry_s)
{
    s_slot_t *slot = s_lookup(self, msg->req);
    if (!slot || slot->busy)
        return -1; /* a second copy of a reply already being checked: dropped too */
    const fc_file_t *file = NULL;
    const fc_chunk_t *chunk = fc_stage_chunk(self->stage, slot->index, &file);
    size_t size = msg->data ? zframe_size(msg->data) : 0;
    self->replies++;
    self->last_reply = now;
    /* A reply naming another range than asked for is as wrong as a bad hash. */
    if (!chunk || !msg->data || memcmp(msg->blob, file->hash, FC_HASH_LEN) != 0 ||
        msg->offset != chunk->offset) {
        self->hash_errors++;
        s_park_bad(slot, now);
        return FC_EHASH;
    }
    /* Other chunks with the same content may have filled them already. */
    uint32_t missing = 0;
    for (uint32_t i = 0; i < slot->count; i++)
        missing += !fc_stage_have(self->stage, slot->index + i);
    if (missing == 0) {
        s_release(self, slot);
        return 0;
    }
    if (size >= S_INLINE_BELOW && size == slot->length && s_dispatch(self, slot, &msg->data))
        return FC_FETCH_PENDING;
    if (!msg->data) {
        s_reissue(self, slot, sock, now);
        return -1;
    }
    uint32_t bad = 0;
    int rc = size == slot->length ? s_write_inline(self, slot, zframe_data(msg->data), size, &bad)
                                  : FC_EHASH; /* a short or long reply: as wrong as a bad hash */
    return s_settle(self, slot, rc, bad, sock, now, retry_s);
}

size_t fc_fetch_pipes(const fc_fetch_t *self, void **socks, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < self->nworkers && n < max; i++)
        socks[n++] = zsock_resolve(self->workers[i]);
    return n;
}

int fc_fetch_collect(fc_fetch_t *self, void *sock, double now, double retry_s)
{
    for (size_t i = 0; i < self->nworkers; i++) {
        zsock_t *pipe = zactor_sock(self->workers[i]);
        if (self->jobs[i] == 0 || !(zsock_events(pipe) & ZMQ_POLLIN))
            continue;
        zmsg_t *msg = zmsg_recv(pipe);
        if (!msg)
            continue;
        self->jobs[i]--;
        zframe_t *head = zmsg_first(msg);
        zframe_t *data = zmsg_next(msg);
        s_job_t j;
        s_slot_t *slot = NULL;
        if (data && zframe_size(head) == sizeof j) {
            fc_tsan_acquire(zframe_data(head)); /* released by s_worker */
            memcpy(&j, zframe_data(head), sizeof j);
            slot = s_lookup(self, j.req);
        }
        int rc = -1;
        if (slot && slot->busy) {
            rc = j.job.rc;
            if (rc == 0)
                rc = fc_stage_job_done(self->stage, &j.job, zframe_data(data));
            rc = s_settle(self, slot, rc, rc == FC_EHASH ? j.job.bad : 0, sock, now, retry_s);
        }
        zmsg_destroy(&msg);
        if (rc != -1)
            return rc;
    }
    return -1;
}

bool fc_fetch_on_error(fc_fetch_t *self, const fc_msg_t *msg, double retry_s, double now)
{
    s_slot_t *slot = s_lookup(self, msg->req);
    if (!slot)
        return false;
    if (slot->busy)
        return true; /* answered already: this copy's error does not matter */
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
        if (slot->req == 0 || slot->busy)
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
        if (slot->req == 0 || slot->due > 0 || slot->busy)
            continue; /* parked requests wait for their own time; answered ones are done */
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
        if (slot->req == 0 || slot->due > 0 || slot->busy || slot->sent >= before)
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

bool fc_fetch_last_bad(const fc_fetch_t *self, uint64_t *index)
{
    if (!self || !self->have_bad)
        return false;
    *index = self->bad_index;
    return true;
}
