/* fc_verifier.c: the broker's blob re-reading actor (see fc_verifier.h). */
#include "fc_verifier.h"
#include "fc_error.h"
#include "fc_file.h"
#include "fc_store.h"
#include "fc_test_check.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

/* What owner and actor share. The owner frees it after the actor is gone. */
typedef struct {
    char *dir;
    atomic_bool stop; /* set before $TERM: a long re-read ends at its next chunk */
    /* Set by the actor as its last touch of this struct; the owner reads it before freeing.
       zactor_destroy already waits for the actor, but through libzmq's pipes, which
       ThreadSanitizer cannot see (tests/tsan.supp): this pair makes the hand-over visible. */
    atomic_bool done;
} s_shared_t;

struct fc_verifier_t {
    zactor_t *actor;
    s_shared_t *shared;
    size_t pending;
};

static bool s_stop(void *arg)
{
    return atomic_load(&((s_shared_t *)arg)->stop);
}

/* Commands: "VERIFY" blob(32 bytes) who -> "DONE" blob who err msecs. */
static void s_actor(zsock_t *pipe, void *args)
{
    s_shared_t *shared = args;
    zsock_signal(pipe, 0);
    bool term = false;
    while (!term) {
        zmsg_t *msg = zmsg_recv(pipe);
        if (!msg) {
            term = s_stop(shared); /* else interrupted: the owner still sends $TERM */
            continue;
        }
        char *command = zmsg_popstr(msg);
        zframe_t *blob = zmsg_pop(msg);
        char *who = zmsg_popstr(msg);
        term = command && streq(command, "$TERM");
        if (command && streq(command, "VERIFY") && blob && zframe_size(blob) == FC_HASH_LEN) {
            int64_t start = zclock_mono();
            int err = fc_store_blob_verify_file(shared->dir, zframe_data(blob), s_stop, shared);
            int64_t msecs = zclock_mono() - start;
            zsock_send(pipe, "sfsi8", "DONE", blob, who ? who : "", err, msecs);
        }
        zstr_free(&command);
        zframe_destroy(&blob);
        zstr_free(&who);
        zmsg_destroy(&msg);
    }
    atomic_store_explicit(&shared->done, true, memory_order_release);
}

fc_verifier_t *fc_verifier_new(const char *dir)
{
    fc_verifier_t *self = zmalloc(sizeof *self);
    self->shared = zmalloc(sizeof *self->shared);
    self->shared->dir = strdup(dir);
    atomic_init(&self->shared->stop, false);
    atomic_init(&self->shared->done, false);
    self->actor = self->shared->dir ? zactor_new(s_actor, self->shared) : NULL;
    if (!self->actor)
        fc_verifier_destroy(&self);
    return self;
}

void fc_verifier_destroy(fc_verifier_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    fc_verifier_t *self = *self_p;
    atomic_store(&self->shared->stop, true);
    zactor_destroy(&self->actor); /* sends $TERM, waits for the actor to end */
    (void)atomic_load_explicit(&self->shared->done, memory_order_acquire);
    free(self->shared->dir);
    free(self->shared);
    free(self);
    *self_p = NULL;
}

int fc_verifier_request(fc_verifier_t *self, const uint8_t blob[FC_HASH_LEN], const char *who)
{
    if (self->pending >= FC_VERIFIER_QUEUE)
        return FC_ETOOBIG;
    zframe_t *f = zframe_new(blob, FC_HASH_LEN);
    int rc = zsock_send(self->actor, "sfs", "VERIFY", f, who ? who : "");
    zframe_destroy(&f);
    if (rc != 0)
        return FC_EIO;
    self->pending++;
    return FC_OK;
}

zsock_t *fc_verifier_sock(fc_verifier_t *self)
{
    return zactor_sock(self->actor);
}

int fc_verifier_result(fc_verifier_t *self, fc_verifier_result_t *result)
{
    memset(result, 0, sizeof *result);
    char *command = NULL, *who = NULL;
    zframe_t *blob = NULL;
    int err = FC_EIO;
    int64_t msecs = 0;
    int rc = zsock_recv(self->actor, "sfsi8", &command, &blob, &who, &err, &msecs);
    bool ok =
        rc == 0 && command && streq(command, "DONE") && blob && zframe_size(blob) == FC_HASH_LEN;
    if (ok) {
        memcpy(result->blob, zframe_data(blob), FC_HASH_LEN);
        snprintf(result->who, sizeof result->who, "%s", who ? who : "");
        result->err = err;
        result->msecs = msecs;
        if (self->pending)
            self->pending--;
    }
    zstr_free(&command);
    zframe_destroy(&blob);
    zstr_free(&who);
    return ok ? FC_OK : FC_EIO;
}

size_t fc_verifier_pending(const fc_verifier_t *self)
{
    return self->pending;
}

/* --- self-test -------------------------------------------------------------------------- */

/* Writes a blob of size bytes (pattern seed) under dir as the store would; its hash in blob. */
static void s_make_blob(const char *dir, size_t size, uint8_t seed, uint8_t blob[FC_HASH_LEN])
{
    uint8_t *buf = zmalloc(size ? size : 1);
    for (size_t i = 0; i < size; i++)
        buf[i] = (uint8_t)(seed + i * 7);
    size_t nchunks = (size + FC_CHUNK_SIZE - 1) / FC_CHUNK_SIZE;
    uint8_t(*hashes)[FC_HASH_LEN] = zmalloc((nchunks ? nchunks : 1) * FC_HASH_LEN);
    for (size_t i = 0; i < nchunks; i++) {
        size_t len =
            size - i * FC_CHUNK_SIZE < FC_CHUNK_SIZE ? size - i * FC_CHUNK_SIZE : FC_CHUNK_SIZE;
        fc_hash_buf(hashes[i], buf + i * FC_CHUNK_SIZE, len);
    }
    fc_hash_of_chunks(blob, (const uint8_t(*)[FC_HASH_LEN])hashes, nchunks);
    char hex[2 * FC_HASH_LEN + 1], path[512];
    fc_hash_hex(blob, hex);
    snprintf(path, sizeof path, "%s/blobs/%.2s", dir, hex);
    zsys_dir_create("%s", path);
    snprintf(path, sizeof path, "%s/blobs/%.2s/%s", dir, hex, hex);
    FILE *f = fopen(path, "wb");
    FC_CHECK(f && fwrite(buf, 1, size, f) == size && fclose(f) == 0);
    free(hashes);
    free(buf);
}

static void s_flip(const char *dir, const uint8_t blob[FC_HASH_LEN], long offset)
{
    char hex[2 * FC_HASH_LEN + 1], path[512];
    fc_hash_hex(blob, hex);
    snprintf(path, sizeof path, "%s/blobs/%.2s/%s", dir, hex, hex);
    FILE *f = fopen(path, "r+b");
    FC_CHECK(f && fseek(f, offset, SEEK_SET) == 0);
    int c = fgetc(f);
    FC_CHECK(c != EOF && fseek(f, offset, SEEK_SET) == 0 && fputc(c ^ 0xff, f) != EOF);
    FC_CHECK(fclose(f) == 0);
}

/* Waits for one result (the owner's poller, in small). */
static void s_wait(fc_verifier_t *v, fc_verifier_result_t *r)
{
    zpoller_t *p = zpoller_new(fc_verifier_sock(v), NULL);
    FC_CHECK(zpoller_wait(p, 20000) == fc_verifier_sock(v));
    zpoller_destroy(&p);
    FC_CHECK(fc_verifier_result(v, r) == FC_OK);
}

void fc_verifier_test(bool verbose)
{
    printf(" * fc_verifier: ");
    char dir[] = "/tmp/fc_verifier_test.XXXXXX";
    FC_CHECK(mkdtemp(dir));
    uint8_t good[FC_HASH_LEN], bad[FC_HASH_LEN], missing[FC_HASH_LEN] = {1, 2, 3};
    s_make_blob(dir, 3 * FC_CHUNK_SIZE + 100, 1, good);
    s_make_blob(dir, 2 * FC_CHUNK_SIZE, 2, bad);
    s_flip(dir, bad, FC_CHUNK_SIZE + 5);

    fc_verifier_t *v = fc_verifier_new(dir);
    FC_CHECK(v);
    fc_verifier_result_t r;
    /* Each answer names its blob and requester, in request order. */
    FC_CHECK(fc_verifier_request(v, good, "a1") == FC_OK);
    FC_CHECK(fc_verifier_request(v, bad, "a2") == FC_OK);
    FC_CHECK(fc_verifier_request(v, missing, "a3") == FC_OK);
    FC_CHECK(fc_verifier_pending(v) == 3);
    s_wait(v, &r);
    FC_CHECK(!memcmp(r.blob, good, FC_HASH_LEN) && streq(r.who, "a1") && r.err == FC_OK);
    s_wait(v, &r);
    FC_CHECK(!memcmp(r.blob, bad, FC_HASH_LEN) && streq(r.who, "a2") && r.err == FC_EHASH);
    s_wait(v, &r);
    FC_CHECK(!memcmp(r.blob, missing, FC_HASH_LEN) && r.err == FC_ENOTFOUND);
    FC_CHECK(fc_verifier_pending(v) == 0);

    /* The queue is bounded: past FC_VERIFIER_QUEUE, requests are refused until results are
       read. */
    for (int i = 0; i < FC_VERIFIER_QUEUE; i++)
        FC_CHECK(fc_verifier_request(v, good, "q") == FC_OK);
    FC_CHECK(fc_verifier_request(v, good, "q") == FC_ETOOBIG);
    s_wait(v, &r);
    FC_CHECK(fc_verifier_request(v, good, "q") == FC_OK);
    /* Destroyed with re-reads still queued: it ends promptly. */
    int64_t start = zclock_mono();
    fc_verifier_destroy(&v);
    fc_verifier_destroy(&v);
    FC_CHECK(!v);
    if (verbose)
        printf("stopped with work queued in %lld ms ", (long long)(zclock_mono() - start));
    FC_CHECK(fc_remove_tree(dir) == 0);
    printf("OK\n");
}
