/* fc_release_ops.c: release operations on what the broker already stores: find a stored
   release, rollback, copy between channels, prune. A rollback or a copy is a new serial
   signed anew whose files are those of a stored release: nothing is uploaded, and agents
   that keep that content fetch nothing. */
#include "fc_release_ops.h"
#include "fc_error.h"
#include "fc_hash.h"
#include "fc_release_objects.h"
#include "fc_text.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

/* The message into (msg, size), and the code as the expression's value: a failure in one line. */
#define S_FAIL(msg, size, code, ...) (fc_textf((msg), (size), __VA_ARGS__), (code))

int fc_release_call(fc_client_t *client, fc_msg_t **req_p, fc_msg_type_t want, fc_msg_t **reply_p,
                    int timeout_ms, char *msg, size_t msgsize)
{
    const char *name = fc_msg_type_name((*req_p)->type);
    fc_msg_t *reply = fc_client_call_pages(client, req_p, timeout_ms);
    char why[512];
    /* The connection's own diagnosis first (refused key, wrong broker key, nothing listening). */
    if (!reply && fc_client_why(client, why, sizeof why))
        return S_FAIL(msg, msgsize, FC_ETIMEOUT, "%s", why);
    if (!reply)
        return S_FAIL(msg, msgsize, FC_ETIMEOUT, "no answer from the broker to %s within %d s",
                      name, timeout_ms / 1000);
    if (reply->type == FC_MSG_ERROR) {
        int code = reply->code > 0 && reply->code < FC_ERROR_MAX ? (int)reply->code : FC_EPROTO;
        fc_textf(msg, msgsize, "broker refused %s: %s (%s)", name, reply->text, fc_strerror(code));
        fc_msg_destroy(&reply);
        return code;
    }
    if (reply->more) { /* never a cut list without saying so */
        fc_msg_destroy(&reply);
        return S_FAIL(msg, msgsize, FC_EPROTO,
                      "the broker said more follow but sent none: the list would be cut");
    }
    if (reply->type != want) {
        fc_textf(msg, msgsize, "unexpected %s reply to %s", fc_msg_type_name(reply->type), name);
        fc_msg_destroy(&reply);
        return FC_EPROTO;
    }
    *reply_p = reply;
    return FC_OK;
}

/* The channel's releases, newest first (LIST). */
static int s_list(fc_client_t *client, const char *channel, int timeout_ms, fc_msg_t **list,
                  char *msg, size_t msgsize)
{
    fc_msg_t *req = fc_msg_new(FC_MSG_LIST);
    fc_msg_set_str(req->channel, sizeof req->channel, channel);
    return fc_release_call(client, &req, FC_MSG_LIST_REPLY, list, timeout_ms, msg, msgsize);
}

static uint64_t s_latest(const fc_msg_t *list, const char *channel, size_t *at)
{
    uint64_t latest = 0;
    for (size_t i = 0; i < list->nreleases; i++)
        if (streq(list->releases[i].channel, channel) && list->releases[i].serial > latest) {
            latest = list->releases[i].serial;
            if (at)
                *at = i;
        }
    return latest;
}

/* One stored release's manifest (RELEASE_GET), parsed against trust. */
static int s_get(fc_client_t *client, const char *channel, uint64_t serial, const fc_trust_t *trust,
                 int timeout_ms, fc_manifest_t **m, char *msg, size_t msgsize)
{
    fc_msg_t *req = fc_msg_new(FC_MSG_RELEASE_GET);
    fc_msg_set_str(req->channel, sizeof req->channel, channel);
    req->serial = serial;
    fc_msg_t *snap = NULL;
    int rc = fc_release_call(client, &req, FC_MSG_SNAPSHOT, &snap, timeout_ms, msg, msgsize);
    if (rc)
        return rc;
    int err = FC_EPROTO;
    char why[512] = "empty manifest";
    *m = snap->bytes_len ? fc_release_read(client, snap->bytes, snap->bytes_len, trust, timeout_ms,
                                           &err, why, sizeof why)
                         : NULL;
    fc_msg_destroy(&snap);
    if (!*m)
        return S_FAIL(msg, msgsize, err ? err : FC_EPROTO,
                      "release %s serial %llu from the broker does not verify: %s%s", channel,
                      (unsigned long long)serial, why,
                      err == FC_EUNTRUSTED ? " (give its signer's key with --trust FILE)" : "");
    if (!streq((*m)->channel, channel) || (*m)->serial != serial) {
        fc_manifest_destroy(m);
        return S_FAIL(msg, msgsize, FC_EPROTO,
                      "the broker answered serial %llu of %s with another release",
                      (unsigned long long)serial, channel);
    }
    return FC_OK;
}

int fc_release_find(fc_client_t *client, const char *channel, const char *version,
                    const fc_trust_t *trust, int timeout_ms, fc_manifest_t **m,
                    fc_release_info_t *info, uint64_t *latest, char *msg, size_t msgsize)
{
    *m = NULL;
    if (latest)
        *latest = 0;
    fc_msg_t *list = NULL;
    int rc = s_list(client, channel, timeout_ms, &list, msg, msgsize);
    if (rc)
        return rc;
    size_t at = 0;
    uint64_t newest = s_latest(list, channel, &at);
    if (latest)
        *latest = newest;
    bool found = newest > 0 && !version;
    for (size_t i = 0; version && !found && i < list->nreleases; i++)
        if (streq(list->releases[i].channel, channel) &&
            streq(list->releases[i].version, version)) {
            at = i; /* newest first: the first one is the newest of that version */
            found = true;
        }
    if (found && info)
        *info = list->releases[at];
    uint64_t serial = found ? list->releases[at].serial : 0;
    fc_msg_destroy(&list);
    if (!found)
        return S_FAIL(msg, msgsize, FC_ENOTFOUND, "channel %s has no release%s%s", channel,
                      version ? " of version " : "", version ? version : "");
    return s_get(client, channel, serial, trust, timeout_ms, m, msg, msgsize);
}

/* Signs m's content anew as channel's serial and commits it; the blobs are on the broker. */
static int s_publish(fc_client_t *client, fc_manifest_t *m, const char *channel, uint64_t serial,
                     const fc_signkey_t *key, int timeout_ms, fc_release_ops_result_t *result)
{
    fc_msg_set_str(m->channel, sizeof m->channel, channel);
    m->serial = serial;
    m->created = (int64_t)time(NULL);
    return fc_release_commit(client, m, key, true, true, timeout_ms, &result->serial,
                             result->message, sizeof result->message);
}

int fc_release_rollback(fc_client_t *client, const fc_release_ops_options_t *opt,
                        const fc_signkey_t *key, fc_release_ops_result_t *result)
{
    memset(result, 0, sizeof *result);
    char *msg = result->message;
    size_t msgsize = sizeof result->message;
    if (!fc_name_valid(opt->channel))
        return S_FAIL(msg, msgsize, FC_EINVAL, "invalid channel name '%s'", opt->channel);
    fc_msg_t *list = NULL;
    int rc = s_list(client, opt->channel, opt->timeout_ms, &list, msg, msgsize);
    if (rc)
        return rc;
    size_t cur = 0;
    uint64_t latest = s_latest(list, opt->channel, &cur);
    size_t at = list->nreleases;
    for (size_t i = 0; latest && i < list->nreleases && at == list->nreleases; i++) {
        const fc_release_info_t *r = &list->releases[i];
        if (!streq(r->channel, opt->channel))
            continue;
        /* By default the newest release of another version than the current one: rolling
           back twice does not toggle between a release and its own rollback. */
        if (opt->version ? streq(r->version, opt->version)
                         : !streq(r->version, list->releases[cur].version))
            at = i;
    }
    if (!latest)
        rc = S_FAIL(msg, msgsize, FC_ENOTFOUND, "channel %s has no release", opt->channel);
    else if (at == list->nreleases && opt->version)
        rc = S_FAIL(msg, msgsize, FC_ENOTFOUND,
                    "channel %s has no release of version %s (release list shows what it keeps)",
                    opt->channel, opt->version);
    else if (at == list->nreleases)
        rc = S_FAIL(msg, msgsize, FC_ENOTFOUND,
                    "channel %s has no release before %s %s to roll back to", opt->channel,
                    opt->channel, list->releases[cur].version);
    uint64_t from = rc ? 0 : list->releases[at].serial;
    if (!rc)
        fc_msg_set_str(result->version, sizeof result->version, list->releases[at].version);
    bool current = !rc && at == cur;
    fc_msg_destroy(&list);
    if (rc)
        return rc;
    result->from_serial = from;
    if (current) {
        result->serial = latest;
        result->already_current = true;
        return FC_OK;
    }
    fc_manifest_t *m = NULL;
    rc = s_get(client, opt->channel, from, opt->trust, opt->timeout_ms, &m, msg, msgsize);
    if (!rc)
        rc = s_publish(client, m, opt->channel, latest + 1, key, opt->timeout_ms, result);
    fc_manifest_destroy(&m);
    return rc;
}

/* What makes two releases of one version differ, written into why ("" if nothing): the
   content an agent installs and the flags that decide when it installs it. The serial,
   channel, creation time and signer are not content. */
bool fc_release_same_content(const fc_manifest_t *a, const fc_manifest_t *b, char *why, size_t size)
{
    *why = '\0';
    if (!streq(a->product, b->product))
        snprintf(why, size, "product %s, published %s", a->product, b->product);
    else if (a->mandatory != b->mandatory)
        snprintf(why, size, "%s, published %s", a->mandatory ? "mandatory" : "optional",
                 b->mandatory ? "mandatory" : "optional");
    else if (!streq(a->min_version, b->min_version))
        snprintf(why, size, "minimum version '%s', published '%s'", a->min_version, b->min_version);
    if (!*why) /* entries: files, directories, links, with modes and times */
        fc_manifest_same_entries(a, b, why, size);
    return !*why;
}

int fc_release_copy(fc_client_t *client, const fc_release_ops_options_t *opt,
                    const fc_signkey_t *key, fc_release_ops_result_t *result)
{
    memset(result, 0, sizeof *result);
    char *msg = result->message;
    size_t msgsize = sizeof result->message;
    if (!fc_name_valid(opt->from) || !fc_name_valid(opt->channel))
        return S_FAIL(msg, msgsize, FC_EINVAL, "invalid channel name '%s'",
                      fc_name_valid(opt->from) ? opt->channel : opt->from);
    if (streq(opt->from, opt->channel))
        return S_FAIL(msg, msgsize, FC_EINVAL, "--from and --to name the same channel %s",
                      opt->from);
    fc_manifest_t *m = NULL, *there = NULL;
    fc_release_info_t info;
    int rc = fc_release_find(client, opt->from, opt->version, opt->trust, opt->timeout_ms, &m,
                             &info, NULL, msg, msgsize);
    if (rc)
        return rc;
    result->from_serial = info.serial;
    fc_msg_set_str(result->version, sizeof result->version, m->version);
    /* The same guard as a push: a version names one content on a channel. */
    uint64_t latest = 0;
    char why[FC_MAX_PATH + 64];
    rc = fc_release_find(client, opt->channel, m->version, NULL, opt->timeout_ms, &there, &info,
                         &latest, msg, msgsize);
    if (rc == FC_ENOTFOUND)
        rc = FC_OK;
    else if (!rc && fc_release_same_content(m, there, why, sizeof why) && info.serial == latest) {
        result->serial = latest;
        result->already_current = true;
    } else if (!rc && *why && !opt->force)
        rc = S_FAIL(msg, msgsize, FC_EINVAL,
                    "%s %s is already published as serial %llu with other content (%s): a "
                    "version names one content (--force publishes it anyway)",
                    opt->channel, m->version, (unsigned long long)info.serial, why);
    if (!rc && !result->already_current)
        rc = s_publish(client, m, opt->channel, latest + 1, key, opt->timeout_ms, result);
    fc_manifest_destroy(&m);
    fc_manifest_destroy(&there);
    return rc;
}

int fc_release_prune(fc_client_t *client, const fc_release_ops_options_t *opt,
                     fc_release_ops_result_t *result)
{
    memset(result, 0, sizeof *result);
    if (!fc_name_valid(opt->channel))
        return S_FAIL(result->message, sizeof result->message, FC_EINVAL,
                      "invalid channel name '%s'", opt->channel);
    fc_msg_t *req = fc_msg_new(FC_MSG_RELEASE_PRUNE);
    fc_msg_set_str(req->channel, sizeof req->channel, opt->channel);
    req->serial = opt->keep;
    fc_msg_t *ok = NULL;
    int rc = fc_release_call(client, &req, FC_MSG_OK, &ok, opt->timeout_ms, result->message,
                             sizeof result->message);
    if (!rc)
        result->removed = ok->serial;
    fc_msg_destroy(&ok);
    return rc;
}
