/* fc_trust_service.c: answers TRUST_PUSH (store a newer trusted-key list, announce it) and
   GET_TRUST (the latest list, if newer than the asker's). */
#include "fc_trust_service.h"
#include "fc_error.h"

#include <stdlib.h>

static fc_msg_t *s_error(int code, const char *text)
{
    fc_msg_t *reply = fc_msg_new(FC_MSG_ERROR);
    reply->code = (uint32_t)code;
    fc_msg_set_str(reply->text, sizeof reply->text, text && *text ? text : fc_strerror(code));
    return reply;
}

static fc_msg_t *s_push(fc_store_t *store, const fc_msg_t *m, uint64_t epoch, bool quiet,
                        fc_msg_t **ann)
{
    uint64_t serial = 0, seq = 0;
    char text[FC_MAX_TEXT + 1] = "";
    int err = fc_store_trust_push(store, m->bytes, m->bytes_len, &serial, &seq, text, sizeof text);
    if (err)
        return s_error(err, text);
    if (!quiet)
        zsys_info("fleetcast-broker: trust list serial %llu stored, seq %llu",
                  (unsigned long long)serial, (unsigned long long)seq);
    /* Agents fetch it with GET_TRUST; one that misses this sees the gap and re-syncs. */
    *ann = fc_msg_new(FC_MSG_TRUST_ANNOUNCE);
    (*ann)->epoch = epoch;
    (*ann)->seq = seq;
    (*ann)->serial = serial;
    fc_msg_t *reply = fc_msg_new(FC_MSG_OK);
    reply->serial = serial;
    return reply;
}

static fc_msg_t *s_get(fc_store_t *store, const fc_msg_t *m)
{
    fc_msg_t *reply = fc_msg_new(FC_MSG_TRUST);
    int err = fc_store_trust_latest(store, &reply->serial, &reply->bytes, &reply->bytes_len);
    if (err && err != FC_ENOTFOUND) {
        fc_msg_destroy(&reply);
        return s_error(err, NULL);
    }
    if (reply->serial <= m->serial) /* nothing newer than what the asker holds */
        fc_msg_set_bytes(reply, NULL, 0);
    return reply;
}

fc_msg_t *fc_trust_service_handle(fc_store_t *store, const fc_msg_t *m, uint64_t epoch, bool quiet,
                                  fc_msg_t **ann)
{
    *ann = NULL;
    if (m->type == FC_MSG_TRUST_PUSH)
        return s_push(store, m, epoch, quiet, ann);
    if (m->type == FC_MSG_GET_TRUST)
        return s_get(store, m);
    return s_error(FC_EINVAL, "not a trust request");
}
