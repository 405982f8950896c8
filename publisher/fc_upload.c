/* fc_upload.c: uploads a release's blobs to the broker, many at a time: each file a small
   state machine (query, chunks, commit), their requests pipelined over one connection. */
#include "fc_upload.h"
#include "fc_error.h"
#include "fc_file.h"
#include "fc_hash.h"
#include "fc_upload_small.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define S_MAX_REQUESTS FC_UPLOAD_MAX_REQUESTS
#define S_MAX_FILES S_MAX_REQUESTS /* files in progress at once */

typedef enum { S_QUERY, S_CHUNKS, S_COMMIT, S_RECOMMIT, S_DONE } s_step_t;

/* What the broker is known to take: UPLOAD_CHUNKS, or only UPLOAD_QUERY, or not known yet. */
typedef enum { S_BROKER_UNKNOWN, S_BROKER_NEW, S_BROKER_OLD } s_broker_kind_t;

/* One file in progress. */
typedef struct {
    const fc_file_t *file;
    s_step_t step;
    fc_msg_t *state; /* UPLOAD_STATE: the ranges the broker holds */
    uint32_t next;   /* next chunk to consider */
    uint32_t acks;   /* PUT_CHUNKs not yet acknowledged */
    bool retried;    /* the commit was sent again after FC_EMISSING */
    bool by_chunks;  /* the query is an UPLOAD_CHUNKS or UPLOAD_PREFIXES */
    bool by_prefix;  /* the query is an UPLOAD_PREFIXES */
    bool full_names; /* its commit failed after copies by prefix: asked again by hash */
    int fd;          /* open while chunks are read */
} s_job_t;

typedef struct {
    fc_client_t *client;
    const char *dir;
    fc_upload_result_t *result;
    fc_progress_t *bar;
    s_job_t jobs[S_MAX_FILES];
    fc_upload_req_t reqs[S_MAX_REQUESTS];
    size_t nreqs;
    uint64_t inflight_bytes;
    bool old_broker;    /* it answered UPLOAD_CHUNKS FC_EPROTO: UPLOAD_QUERY from then on */
    bool probed;        /* old_broker is known: more than one query may be in flight */
    bool no_prefixes;   /* it answered UPLOAD_PREFIXES FC_EPROTO: UPLOAD_CHUNKS from then on */
    bool prefix_probed; /* no_prefixes is known */
} s_upload_t;

int fc_upload_fail(fc_upload_result_t *result, int code, const char *fmt, ...)
{
    va_list args;
    va_start(args, fmt);
    vsnprintf(result->message, sizeof result->message, fmt, args);
    va_end(args);
    return code;
}

bool fc_upload_take(fc_upload_req_t *reqs, size_t *n, uint64_t *inflight_bytes, uint64_t reply_req,
                    fc_upload_req_t *out)
{
    for (size_t i = 0; i < *n; i++)
        if (reqs[i].req == reply_req) {
            *out = reqs[i];
            reqs[i] = reqs[--*n];
            *inflight_bytes -= out->bytes;
            return true;
        }
    return false;
}

void fc_upload_advance(fc_upload_result_t *result, fc_progress_t *bar, uint64_t bytes)
{
    result->done += bytes;
    fc_progress_update(bar, result->done);
}

/* Sends a request for job j (consumed), carrying length chunk bytes. fc_error_t. */
static int s_send(s_upload_t *u, size_t j, fc_msg_t **m_p, uint64_t length)
{
    uint64_t req = fc_client_send(u->client, m_p);
    if (!req)
        return fc_upload_fail(u->result, FC_EPROTO, "%s: could not encode a request",
                              u->jobs[j].file->path);
    u->reqs[u->nreqs++] = (fc_upload_req_t){.req = req, .job = j, .bytes = length};
    u->inflight_bytes += length;
    return 0;
}

/* Asks what the broker holds of job j's blob: UPLOAD_PREFIXES, naming its chunks (by the
   first FC_CHUNK_PREFIX bytes of their hashes: 12 bytes a chunk where UPLOAD_CHUNKS takes 36)
   so the broker copies those it holds in other blobs (a changed file then costs only its new
   chunks); UPLOAD_CHUNKS to a broker that predates it; UPLOAD_QUERY to one older still, and
   for a file of more chunks than one request names. fc_error_t. */
static int s_query(s_upload_t *u, size_t j)
{
    s_job_t *job = &u->jobs[j];
    const fc_file_t *f = job->file;
    job->by_chunks = !u->old_broker && f->nchunks > 0 && f->nchunks <= FC_MAX_UPLOAD_CHUNKS;
    job->by_prefix = job->by_chunks && !u->no_prefixes && !job->full_names;
    fc_msg_t *query = fc_msg_new(job->by_prefix   ? FC_MSG_UPLOAD_PREFIXES
                                 : job->by_chunks ? FC_MSG_UPLOAD_CHUNKS
                                                  : FC_MSG_UPLOAD_QUERY);
    memcpy(query->blob, f->hash, FC_HASH_LEN);
    query->size = f->size;
    for (uint32_t i = 0; job->by_chunks && i < f->nchunks; i++) {
        if (job->by_prefix)
            fc_msg_chunk_prefix_add(query, f->chunks[i].length, f->chunks[i].hash);
        else
            fc_msg_chunk_ref_add(query, f->chunks[i].length, f->chunks[i].hash);
    }
    return s_send(u, j, &query, 0);
}

static int s_start(s_upload_t *u, size_t j, const fc_file_t *file)
{
    u->jobs[j] = (s_job_t){.file = file, .step = S_QUERY, .fd = -1};
    return s_query(u, j);
}

static bool s_range_held(const fc_msg_t *state, uint64_t offset, uint64_t length)
{
    for (size_t i = 0; i < state->nranges; i++) {
        const fc_range_t *r = &state->ranges[i];
        if (r->offset <= offset && offset + length <= r->offset + r->length)
            return true;
    }
    return false;
}

static void s_finish(s_job_t *job)
{
    if (job->fd >= 0)
        close(job->fd);
    job->fd = -1;
    fc_msg_destroy(&job->state);
    job->step = S_DONE;
}

/* Sends what job j can send now: its chunks the broker lacks while the window allows, then
   its BLOB_COMMIT once every chunk is acknowledged. fc_error_t. */
static int s_pump(s_upload_t *u, size_t j, uint64_t window)
{
    s_job_t *job = &u->jobs[j];
    const fc_file_t *f = job->file;
    while (job->step == S_CHUNKS && job->next < f->nchunks && u->nreqs < S_MAX_REQUESTS &&
           (u->inflight_bytes == 0 || u->inflight_bytes + f->chunks[job->next].length <= window)) {
        const fc_chunk_t *c = &f->chunks[job->next++];
        if (s_range_held(job->state, c->offset, c->length)) {
            u->result->bytes_present += c->length;
            fc_upload_advance(u->result, u->bar, c->length);
            continue;
        }
        if (job->fd < 0) {
            char full[PATH_MAX];
            snprintf(full, sizeof full, "%s/%s", u->dir, f->path);
            job->fd = open(full, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
            if (job->fd < 0)
                return fc_upload_fail(u->result, FC_EIO, "%s: %s", f->path, strerror(errno));
        }
        fc_msg_t *put = fc_msg_new(FC_MSG_PUT_CHUNK);
        memcpy(put->blob, f->hash, FC_HASH_LEN);
        memcpy(put->hash, c->hash, FC_HASH_LEN);
        put->offset = c->offset;
        put->data = zframe_new(NULL, c->length);
        if (fc_pread_all(job->fd, zframe_data(put->data), c->length, c->offset) != 0) {
            fc_msg_destroy(&put);
            return fc_upload_fail(u->result, FC_EIO, "%s: read failed: %s", f->path,
                                  strerror(errno));
        }
        uint8_t got[FC_HASH_LEN];
        fc_hash_buf(got, zframe_data(put->data), c->length);
        if (!fc_hash_equal(got, c->hash)) {
            fc_msg_destroy(&put);
            return fc_upload_fail(u->result, FC_EHASH,
                                  "%s changed while it was being pushed; run again", f->path);
        }
        job->acks++;
        int rc = s_send(u, j, &put, c->length);
        if (rc)
            return rc;
    }
    /* The commit follows the chunks without waiting for their acks: the broker handles one
       connection's requests in order. If it still finds chunks missing (one was lost and
       re-sent behind the commit), the commit is sent again once they are acknowledged. */
    if (job->step == S_CHUNKS && job->next == f->nchunks && u->nreqs < S_MAX_REQUESTS) {
        if (job->fd >= 0)
            close(job->fd);
        job->fd = -1;
        job->step = S_COMMIT;
        fc_msg_t *commit = fc_msg_new(FC_MSG_BLOB_COMMIT);
        memcpy(commit->blob, f->hash, FC_HASH_LEN);
        commit->size = f->size;
        return s_send(u, j, &commit, 0);
    }
    return 0;
}

/* Takes one reply (consumed) for request r. fc_error_t. */
static int s_on_reply(s_upload_t *u, const fc_upload_req_t *r, fc_msg_t *reply)
{
    s_job_t *job = &u->jobs[r->job];
    const fc_file_t *f = job->file;
    int rc = 0;
    if (reply->type == FC_MSG_ERROR && reply->code == FC_EMISSING && job->step == S_COMMIT &&
        !job->retried) {
        job->retried = true;
        job->step = S_RECOMMIT; /* sent again when its chunks are all acknowledged */
    } else if (reply->type == FC_MSG_ERROR && reply->code == FC_EPROTO && job->step == S_QUERY &&
               job->by_prefix) {
        u->no_prefixes = u->prefix_probed = true; /* it predates UPLOAD_PREFIXES */
        u->result->no_prefixes = true;
        rc = s_query(u, r->job);
    } else if (reply->type == FC_MSG_ERROR && reply->code == FC_EHASH && job->step == S_COMMIT &&
               job->by_prefix && job->acks == 0) {
        /* The broker copied a chunk of another content under the same prefix and length (it
           checks copies against the index's whole hash, not ours) and discarded the upload:
           this file again, named by whole hashes. */
        job->full_names = true;
        job->next = 0;
        job->retried = false;
        fc_msg_destroy(&job->state);
        job->step = S_QUERY;
        rc = s_query(u, r->job);
    } else if (reply->type == FC_MSG_ERROR && reply->code == FC_EPROTO && job->step == S_QUERY &&
               job->by_chunks) {
        u->old_broker = u->probed = true; /* it does not know UPLOAD_CHUNKS: the old way */
        rc = s_query(u, r->job);
    } else if (reply->type == FC_MSG_ERROR) {
        int code = reply->code > 0 && reply->code < FC_ERROR_MAX ? (int)reply->code : FC_EPROTO;
        rc = fc_upload_fail(u->result, code, "broker refused the upload of %s: %s (%s)", f->path,
                            reply->text, fc_strerror(code));
    } else if (job->step == S_QUERY && reply->type == FC_MSG_UPLOAD_STATE) {
        u->probed = true;
        u->prefix_probed = true; /* an answer of this version, whatever the query */
        if (reply->flag) {
            u->result->bytes_present += f->size;
            fc_upload_advance(u->result, u->bar, f->size);
            s_finish(job);
        } else {
            job->state = reply;
            reply = NULL;
            job->step = S_CHUNKS;
        }
    } else if (job->step != S_QUERY && job->step != S_DONE && reply->type == FC_MSG_PUT_ACK) {
        job->acks--;
        u->result->bytes_uploaded += r->bytes;
        fc_upload_advance(u->result, u->bar, r->bytes);
    } else if (job->step == S_COMMIT && reply->type == FC_MSG_OK) {
        /* Whole and verified: chunks still unacknowledged (their replies lost with a
           connection) arrived too. Their requests are forgotten, so a late ack never
           counts for the file that takes this slot next. */
        for (size_t i = 0; i < u->nreqs;) {
            if (u->reqs[i].job != r->job) {
                i++;
                continue;
            }
            u->result->bytes_uploaded += u->reqs[i].bytes;
            fc_upload_advance(u->result, u->bar, u->reqs[i].bytes);
            u->inflight_bytes -= u->reqs[i].bytes;
            fc_client_forget(u->client, u->reqs[i].req);
            u->reqs[i] = u->reqs[--u->nreqs];
        }
        s_finish(job);
    } else
        rc = fc_upload_fail(u->result, FC_EPROTO, "unexpected %s reply while uploading %s",
                            fc_msg_type_name(reply->type), f->path);
    fc_msg_destroy(&reply);
    return rc;
}

/* The files that go by chunks, after the small ones went whole (all of them, if the broker
   predates PUT_BLOBS). fc_error_t. */
static int s_upload_chunked(fc_client_t *client, const char *dir, const fc_file_t *const *files,
                            size_t nfiles, uint64_t window, int timeout_ms, fc_progress_t *bar,
                            fc_upload_result_t *result, s_broker_kind_t broker);

int fc_upload_blobs(fc_client_t *client, const char *dir, const fc_file_t *const *files,
                    size_t nfiles, uint64_t window, int timeout_ms, fc_progress_t *bar,
                    fc_upload_result_t *result)
{
    const fc_file_t **large = calloc(nfiles + 1, sizeof *large);
    if (!large) {
        snprintf(result->message, sizeof result->message, "out of memory");
        return FC_ENOMEM;
    }
    /* Every file is asked about first, large ones too: the broker holds most of a release
       it has seen before, and a query names a file in 32 bytes where UPLOAD_CHUNKS names
       each of its chunks. */
    size_t nlarge = 0;
    bool unsupported = false;
    int rc = fc_upload_small(client, dir, files, nfiles, window, timeout_ms, bar, result, large,
                             &nlarge, &unsupported);
    /* BLOBS_QUERY and UPLOAD_CHUNKS came in the same version: one answer tells of both. */
    if (!rc && unsupported)
        rc = s_upload_chunked(client, dir, files, nfiles, window, timeout_ms, bar, result,
                              S_BROKER_OLD);
    else if (!rc)
        rc = s_upload_chunked(client, dir, large, nlarge, window, timeout_ms, bar, result,
                              nfiles ? S_BROKER_NEW : S_BROKER_UNKNOWN);
    free(large);
    return rc;
}

static int s_upload_chunked(fc_client_t *client, const char *dir, const fc_file_t *const *files,
                            size_t nfiles, uint64_t window, int timeout_ms, fc_progress_t *bar,
                            fc_upload_result_t *result, s_broker_kind_t broker)
{
    s_upload_t *u = calloc(1, sizeof *u);
    if (!u)
        return FC_ENOMEM;
    *u = (s_upload_t){.client = client,
                      .dir = dir,
                      .result = result,
                      .bar = bar,
                      .old_broker = broker == S_BROKER_OLD,
                      .probed = broker != S_BROKER_UNKNOWN,
                      .no_prefixes = result->no_prefixes,
                      .prefix_probed = broker == S_BROKER_OLD || result->no_prefixes};
    if (broker == S_BROKER_OLD)
        result->no_prefixes = true; /* older than UPLOAD_CHUNKS: than UPLOAD_PREFIXES too */
    size_t next = 0, active = 0;
    int rc = 0;
    for (size_t j = 0; j < S_MAX_FILES; j++)
        u->jobs[j] = (s_job_t){.step = S_DONE, .fd = -1};
    while (!rc && (next < nfiles || active > 0)) {
        /* New files into free slots; then every file in progress sends what it may. */
        /* Until the broker has answered one query, that one alone: a broker that predates
           UPLOAD_CHUNKS (or UPLOAD_PREFIXES) counts each as a malformed request against this
           key. */
        for (size_t j = 0; !rc && j < S_MAX_FILES && next < nfiles &&
                           ((u->probed && u->prefix_probed) || next == 0);
             j++)
            if (u->jobs[j].step == S_DONE && u->nreqs < S_MAX_REQUESTS) {
                rc = s_start(u, j, files[next++]);
                active++;
            }
        for (size_t j = 0; !rc && j < S_MAX_FILES; j++)
            if (u->jobs[j].step == S_CHUNKS)
                rc = s_pump(u, j, window);
        for (size_t j = 0; !rc && j < S_MAX_FILES; j++)
            if (u->jobs[j].step == S_RECOMMIT && u->jobs[j].acks == 0) {
                u->jobs[j].step = S_COMMIT;
                fc_msg_t *commit = fc_msg_new(FC_MSG_BLOB_COMMIT);
                memcpy(commit->blob, u->jobs[j].file->hash, FC_HASH_LEN);
                commit->size = u->jobs[j].file->size;
                rc = s_send(u, j, &commit, 0);
            }
        if (rc || u->nreqs == 0)
            continue;
        /* Every reply that has arrived before sending more: the broker then reads the
           next requests in one wakeup, and commits them as one group. */
        fc_msg_t *reply = fc_client_recv(client, timeout_ms);
        if (!reply) {
            const fc_file_t *f = u->jobs[u->reqs[0].job].file;
            rc = fc_upload_fail(u->result, FC_ETIMEOUT,
                                "no answer from the broker for %d s while uploading %s",
                                timeout_ms / 1000, f->path);
            break;
        }
        for (; reply && !rc; reply = u->nreqs ? fc_client_recv(client, 0) : NULL) {
            fc_upload_req_t r;
            if (!fc_upload_take(u->reqs, &u->nreqs, &u->inflight_bytes, reply->req, &r)) {
                fc_msg_destroy(&reply);
                continue;
            }
            bool was_done = u->jobs[r.job].step == S_DONE;
            rc = s_on_reply(u, &r, reply);
            if (!was_done && u->jobs[r.job].step == S_DONE)
                active--;
        }
        fc_msg_destroy(&reply);
    }
    for (size_t j = 0; j < S_MAX_FILES; j++)
        if (u->jobs[j].step != S_DONE)
            s_finish(&u->jobs[j]);
    for (size_t i = 0; i < u->nreqs; i++)
        fc_client_forget(client, u->reqs[i].req);
    free(u);
    return rc;
}
