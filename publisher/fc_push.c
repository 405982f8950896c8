/* fc_push.c: pushes a release: hash and sign a directory, upload only what the broker lacks,
   commit. */
#include "fc_push.h"
#include "fc_clock.h"
#include "fc_error.h"
#include "fc_file.h"
#include "fc_hash.h"
#include "fc_manifest.h"
#include "fc_progress.h"
#include "fc_release_objects.h"
#include "fc_release_ops.h"
#include "fc_upload.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Everything one push run carries between its steps. */
typedef struct {
    fc_client_t *client;
    const fc_push_options_t *opt;
    fc_push_result_t *result;
    fc_progress_t *bar;
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
    return fc_release_call(p->client, req_p, want, reply_p, p->opt->timeout_ms, p->result->message,
                           sizeof p->result->message);
}

static void s_scan_progress(uint64_t done, uint64_t total, void *arg)
{
    fc_progress_update((fc_progress_t *)arg, done);
}

/* Registers the rollout the release starts with, before it is committed: committed without
   it, the release would go to every agent at once. */
static int s_plan(s_push_t *p, uint64_t serial)
{
    const fc_push_plan_t *plan = p->opt->plan;
    fc_msg_t *req = fc_msg_new(FC_MSG_ROLLOUT_PLAN);
    fc_msg_set_str(req->channel, sizeof req->channel, p->opt->channel);
    req->serial = serial;
    memcpy(req->waves, plan->waves, sizeof req->waves);
    req->nwaves = plan->nwaves;
    req->halt_percent = plan->halt_percent;
    req->wave_wait_ms = plan->wave_wait_ms;
    req->flag = plan->hold;
    fc_msg_t *ok = NULL;
    int rc = s_call(p, &req, FC_MSG_OK, &ok);
    fc_msg_destroy(&ok);
    return rc;
}

/* After the commit: the rollout's first wave, to say how many agents were chosen. Best
   effort: the release is committed whatever this finds. */
static void s_first_wave(s_push_t *p)
{
    fc_msg_t *req = fc_msg_new(FC_MSG_ROLLOUT_STATUS), *reply = NULL;
    fc_msg_set_str(req->channel, sizeof req->channel, p->opt->channel);
    if (s_call(p, &req, FC_MSG_ROLLOUT_STATUS_REPLY, &reply) == 0 && reply->nrollouts == 1 &&
        reply->rollouts[0].serial == p->result->serial) {
        p->result->rolling = true;
        p->result->rollout = reply->rollouts[0];
    }
    p->result->message[0] = '\0';
    fc_msg_destroy(&reply);
}

int fc_push_release(fc_client_t *client, const fc_push_options_t *opt, const fc_signkey_t *key,
                    fc_push_result_t *result)
{
    memset(result, 0, sizeof *result);
    double started = fc_now();
    int rc = FC_OK;
    fc_manifest_t *m = fc_push_scan(opt, &rc, result->message, sizeof result->message);
    if (!m)
        return rc;
    rc = fc_push_manifest(client, opt, m, key, result);
    result->seconds = fc_now() - started;
    fc_manifest_destroy(&m);
    return rc;
}

fc_manifest_t *fc_push_scan(const fc_push_options_t *opt, int *err, char *msg, size_t msgsize)
{
    fc_push_result_t result = {0};
    s_push_t p = {NULL, opt, &result, NULL};
    *err = FC_OK;
    if (!fc_name_valid(opt->channel))
        *err = s_fail(&p, FC_EINVAL, "invalid channel name '%s' (1-64 of A-Z a-z 0-9 . _ + -)",
                      opt->channel);
    else if (!fc_name_valid(opt->version))
        *err = s_fail(&p, FC_EINVAL, "invalid version '%s' (1-64 of A-Z a-z 0-9 . _ + -)",
                      opt->version);
    else if (opt->min_version && *opt->min_version && !fc_name_valid(opt->min_version))
        *err = s_fail(&p, FC_EINVAL, "invalid minimum version '%s'", opt->min_version);
    if (*err) {
        snprintf(msg, msgsize, "%s", result.message);
        return NULL;
    }
    fc_manifest_t *m = fc_manifest_new();
    fc_msg_set_str(m->product, sizeof m->product, opt->product ? opt->product : "default");
    fc_msg_set_str(m->channel, sizeof m->channel, opt->channel);
    fc_msg_set_str(m->version, sizeof m->version, opt->version);
    fc_msg_set_str(m->min_version, sizeof m->min_version, opt->min_version ? opt->min_version : "");
    m->mandatory = opt->mandatory;
    m->created = (int64_t)time(NULL);

    p.bar = fc_progress_new(stderr, "hashing", 0, opt->progress);
    char bad[FC_MAX_PATH + 256];
    int rc =
        fc_manifest_scan_tree(m, opt->dir, &opt->scan, s_scan_progress, p.bar, bad, sizeof bad);
    fc_progress_destroy(&p.bar);
    /* Directories alone are an empty tree too: nothing an agent could run. */
    bool empty = m->nfiles == 0 && m->nlinks == 0;
    if (rc)
        *err = s_fail(&p, rc, "release directory %s: %s (%s)", opt->dir,
                      bad[0] ? bad : fc_strerror(rc), fc_error_name(rc));
    else if (empty && !opt->allow_empty)
        *err = s_fail(&p, FC_EINVAL,
                      "release directory %s holds no files: every agent would install an "
                      "empty tree (--allow-empty publishes it anyway)",
                      opt->dir);
    if (rc || empty) {
        snprintf(msg, msgsize, "%s", result.message);
        if (*err)
            fc_manifest_destroy(&m);
    }
    return m;
}

int fc_push_manifest(fc_client_t *client, const fc_push_options_t *opt, fc_manifest_t *m,
                     const fc_signkey_t *key, fc_push_result_t *result)
{
    memset(result, 0, sizeof *result);
    s_push_t p = {client, opt, result, NULL};
    double started = fc_now();
    int rc = FC_OK;
    result->files = m->nfiles;
    result->bytes_total = fc_manifest_total_size(m);

    fc_msg_t *hello = fc_msg_new(FC_MSG_HELLO);
    hello->role = FC_ROLE_PUBLISHER;
    fc_msg_set_str(hello->id, sizeof hello->id, "fleetcast");
    fc_msg_set_str(hello->channel, sizeof hello->channel, opt->channel);
    fc_msg_t *welcome = NULL;
    rc = s_call(&p, &hello, FC_MSG_WELCOME, &welcome);
    fc_msg_destroy(&welcome);
    /* Re-running a push (a script run twice, a retry after a lost reply) must not publish
       the same thing again under a new serial, which every agent would install again; and
       a version must name one content, or two agents "on 1.0" run different code. */
    uint64_t latest = 0;
    fc_manifest_t *published = NULL;
    fc_release_info_t info;
    fc_release_put_t put = {0};
    /* The manifest's pages and chunk lists first: reading the release already published
       needs them; those the broker lacks or holds damaged are sent (a damaged copy so
       repaired), except the chunk lists: the broker derives those from their blobs once
       the blobs are uploaded (below), which costs 80 bytes where a list costs 38 a chunk. */
    if (!rc)
        rc = fc_release_commit(client, m, key, true, false, opt->timeout_ms, NULL, &put,
                               result->message, sizeof result->message);
    if (!rc) {
        rc = fc_release_find(client, opt->channel, opt->version, NULL, opt->timeout_ms, &published,
                             &info, &latest, result->message, sizeof result->message);
        /* This version published, and a list it names held damaged (lacking above, so left
           for later): repaired now from its blob, which such a release's broker holds. */
        if (rc && rc != FC_ENOTFOUND && put.ndeferred &&
            fc_release_commit(client, m, key, false, false, opt->timeout_ms, NULL, &put,
                              result->message, sizeof result->message) == FC_OK) {
            result->message[0] = '\0';
            rc = fc_release_find(client, opt->channel, opt->version, NULL, opt->timeout_ms,
                                 &published, &info, &latest, result->message,
                                 sizeof result->message);
        }
        if (rc == FC_ENOTFOUND)
            rc = FC_OK;
    }
    result->latest_serial = latest;
    char why[FC_MAX_PATH + 64];
    if (!rc && published && !opt->force) {
        if (fc_release_same_content(m, published, why, sizeof why)) {
            result->already_published = true;
            result->serial = published->serial;
        } else
            rc = s_fail(&p, FC_EINVAL,
                        "%s %s is already published as serial %llu with other content (%s): a "
                        "version names one content; push this tree as a new version (or "
                        "--force)",
                        opt->channel, opt->version, (unsigned long long)published->serial, why);
    }
    fc_manifest_destroy(&published);
    if (!rc && !result->already_published && opt->serial && opt->serial <= latest)
        rc = s_fail(&p, FC_ESERIAL, "serial %llu is not above the channel's latest (%llu)",
                    (unsigned long long)opt->serial, (unsigned long long)latest);
    m->serial = opt->serial ? opt->serial : latest + 1;

    /* Upload each distinct content once: identical files share one blob. */
    p.bar = fc_progress_new(stderr, "uploading", result->bytes_total, opt->progress);
    const fc_file_t **distinct = calloc(m->nfiles + 1, sizeof *distinct);
    size_t ndistinct = 0;
    zhashx_t *seen = zhashx_new();
    uint64_t dup_bytes = 0;
    for (uint32_t i = 0; distinct && i < m->nfiles; i++) {
        char hex[2 * FC_HASH_LEN + 1];
        if (zhashx_insert(seen, fc_hash_hex(m->files[i].hash, hex), (void *)1) != 0)
            dup_bytes += m->files[i].size;
        else
            distinct[ndistinct++] = &m->files[i];
    }
    zhashx_destroy(&seen);
    fc_upload_result_t up = {.done = dup_bytes, .no_prefixes = put.old_broker};
    if (!rc && !distinct)
        rc = s_fail(&p, FC_ENOMEM, "out of memory");
    else if (!rc) {
        rc = fc_upload_blobs(client, opt->dir, distinct, ndistinct, opt->window, opt->timeout_ms,
                             p.bar, &up);
        if (rc)
            s_fail(&p, rc, "%s", up.message);
    }
    result->bytes_uploaded = up.bytes_uploaded;
    result->bytes_present = up.bytes_present;
    free(distinct);
    fc_progress_destroy(&p.bar);
    /* The chunk lists left above, derived from the blobs now held (a re-run of a killed push
       finds them lacking again and derives them then); sent whole to a broker that refused
       UPLOAD_PREFIXES, which predates DERIVE_OBJECT too. */
    put.old_broker |= up.no_prefixes;
    if (!rc && put.ndeferred)
        rc = fc_release_commit(client, m, key, false, false, opt->timeout_ms, NULL, &put,
                               result->message, sizeof result->message);
    result->objects = put.objects;
    result->objects_sent = put.sent;
    result->objects_derived = put.derived;
    fc_release_put_free(&put);

    /* Already published: the blobs were still checked above, so a re-run repairs a blob the
       broker lost or marked corrupt, but nothing is committed or announced. */
    if (!rc && !result->already_published) {
        /* Format 3: the pages and chunk lists are on the broker (above); the signed top
           level naming them now. */
        if (opt->plan)
            rc = s_plan(&p, m->serial);
        if (!rc)
            rc = fc_release_commit(client, m, key, false, true, opt->timeout_ms, &result->serial,
                                   NULL, result->message, sizeof result->message);
        if (!rc && opt->plan)
            s_first_wave(&p);
    }
    result->requests_retried = fc_client_retries(client);
    result->seconds = fc_now() - started;
    return rc;
}
