/* fc_upload_small.c: uploads a release's small files many to a request: BLOBS_QUERY asks
   which the broker holds (of every file), PUT_BLOBS carries the small ones it lacks whole (a
   private part of fc_upload). */
#include "fc_upload_small.h"
#include "fc_error.h"
#include "fc_file.h"
#include "fc_hash.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Files one BLOBS_QUERY names: several queries in flight, so PUT_BLOBS can start on the
   first answer while the others are read. */
#define S_QUERY_FILES 256
/* What one PUT_BLOBS carries at most: a group commit at the broker covers every request it
   reads in one go, so a few large requests make few groups, while a request well under the
   frame limit keeps the publisher's copy for re-sending and the broker's queue small. */
#define S_PUT_FILES 256
#define S_PUT_BYTES (1024u * 1024u)

typedef enum { S_REQ_QUERY, S_REQ_PUT } s_kind_t;

/* A request in flight (fc_upload_req_t): kind, and the files it names, list[job, job +
   count) of its kind's list (the small files for a query, the missing ones for a put). */

typedef struct {
    fc_client_t *client;
    const char *dir;
    const fc_file_t *const *files;
    size_t nfiles;
    fc_upload_result_t *result;
    fc_progress_t *bar;
    size_t queried;          /* files named by queries sent */
    const fc_file_t **miss;  /* small files the broker lacks, in the order its answers named them */
    size_t nmiss, put;       /* put: missing files carried by PUT_BLOBS sent */
    const fc_file_t **large; /* larger files it lacks: the caller's, to upload by chunks */
    size_t *nlarge;
    fc_upload_req_t reqs[FC_UPLOAD_MAX_REQUESTS];
    size_t nreqs;
    uint64_t inflight_bytes;
    uint8_t *buf; /* one file's content, FC_MAX_SMALL_BLOB */
    bool probed;  /* the broker answered a BLOBS_QUERY: it knows these messages */
} s_small_t;

static int s_send(s_small_t *u, fc_msg_t **m_p, s_kind_t kind, size_t first, size_t count,
                  uint64_t bytes)
{
    uint64_t req = fc_client_send(u->client, m_p);
    if (!req)
        return fc_upload_fail(u->result, FC_EPROTO, "could not encode a request of %zu files",
                              count);
    u->reqs[u->nreqs++] = (fc_upload_req_t){req, first, count, kind, bytes};
    u->inflight_bytes += bytes;
    return 0;
}

static int s_query(s_small_t *u)
{
    size_t count = u->nfiles - u->queried;
    if (count > S_QUERY_FILES)
        count = S_QUERY_FILES;
    fc_msg_t *q = fc_msg_new(FC_MSG_BLOBS_QUERY);
    q->bytes = (uint8_t *)malloc(count * FC_HASH_LEN);
    if (!q->bytes) {
        fc_msg_destroy(&q);
        return fc_upload_fail(u->result, FC_ENOMEM, "out of memory");
    }
    q->bytes_len = count * FC_HASH_LEN;
    for (size_t i = 0; i < count; i++)
        memcpy(q->bytes + i * FC_HASH_LEN, u->files[u->queried + i]->hash, FC_HASH_LEN);
    size_t first = u->queried;
    u->queried += count;
    return s_send(u, &q, S_REQ_QUERY, first, count, 0);
}

/* Reads f whole into u->buf and checks it against the manifest's chunk hashes. fc_error_t. */
static int s_read(s_small_t *u, const fc_file_t *f)
{
    char full[PATH_MAX];
    snprintf(full, sizeof full, "%s/%s", u->dir, f->path);
    int fd = open(full, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return fc_upload_fail(u->result, FC_EIO, "%s: %s", f->path, strerror(errno));
    int rc = fc_pread_all(fd, u->buf, f->size, 0);
    int saved = errno;
    close(fd);
    if (rc != 0)
        return fc_upload_fail(u->result, FC_EIO, "%s: read failed: %s", f->path, strerror(saved));
    for (uint32_t i = 0; i < f->nchunks; i++) {
        const fc_chunk_t *c = &f->chunks[i];
        uint8_t got[FC_HASH_LEN];
        fc_hash_buf(got, u->buf + c->offset, c->length);
        if (!fc_hash_equal(got, c->hash))
            return fc_upload_fail(u->result, FC_EHASH,
                                  "%s changed while it was being pushed; run again", f->path);
    }
    return 0;
}

/* One PUT_BLOBS of the next missing files, as many as its bounds and the window allow (at
   least one when nothing is in flight). fc_error_t. */
static int s_put(s_small_t *u, uint64_t window)
{
    fc_msg_t *put = fc_msg_new(FC_MSG_PUT_BLOBS);
    size_t first = u->put;
    uint64_t bytes = 0;
    while (u->put < u->nmiss && put->nitems < S_PUT_FILES) {
        const fc_file_t *f = u->miss[u->put];
        if (put->nitems > 0 && bytes + f->size > S_PUT_BYTES)
            break;
        if ((u->inflight_bytes > 0 || put->nitems > 0) &&
            u->inflight_bytes + bytes + f->size > window)
            break;
        int rc = s_read(u, f);
        if (rc) {
            fc_msg_destroy(&put);
            return rc;
        }
        fc_msg_put_blob_add(put, f->hash, u->buf, f->size);
        bytes += f->size;
        u->put++;
    }
    if (put->nitems == 0) {
        fc_msg_destroy(&put);
        return 0;
    }
    return s_send(u, &put, S_REQ_PUT, first, put->nitems, bytes);
}

/* Names the file a refused PUT_BLOBS was about: the broker's text names its blob. */
static const fc_file_t *s_refused_file(s_small_t *u, const fc_upload_req_t *r, const char *text)
{
    for (size_t i = 0; i < r->count; i++) {
        char hex[2 * FC_HASH_LEN + 1];
        if (strstr(text, fc_hash_hex(u->miss[r->job + i]->hash, hex)))
            return u->miss[r->job + i];
    }
    return u->miss[r->job];
}

/* Takes one reply (consumed) to request r. fc_error_t. */
static int s_on_reply(s_small_t *u, const fc_upload_req_t *r, fc_msg_t *reply, bool *unsupported)
{
    int rc = 0;
    if (reply->type == FC_MSG_ERROR) {
        int code = reply->code > 0 && reply->code < FC_ERROR_MAX ? (int)reply->code : FC_EPROTO;
        if (r->kind == S_REQ_QUERY && code == FC_EPROTO && u->nmiss == 0 && !u->put)
            *unsupported = true; /* a broker before PUT_BLOBS: the caller uploads by chunks */
        else if (r->kind == S_REQ_QUERY)
            rc = fc_upload_fail(u->result, code,
                                "broker refused to say which of %zu files it holds (first %s): %s",
                                r->count, u->files[r->job]->path, reply->text);
        else
            rc = fc_upload_fail(u->result, code, "broker refused the upload of %s: %s (%s)",
                                s_refused_file(u, r, reply->text)->path, reply->text,
                                fc_strerror(code));
    } else if (r->kind == S_REQ_QUERY && reply->type == FC_MSG_BLOBS_STATE &&
               reply->bytes_len == r->count) {
        u->probed = true;
        for (size_t i = 0; i < r->count; i++) {
            const fc_file_t *f = u->files[r->job + i];
            if (reply->bytes[i]) {
                u->result->bytes_present += f->size;
                fc_upload_advance(u->result, u->bar, f->size);
            } else if (f->size > FC_MAX_SMALL_BLOB)
                u->large[(*u->nlarge)++] = f;
            else
                u->miss[u->nmiss++] = f;
        }
    } else if (r->kind == S_REQ_PUT && reply->type == FC_MSG_OK) {
        u->result->bytes_uploaded += r->bytes;
        fc_upload_advance(u->result, u->bar, r->bytes);
    } else
        rc = fc_upload_fail(u->result, FC_EPROTO,
                            "unexpected %s reply while uploading %zu files (first %s)",
                            fc_msg_type_name(reply->type), r->count,
                            (r->kind == S_REQ_QUERY ? u->files : u->miss)[r->job]->path);
    fc_msg_destroy(&reply);
    return rc;
}

int fc_upload_small(fc_client_t *client, const char *dir, const fc_file_t *const *files,
                    size_t nfiles, uint64_t window, int timeout_ms, fc_progress_t *bar,
                    fc_upload_result_t *result, const fc_file_t **large, size_t *nlarge,
                    bool *unsupported)
{
    *unsupported = false;
    *nlarge = 0;
    if (nfiles == 0)
        return 0;
    s_small_t *u = calloc(1, sizeof *u);
    const fc_file_t **miss = calloc(nfiles, sizeof *miss);
    uint8_t *buf = malloc(FC_MAX_SMALL_BLOB);
    if (!u || !miss || !buf) {
        free(u);
        free(miss);
        free(buf);
        snprintf(result->message, sizeof result->message, "out of memory");
        return FC_ENOMEM;
    }
    *u = (s_small_t){.client = client,
                     .dir = dir,
                     .files = files,
                     .nfiles = nfiles,
                     .result = result,
                     .bar = bar,
                     .miss = miss,
                     .large = large,
                     .nlarge = nlarge,
                     .buf = buf};
    int rc = 0;
    while (!rc && !*unsupported && (u->queried < nfiles || u->put < u->nmiss || u->nreqs > 0)) {
        /* Puts first, so the broker's answers keep data moving; queries fill what is left. */
        while (!rc && u->put < u->nmiss && u->nreqs < FC_UPLOAD_MAX_REQUESTS) {
            size_t before = u->put;
            rc = s_put(u, window);
            if (u->put == before)
                break; /* the window is full */
        }
        /* The first query alone until answered: a broker that predates it counts each one
           as a malformed request against this key (FC_BROKER_MAX_BAD, then ignored). */
        while (!rc && u->queried < nfiles && u->nreqs < FC_UPLOAD_MAX_REQUESTS &&
               (u->probed || u->queried == 0))
            rc = s_query(u);
        if (rc || u->nreqs == 0)
            continue;
        /* Every reply that has arrived before sending more: the broker then reads the next
           requests in one wakeup, and commits them as one group. */
        fc_msg_t *reply = fc_client_recv(client, timeout_ms);
        if (!reply) {
            rc = fc_upload_fail(u->result, FC_ETIMEOUT,
                                "no answer from the broker for %d s while uploading %zu "
                                "files",
                                timeout_ms / 1000, nfiles);
            break;
        }
        for (; reply && !rc; reply = u->nreqs ? fc_client_recv(client, 0) : NULL) {
            fc_upload_req_t r;
            if (!fc_upload_take(u->reqs, &u->nreqs, &u->inflight_bytes, reply->req, &r)) {
                fc_msg_destroy(&reply);
                continue;
            }
            rc = s_on_reply(u, &r, reply, unsupported);
        }
        fc_msg_destroy(&reply);
    }
    for (size_t i = 0; i < u->nreqs; i++)
        fc_client_forget(client, u->reqs[i].req);
    free(u->miss);
    free(u->buf);
    free(u);
    return rc;
}
