/* fc_push.c: pushes a release: hash and sign a directory, upload only what the broker lacks,
   commit. */
#include "fc_push.h"
#include "fc_error.h"
#include "fc_hash.h"
#include "fc_manifest.h"
#include "fc_progress.h"
#include "fc_upload.h"
#include "fc_util.h"

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
    const char *name = fc_msg_type_name((*req_p)->type);
    fc_msg_t *reply = fc_client_call(p->client, req_p, p->opt->timeout_ms);
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
    if (!*why)
        fc_manifest_same_entries(a, b, why, size);
    return !*why;
}

int fc_push_release(fc_client_t *client, const fc_push_options_t *opt, const fc_signkey_t *key,
                    fc_push_result_t *result)
{
    memset(result, 0, sizeof *result);
    s_push_t p = {client, opt, result, NULL};
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
    char bad[FC_MAX_PATH + 256];
    int rc =
        fc_manifest_scan_tree(m, opt->dir, &opt->scan, s_scan_progress, p.bar, bad, sizeof bad);
    fc_progress_destroy(&p.bar);
    if (rc) {
        fc_manifest_destroy(&m);
        return s_fail(&p, rc, "cannot release directory %s: %s (%s)", opt->dir,
                      bad[0] ? bad : fc_strerror(rc), fc_error_name(rc));
    }
    result->files = m->nfiles;
    result->bytes_total = fc_manifest_total_size(m);

    fc_msg_t *hello = fc_msg_new(FC_MSG_HELLO);
    fc_msg_set_str(hello->role, sizeof hello->role, "publisher");
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
    fc_upload_result_t up = {.done = dup_bytes};
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
