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

int fc_release_commit(fc_client_t *client, const fc_manifest_t *m, const fc_signkey_t *key,
                      bool put, bool commit, int timeout_ms, uint64_t *serial, char *msg,
                      size_t msgsize)
{
    int err = FC_OK;
    fc_mparts_t *parts = fc_mparts_sign(m, key, &err);
    if (!parts) {
        fc_textf(msg, msgsize, "cannot sign the release (%u files): %s", m->nfiles,
                 fc_strerror(err));
        return err ? err : FC_EPROTO;
    }
    int rc = FC_OK;
    for (uint32_t i = 0; put && i < parts->nobjs && !rc; i++) {
        fc_msg_t *put = fc_msg_new(FC_MSG_PUT_OBJECT);
        memcpy(put->hash, parts->objs[i].hash, FC_HASH_LEN);
        fc_msg_set_bytes(put, parts->objs[i].data, parts->objs[i].len);
        fc_msg_t *ok = NULL;
        rc = fc_release_call(client, &put, FC_MSG_OK, &ok, timeout_ms, msg, msgsize);
        fc_msg_destroy(&put);
        fc_msg_destroy(&ok);
    }
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
