/* fc_objfetch_test.c: self-test of the object fetcher's deltas against a scripted broker: a
   changed chunk list asked for as a delta against the installed list of its path and applied;
   an older broker's FC_EPROTO answered by GET_OBJECT and no delta request again; a hostile
   delta refused and the object fetched whole, never a crash. */
#include "fc_error.h"
#include "fc_file.h"
#include "fc_hash.h"
#include "fc_key.h"
#include "fc_objdelta.h"
#include "fc_objfetch.h"
#include "fc_test_check.h"
#include "fc_test_release.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* How the scripted broker answers GET_OBJECT_DELTA. */
typedef enum {
    S_DELTAS,  /* a delta against the base named */
    S_OLD,     /* ERROR FC_EPROTO, as a broker of before type 56 */
    S_HOSTILE, /* a delta copying outside the base */
} s_mode_t;

typedef struct {
    const fc_manifest_t *installed;
    bool ready, failed;
    size_t deltas_asked, whole_asked;
} s_host_t;

static void s_ready(void *ctx, const uint8_t *bytes, size_t len, double now)
{
    (void)bytes, (void)len, (void)now;
    ((s_host_t *)ctx)->ready = true;
}

static void s_failed(void *ctx, int error, const char *text, double now)
{
    (void)error, (void)now;
    fprintf(stderr, "objfetch failed: %s\n", text);
    ((s_host_t *)ctx)->failed = true;
}

static const fc_manifest_t *s_installed(void *ctx)
{
    return ((s_host_t *)ctx)->installed;
}

static const fc_mobj_t *s_find(const fc_mparts_t *p, const uint8_t hash[FC_HASH_LEN])
{
    for (uint32_t i = 0; i < p->nobjs; i++)
        if (fc_hash_equal(p->objs[i].hash, hash))
            return &p->objs[i];
    return NULL;
}

/* Answers one request on router: objects of to (the release fetched), bases of from. */
static void s_serve(zsock_t *router, const fc_mparts_t *from, const fc_mparts_t *to, s_mode_t mode,
                    s_host_t *h)
{
    zframe_t *peer = NULL;
    int err = 0;
    fc_msg_t *m = fc_msg_recv(zsock_resolve(router), &peer, &err);
    FC_CHECK(m);
    const fc_mobj_t *obj = s_find(to, m->hash);
    FC_CHECK(obj);
    fc_msg_t *reply = fc_msg_new(FC_MSG_OBJECT);
    if (m->type == FC_MSG_GET_OBJECT_DELTA) {
        h->deltas_asked++;
        const fc_mobj_t *base = s_find(from, m->blob);
        FC_CHECK(base && base->kind == FC_MOBJ_CHUNKS && obj->kind == FC_MOBJ_CHUNKS);
        fc_msg_destroy(&reply);
        if (mode == S_OLD) {
            reply = fc_msg_new(FC_MSG_ERROR);
            reply->code = FC_EPROTO;
            fc_msg_set_str(reply->text, sizeof reply->text, "unknown message type 56");
        } else {
            reply = fc_msg_new(FC_MSG_OBJECT_DELTA);
            memcpy(reply->blob, m->blob, FC_HASH_LEN);
            if (mode == S_HOSTILE)
                fc_msg_set_bytes(reply, "\x0a\x01\x7f\x0a", 4);
            else
                FC_CHECK(fc_objdelta_encode(base->data, base->len, obj->data, obj->len,
                                            &reply->bytes, &reply->bytes_len) == FC_OK);
        }
    } else {
        FC_CHECK(m->type == FC_MSG_GET_OBJECT);
        h->whole_asked++;
        fc_msg_set_bytes(reply, obj->data, obj->len);
    }
    memcpy(reply->hash, m->hash, FC_HASH_LEN);
    reply->req = m->req;
    FC_CHECK(fc_msg_send_to(&reply, peer, zsock_resolve(router)) == 0);
    zframe_destroy(&peer);
    fc_msg_destroy(&m);
}

/* Runs one fetch of to's top level until it ends; true if it ended ready. */
static bool s_fetch(fc_objfetch_t *f, fc_requester_t *req, zsock_t *router, const fc_mparts_t *from,
                    const fc_mparts_t *to, s_mode_t mode, s_host_t *h)
{
    h->ready = h->failed = false;
    if (fc_objfetch_want(f, to->top, to->top_len, 0))
        return true;
    zpoller_t *poller = zpoller_new(router, fc_requester_sock(req), NULL);
    int64_t end = zclock_mono() + 10000;
    while (!h->ready && !h->failed && zclock_mono() < end) {
        void *which = zpoller_wait(poller, 100);
        if (which == router)
            s_serve(router, from, to, mode, h);
        fc_msg_t *reply = NULL;
        void *user = NULL;
        while (fc_requester_recv(req, &reply, &user) == FC_REQUESTER_REPLY) {
            FC_CHECK(fc_objfetch_on_reply(f, user, reply, 0));
            fc_msg_destroy(&reply);
        }
        fc_msg_destroy(&reply);
    }
    zpoller_destroy(&poller);
    return h->ready;
}

/* A state directory holding r1's objects, r1 read as the installed manifest. */
static fc_objects_t *s_installed_state(const char *dir, const fc_mparts_t *r1, fc_manifest_t **m)
{
    int err = -1;
    fc_objects_t *objs = fc_objects_new(dir, &err);
    FC_CHECK(objs);
    for (uint32_t i = 0; i < r1->nobjs; i++)
        FC_CHECK(fc_objects_put(objs, r1->objs[i].hash, r1->objs[i].data, r1->objs[i].len) ==
                 FC_OK);
    size_t n = 0;
    *m = fc_objects_load(objs, r1->top, r1->top_len, NULL, NULL, 0, &n, NULL, &err);
    FC_CHECK(*m && (*m)->format == FC_MANIFEST_FORMAT_PARTS);
    return objs;
}

static fc_mparts_t *s_release(const fc_signkey_t *key, uint32_t seed)
{
    /* 20 files of 40 chunks; file 0's chunks differ between seeds, its path does not */
    fc_manifest_t *m = fc_test_release(20, 40, 4096, seed, seed);
    int err = -1;
    fc_mparts_t *p = fc_mparts_sign(m, key, &err);
    FC_CHECK(p && err == FC_OK);
    fc_manifest_destroy(&m);
    return p;
}

void fc_objfetch_test(bool verbose)
{
    printf(" * fc_objfetch: ");
    (void)verbose;
    FC_CHECK(fc_crypto_init() == 0);
    fc_signkey_t key;
    fc_signkey_generate(&key);
    fc_mparts_t *r1 = s_release(&key, 1), *r2 = s_release(&key, 2), *r3 = s_release(&key, 3);
    zsock_t *router = zsock_new_router("tcp://127.0.0.1:*");
    FC_CHECK(router);
    const char *endpoint = zsock_endpoint(router);
    FC_CHECK(endpoint);
    const s_mode_t modes[] = {S_DELTAS, S_OLD, S_HOSTILE};
    for (size_t c = 0; c < 3; c++) {
        char dir[] = "/tmp/fc_objfetch_test.XXXXXX";
        FC_CHECK(mkdtemp(dir));
        s_host_t h = {0};
        fc_manifest_t *inst = NULL;
        fc_objects_t *objs = s_installed_state(dir, r1, &inst);
        h.installed = inst;
        int err = -1;
        fc_requester_t *req = fc_requester_new(endpoint, NULL, &err);
        FC_CHECK(req);
        fc_objfetch_host_t host = {&h, s_ready, s_failed, s_installed};
        fc_objfetch_t *f = fc_objfetch_new(req, objs, &host);
        FC_CHECK(f && fc_objfetch_deltas(f) == 0);
        /* release 2 changes file 0's list only: it, and the page naming it, are fetched */
        FC_CHECK(s_fetch(f, req, router, r1, r2, modes[c], &h));
        FC_CHECK(!h.failed && h.deltas_asked == 1);
        if (modes[c] == S_DELTAS) {
            FC_CHECK(fc_objfetch_deltas(f) == 1 && h.whole_asked == 1); /* the page */
        } else if (modes[c] == S_OLD) {
            /* asked again whole; never a delta again, in this fetch or the next */
            FC_CHECK(fc_objfetch_deltas(f) == -1 && h.whole_asked == 2);
            FC_CHECK(s_fetch(f, req, router, r1, r3, modes[c], &h));
            FC_CHECK(!h.failed && h.deltas_asked == 1 && h.whole_asked == 4);
        } else {
            /* the damaged result is not kept: the list is fetched whole, once */
            FC_CHECK(fc_objfetch_deltas(f) == 1 && h.whole_asked == 2);
        }
        fc_objfetch_destroy(&f);
        fc_requester_destroy(&req);
        fc_manifest_destroy(&inst);
        fc_objects_destroy(&objs);
        FC_CHECK(fc_remove_tree(dir) == 0);
    }
    zsock_destroy(&router);
    fc_mparts_destroy(&r1);
    fc_mparts_destroy(&r2);
    fc_mparts_destroy(&r3);
    printf("OK\n");
}
