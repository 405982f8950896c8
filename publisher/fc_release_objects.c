/* fc_release_objects.c: sending a format-3 release's objects and top level to the broker, and
   reading a stored one back by fetching the objects its top level names; a private part of
   fc_release_ops (their requests go through fc_release_call). */
#include "fc_release_objects.h"
#include "fc_error.h"
#include "fc_hash.h"
#include "fc_manifest_parts.h"
#include "fc_release_ops.h"
#include "fc_text.h"

#include <stdlib.h>
#include <string.h>

/* Objects named at once by one round of fc_manifest_assemble: the pages, then their lists. */
#define S_ROUND 4096

/* Which of objects [from, from + n) the broker lacks: lack[i] true. An older broker that
   does not know OBJECTS_QUERY answers FC_EPROTO: every object counts as lacking. */
static int s_query(fc_client_t *client, const fc_mparts_t *parts, uint32_t from, uint32_t n,
                   bool *lack, int timeout_ms, char *msg, size_t msgsize)
{
    fc_msg_t *q = fc_msg_new(FC_MSG_OBJECTS_QUERY);
    q->bytes = (uint8_t *)zmalloc((size_t)n * FC_HASH_LEN);
    q->bytes_len = (size_t)n * FC_HASH_LEN;
    for (uint32_t i = 0; i < n; i++)
        memcpy(q->bytes + (size_t)i * FC_HASH_LEN, parts->objs[from + i].hash, FC_HASH_LEN);
    fc_msg_t *state = NULL;
    int rc = fc_release_call(client, &q, FC_MSG_BLOBS_STATE, &state, timeout_ms, msg, msgsize);
    fc_msg_destroy(&q);
    if (rc == FC_EPROTO && !state) {
        for (uint32_t i = 0; i < n; i++)
            lack[i] = true;
        return FC_OK;
    }
    if (!rc && state->bytes_len != n) {
        fc_textf(msg, msgsize, "a BLOBS_STATE of %zu answering %u objects", state->bytes_len, n);
        rc = FC_EPROTO;
    }
    for (uint32_t i = 0; !rc && i < n; i++)
        lack[i] = state->bytes[i] == 0;
    fc_msg_destroy(&state);
    return rc;
}

void fc_release_put_free(fc_release_put_t *self)
{
    free(self->deferred);
    self->deferred = NULL;
    self->ndeferred = 0;
}

static int s_put_whole(fc_client_t *client, const fc_mobj_t *o, int timeout_ms, char *msg,
                       size_t msgsize)
{
    fc_msg_t *put = fc_msg_new(FC_MSG_PUT_OBJECT);
    memcpy(put->hash, o->hash, FC_HASH_LEN);
    fc_msg_set_bytes(put, o->data, o->len);
    fc_msg_t *ok = NULL;
    int rc = fc_release_call(client, &put, FC_MSG_OK, &ok, timeout_ms, msg, msgsize);
    fc_msg_destroy(&put);
    fc_msg_destroy(&ok);
    return rc;
}

/* Stores one object the broker lacks: a chunk list by DERIVE_OBJECT (its name and its blob's,
   80 bytes where the list is 38 a chunk), else whole. When defer allows it, a list is left
   for later without asking (its blob is about to be uploaded: asking now would cost a round
   trip a list on a first push, for an answer of "not held"). */
static int s_store(fc_client_t *client, const fc_mobj_t *o, bool defer, int timeout_ms,
                   fc_release_put_t *res, char *msg, size_t msgsize)
{
    if (o->kind == FC_MOBJ_CHUNKS && !res->old_broker && defer) {
        uint8_t(*grown)[FC_HASH_LEN] =
            realloc(res->deferred, (size_t)(res->ndeferred + 1) * FC_HASH_LEN);
        if (!grown)
            return FC_ENOMEM;
        res->deferred = grown;
        memcpy(res->deferred[res->ndeferred++], o->hash, FC_HASH_LEN);
        return FC_OK;
    }
    if (o->kind == FC_MOBJ_CHUNKS && !res->old_broker) {
        fc_msg_t *d = fc_msg_new(FC_MSG_DERIVE_OBJECT);
        memcpy(d->hash, o->hash, FC_HASH_LEN);
        memcpy(d->blob, o->blob, FC_HASH_LEN);
        fc_msg_t *ok = NULL;
        int rc = fc_release_call(client, &d, FC_MSG_OK, &ok, timeout_ms, msg, msgsize);
        fc_msg_destroy(&d);
        fc_msg_destroy(&ok);
        if (!rc) {
            res->sent++;
            res->derived++;
            return FC_OK;
        }
        if (rc == FC_EPROTO)
            res->old_broker = true; /* it predates DERIVE_OBJECT (one malformed message) */
        else if (rc != FC_ENOTFOUND && rc != FC_EHASH && rc != FC_ETOOBIG)
            return rc; /* the connection, or a refusal that PUT_OBJECT would meet too */
    }
    msg[0] = '\0';
    int rc = s_put_whole(client, o, timeout_ms, msg, msgsize);
    res->sent += !rc;
    return rc;
}

/* Stores the objects the broker lacks, FC_MAX_BLOB_BATCH asked about a request. */
static int s_put_objects(fc_client_t *client, const fc_mparts_t *parts, bool defer, int timeout_ms,
                         fc_release_put_t *res, char *msg, size_t msgsize)
{
    bool lack[FC_MAX_BLOB_BATCH];
    int rc = FC_OK;
    for (uint32_t from = 0; from < parts->nobjs && !rc; from += FC_MAX_BLOB_BATCH) {
        uint32_t n =
            parts->nobjs - from < FC_MAX_BLOB_BATCH ? parts->nobjs - from : FC_MAX_BLOB_BATCH;
        rc = s_query(client, parts, from, n, lack, timeout_ms, msg, msgsize);
        for (uint32_t i = 0; i < n && !rc; i++)
            if (lack[i])
                rc = s_store(client, &parts->objs[from + i], defer, timeout_ms, res, msg, msgsize);
    }
    return rc;
}

/* The lists deferred by the put, now that their blobs are uploaded. */
static int s_put_deferred(fc_client_t *client, const fc_mparts_t *parts, int timeout_ms,
                          fc_release_put_t *res, char *msg, size_t msgsize)
{
    int rc = FC_OK;
    for (uint32_t i = 0; i < res->ndeferred && !rc; i++) {
        const fc_mobj_t *o = fc_mparts_find(parts, res->deferred[i]);
        if (o)
            rc = s_store(client, o, false, timeout_ms, res, msg, msgsize);
    }
    if (!rc)
        fc_release_put_free(res);
    return rc;
}

int fc_release_commit(fc_client_t *client, const fc_manifest_t *m, const fc_signkey_t *key,
                      bool put, bool commit, int timeout_ms, uint64_t *serial,
                      fc_release_put_t *put_res, char *msg, size_t msgsize)
{
    int err = FC_OK;
    fc_mparts_t *parts = fc_mparts_sign(m, key, &err);
    if (!parts) {
        fc_textf(msg, msgsize, "cannot sign the release (%u files): %s", m->nfiles,
                 fc_strerror(err));
        return err ? err : FC_EPROTO;
    }
    int rc = FC_OK;
    fc_release_put_t local = {0};
    fc_release_put_t *res = put_res ? put_res : &local;
    res->objects = parts->nobjs;
    if (put)
        rc = s_put_objects(client, parts, put_res && !commit, timeout_ms, res, msg, msgsize);
    if (!rc && !put && res->ndeferred)
        rc = s_put_deferred(client, parts, timeout_ms, res, msg, msgsize);
    fc_release_put_free(&local);
    if (!rc && commit) {
        fc_msg_t *req = fc_msg_new(FC_MSG_RELEASE_COMMIT);
        fc_msg_set_bytes(req, parts->top, parts->top_len);
        fc_msg_t *ok = NULL;
        rc = fc_release_call(client, &req, FC_MSG_OK, &ok, timeout_ms, msg, msgsize);
        fc_msg_destroy(&req);
        if (!rc)
            *serial = ok->serial ? ok->serial : m->serial;
        fc_msg_destroy(&ok);
    }
    fc_mparts_destroy(&parts);
    return rc;
}

/* The objects fetched so far, by hex name; each checked by assemble against its name. */
typedef struct {
    zhashx_t *objs; /* hex -> zchunk_t */
} s_cache_t;

static const uint8_t *s_cache_get(const uint8_t hash[FC_HASH_LEN], size_t *len, void *arg)
{
    s_cache_t *c = (s_cache_t *)arg;
    char hex[2 * FC_HASH_LEN + 1];
    zchunk_t *chunk = (zchunk_t *)zhashx_lookup(c->objs, fc_hash_hex(hash, hex));
    if (!chunk)
        return NULL;
    *len = zchunk_size(chunk);
    return zchunk_data(chunk);
}

static void s_chunk_free(void **item)
{
    zchunk_destroy((zchunk_t **)item);
}

fc_manifest_t *fc_release_read(fc_client_t *client, const uint8_t *bytes, size_t len,
                               const fc_trust_t *trust, int timeout_ms, int *err, char *msg,
                               size_t msgsize)
{
    if (fc_manifest_format_of(bytes, len) != FC_MANIFEST_FORMAT_PARTS) {
        fc_manifest_t *m = fc_manifest_parse(bytes, len, trust, err);
        if (!m)
            fc_textf(msg, msgsize, "%s", fc_strerror(*err));
        return m;
    }
    s_cache_t c = {zhashx_new()};
    zhashx_set_destructor(c.objs, s_chunk_free);
    fc_mref_t *missing = malloc(S_ROUND * sizeof *missing);
    fc_manifest_t *m = NULL;
    /* Three rounds are enough (nothing, the pages, their lists); a damaged object fetched
       again counts one more, and a broker that keeps sending one is given up on. */
    for (int round = 0; missing && round < 8 && !m; round++) {
        size_t n = 0;
        m = fc_manifest_assemble(bytes, len, trust, s_cache_get, &c, missing, S_ROUND, &n, err);
        if (m || n == 0)
            break;
        for (size_t i = 0; i < n; i++) {
            char hex[2 * FC_HASH_LEN + 1];
            fc_hash_hex(missing[i].hash, hex);
            zhashx_delete(c.objs, hex); /* a damaged copy: fetched again */
            fc_msg_t *get = fc_msg_new(FC_MSG_GET_OBJECT);
            memcpy(get->hash, missing[i].hash, FC_HASH_LEN);
            fc_msg_t *obj = NULL;
            int rc = fc_release_call(client, &get, FC_MSG_OBJECT, &obj, timeout_ms, msg, msgsize);
            fc_msg_destroy(&get);
            if (rc) {
                *err = rc;
                fc_msg_destroy(&obj);
                free(missing);
                zhashx_destroy(&c.objs);
                return NULL;
            }
            zhashx_insert(c.objs, hex, zchunk_new(obj->bytes, obj->bytes_len));
            fc_msg_destroy(&obj);
        }
    }
    if (!m) {
        if (!missing)
            *err = FC_ENOMEM;
        fc_textf(msg, msgsize, "%s", fc_strerror(*err));
    }
    free(missing);
    zhashx_destroy(&c.objs);
    return m;
}
