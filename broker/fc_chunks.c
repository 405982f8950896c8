/* fc_chunks.c: the broker's chunk server: GET_CHUNK answered by positioned reads within a
   budget of bytes held, and within a share of it per connection, the rest queued per peer
   and served one peer at a time in turn; a connection that holds bytes and takes none of
   them for a deadline is dropped. */
#include "fc_chunks.h"
#include "fc_error.h"
#include "fc_hash.h"
#include "fc_limits.h"
#include "fc_msg.h"
#include "fc_store_config.h" /* fc_store_audit_add */
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

/* What one connection (routing id) holds: its replies' bytes not yet taken by ZeroMQ, and
   how many it has released in all (progress). Shared with the I/O thread like the account:
   the server holds one reference while it knows the connection, and each reply one. */
typedef struct s_conn_t {
    s_account_t *account; /* one reference of its own */
    uint64_t held, released;
    uint64_t nheld; /* replies */
    uint64_t refs;
    bool dropped; /* its bytes no longer count in the account's */
    /* The record of the CURVE key the connection authenticated with (one reference), whose
       held bytes are those of all its connections, dropped ones included; NULL for a key's
       own record, or with --insecure. */
    struct s_conn_t *owner;
    size_t nlinks;      /* a key's record: connections known with it (main thread) */
    size_t nwaiting;    /* a key's record: requests its connections have queued (main thread) */
    int64_t audited_at; /* a key's record: its last "chunks.drop" audit entry, 0 none yet */
} s_conn_t;

/* What the server knows of a connection besides s_conn_t (main thread only). */
typedef struct {
    s_conn_t *conn;
    char *key;           /* routing id in hex */
    char *who;           /* the CURVE key, or NULL (--insecure) */
    int64_t seen;        /* last request, zclock_mono ms */
    int64_t progress_at; /* when its released count last moved, or it held nothing */
    uint64_t released;   /* conn->released then */
    int64_t audited_at;  /* with --insecure: its last "chunks.drop" audit entry, 0 none yet */
} s_link_t;

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
/* A key's drops are logged and audited at most this often: a hog that drains, is served
   again and stalls again is dropped every time, but does not flood the audit log. */
#define S_AUDIT_EVERY_MS (60 * 1000)

/* A peer with requests waiting, oldest first. */
typedef struct {
    zframe_t *peer;
    char *key; /* its routing id in hex */
    zlistx_t *queue;
    void *handle;   /* its place in the turn */
    s_link_t *link; /* borrowed from links; kept there while this waits */
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
    /* Per connection: what it holds, against its share. One connection that stops reading
       (or reads slowly) fills its share and is then skipped, not waited on: the others are
       served from the rest of the budget. */
    zhashx_t *links;  /* key -> s_link_t, owned */
    zhashx_t *owners; /* CURVE key -> s_conn_t, one reference each */
    uint64_t share;
    int64_t deadline_ms, checked;
    uint64_t send_failed, dropped, duplicates, nserved, ndropped_links, ignored;
    uint64_t bytes_served; /* of the nserved chunks */
};

static void s_account_release(s_account_t *a, uint64_t bytes)
{
    if (bytes)
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

/* Drops one reference to a connection's record (any thread). */
static void s_conn_release(s_conn_t *c)
{
    if (__atomic_sub_fetch(&c->refs, 1, __ATOMIC_ACQ_REL) == 0) {
        if (c->owner)
            s_conn_release(c->owner);
        s_account_release(c->account, 0);
        free(c);
    }
}

static void s_owner_destroy(void **item)
{
    if (*item)
        s_conn_release((s_conn_t *)*item);
    *item = NULL;
}

/* ZeroMQ is done with a reply's bytes (any thread). */
static void s_free_chunk(void *data, void *hint)
{
    /* The bytes were written on the broker's thread and reached this one inside libzmq. */
    fc_tsan_acquire(data);
    uint64_t *block = (uint64_t *)data - S_HEADER;
    s_conn_t *c = (s_conn_t *)hint;
    s_account_t *a = c->account;
    uint64_t length = block[0];
    s_block_free(a, block);
    /* Under the account's lock: a drop moves the connection's bytes out of the account's
       count at once, and they must not leave it twice. */
    pthread_mutex_lock(&a->lock);
    /* Atomic as well as locked: the broker's thread reads these counters without the lock
       (s_conn_held, s_share_room, s_check_stalled). */
    __atomic_sub_fetch(&c->held, length, __ATOMIC_RELEASE);
    __atomic_sub_fetch(&c->nheld, 1, __ATOMIC_RELEASE);
    __atomic_add_fetch(&c->released, length, __ATOMIC_RELEASE);
    if (c->owner)
        __atomic_sub_fetch(&c->owner->held, length, __ATOMIC_RELEASE);
    if (!c->dropped)
        __atomic_sub_fetch(&a->held, length, __ATOMIC_RELEASE);
    pthread_mutex_unlock(&a->lock);
    s_conn_release(c);
}

static void s_link_destroy(void **item)
{
    s_link_t *l = (s_link_t *)*item;
    if (l) {
        if (l->conn->owner)
            l->conn->owner->nlinks--;
        s_conn_release(l->conn);
        zstr_free(&l->key);
        zstr_free(&l->who);
        free(l);
        *item = NULL;
    }
}

/* The record of CURVE key who, made if new; NULL if out of memory. */
static s_conn_t *s_owner(fc_chunks_t *self, const char *who)
{
    s_conn_t *o = (s_conn_t *)zhashx_lookup(self->owners, who);
    if (o)
        return o;
    o = calloc(1, sizeof *o);
    if (!o)
        return NULL;
    o->account = self->account;
    o->refs = 1;
    __atomic_add_fetch(&self->account->refs, 1, __ATOMIC_RELAXED);
    if (zhashx_insert(self->owners, who, o) != 0) {
        s_conn_release(o);
        return NULL;
    }
    return o;
}

/* The record of the connection key (of CURVE key who, if not NULL), made if new; NULL if
   out of memory. */
static s_link_t *s_link(fc_chunks_t *self, const char *key, const char *who, int64_t now)
{
    s_link_t *l = (s_link_t *)zhashx_lookup(self->links, key);
    if (l)
        return l;
    s_conn_t *owner = who && *who ? s_owner(self, who) : NULL;
    if (who && *who && !owner)
        return NULL;
    l = calloc(1, sizeof *l);
    s_conn_t *c = l ? calloc(1, sizeof *c) : NULL;
    char *k = c ? strdup(key) : NULL;
    if (!k) {
        free(c);
        free(l);
        return NULL;
    }
    c->account = self->account;
    c->refs = 1;
    __atomic_add_fetch(&self->account->refs, 1, __ATOMIC_RELAXED);
    if (owner) {
        c->owner = owner;
        owner->nlinks++;
        __atomic_add_fetch(&owner->refs, 1, __ATOMIC_RELAXED);
    }
    l->conn = c;
    l->key = k;
    l->who = owner ? strdup(who) : NULL;
    l->seen = l->progress_at = now;
    if (zhashx_insert(self->links, key, l) != 0) {
        void *item = l;
        s_link_destroy(&item);
        return NULL;
    }
    return l;
}

static uint64_t s_conn_held(const s_conn_t *c)
{
    return __atomic_load_n(&c->held, __ATOMIC_ACQUIRE);
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
    self->links = zhashx_new();
    self->owners = zhashx_new();
    if (!self->account || !self->account->spare || !self->turn || !self->peers || !self->served ||
        !self->links || !self->owners) {
        if (self->account) {
            free(self->account->spare);
            pthread_mutex_destroy(&self->account->lock);
        }
        free(self->account);
        zlistx_destroy(&self->turn);
        zhashx_destroy(&self->peers);
        zhashx_destroy(&self->served);
        zhashx_destroy(&self->links);
        zhashx_destroy(&self->owners);
        free(self);
        return NULL;
    }
    zhashx_set_destructor(self->links, s_link_destroy);
    zhashx_set_destructor(self->owners, s_owner_destroy);
    self->share = FC_CHUNKS_SHARE;
    self->deadline_ms = FC_CHUNKS_DEADLINE_MS;
    self->checked = zclock_mono();
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
    zhashx_destroy(&self->links); /* records of replies still in ZeroMQ live on with them */
    zhashx_destroy(&self->owners);
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
static void s_serve(fc_chunks_t *self, zframe_t *peer, s_link_t *link, uint64_t req,
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
    s_conn_t *c = link->conn;
    pthread_mutex_lock(&self->account->lock);
    if (c->held == 0) { /* the deadline runs from its first held byte */
        link->progress_at = zclock_mono();
        link->released = c->released;
    }
    __atomic_add_fetch(&c->held, length, __ATOMIC_RELEASE); /* atomic: read without the lock */
    __atomic_add_fetch(&c->nheld, 1, __ATOMIC_RELEASE);
    if (c->owner)
        __atomic_add_fetch(&c->owner->held, length, __ATOMIC_RELEASE);
    __atomic_add_fetch(&self->account->held, length, __ATOMIC_RELAXED);
    pthread_mutex_unlock(&self->account->lock);
    __atomic_add_fetch(&c->refs, 1, __ATOMIC_RELAXED);
    fc_tsan_release(data); /* s_free_chunk reads the block on ZeroMQ's I/O thread */
    if (fc_msg_send_to_owned(&reply, peer, self->router, data, (size_t)length, s_free_chunk, c) !=
        0)
        self->send_failed++;
    else {
        self->nserved++;
        self->bytes_served += length;
        s_mark_served(self, link->key, req);
    }
}

/* Room in the budget for length more bytes? One chunk always goes, so a budget below a
   chunk still serves. */
static bool s_room(const fc_chunks_t *self, uint64_t length)
{
    uint64_t held = __atomic_load_n(&self->account->held, __ATOMIC_ACQUIRE);
    return held == 0 || held + length <= self->budget;
}

/* Room in the connection's share (the same rule, per connection), in bytes and in replies
   (so that chunk replies alone never reach the ROUTER's send HWM, whatever their size)? */
static bool s_share_room(const fc_chunks_t *self, const s_link_t *l, uint64_t length)
{
    uint64_t held = s_conn_held(l->conn);
    bool room =
        held == 0 || (held + length <= self->share &&
                      __atomic_load_n(&l->conn->nheld, __ATOMIC_ACQUIRE) < FC_CHUNKS_SHARE_MSGS);
    /* All the connections of one key, dropped ones still held by ZeroMQ included: opening
       more connections does not give a key more shares. */
    const s_conn_t *o = l->conn->owner;
    uint64_t owned = o ? s_conn_held(o) : 0;
    return room && (owned == 0 || owned + length <= FC_CHUNKS_KEY_SHARES * self->share);
}

/* A dropped connection whose bytes ZeroMQ has all released (its reader came back and read
   them, e.g. an agent paused past the deadline) is served again: it pins nothing now, and
   the key's cap still bounds what it can pin if it stalls again (dropped again then). Left
   dropped, an agent that keeps its connection and re-sends on it would never be answered
   again. True if reinstated. */
static bool s_reinstate(fc_chunks_t *self, s_link_t *l, int64_t now)
{
    s_conn_t *c = l->conn;
    if (!c->dropped || s_conn_held(c) > 0)
        return false;
    /* Under the lock, as s_free_chunk reads it there (it has nothing left to release). */
    pthread_mutex_lock(&self->account->lock);
    c->dropped = false;
    pthread_mutex_unlock(&self->account->lock);
    l->released = __atomic_load_n(&c->released, __ATOMIC_ACQUIRE);
    l->progress_at = now;
    zsys_info("fleetcast-broker: chunk connection %s served again: its held bytes drained", l->key);
    return true;
}

/* A connection that holds bytes and has released none for the deadline: its reader is
   gone or stopped (ZeroMQ keeps a connection whose peer's kernel still acknowledges, even
   with a zero window, and ROUTER cannot close one). Its bytes leave the account, so the
   budget it held serves others; its requests are refused from now on. Checked once a
   second. */
static void s_check_stalled(fc_chunks_t *self, int64_t now)
{
    if (now - self->checked < 1000)
        return;
    self->checked = now;
    zlistx_t *gone = zlistx_new();
    for (s_link_t *l = (s_link_t *)zhashx_first(self->links); l;
         l = (s_link_t *)zhashx_next(self->links)) {
        s_conn_t *c = l->conn;
        uint64_t released = __atomic_load_n(&c->released, __ATOMIC_ACQUIRE);
        uint64_t held = s_conn_held(c);
        if (released != l->released || held == 0) {
            l->released = released;
            l->progress_at = now;
        }
        bool waiting = zhashx_lookup(self->peers, l->key) != NULL;
        if (!c->dropped && held > 0 && now - l->progress_at >= self->deadline_ms) {
            pthread_mutex_lock(&self->account->lock);
            c->dropped = true;
            held = c->held;
            __atomic_sub_fetch(&self->account->held, held, __ATOMIC_RELEASE);
            pthread_mutex_unlock(&self->account->lock);
            self->ndropped_links++;
            /* Once per key a minute (the record of a key outlives its connections while
               any is known): each drop event of an honest agent is audited, a hog
               cycling through drop and reinstatement is not a flood. */
            int64_t *audited = c->owner ? &c->owner->audited_at : &l->audited_at;
            if (*audited == 0 || now - *audited >= S_AUDIT_EVERY_MS) {
                *audited = now;
                char detail[FC_MAX_TEXT];
                snprintf(detail, sizeof detail,
                         "connection %s dropped: %llu chunk bytes held, none taken for %lld ms",
                         l->key, (unsigned long long)held, (long long)(now - l->progress_at));
                zsys_warning("fleetcast-broker: chunk %s", detail);
                fc_store_audit_add(self->store, l->who ? l->who : l->key, "chunks.drop", detail,
                                   "dropped");
            }
        } else if (!s_reinstate(self, l, now) && gone && !waiting && held == 0 &&
                   (!c->dropped || now - l->seen > S_SERVED_TTL_MS))
            zlistx_add_end(gone, l->key);
        /* A dropped connection is remembered while ZeroMQ still holds its bytes (its
           requests are not answered until then), and served again once it has none. */
    }
    for (const char *k = gone ? (const char *)zlistx_first(gone) : NULL; k;
         k = (const char *)zlistx_next(gone))
        zhashx_delete(self->links, k);
    zlistx_destroy(&gone);
    /* Keys with no connection known and nothing held are forgotten. */
    gone = zlistx_new();
    for (s_conn_t *o = (s_conn_t *)zhashx_first(self->owners); o && gone;
         o = (s_conn_t *)zhashx_next(self->owners))
        if (o->nlinks == 0 && s_conn_held(o) == 0)
            zlistx_add_end(gone, (void *)zhashx_cursor(self->owners));
    for (const char *k = gone ? (const char *)zlistx_first(gone) : NULL; k;
         k = (const char *)zlistx_next(gone))
        zhashx_delete(self->owners, k);
    zlistx_destroy(&gone);
}

void fc_chunks_set_share(fc_chunks_t *self, uint64_t share)
{
    self->share = share ? share : FC_CHUNKS_SHARE;
}

void fc_chunks_set_deadline(fc_chunks_t *self, int64_t ms)
{
    self->deadline_ms = ms > 0 ? ms : FC_CHUNKS_DEADLINE_MS;
}

static void s_peer_remove(fc_chunks_t *self, s_peer_t *p);

/* The waiting cap is reached: drops the newest request of the longest queue (its requester
   re-sends it) if that queue is longer than mine + 1, so a peer with little waiting still
   gets its requests queued. True if one was dropped. O(peers waiting), only at the cap. */
static bool s_evict(fc_chunks_t *self, size_t mine)
{
    s_peer_t *longest = NULL;
    for (s_peer_t *q = (s_peer_t *)zlistx_first(self->turn); q;
         q = (s_peer_t *)zlistx_next(self->turn))
        if (!longest || zlistx_size(q->queue) > zlistx_size(longest->queue))
            longest = q;
    if (!longest || zlistx_size(longest->queue) <= mine + 1)
        return false;
    zlistx_last(longest->queue);
    zlistx_delete(longest->queue, zlistx_cursor(longest->queue));
    self->nwaiting--;
    if (longest->link->conn->owner)
        longest->link->conn->owner->nwaiting--;
    self->dropped++;
    return true;
}

int fc_chunks_get(fc_chunks_t *self, zframe_t *peer, const char *who, uint64_t req,
                  const uint8_t blob[FC_HASH_LEN], uint64_t offset, uint64_t length, char *text,
                  size_t textsize)
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
    s_check_stalled(self, now);
    s_link_t *link = key ? s_link(self, key, who, now) : NULL;
    if (!link) {
        zstr_free(&key);
        self->dropped++;
        return 0;
    }
    link->seen = now;
    if (link->conn->dropped && !s_reinstate(self, link, now)) {
        /* Not answered while ZeroMQ still holds its bytes: the requester's re-sends time
           out until it has read them (or it is served on a new connection). */
        zstr_free(&key);
        self->ignored++;
        return 0;
    }
    if (s_was_served(self, key, req, now)) {
        zstr_free(&key);
        self->duplicates++;
        return 0;
    }
    s_peer_t *p = (s_peer_t *)zhashx_lookup(self->peers, key);
    /* Behind its own queue, never ahead of it: each peer gets its chunks in the order it
       asked for them. */
    if (!p && s_room(self, length) && s_share_room(self, link, length) &&
        (zlistx_size(self->turn) == 0 || s_conn_held(link->conn) == 0)) {
        s_serve(self, peer, link, req, blob, offset, length);
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
    /* Past one peer's part of the cap, or one key's (so neither one connection nor one key's
       many connections can fill it), dropped unanswered: every request is idempotent, and
       its requester re-sends it. Past the cap itself (distinct requests of thousands of
       full windows), the newest request of the longest queue makes way for it, if that
       queue is longer than this peer's: many keys together cannot shut out a peer with
       little waiting. */
    s_conn_t *owner = link->conn->owner;
    size_t mine = p ? zlistx_size(p->queue) : 0;
    bool room = mine < FC_CHUNKS_MAX_WAITING_PEER &&
                (!owner || owner->nwaiting < FC_CHUNKS_MAX_WAITING_KEY) &&
                (self->nwaiting < FC_CHUNKS_MAX_WAITING || s_evict(self, mine));
    s_waiting_t *w = room ? calloc(1, sizeof *w) : NULL;
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
        p->link = link;
        p->key = key;
        key = NULL;
        p->handle = zlistx_add_end(self->turn, p);
        zhashx_insert(self->peers, p->key, p);
    }
    zstr_free(&key);
    zlistx_add_end(p->queue, w);
    self->nwaiting++;
    if (owner)
        owner->nwaiting++;
    return 0;
}

static void s_peer_remove(fc_chunks_t *self, s_peer_t *p)
{
    self->nwaiting -= zlistx_size(p->queue);
    if (p->link->conn->owner)
        p->link->conn->owner->nwaiting -= zlistx_size(p->queue);
    zhashx_delete(self->peers, p->key);
    zlistx_delete(self->turn, p->handle); /* destroys p */
}

size_t fc_chunks_pump(fc_chunks_t *self)
{
    s_check_stalled(self, zclock_mono());
    size_t n = 0;
    bool progress = true;
    /* Rounds over the peers waiting, one chunk each, until the budget is spent or a whole
       round served nobody: a peer at its share is passed over, not waited on. */
    while (progress && zlistx_size(self->turn) > 0) {
        progress = false;
        size_t round = zlistx_size(self->turn);
        for (size_t i = 0; i < round; i++) {
            s_peer_t *p = (s_peer_t *)zlistx_first(self->turn);
            if (p->link->conn->dropped) {
                self->ignored += zlistx_size(p->queue);
                s_peer_remove(self, p);
                continue;
            }
            s_waiting_t *w = (s_waiting_t *)zlistx_first(p->queue);
            if (!s_room(self, w->length))
                return n;
            if (!s_share_room(self, p->link, w->length)) {
                zlistx_move_end(self->turn, p->handle);
                continue;
            }
            s_serve(self, p->peer, p->link, w->req, w->blob, w->offset, w->length);
            zlistx_delete(p->queue, zlistx_cursor(p->queue));
            self->nwaiting--;
            if (p->link->conn->owner)
                p->link->conn->owner->nwaiting--;
            n++;
            progress = true;
            if (zlistx_size(p->queue) == 0)
                s_peer_remove(self, p);
            else
                zlistx_move_end(self->turn, p->handle);
        }
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

uint64_t fc_chunks_bytes_served(const fc_chunks_t *self)
{
    return self->bytes_served;
}

uint64_t fc_chunks_budget(const fc_chunks_t *self)
{
    return self->budget;
}

uint64_t fc_chunks_duplicates(const fc_chunks_t *self)
{
    return self->duplicates;
}

uint64_t fc_chunks_dropped_links(const fc_chunks_t *self)
{
    return self->ndropped_links;
}

uint64_t fc_chunks_ignored(const fc_chunks_t *self)
{
    return self->ignored;
}
