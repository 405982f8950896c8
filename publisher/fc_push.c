/* fc_push.c: pushes a release: hash and sign a directory, upload only what the broker lacks,
   commit. */
#include "fc_push.h"
#include "fc_clock.h"
#include "fc_error.h"
#include "fc_file.h"
#include "fc_hash.h"
#include "fc_manifest.h"
#include "fc_progress.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef struct {
    uint64_t req;
    uint64_t length;
} s_inflight_t;

/* Everything one push run carries between its steps. */
typedef struct {
    fc_client_t *client;
    const fc_push_options_t *opt;
    fc_push_result_t *result;
    fc_progress_t *bar;
    uint64_t bar_done;
} s_push_t;

static int s_fail(s_push_t *p, int code, const char *fmt, ...)
{
    va_list args;
    va_start(args, fmt);
    vsnprintf(p->result->message, sizeof p->result->message, fmt, args);
    va_end(args);
    return code;
}

/* Sends req and waits for its reply; a broker ERROR becomes the push's error. */
static int s_call(s_push_t *p, fc_msg_t **req_p, fc_msg_type_t want, fc_msg_t **reply_p)
{
    const char *name = fc_msg_type_name((*req_p)->type);
    fc_msg_t *reply = fc_client_call(p->client, req_p, p->opt->timeout_ms);
    char why[512];
    if (!reply && fc_client_why(p->client, why, sizeof why))
        return s_fail(p, FC_ETIMEOUT, "%s", why);
    if (!reply)
        return s_fail(p, FC_ETIMEOUT, "no answer from the broker to %s within %d s", name,
                      p->opt->timeout_ms / 1000);
    if (reply->type == FC_MSG_ERROR) {
        int code = reply->code > 0 && reply->code < FC_ERROR_MAX ? (int)reply->code : FC_EPROTO;
        s_fail(p, code, "broker refused %s: %s (%s)", name, reply->text, fc_strerror(code));
        fc_msg_destroy(&reply);
        return code;
    }
    if (reply->type != want) {
        s_fail(p, FC_EPROTO, "unexpected %s reply to %s", fc_msg_type_name(reply->type), name);
        fc_msg_destroy(&reply);
        return FC_EPROTO;
    }
    *reply_p = reply;
    return 0;
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

/* Uploads the chunks of one file the broker does not hold, keeping a window in flight. */
static int s_upload_chunks(s_push_t *p, const fc_file_t *file, const fc_msg_t *state, int fd)
{
    s_inflight_t inflight[256];
    size_t ninflight = 0;
    uint64_t inflight_bytes = 0;
    uint32_t next = 0;
    while (next < file->nchunks || ninflight > 0) {
        while (next < file->nchunks && ninflight < 256 &&
               (ninflight == 0 || inflight_bytes + file->chunks[next].length <= p->opt->window)) {
            const fc_chunk_t *c = &file->chunks[next++];
            if (s_range_held(state, c->offset, c->length)) {
                p->result->bytes_present += c->length;
                p->bar_done += c->length;
                continue;
            }
            fc_msg_t *put = fc_msg_new(FC_MSG_PUT_CHUNK);
            memcpy(put->blob, file->hash, FC_HASH_LEN);
            memcpy(put->hash, c->hash, FC_HASH_LEN);
            put->offset = c->offset;
            put->data = zframe_new(NULL, c->length);
            if (fc_pread_all(fd, zframe_data(put->data), c->length, c->offset) != 0) {
                fc_msg_destroy(&put);
                return s_fail(p, FC_EIO, "%s: read failed: %s", file->path, strerror(errno));
            }
            uint8_t got[FC_HASH_LEN];
            fc_hash_buf(got, zframe_data(put->data), c->length);
            if (!fc_hash_equal(got, c->hash)) {
                fc_msg_destroy(&put);
                return s_fail(p, FC_EHASH, "%s changed while it was being pushed; run again",
                              file->path);
            }
            uint64_t id = fc_client_send(p->client, &put);
            if (!id)
                return s_fail(p, FC_EPROTO, "%s: could not encode chunk", file->path);
            inflight[ninflight].req = id;
            inflight[ninflight].length = c->length;
            ninflight++;
            inflight_bytes += c->length;
        }
        if (ninflight == 0)
            continue;
        fc_msg_t *reply = fc_client_recv(p->client, p->opt->timeout_ms);
        char why[512];
        if (!reply && fc_client_why(p->client, why, sizeof why))
            return s_fail(p, FC_ETIMEOUT, "%s (while uploading %s)", why, file->path);
        if (!reply)
            return s_fail(p, FC_ETIMEOUT, "no answer from the broker for %d s while uploading %s",
                          p->opt->timeout_ms / 1000, file->path);
        size_t i = 0;
        while (i < ninflight && inflight[i].req != reply->req)
            i++;
        if (i == ninflight) {
            fc_msg_destroy(&reply);
            continue;
        }
        if (reply->type == FC_MSG_ERROR) {
            int code = reply->code > 0 && reply->code < FC_ERROR_MAX ? (int)reply->code : FC_EPROTO;
            s_fail(p, code, "broker refused a chunk of %s: %s (%s)", file->path, reply->text,
                   fc_strerror(code));
            fc_msg_destroy(&reply);
            return code;
        }
        fc_msg_destroy(&reply);
        p->result->bytes_uploaded += inflight[i].length;
        p->bar_done += inflight[i].length;
        fc_progress_update(p->bar, p->bar_done);
        inflight_bytes -= inflight[i].length;
        inflight[i] = inflight[--ninflight];
    }
    return 0;
}

/* Makes sure the broker holds one file's content: query, send what is missing, commit. */
static int s_upload_blob(s_push_t *p, const fc_file_t *file)
{
    fc_msg_t *query = fc_msg_new(FC_MSG_UPLOAD_QUERY);
    memcpy(query->blob, file->hash, FC_HASH_LEN);
    query->size = file->size;
    fc_msg_t *state = NULL;
    int rc = s_call(p, &query, FC_MSG_UPLOAD_STATE, &state);
    if (rc)
        return rc;
    if (state->flag) {
        p->result->bytes_present += file->size;
        p->bar_done += file->size;
        fc_progress_update(p->bar, p->bar_done);
        fc_msg_destroy(&state);
        return 0;
    }
    char full[PATH_MAX];
    snprintf(full, sizeof full, "%s/%s", p->opt->dir, file->path);
    int fd = open(full, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        fc_msg_destroy(&state);
        return s_fail(p, FC_EIO, "%s: %s", full, strerror(errno));
    }
    rc = s_upload_chunks(p, file, state, fd);
    close(fd);
    fc_msg_destroy(&state);
    if (rc)
        return rc;
    fc_msg_t *commit = fc_msg_new(FC_MSG_BLOB_COMMIT);
    memcpy(commit->blob, file->hash, FC_HASH_LEN);
    commit->size = file->size;
    fc_msg_t *ok = NULL;
    rc = s_call(p, &commit, FC_MSG_OK, &ok);
    fc_msg_destroy(&ok);
    return rc;
}

static void s_scan_progress(uint64_t done, uint64_t total, void *arg)
{
    fc_progress_update((fc_progress_t *)arg, done);
}

/* Asks the broker for the channel's latest serial (0 if none). */
static int s_latest_serial(s_push_t *p, uint64_t *serial)
{
    fc_msg_t *list = fc_msg_new(FC_MSG_LIST);
    fc_msg_set_str(list->channel, sizeof list->channel, p->opt->channel);
    fc_msg_t *reply = NULL;
    int rc = s_call(p, &list, FC_MSG_LIST_REPLY, &reply);
    if (rc)
        return rc;
    *serial = 0;
    for (size_t i = 0; i < reply->nreleases; i++)
        if (streq(reply->releases[i].channel, p->opt->channel) &&
            reply->releases[i].serial > *serial)
            *serial = reply->releases[i].serial;
    fc_msg_destroy(&reply);
    return 0;
}

/* Asks the broker for the channel's latest signed manifest (SYNC) and opens it: *latest is
   NULL if the channel has none. Only its own signature is checked: the publisher compares
   it with what it is about to push, it installs nothing from it. */
static int s_latest_manifest(s_push_t *p, fc_manifest_t **latest)
{
    *latest = NULL;
    fc_msg_t *sync = fc_msg_new(FC_MSG_SYNC);
    fc_msg_set_str(sync->channel, sizeof sync->channel, p->opt->channel);
    fc_msg_t *snap = NULL;
    int rc = s_call(p, &sync, FC_MSG_SNAPSHOT, &snap);
    if (rc)
        return rc;
    if (snap->bytes_len > 0) {
        int err = 0;
        *latest = fc_manifest_parse(snap->bytes, snap->bytes_len, NULL, &err);
        if (!*latest)
            rc = s_fail(p, err, "cannot read the latest release of channel %s from the broker: %s",
                        p->opt->channel, fc_strerror(err));
    }
    fc_msg_destroy(&snap);
    return rc;
}

/* What makes two releases of one version differ, written into why ("" if nothing): the
   content an agent installs and the flags that decide when it installs it. The serial,
   creation time and signer are not content. */
static bool s_same_content(const fc_manifest_t *a, const fc_manifest_t *b, char *why, size_t size)
{
    *why = '\0';
    if (!streq(a->product, b->product))
        snprintf(why, size, "product %s, published %s", a->product, b->product);
    else if (a->mandatory != b->mandatory)
        snprintf(why, size, "%s, published %s", a->mandatory ? "mandatory" : "optional",
                 b->mandatory ? "mandatory" : "optional");
    else if (!streq(a->min_version, b->min_version))
        snprintf(why, size, "minimum version '%s', published '%s'", a->min_version, b->min_version);
    /* Both lists are sorted by path: walk them side by side to name the first difference. */
    uint32_t i = 0, j = 0;
    while (!*why && (i < a->nfiles || j < b->nfiles)) {
        const fc_file_t *fa = i < a->nfiles ? &a->files[i] : NULL;
        const fc_file_t *fb = j < b->nfiles ? &b->files[j] : NULL;
        int order = !fa ? 1 : !fb ? -1 : strcmp(fa->path, fb->path);
        if (order < 0)
            snprintf(why, size, "%s is not in the published release", fa->path);
        else if (order > 0)
            snprintf(why, size, "%s is only in the published release", fb->path);
        else if (fa->size != fb->size || !fc_hash_equal(fa->hash, fb->hash))
            snprintf(why, size, "%s has other content", fa->path);
        else if (fa->mode != fb->mode)
            snprintf(why, size, "%s has mode %03o, published %03o", fa->path, fa->mode, fb->mode);
        i++;
        j++;
    }
    return !*why;
}

int fc_push_release(fc_client_t *client, const fc_push_options_t *opt, const fc_signkey_t *key,
                    fc_push_result_t *result)
{
    memset(result, 0, sizeof *result);
    s_push_t p = {client, opt, result, NULL, 0};
    double started = fc_now();
    if (!fc_name_valid(opt->channel))
        return s_fail(&p, FC_EINVAL, "invalid channel name '%s' (1-64 of A-Z a-z 0-9 . _ + -)",
                      opt->channel);
    if (!fc_name_valid(opt->version))
        return s_fail(&p, FC_EINVAL, "invalid version '%s' (1-64 of A-Z a-z 0-9 . _ + -)",
                      opt->version);
    if (opt->min_version && *opt->min_version && !fc_name_valid(opt->min_version))
        return s_fail(&p, FC_EINVAL, "invalid minimum version '%s'", opt->min_version);

    fc_manifest_t *m = fc_manifest_new();
    fc_msg_set_str(m->product, sizeof m->product, opt->product ? opt->product : "default");
    fc_msg_set_str(m->channel, sizeof m->channel, opt->channel);
    fc_msg_set_str(m->version, sizeof m->version, opt->version);
    fc_msg_set_str(m->min_version, sizeof m->min_version, opt->min_version ? opt->min_version : "");
    m->mandatory = opt->mandatory;
    m->created = (int64_t)time(NULL);

    p.bar = fc_progress_new(stderr, "hashing", 0, opt->progress);
    char why[FC_MAX_PATH + 256];
    int rc = fc_manifest_scan_dir_why(m, opt->dir, s_scan_progress, p.bar, why, sizeof why);
    fc_progress_destroy(&p.bar);
    if (rc) {
        fc_manifest_destroy(&m);
        return s_fail(&p, rc, "%s", why);
    }
    result->files = m->nfiles;
    result->bytes_total = fc_manifest_total_size(m);

    fc_msg_t *hello = fc_msg_new(FC_MSG_HELLO);
    hello->role = FC_ROLE_PUBLISHER;
    fc_msg_set_str(hello->id, sizeof hello->id, "fleetcast");
    fc_msg_set_str(hello->channel, sizeof hello->channel, opt->channel);
    fc_msg_t *welcome = NULL;
    rc = s_call(&p, &hello, FC_MSG_WELCOME, &welcome);
    fc_msg_destroy(&welcome);
    uint64_t latest = 0;
    if (!rc)
        rc = s_latest_serial(&p, &latest);
    /* Re-running a push (a script run twice, a retry after a lost reply) must not publish
       the same thing again under a new serial, which every agent would install again; and
       a version must name one content, or two agents "on 1.0" run different code. */
    fc_manifest_t *published = NULL;
    if (!rc && latest)
        rc = s_latest_manifest(&p, &published);
    if (published && streq(published->version, opt->version)) {
        char why[FC_MAX_PATH + 64];
        if (s_same_content(m, published, why, sizeof why)) {
            result->already_published = true;
            result->serial = published->serial;
        } else
            rc = s_fail(&p, FC_EINVAL,
                        "%s %s is already published as serial %llu with other content (%s): a "
                        "version names one content; push this tree as a new version",
                        opt->channel, opt->version, (unsigned long long)published->serial, why);
    }
    fc_manifest_destroy(&published);
    if (!rc && !result->already_published && opt->serial && opt->serial <= latest)
        rc = s_fail(&p, FC_ESERIAL, "serial %llu is not above the channel's latest (%llu)",
                    (unsigned long long)opt->serial, (unsigned long long)latest);
    m->serial = opt->serial ? opt->serial : latest + 1;

    /* Upload each distinct content once: identical files share one blob. */
    p.bar = fc_progress_new(stderr, "uploading", result->bytes_total, opt->progress);
    zhashx_t *seen = zhashx_new();
    for (uint32_t i = 0; !rc && i < m->nfiles; i++) {
        char hex[2 * FC_HASH_LEN + 1];
        if (zhashx_insert(seen, fc_hash_hex(m->files[i].hash, hex), (void *)1) != 0) {
            p.bar_done += m->files[i].size;
            continue;
        }
        rc = s_upload_blob(&p, &m->files[i]);
    }
    zhashx_destroy(&seen);
    fc_progress_destroy(&p.bar);

    /* Already published: the blobs were still checked above, so a re-run repairs a blob the
       broker lost or marked corrupt, but nothing is committed or announced. */
    if (!rc && !result->already_published) {
        size_t len = 0;
        uint8_t *signed_manifest = fc_manifest_sign(m, key, &len);
        if (!signed_manifest)
            rc = s_fail(&p, FC_ETOOBIG, "manifest too large to sign (%u files)", m->nfiles);
        else {
            fc_msg_t *commit = fc_msg_new(FC_MSG_RELEASE_COMMIT);
            fc_msg_set_bytes(commit, signed_manifest, len);
            free(signed_manifest);
            fc_msg_t *ok = NULL;
            rc = s_call(&p, &commit, FC_MSG_OK, &ok);
            if (!rc)
                result->serial = ok->serial ? ok->serial : m->serial;
            fc_msg_destroy(&ok);
        }
    }
    result->requests_retried = fc_client_retries(client);
    result->seconds = fc_now() - started;
    fc_manifest_destroy(&m);
    return rc;
}
