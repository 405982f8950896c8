/* fc_objfetch.c: the agent's rounds of GET_OBJECT for a format-3 manifest: first the pages
   the top level names, then the chunk lists the pages name, each reply checked against the
   name it was asked by before it is kept. */
#include "fc_objfetch.h"
#include "fc_error.h"
#include "fc_hash.h"
#include "fc_objdelta.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    uint64_t key;
    uint8_t hash[FC_HASH_LEN];
} s_base_t;

struct fc_objfetch_t {
    fc_requester_t *req;
    fc_objects_t *objects;
    fc_objfetch_host_t host;
    uint8_t *top; /* the top level being completed, NULL: none */
    size_t top_len;
    size_t inflight;
    fc_mref_t *missing;         /* FC_OBJFETCH_WINDOW */
    uint8_t first[FC_HASH_LEN]; /* the first object the last round asked for */
    bool asked;
    zhashx_t *bad; /* hex -> times a damaged copy came */
    /* Delta bases: the installed release's chunk lists by the key of their path, sorted by
       key; built when a fetch starts. */
    s_base_t *bases;
    size_t nbases;
    int deltas;        /* fc_objfetch_deltas */
    bool probing;      /* deltas unknown: the one delta request asking is in flight */
    bool delta_spoilt; /* a delta made a wrong copy this fetch: whole objects for the rest */
};

/* The requester's user pointers for GET_OBJECT and GET_OBJECT_DELTA: replies come back to
   this class, and say which was asked. */
static const char s_kind_object[] = "GET_OBJECT";
static const char s_kind_delta[] = "GET_OBJECT_DELTA";

fc_objfetch_t *fc_objfetch_new(fc_requester_t *req, fc_objects_t *objects,
                               const fc_objfetch_host_t *host)
{
    fc_objfetch_t *self = (fc_objfetch_t *)calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->req = req;
    self->objects = objects;
    self->host = *host;
    self->missing = (fc_mref_t *)calloc(FC_OBJFETCH_WINDOW, sizeof *self->missing);
    self->bad = zhashx_new();
    if (!self->missing || !self->bad)
        fc_objfetch_destroy(&self);
    return self;
}

void fc_objfetch_destroy(fc_objfetch_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    fc_objfetch_t *self = *self_p;
    if (self->req) {
        fc_requester_forget_user(self->req, s_kind_object);
        fc_requester_forget_user(self->req, s_kind_delta);
    }
    free(self->bases);
    free(self->top);
    free(self->missing);
    zhashx_destroy(&self->bad);
    free(self);
    *self_p = NULL;
}

bool fc_objfetch_busy(const fc_objfetch_t *self)
{
    return self->top != NULL;
}

int fc_objfetch_deltas(const fc_objfetch_t *self)
{
    return self->deltas;
}

static void s_end(fc_objfetch_t *self)
{
    fc_requester_forget_user(self->req, s_kind_object);
    fc_requester_forget_user(self->req, s_kind_delta);
    free(self->bases);
    self->bases = NULL;
    self->nbases = 0;
    self->probing = false;
    self->delta_spoilt = false;
    self->inflight = 0;
    free(self->top);
    self->top = NULL;
    self->top_len = 0;
    self->asked = false;
    zhashx_purge(self->bad);
}

/* One damaged copy more of hash; false once the broker has sent too many. */
static bool s_count_bad(fc_objfetch_t *self, const uint8_t hash[FC_HASH_LEN], double now)
{
    char hex[2 * FC_HASH_LEN + 1];
    fc_hash_hex(hash, hex);
    size_t n = (size_t)(uintptr_t)zhashx_lookup(self->bad, hex) + 1;
    zhashx_update(self->bad, hex, (void *)(uintptr_t)n);
    if (n < FC_OBJFETCH_MAX_BAD)
        return true;
    char text[FC_MAX_TEXT];
    snprintf(text, sizeof text,
             "the broker keeps sending manifest object %s damaged (%zu copies not matching "
             "its name): its copy is corrupt",
             hex, n);
    s_end(self);
    self->host.failed(self->host.ctx, FC_EHASH, text, now);
    return false;
}

static int s_base_cmp(const void *a, const void *b)
{
    uint64_t x = ((const s_base_t *)a)->key, y = ((const s_base_t *)b)->key;
    return x < y ? -1 : x > y;
}

/* The installed release's chunk lists by path key, for the fetch starting. */
static void s_bases_build(fc_objfetch_t *self)
{
    const fc_manifest_t *m = self->host.installed ? self->host.installed(self->host.ctx) : NULL;
    if (!m || m->format != FC_MANIFEST_FORMAT_PARTS || m->nfiles == 0 || self->deltas < 0)
        return;
    self->bases = (s_base_t *)malloc(m->nfiles * sizeof *self->bases);
    if (!self->bases)
        return; /* whole objects: slower, still right */
    static const uint8_t zero[FC_HASH_LEN];
    for (uint32_t i = 0; i < m->nfiles; i++) {
        if (fc_hash_equal(m->files[i].list_hash, zero))
            continue;
        self->bases[self->nbases].key = fc_mref_path_key(m->files[i].path);
        memcpy(self->bases[self->nbases].hash, m->files[i].list_hash, FC_HASH_LEN);
        self->nbases++;
    }
    qsort(self->bases, self->nbases, sizeof *self->bases, s_base_cmp);
}

/* Sends the request for missing object ref: as a delta against the installed list of its
   path when there is one held, the broker may answer deltas, and none went wrong this fetch;
   while that is not known, one delta request at a time (an older broker counts each unknown
   request against the key). */
static bool s_request(fc_objfetch_t *self, const fc_mref_t *ref)
{
    const s_base_t *base = NULL;
    if (ref->kind == FC_MOBJ_CHUNKS && ref->path_key && self->nbases && self->deltas >= 0 &&
        !self->delta_spoilt && !(self->deltas == 0 && self->probing)) {
        s_base_t k = {.key = ref->path_key};
        base = (const s_base_t *)bsearch(&k, self->bases, self->nbases, sizeof *self->bases,
                                         s_base_cmp);
    }
    if (base && !fc_hash_equal(base->hash, ref->hash)) {
        size_t len = 0;
        uint8_t *held = fc_objects_read(self->objects, base->hash, &len);
        free(held);
        if (held) {
            fc_msg_t *get = fc_msg_new(FC_MSG_GET_OBJECT_DELTA);
            memcpy(get->hash, ref->hash, FC_HASH_LEN);
            memcpy(get->blob, base->hash, FC_HASH_LEN);
            if (!fc_requester_send(self->req, &get, (void *)s_kind_delta, NULL))
                return false;
            if (self->deltas == 0)
                self->probing = true;
            return true;
        }
    }
    fc_msg_t *get = fc_msg_new(FC_MSG_GET_OBJECT);
    memcpy(get->hash, ref->hash, FC_HASH_LEN);
    return fc_requester_send(self->req, &get, (void *)s_kind_object, NULL);
}

/* Hands the top level on (to be judged) and ends the fetch. */
static void s_hand_on(fc_objfetch_t *self, double now)
{
    uint8_t *top = self->top;
    size_t len = self->top_len;
    self->top = NULL;
    s_end(self);
    self->host.ready(self->host.ctx, top, len, now);
    free(top);
}

static void s_step(fc_objfetch_t *self, double now)
{
    size_t n = 0;
    int err = 0;
    /* Each damaged copy held here is dropped (one file fewer a turn, so this ends), then the
       round asks for what is missing. */
    for (;;) {
        fc_manifest_t *m = fc_objects_load(self->objects, self->top, self->top_len, NULL,
                                           self->missing, FC_OBJFETCH_WINDOW, &n, NULL, &err);
        if (m) {
            fc_manifest_destroy(&m);
            s_hand_on(self, now);
            return;
        }
        /* The signed content itself is wrong (or unreadable): the follower's own reading
           gives the reason and refuses it. */
        if (n == 0 || (err != FC_ENOTFOUND && err != FC_EHASH && err != FC_ETOOBIG)) {
            s_hand_on(self, now);
            return;
        }
        if (err == FC_ENOTFOUND)
            break;
        fc_objects_drop(self->objects, self->missing[0].hash);
        if (!s_count_bad(self, self->missing[0].hash, now))
            return;
    }
    /* A round that ends still lacking the object it asked for first got something else
       under that name's request: counted as a damaged copy. */
    if (self->asked && fc_hash_equal(self->first, self->missing[0].hash) &&
        !s_count_bad(self, self->missing[0].hash, now))
        return;
    memcpy(self->first, self->missing[0].hash, FC_HASH_LEN);
    self->asked = true;
    for (size_t i = 0; i < n; i++)
        if (s_request(self, &self->missing[i]))
            self->inflight++;
    if (self->inflight == 0) /* nothing could be asked: the follower refuses it */
        s_hand_on(self, now);
}

bool fc_objfetch_want(fc_objfetch_t *self, const uint8_t *bytes, size_t len, double now)
{
    if (len == 0 || fc_manifest_format_of(bytes, len) != FC_MANIFEST_FORMAT_PARTS)
        return true;
    if (self->top && self->top_len == len && memcmp(self->top, bytes, len) == 0)
        return false; /* under way already */
    size_t n = 0;
    int err = 0;
    fc_manifest_t *m =
        fc_objects_load(self->objects, bytes, len, NULL, self->missing, 1, &n, NULL, &err);
    if (m || n == 0) {
        fc_manifest_destroy(&m);
        return true; /* whole, or wrong in itself: the follower judges it */
    }
    s_end(self);
    self->top = (uint8_t *)malloc(len);
    if (!self->top)
        return true;
    memcpy(self->top, bytes, len);
    self->top_len = len;
    s_bases_build(self);
    s_step(self, now);
    return false;
}

bool fc_objfetch_on_reply(fc_objfetch_t *self, const void *kind, const fc_msg_t *msg, double now)
{
    if (kind != (const void *)s_kind_object && kind != (const void *)s_kind_delta)
        return false;
    if (self->inflight)
        self->inflight--;
    if (kind == (const void *)s_kind_delta) {
        self->probing = false;
        if (msg->type == FC_MSG_ERROR && msg->code == FC_EPROTO) {
            /* A broker of before GET_OBJECT_DELTA: whole objects from now on. The round
               asks for this one again, not counted as a damaged copy. */
            self->deltas = -1;
            self->asked = false;
        } else if (msg->type == FC_MSG_OBJECT || msg->type == FC_MSG_OBJECT_DELTA) {
            self->deltas = 1;
        }
    }
    if (!self->top)
        return true; /* late: the fetch it was for is over */
    if (msg->type == FC_MSG_OBJECT_DELTA && kind == (const void *)s_kind_delta) {
        /* Applied to the base it names, read from the copies held here (checked against its
           name), with every bound; the result is kept only if it hashes to the name asked
           for, as a whole copy would be. One that does not spoils deltas for this fetch: the
           next round asks for whole objects. */
        size_t base_len = 0, len = 0;
        uint8_t *base = fc_objects_read(self->objects, msg->blob, &base_len);
        uint8_t *obj = NULL;
        if (!base ||
            fc_objdelta_apply(base, base_len, msg->bytes, msg->bytes_len, FC_MAX_OBJECT, &obj,
                              &len) != FC_OK ||
            fc_objects_put(self->objects, msg->hash, obj, len) != FC_OK)
            self->delta_spoilt = true;
        free(base);
        free(obj);
    } else if (msg->type == FC_MSG_ERROR && kind == (const void *)s_kind_delta &&
               msg->code == FC_EPROTO) {
        /* handled above: asked again whole */
    } else if (msg->type == FC_MSG_OBJECT) {
        /* Kept only if it is what its name says; a damaged or foreign reply is not, and the
           next round, still lacking what it asked for first, counts it (s_step). */
        (void)fc_objects_put(self->objects, msg->hash, msg->bytes, msg->bytes_len);
    } else if (msg->type == FC_MSG_ERROR) {
        char text[2 * FC_MAX_TEXT];
        snprintf(text, sizeof text, "broker refused %s: %s (%s)", (const char *)kind,
                 msg->text[0] ? msg->text : fc_strerror((int)msg->code),
                 fc_error_name((int)msg->code));
        s_end(self);
        self->host.failed(self->host.ctx, (int)msg->code, text, now);
        return true;
    }
    if (self->inflight == 0)
        s_step(self, now);
    return true;
}
