/* fc_hostile.c: fleetcast-hostile, a hostile peer for the test suites: malformed and
   oversized frames, out-of-range chunk requests, forged release commits, requests as another
   agent and a flood of garbage at a broker, each checked for a clear error or a dropped
   frame while the broker keeps serving; or a fake broker answering agents with garbage. */
#include <assert.h>
#include <czmq.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fc_error.h"
#include "fc_file.h"
#include "fc_hash.h"
#include "fc_hostile.h"
#include "fc_manifest.h"
#include "fc_manifest_load.h"
#include "fc_msg.h"
#include "fc_optval.h"
#include "fc_sockopt.h"

#define S_HELLO_REQ 4242

static int s_usage(FILE *out, int status)
{
    fprintf(
        out,
        "usage: fleetcast-hostile [SECURITY] MODE ...\n"
        "  SECURITY (first; none for a broker started with --insecure):\n"
        "       --broker-key KEY --cert FILE   a client: the broker's public cert or Z85 key\n"
        "                                      and this peer's secret cert (enrolled); more\n"
        "                                      --cert FILE (up to 8): each new connection\n"
        "                                      takes the next key in turn\n"
        "       --server-cert FILE             the fake broker (mode broker): its secret cert\n"
        "       --insecure                     nothing (accepted for symmetry)\n"
        "  MODE:\n"
        "       fleetcast-hostile client ENDPOINT\n"
        "           malformed msgpack, wrong types, huge counts, truncated frames, unknown\n"
        "           types, wrong frame counts, oversized frames: each must get an ERROR or\n"
        "           be dropped, and the broker answer a proper HELLO after it\n"
        "       fleetcast-hostile chunks ENDPOINT CHANNEL\n"
        "           GET_CHUNK outside the first non-empty file of CHANNEL's latest release\n"
        "           (past the end, length overflow, offset+length wrap, unknown blob)\n"
        "       fleetcast-hostile commit ENDPOINT FILE\n"
        "           sends FILE as a signed manifest in RELEASE_COMMIT; prints 'ok serial N'\n"
        "           or 'error CODE (what): text'; exit 0 on an answer, 1 on none\n"
        "       fleetcast-hostile relay-keys ENDPOINT\n"
        "           RELAY_KEYS (the first page of the enrolled agent keys, which only a\n"
        "           relay key may read); prints 'ok keys N serial HEX more 0|1' and the\n"
        "           keys one a line, or 'error CODE (what): text'; exit 0 on an answer\n"
        "       fleetcast-hostile flood ENDPOINT COUNT\n"
        "           COUNT malformed messages on one connection: the broker must stop\n"
        "           answering that peer, on a new connection too (the same key), and keep\n"
        "           answering another key (--insecure: any new connection)\n"
        "       fleetcast-hostile hog ENDPOINT CHANNEL SECONDS\n"
        "           asks for a 64 MiB window of chunks of CHANNEL's latest release with a\n"
        "           1-message receive HWM, a 4 KiB receive buffer and no heartbeats, and\n"
        "           reads none of them for SECONDS\n"
        "       fleetcast-hostile nilflood ENDPOINT COUNT MIB\n"
        "           COUNT frames of MIB MiB of msgpack nils (header readable) on one\n"
        "           connection, as fast as the broker takes them; prints what it sent\n"
        "       fleetcast-hostile config ENDPOINT\n"
        "           config requests with hostile content (bad revisions, odd ids, types)\n"
        "       fleetcast-hostile as-agent ENDPOINT ID TYPE [ARG]\n"
        "           one agent request naming agent ID, with this peer's key: TYPE hello\n"
        "           [CHANNEL], report [STATE] (default failed), report-blob HEX (failed,\n"
        "           naming blob HEX corrupt), sync, ack REV (failed),\n"
        "           slot REV; prints 'ok', 'ok granted', the reply type or 'error CODE\n"
        "           (what): text'; exit 0 on an answer, 1 on none\n"
        "       fleetcast-hostile broker SERVICE ANNOUNCE SECONDS\n"
        "           a fake broker that answers everything with garbage for SECONDS\n"
        "  COUNT is 1..1000000, SECONDS 1..86400, MIB 1..1024, REV any whole number: decimal\n"
        "  digits only, else refused (exit 2) naming the operand and the value.\n"
        "Exit status: 0 every case behaved, 1 a case did not (the output says which), 2 usage.\n");
    return status;
}

zsock_t *fc_hostile_connect(const fc_hostile_target_t *target)
{
    return fc_hostile_connect_tuned(target, FC_SOCK_RCVHWM, 0, true);
}

zsock_t *fc_hostile_connect_tuned(const fc_hostile_target_t *target, int rcvhwm, int rcvbuf,
                                  bool heartbeats)
{
    zsock_t *dealer = zsock_new(ZMQ_DEALER);
    if (!dealer)
        return NULL;
    fc_sock_tune(zsock_resolve(dealer));
    zsock_set_rcvhwm(dealer, rcvhwm);
    if (rcvbuf > 0)
        zsock_set_rcvbuf(dealer, rcvbuf);
    if (!heartbeats)
        zsock_set_heartbeat_ivl(dealer, 0);
    const fc_curve_t *curve = target->curve;
    if (target->nmore && target->turn) {
        size_t k = (*target->turn)++ % (target->nmore + 1);
        if (k > 0)
            curve = target->more[k - 1];
    }
    fc_curve_apply(curve, dealer);
    if (zsock_connect(dealer, "%s", target->endpoint) != 0) {
        zsock_destroy(&dealer);
        return NULL;
    }
    return dealer;
}

static zmsg_t *s_raw(const void *buf, size_t len)
{
    zmsg_t *msg = zmsg_new();
    zmsg_addmem(msg, buf, len);
    return msg;
}

static zmsg_t *s_encode(fc_msg_t **m_p)
{
    (*m_p)->req = FC_HOSTILE_REQ;
    zmsg_t *msg = fc_msg_encode(*m_p);
    fc_msg_destroy(m_p);
    assert(msg);
    return msg;
}

zmsg_t *fc_hostile_hello(uint64_t req)
{
    fc_msg_t *hello = fc_msg_new(FC_MSG_HELLO);
    hello->req = req;
    hello->role = FC_ROLE_PUBLISHER;
    fc_msg_set_str(hello->id, sizeof hello->id, "hostile");
    zmsg_t *msg = fc_msg_encode(hello);
    fc_msg_destroy(&hello);
    return msg;
}

/* Sends HELLO on dealer and waits up to ms for WELCOME. Until then, the first other reply is
   described in got (if not NULL). Returns true if WELCOME came. */
static bool s_await_welcome(zsock_t *dealer, int ms, char *got, size_t gotsize, int *type,
                            int *code)
{
    zmsg_t *hello = fc_hostile_hello(S_HELLO_REQ);
    zmsg_send(&hello, dealer);
    zpoller_t *poller = zpoller_new(dealer, NULL);
    int64_t deadline = zclock_mono() + ms;
    bool welcome = false;
    while (!welcome && zclock_mono() < deadline) {
        if (!zpoller_wait(poller, 100))
            continue;
        int err = 0;
        fc_msg_t *reply = fc_msg_recv(zsock_resolve(dealer), NULL, &err);
        if (reply && reply->type == FC_MSG_WELCOME && reply->req == S_HELLO_REQ)
            welcome = true;
        else if (got && *type == 0) {
            *type = reply ? (int)reply->type : -1;
            *code = reply ? (int)reply->code : err;
            if (!reply)
                snprintf(got, gotsize, "an undecodable reply (%s)", fc_strerror(err));
            else if (reply->type == FC_MSG_ERROR)
                snprintf(got, gotsize, "error %u (%s): %s", reply->code,
                         fc_strerror((int)reply->code), reply->text);
            else
                snprintf(got, gotsize, "a %s reply", fc_msg_type_name(reply->type));
        }
        fc_msg_destroy(&reply);
    }
    zpoller_destroy(&poller);
    return welcome;
}

int fc_hostile_probe(const fc_hostile_target_t *target, const char *name, zmsg_t **msg_p,
                     fc_hostile_expect_t expect, int want, bool fresh_check)
{
    zsock_t *dealer = fc_hostile_connect(target);
    if (!dealer) {
        zmsg_destroy(msg_p);
        printf("%s: FAIL cannot connect\n", name);
        return 1;
    }
    zmsg_send(msg_p, dealer);
    char got[FC_MAX_TEXT + 64] = "dropped";
    int type = 0, code = 0;
    bool serving;
    if (fresh_check) {
        /* libzmq closes the connection on such a frame: whatever follows on it is lost. */
        zclock_sleep(200);
        zsock_destroy(&dealer);
        dealer = fc_hostile_connect(target);
        serving = dealer && s_await_welcome(dealer, 3000, NULL, 0, NULL, NULL);
    } else
        serving = s_await_welcome(dealer, 3000, got, sizeof got, &type, &code);
    zsock_destroy(&dealer);

    bool ok;
    switch (expect) {
    case FC_HOSTILE_ERROR_OR_DROP:
        ok = type == 0 || type == FC_MSG_ERROR;
        break;
    case FC_HOSTILE_ERROR:
        ok = type == FC_MSG_ERROR && code == want;
        break;
    case FC_HOSTILE_REPLY:
        ok = type == want;
        break;
    default:
        ok = type == 0;
    }
    printf("%s: %s; broker %s%s\n", name, got, serving ? "still serving" : "NOT ANSWERING",
           ok ? "" : " -- FAIL: not the expected outcome");
    return ok && serving ? 0 : 1;
}

/* --- client: malformed frames ------------------------------------------------------------ */

typedef struct {
    const char *name;
    const char *bytes;
    size_t len;
} s_case_t;

/* Hand-made frames no encoder would produce; request id 0x4d where the header is readable. */
static const s_case_t s_cases[] = {
    /* malformed msgpack */
    {"empty frame", "", 0},
    {"reserved byte 0xc1", "\xc1\xc1\xc1", 3},
    {"truncated array", "\x93\x02", 2},
    {"nil header", "\x93\xc0\xc0\xc0", 4},
    {"map instead of array", "\x83\x01\x01\x02\x05\x03\x4d", 7},
    {"ext field", "\x94\x02\x0d\x4d\xd4\x01\x00", 7},
    {"trailing bytes", "\x94\x02\x0d\x4d\xa0\xc0", 6},
    {"two documents", "\x94\x02\x0d\x4d\xa0\x94\x02\x0d\x4d\xa0", 10},
    {"float version", "\x93\xca\x3f\x80\x00\x00\x01\x4d", 8},
    {"negative request id", "\x94\x02\x0d\xff\xa0", 5},
    /* wrong types */
    {"wrong version", "\x93\x09\x01\x4d", 4},
    {"HELLO int for role", "\x96\x02\x01\x4d\x05\xa1\x61\xa1\x61", 9},
    {"HELLO NUL in id", "\x96\x02\x01\x4d\xa5\x61\x67\x65\x6e\x74\xa2\x61\x00\xa1\x61", 15},
    {"LIST bin for channel", "\x94\x02\x0d\x4d\xc4\x01\x61", 7},
    {"GET_CHUNK str for blob", "\x96\x02\x05\x4d\xa2\x61\x62\x00\x10", 9},
    {"GET_CHUNK 31-byte hash",
     "\x96\x02\x05\x4d\xc4\x1f"
     "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\x00\x10",
     39},
    {"GET_CHUNK negative offset",
     "\x96\x02\x05\x4d\xc4\x20"
     "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\xff\x10",
     40},
    {"GET_CHUNK float length",
     "\x96\x02\x05\x4d\xc4\x20"
     "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\x00\xca\x3f\x80\x00\x00",
     44},
    {"GET_CHUNK missing field",
     "\x95\x02\x05\x4d\xc4\x20"
     "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\x00",
     39},
    {"REPORT map for agents", "\x95\x02\x0f\x4d\x80\xc4\x00", 7},
    {"REPORT two agents",
     "\x95\x02\x0f\x4d\x92"
     "\x98\xa1\x61\xa0\xa0\xa6\x66\x61\x69\x6c\x65\x64\xa0\x00\x00\x00"
     "\x98\xa1\x62\xa0\xa0\xa6\x66\x61\x69\x6c\x65\x64\xa0\x00\x00\x00"
     "\xc4\x00",
     39},
    {"REPORT state not in the table",
     "\x95\x02\x0f\x4d\x91"
     "\x98\xa1\x61\xa0\xa0\xab\x62\x6f\x67\x75\x73\x2d\x73\x74\x61\x74\x65\xa0\x00\x00\x00"
     "\xc4\x00",
     28},
    {"REPORT blob of 31 bytes",
     "\x95\x02\x0f\x4d\x91"
     "\x98\xa1\x61\xa0\xa0\xa6\x66\x61\x69\x6c\x65\x64\xa0\x00\x00\x00"
     "\xc4\x1f"
     "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
     54},
    {"LIST 65-byte channel",
     "\x94\x02\x0d\x4d\xd9\x41"
     "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
     71},
    /* huge counts and lengths that lie */
    {"array32 count 2^31", "\xdd\x7f\xff\xff\xff", 5},
    {"str32 length 2^32-1", "\x94\x02\x0d\x4d\xdb\xff\xff\xff\xff", 9},
    {"bin32 length lie", "\x94\x02\x0c\x4d\xc6\x7f\xff\xff\xff\x61\x62", 11},
    {"REPORT agents count 65535", "\x95\x02\x0f\x4d\xdc\xff\xff", 7},
    {"UPLOAD_STATE ranges count 2^32-1",
     "\x96\x02\x08\x4d\xc4\x20"
     "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\xc2\xdd\xff\xff\xff\xff",
     44},
    {"nesting 200 deep",
     "\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91"
     "\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91"
     "\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91"
     "\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91"
     "\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91"
     "\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91"
     "\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91"
     "\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91"
     "\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91"
     "\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x90",
     200},
    /* unknown message types */
    {"type 0", "\x93\x02\x00\x4d", 4},
    {"type 32", "\x93\x02\x20\x4d", 4},
    {"type 999", "\x93\x02\xcd\x03\xe7\x4d", 6},
    {"type 2^64-1", "\x93\x02\xcf\xff\xff\xff\xff\xff\xff\xff\xff\x4d", 12},
};

/* A valid message cut short at every length: each prefix is malformed. */
static int s_truncations(const fc_hostile_target_t *target, fc_msg_t *m, const char *what)
{
    zmsg_t *whole = s_encode(&m);
    zframe_t *f = zmsg_first(whole);
    int failures = 0;
    for (size_t cut = 0; cut < zframe_size(f); cut++) {
        char name[96];
        snprintf(name, sizeof name, "%s cut to %zu of %zu bytes", what, cut, zframe_size(f));
        zmsg_t *msg = s_raw(zframe_data(f), cut);
        failures += fc_hostile_probe(target, name, &msg, FC_HOSTILE_ERROR_OR_DROP, 0, false);
    }
    zmsg_destroy(&whole);
    return failures;
}

static zmsg_t *s_upload_msg(fc_msg_type_t type, const uint8_t blob[FC_HASH_LEN], uint64_t size,
                            uint64_t offset, const void *data, size_t len)
{
    fc_msg_t *m = fc_msg_new(type);
    memcpy(m->blob, blob, FC_HASH_LEN);
    m->size = size;
    m->offset = offset;
    if (type == FC_MSG_PUT_CHUNK) {
        m->data = zframe_new(data, len);
        fc_hash_buf(m->hash, data, len);
    }
    return s_encode(&m);
}

/* Well-formed upload requests that break the upload rules (section 3.4 of PROTOCOL.md). */
static int s_upload(const fc_hostile_target_t *target)
{
    uint8_t blob[FC_HASH_LEN];
    fc_hash_buf(blob, "hostile upload", 14);
    const uint64_t size = FC_CHUNK_SIZE + 1000;
    int failures = 0;
    zmsg_t *msg = s_upload_msg(FC_MSG_UPLOAD_QUERY, blob, UINT64_MAX, 0, NULL, 0);
    failures += fc_hostile_probe(target, "UPLOAD_QUERY size 2^64-1", &msg, FC_HOSTILE_ERROR,
                                 FC_ETOOBIG, false);
    msg = s_upload_msg(FC_MSG_PUT_CHUNK, blob, 0, 0, "x", 1);
    failures += fc_hostile_probe(target, "PUT_CHUNK before UPLOAD_QUERY", &msg, FC_HOSTILE_ERROR,
                                 FC_EINVAL, false);
    msg = s_upload_msg(FC_MSG_UPLOAD_QUERY, blob, size, 0, NULL, 0);
    failures += fc_hostile_probe(target, "UPLOAD_QUERY", &msg, FC_HOSTILE_REPLY,
                                 FC_MSG_UPLOAD_STATE, false);
    msg = s_upload_msg(FC_MSG_PUT_CHUNK, blob, 0, 1, "", 0);
    failures +=
        fc_hostile_probe(target, "PUT_CHUNK of no data", &msg, FC_HOSTILE_ERROR, FC_EINVAL, false);
    msg = s_upload_msg(FC_MSG_PUT_CHUNK, blob, 0, 2 * FC_CHUNK_SIZE, "x", 1);
    failures += fc_hostile_probe(target, "PUT_CHUNK past the declared size", &msg, FC_HOSTILE_ERROR,
                                 FC_EINVAL, false);
    msg = s_upload_msg(FC_MSG_PUT_CHUNK, blob, 0, size - 4, "too long", 8);
    failures += fc_hostile_probe(target, "PUT_CHUNK running past the declared size", &msg,
                                 FC_HOSTILE_ERROR, FC_EINVAL, false);
    /* The right length and a hash that matches the data, but not the blob's content. */
    uint8_t *junk = calloc(1, 1000);
    assert(junk);
    msg = s_upload_msg(FC_MSG_PUT_CHUNK, blob, 0, FC_CHUNK_SIZE, junk, 1000);
    free(junk);
    failures +=
        fc_hostile_probe(target, "PUT_CHUNK", &msg, FC_HOSTILE_REPLY, FC_MSG_PUT_ACK, false);
    msg = s_upload_msg(FC_MSG_BLOB_COMMIT, blob, size, 0, NULL, 0);
    failures += fc_hostile_probe(target, "BLOB_COMMIT with chunks missing", &msg, FC_HOSTILE_ERROR,
                                 FC_EMISSING, false);
    /* Every chunk held, but their hashes do not add up to the blob's name. */
    junk = calloc(1, FC_CHUNK_SIZE);
    assert(junk);
    msg = s_upload_msg(FC_MSG_PUT_CHUNK, blob, 0, 0, junk, FC_CHUNK_SIZE);
    free(junk);
    failures +=
        fc_hostile_probe(target, "PUT_CHUNK", &msg, FC_HOSTILE_REPLY, FC_MSG_PUT_ACK, false);
    msg = s_upload_msg(FC_MSG_BLOB_COMMIT, blob, size, 0, NULL, 0);
    failures += fc_hostile_probe(target, "BLOB_COMMIT of content that is not the blob", &msg,
                                 FC_HOSTILE_ERROR, FC_EHASH, false);
    return failures;
}

/* A PUT_BLOBS of (hash, content) pairs, encoded (the encoder checks no content rule). */
static zmsg_t *s_put_blobs(const uint8_t (*blobs)[FC_HASH_LEN], const void *const *data,
                           const size_t *lens, size_t n)
{
    fc_msg_t *m = fc_msg_new(FC_MSG_PUT_BLOBS);
    m->req = FC_HOSTILE_REQ;
    for (size_t i = 0; i < n; i++)
        fc_msg_put_blob_add(m, blobs[i], data[i], lens[i]);
    return s_encode(&m);
}

/* Whether the broker says it holds each of blobs (BLOBS_QUERY): held[i] 1 or 0. 0 on an
   answer, else 1 (printed). */
static int s_blobs_held(const fc_hostile_target_t *target, const uint8_t (*blobs)[FC_HASH_LEN],
                        size_t n, uint8_t *held)
{
    fc_msg_t *q = fc_msg_new(FC_MSG_BLOBS_QUERY);
    q->req = FC_HOSTILE_REQ;
    fc_msg_set_bytes(q, blobs, n * FC_HASH_LEN);
    char why[FC_MAX_TEXT + 64];
    fc_msg_t *reply = fc_hostile_ask(target, &q, 5000, why, sizeof why);
    int rc = reply && reply->type == FC_MSG_BLOBS_STATE && reply->bytes_len == n ? 0 : 1;
    if (rc)
        printf("BLOBS_QUERY: FAIL %s\n", reply ? fc_msg_type_name(reply->type) : why);
    else
        memcpy(held, reply->bytes, n);
    fc_msg_destroy(&reply);
    return rc;
}

/* Small files batched (section 3.13 of PROTOCOL.md): malformed and oversize requests, and
   content that is not its blob, each answered ERROR, and nothing of a bad blob stored. */
static int s_small_blobs(const fc_hostile_target_t *target)
{
    uint8_t blobs[2][FC_HASH_LEN];
    const char *good = "a small file, whole";
    uint8_t chunk[1][FC_HASH_LEN];
    fc_hash_buf(chunk[0], good, strlen(good));
    fc_hash_of_chunks(blobs[0], (const uint8_t(*)[FC_HASH_LEN])chunk, 1);
    fc_hash_buf(blobs[1], "hostile small blob", 18); /* no content hashes to it */
    const void *data[2] = {good, "not the content"};
    size_t lens[2] = {strlen(good), 15};
    int failures = 0;
    zmsg_t *msg = s_put_blobs(&blobs[1], &data[1], &lens[1], 1);
    failures += fc_hostile_probe(target, "PUT_BLOBS of content that is not the blob", &msg,
                                 FC_HOSTILE_ERROR, FC_EHASH, false);
    /* A good blob, then a bad one: the first stored, the second refused and not stored. */
    msg = s_put_blobs(blobs, data, lens, 2);
    failures += fc_hostile_probe(target, "PUT_BLOBS of a good blob and a mismatched one", &msg,
                                 FC_HOSTILE_ERROR, FC_EHASH, false);
    uint8_t held[2] = {9, 9};
    if (s_blobs_held(target, blobs, 2, held) == 0) {
        bool ok = held[0] == 1 && held[1] == 0;
        printf("PUT_BLOBS mismatch: the good blob held %u, the mismatched one held %u%s\n", held[0],
               held[1], ok ? "" : " -- FAIL: a mismatched blob stored, or a good one lost");
        failures += !ok;
    } else
        failures++;
    /* Oversize content, a short item, an empty list, a partial hash: malformed. */
    uint8_t *big = calloc(1, FC_MAX_SMALL_BLOB + 1);
    assert(big);
    const void *bigdata[1] = {big};
    size_t biglen[1] = {FC_MAX_SMALL_BLOB + 1};
    msg = s_put_blobs(&blobs[1], bigdata, biglen, 1);
    free(big);
    failures += fc_hostile_probe(target, "PUT_BLOBS item over FC_MAX_SMALL_BLOB", &msg,
                                 FC_HOSTILE_ERROR, FC_EPROTO, false);
    msg = s_put_blobs(NULL, NULL, NULL, 0);
    failures +=
        fc_hostile_probe(target, "PUT_BLOBS of no item", &msg, FC_HOSTILE_ERROR, FC_EPROTO, false);
    fc_msg_t *m = fc_msg_new(FC_MSG_PUT_BLOBS);
    m->req = FC_HOSTILE_REQ;
    m->items = (fc_item_t *)calloc(1, sizeof *m->items);
    assert(m->items);
    m->items[0].data = (uint8_t *)calloc(1, FC_HASH_LEN - 1);
    m->items[0].len = FC_HASH_LEN - 1;
    m->nitems = 1;
    msg = s_encode(&m);
    failures += fc_hostile_probe(target, "PUT_BLOBS item shorter than a hash", &msg,
                                 FC_HOSTILE_ERROR, FC_EPROTO, false);
    m = fc_msg_new(FC_MSG_BLOBS_QUERY);
    m->req = FC_HOSTILE_REQ;
    fc_msg_set_bytes(m, blobs, FC_HASH_LEN + 1);
    msg = s_encode(&m);
    failures += fc_hostile_probe(target, "BLOBS_QUERY of a partial hash", &msg, FC_HOSTILE_ERROR,
                                 FC_EPROTO, false);
    if (s_blobs_held(target, &blobs[1], 1, held) == 0) {
        printf("after them: the mismatched blob held %u%s\n", held[0],
               held[0] ? " -- FAIL: stored" : ", nothing stored");
        failures += held[0] != 0;
    } else
        failures++;
    return failures;
}

/* An UPLOAD_CHUNKS of blob (size is the sum of lens unless size_delta) naming n chunks. */
static zmsg_t *s_upload_chunks(const uint8_t blob[FC_HASH_LEN], const uint32_t *lens, size_t n,
                               int64_t size_delta)
{
    fc_msg_t *m = fc_msg_new(FC_MSG_UPLOAD_CHUNKS);
    memcpy(m->blob, blob, FC_HASH_LEN);
    for (size_t i = 0; i < n; i++) {
        fc_msg_chunk_ref_add(m, lens[i], blob);
        m->size += lens[i];
    }
    m->size = (uint64_t)((int64_t)m->size + size_delta);
    return s_encode(&m);
}

/* Chunk-granular upload (PROTOCOL.md section 3.14): chunk lists that are not a blob's, each
   answered ERROR; then a well-formed one still answered UPLOAD_STATE. */
static int s_chunk_lists(const fc_hostile_target_t *target)
{
    uint8_t blob[FC_HASH_LEN];
    fc_hash_buf(blob, "hostile chunk list", 18);
    uint32_t lens[2] = {1000, 2000}, zero[2] = {0, 3000}, huge[1] = {FC_MAX_CHUNK + 1};
    int failures = 0;
    zmsg_t *msg = s_upload_chunks(blob, lens, 2, 1);
    failures += fc_hostile_probe(target, "UPLOAD_CHUNKS whose lengths miss its size", &msg,
                                 FC_HOSTILE_ERROR, FC_EPROTO, false);
    msg = s_upload_chunks(blob, zero, 2, 0);
    failures += fc_hostile_probe(target, "UPLOAD_CHUNKS with an empty chunk", &msg,
                                 FC_HOSTILE_ERROR, FC_EPROTO, false);
    msg = s_upload_chunks(blob, huge, 1, 0);
    failures += fc_hostile_probe(target, "UPLOAD_CHUNKS with a chunk over FC_MAX_CHUNK", &msg,
                                 FC_HOSTILE_ERROR, FC_EPROTO, false);
    msg = s_upload_chunks(blob, NULL, 0, 0);
    failures += fc_hostile_probe(target, "UPLOAD_CHUNKS of no chunk", &msg, FC_HOSTILE_ERROR,
                                 FC_EPROTO, false);
    msg = s_upload_chunks(blob, lens, 2, 0);
    failures += fc_hostile_probe(target, "UPLOAD_CHUNKS well formed, after them", &msg,
                                 FC_HOSTILE_REPLY, FC_MSG_UPLOAD_STATE, false);
    /* The same list by hash prefix (UPLOAD_PREFIXES), and a list to derive from a blob the
       broker does not hold (DERIVE_OBJECT): refused, nothing stored. */
    fc_msg_t *m = fc_msg_new(FC_MSG_UPLOAD_PREFIXES);
    memcpy(m->blob, blob, FC_HASH_LEN);
    fc_msg_chunk_prefix_add(m, 1000, blob);
    m->size = 1001;
    msg = s_encode(&m);
    failures += fc_hostile_probe(target, "UPLOAD_PREFIXES whose lengths miss its size", &msg,
                                 FC_HOSTILE_ERROR, FC_EPROTO, false);
    m = fc_msg_new(FC_MSG_UPLOAD_PREFIXES);
    memcpy(m->blob, blob, FC_HASH_LEN);
    fc_msg_chunk_prefix_add(m, 1000, blob);
    m->size = 1000;
    m->bytes_len--; /* a partial entry */
    msg = s_encode(&m);
    failures += fc_hostile_probe(target, "UPLOAD_PREFIXES with a partial entry", &msg,
                                 FC_HOSTILE_ERROR, FC_EPROTO, false);
    m = fc_msg_new(FC_MSG_DERIVE_OBJECT);
    memcpy(m->hash, blob, FC_HASH_LEN);
    memcpy(m->blob, blob, FC_HASH_LEN);
    msg = s_encode(&m);
    failures += fc_hostile_probe(target, "DERIVE_OBJECT of a blob not held", &msg, FC_HOSTILE_ERROR,
                                 FC_ENOTFOUND, false);
    return failures;
}

static int s_client(const fc_hostile_target_t *target)
{
    int failures = 0;
    for (size_t i = 0; i < sizeof s_cases / sizeof s_cases[0]; i++) {
        zmsg_t *msg = s_raw(s_cases[i].bytes, s_cases[i].len);
        failures +=
            fc_hostile_probe(target, s_cases[i].name, &msg, FC_HOSTILE_ERROR_OR_DROP, 0, false);
    }
    /* PROTOCOL.md section 2: where req can be read, the answer is ERROR FC_EPROTO, even if
       the rest of the frame is wrong. */
    const s_case_t attributable[] = {
        {"LIST with one trailing byte (req readable)", "\x94\x02\x0d\x4d\xa0\xc0", 6},
        {"GET_CHUNK of 3 MiB of nils (req readable)", NULL, 3u << 20},
        /* Another protocol version: the ERROR says which version the broker speaks. */
        {"HELLO of protocol version 3 (a newer agent)",
         "\x96\x03\x01\x4d\xa5\x61\x67\x65\x6e\x74\xa1\x61\xa1\x61", 14},
        {"HELLO of protocol version 1 (an agent of before manifest format 3)",
         "\x96\x01\x01\x4d\xa5\x61\x67\x65\x6e\x74\xa1\x61\xa1\x61", 14},
        {"HELLO of protocol version 0 (an older agent)",
         "\x96\x00\x01\x4d\xa5\x61\x67\x65\x6e\x74\xa1\x61\xa1\x61", 14},
    };
    for (size_t i = 0; i < sizeof attributable / sizeof attributable[0]; i++) {
        zmsg_t *msg;
        if (attributable[i].bytes)
            msg = s_raw(attributable[i].bytes, attributable[i].len);
        else {
            uint8_t *nils = malloc(attributable[i].len);
            assert(nils);
            memset(nils, 0xc0, attributable[i].len);
            size_t n = attributable[i].len - 5;
            memcpy(nils,
                   (uint8_t[]){0xdd, (uint8_t)(n >> 24), (uint8_t)(n >> 16), (uint8_t)(n >> 8),
                               (uint8_t)n, FC_PROTO_VERSION, 0x05, 0x4d},
                   8);
            msg = s_raw(nils, attributable[i].len);
            free(nils);
        }
        failures += fc_hostile_probe(target, attributable[i].name, &msg, FC_HOSTILE_ERROR,
                                     FC_EPROTO, false);
    }
    /* Truncated frames. */
    fc_msg_t *m = fc_msg_new(FC_MSG_GET_CHUNK);
    memset(m->blob, 0xab, sizeof m->blob);
    m->length = 4096;
    failures += s_truncations(target, m, "GET_CHUNK");
    m = fc_msg_new(FC_MSG_REPORT);
    m->nagents = 1;
    m->agents = calloc(1, sizeof *m->agents);
    snprintf(m->agents[0].id, sizeof m->agents[0].id, "hostile");
    snprintf(m->agents[0].state, sizeof m->agents[0].state, "idle");
    failures += s_truncations(target, m, "REPORT");

    /* Replies sent as requests: a well-formed message the broker does not serve. */
    fc_msg_type_t replies[] = {FC_MSG_WELCOME,  FC_MSG_OK,        FC_MSG_ERROR,
                               FC_MSG_ANNOUNCE, FC_MSG_HEARTBEAT, FC_MSG_LIST_REPLY};
    for (size_t i = 0; i < sizeof replies / sizeof replies[0]; i++) {
        m = fc_msg_new(replies[i]);
        snprintf(m->channel, sizeof m->channel, "stable");
        snprintf(m->version, sizeof m->version, "1");
        char name[64];
        snprintf(name, sizeof name, "%s as a request", fc_msg_type_name(replies[i]));
        zmsg_t *msg = s_encode(&m);
        failures += fc_hostile_probe(target, name, &msg, FC_HOSTILE_ERROR_OR_DROP, 0, false);
    }

    /* Wrong frame counts: three frames; a data frame where none belongs; none where one must. */
    zmsg_t *msg = zmsg_new();
    zmsg_addstr(msg, "a");
    zmsg_addstr(msg, "b");
    zmsg_addstr(msg, "c");
    failures += fc_hostile_probe(target, "three frames", &msg, FC_HOSTILE_ERROR_OR_DROP, 0, false);
    m = fc_msg_new(FC_MSG_LIST);
    msg = s_encode(&m);
    zmsg_addstr(msg, "stray data");
    failures += fc_hostile_probe(target, "LIST with a data frame", &msg, FC_HOSTILE_ERROR_OR_DROP,
                                 0, false);
    m = fc_msg_new(FC_MSG_PUT_CHUNK);
    m->data = zframe_new("x", 1);
    msg = s_encode(&m);
    zframe_t *data = zmsg_last(msg);
    zmsg_remove(msg, data);
    zframe_destroy(&data);
    failures += fc_hostile_probe(target, "PUT_CHUNK without its data frame", &msg,
                                 FC_HOSTILE_ERROR_OR_DROP, 0, false);

    /* Oversized: a data frame over FC_MAX_CHUNK_REQ, a manifest over FC_MAX_MANIFEST (both
       within the frame limit, so the codec must refuse them), and a 20 MiB frame over
       ZMQ_MAXMSGSIZE (libzmq drops the connection). */
    m = fc_msg_new(FC_MSG_PUT_CHUNK);
    msg = s_encode(&m); /* the codec refuses to build it: swap the data frame afterwards */
    data = zmsg_last(msg);
    zmsg_remove(msg, data);
    zframe_destroy(&data);
    zmsg_append(msg, &(zframe_t *){zframe_new(NULL, FC_MAX_CHUNK_REQ + 1)});
    failures += fc_hostile_probe(target, "PUT_CHUNK data over 1 MiB", &msg,
                                 FC_HOSTILE_ERROR_OR_DROP, 0, false);
    uint8_t *big = calloc(1, 20u << 20);
    assert(big);
    /* bin32 header: RELEASE_COMMIT [FC_PROTO_VERSION, 12, 77, bin(FC_MAX_MANIFEST + 1)] */
    size_t mlen = FC_MAX_MANIFEST + 1;
    uint8_t head[] = {0x94,
                      FC_PROTO_VERSION,
                      0x0c,
                      0x4d,
                      0xc6,
                      (uint8_t)(mlen >> 24),
                      (uint8_t)(mlen >> 16),
                      (uint8_t)(mlen >> 8),
                      (uint8_t)mlen};
    memcpy(big, head, sizeof head);
    msg = s_raw(big, sizeof head + mlen);
    failures += fc_hostile_probe(target, "RELEASE_COMMIT manifest over 8 MiB", &msg,
                                 FC_HOSTILE_ERROR_OR_DROP, 0, false);
    msg = s_raw(big, 20u << 20);
    free(big);
    failures += fc_hostile_probe(target, "20 MiB frame", &msg, FC_HOSTILE_DROP, 0, true);
    failures += s_upload(target);
    failures += s_small_blobs(target);
    failures += s_chunk_lists(target);
    printf("%s\n", failures ? "FAILED" : "every malformed request answered or dropped");
    return failures ? 1 : 0;
}

fc_msg_t *fc_hostile_exchange(const fc_hostile_target_t *target, zmsg_t **msg_p, uint64_t req,
                              int timeout_ms, char *why, size_t whysize)
{
    snprintf(why, whysize, "no answer");
    zsock_t *dealer = fc_hostile_connect(target);
    if (!dealer) {
        zmsg_destroy(msg_p);
        snprintf(why, whysize, "cannot connect");
        return NULL;
    }
    zmsg_send(msg_p, dealer);
    zpoller_t *poller = zpoller_new(dealer, NULL);
    fc_msg_t *reply = NULL;
    int64_t deadline = zclock_mono() + timeout_ms;
    for (int64_t left = timeout_ms; !reply && left > 0; left = deadline - zclock_mono()) {
        if (!zpoller_wait(poller, (int)left))
            continue;
        int err = 0;
        reply = fc_msg_recv(zsock_resolve(dealer), NULL, &err);
        if (!reply)
            snprintf(why, whysize, "undecodable reply (%s)", fc_strerror(err));
        else if (reply->req != req)
            fc_msg_destroy(&reply);
    }
    zpoller_destroy(&poller);
    zsock_destroy(&dealer);
    return reply;
}

fc_msg_t *fc_hostile_ask(const fc_hostile_target_t *target, fc_msg_t **m_p, int timeout_ms,
                         char *why, size_t whysize)
{
    uint64_t req = (*m_p)->req;
    zmsg_t *msg = fc_msg_encode(*m_p);
    fc_msg_destroy(m_p);
    if (!msg) {
        snprintf(why, whysize, "cannot encode the request");
        return NULL;
    }
    return fc_hostile_exchange(target, &msg, req, timeout_ms, why, whysize);
}

/* --- chunks: GET_CHUNK outside a blob ----------------------------------------------------- */

/* fc_mobj_get_fn asking the broker (GET_OBJECT) for each object as the reading needs it. */
typedef struct {
    const fc_hostile_target_t *target;
    fc_msg_t *last;
} s_asker_t;

static const uint8_t *s_ask_object(const uint8_t hash[FC_HASH_LEN], size_t *len, void *arg)
{
    s_asker_t *a = (s_asker_t *)arg;
    fc_msg_destroy(&a->last);
    fc_msg_t *get = fc_msg_new(FC_MSG_GET_OBJECT);
    get->req = 6;
    memcpy(get->hash, hash, FC_HASH_LEN);
    char why[64];
    a->last = fc_hostile_ask(a->target, &get, 5000, why, sizeof why);
    if (!a->last || a->last->type != FC_MSG_OBJECT)
        return NULL;
    *len = a->last->bytes_len;
    return a->last->bytes;
}

/* The first non-empty file of channel's latest release, from a SNAPSHOT (and, for manifest
   format 3, the objects its top level names). */
static int s_pick_blob(const fc_hostile_target_t *target, const char *channel,
                       uint8_t blob[FC_HASH_LEN], uint64_t *size)
{
    fc_msg_t *sync = fc_msg_new(FC_MSG_SYNC);
    sync->req = 5;
    fc_msg_set_str(sync->channel, sizeof sync->channel, channel);
    char why[64];
    fc_msg_t *snap = fc_hostile_ask(target, &sync, 5000, why, sizeof why);
    int rc = -1, err = 0;
    s_asker_t asker = {target, NULL};
    fc_manifest_t *man = snap && snap->type == FC_MSG_SNAPSHOT
                             ? fc_manifest_load(snap->bytes, snap->bytes_len, NULL, s_ask_object,
                                                &asker, NULL, NULL, &err)
                             : NULL;
    fc_msg_destroy(&asker.last);
    for (uint32_t i = 0; man && rc != 0 && i < man->nfiles; i++)
        if (man->files[i].size > 0) {
            memcpy(blob, man->files[i].hash, FC_HASH_LEN);
            *size = man->files[i].size;
            rc = 0;
        }
    fc_manifest_destroy(&man);
    fc_msg_destroy(&snap);
    return rc;
}

static zmsg_t *s_get_chunk(const uint8_t blob[FC_HASH_LEN], uint64_t offset, uint64_t length)
{
    fc_msg_t *m = fc_msg_new(FC_MSG_GET_CHUNK);
    memcpy(m->blob, blob, FC_HASH_LEN);
    m->offset = offset;
    m->length = length;
    return s_encode(&m);
}

static int s_chunks(const fc_hostile_target_t *target, const char *channel)
{
    uint8_t blob[FC_HASH_LEN];
    uint64_t size = 0;
    if (s_pick_blob(target, channel, blob, &size) != 0) {
        printf("no release with a non-empty file on channel %s\n", channel);
        return 1;
    }
    printf("blob of %" PRIu64 " bytes\n", size);
    const struct {
        const char *name;
        uint64_t offset, length;
    } cases[] = {
        {"offset at the end", size, 1},
        {"offset past the end", size + 4096, 1},
        {"offset 2^64-1", UINT64_MAX, 1},
        {"length past the end", 0, size + 1},
        {"length 2^64-1 (overflow)", 1, UINT64_MAX},
        {"offset+length wraps to 0", size - 1, UINT64_MAX - size + 2},
        {"offset+length wraps inside", UINT64_MAX - 10, 20},
        {"length over 1 MiB", 0, FC_MAX_CHUNK_REQ + 1},
        {"length 0", 0, 0},
    };
    int failures = 0;
    zmsg_t *msg = s_get_chunk(blob, 0, size < 4096 ? size : 4096);
    failures += fc_hostile_probe(target, "GET_CHUNK inside the blob", &msg, FC_HOSTILE_REPLY,
                                 FC_MSG_CHUNK, false);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char name[96];
        snprintf(name, sizeof name, "GET_CHUNK %s", cases[i].name);
        msg = s_get_chunk(blob, cases[i].offset, cases[i].length);
        failures += fc_hostile_probe(target, name, &msg, FC_HOSTILE_ERROR, FC_EINVAL, false);
    }
    uint8_t unknown[FC_HASH_LEN];
    fc_hash_buf(unknown, "no such blob", 12);
    msg = s_get_chunk(unknown, 0, 1);
    failures += fc_hostile_probe(target, "GET_CHUNK unknown blob", &msg, FC_HOSTILE_ERROR,
                                 FC_ENOTFOUND, false);
    memset(unknown, 0, sizeof unknown);
    msg = s_get_chunk(unknown, 0, 1);
    failures += fc_hostile_probe(target, "GET_CHUNK all-zero blob", &msg, FC_HOSTILE_ERROR,
                                 FC_ENOTFOUND, false);
    printf("%s\n", failures ? "FAILED" : "every out-of-range chunk request refused");
    return failures ? 1 : 0;
}

/* --- commit: a manifest file as RELEASE_COMMIT ------------------------------------------- */

static int s_commit(const fc_hostile_target_t *target, const char *file)
{
    size_t len = 0;
    uint8_t *buf = fc_read_file(file, 2 * FC_MAX_MANIFEST, &len);
    if (!buf) {
        printf("cannot read %s\n", file);
        return 1;
    }
    fc_msg_t *m = fc_msg_new(FC_MSG_RELEASE_COMMIT);
    m->req = FC_HOSTILE_REQ;
    fc_msg_set_bytes(m, buf, len);
    free(buf);
    char why[64];
    fc_msg_t *reply = fc_hostile_ask(target, &m, 10000, why, sizeof why);
    if (reply && reply->type == FC_MSG_OK)
        printf("ok serial %" PRIu64 "\n", reply->serial);
    else if (reply && reply->type == FC_MSG_ERROR)
        printf("error %u (%s): %s\n", reply->code, fc_strerror((int)reply->code), reply->text);
    else
        printf("%s\n", reply ? "unexpected reply" : why);
    int rc = reply && (reply->type == FC_MSG_OK || reply->type == FC_MSG_ERROR) ? 0 : 1;
    fc_msg_destroy(&reply);
    return rc;
}

/* --- relay-keys: what only a relay key may read ------------------------------------------ */

static int s_relay_keys(const fc_hostile_target_t *target)
{
    fc_msg_t *m = fc_msg_new(FC_MSG_RELAY_KEYS);
    m->req = FC_HOSTILE_REQ;
    char why[64];
    fc_msg_t *reply = fc_hostile_ask(target, &m, 10000, why, sizeof why);
    if (reply && reply->type == FC_MSG_RELAY_KEYS_REPLY) {
        printf("ok keys %zu serial %016" PRIx64 " more %d\n", fc_msg_relay_key_count(reply),
               reply->serial, reply->more ? 1 : 0);
        for (size_t i = 0; i < fc_msg_relay_key_count(reply); i++) {
            char key[FC_MSG_KEY_Z85_LEN + 1];
            fc_msg_relay_key_get(reply, i, key);
            printf("%s\n", key);
        }
    } else if (reply && reply->type == FC_MSG_ERROR)
        printf("error %u (%s): %s\n", reply->code, fc_strerror((int)reply->code), reply->text);
    else
        printf("%s\n", reply ? "unexpected reply" : why);
    int rc =
        reply && (reply->type == FC_MSG_RELAY_KEYS_REPLY || reply->type == FC_MSG_ERROR) ? 0 : 1;
    fc_msg_destroy(&reply);
    return rc;
}

/* --- flood: one peer that keeps sending garbage ------------------------------------------ */

static int s_flood(const fc_hostile_target_t *target, int count)
{
    /* The first key only: the broker counts malformed messages per key (per connection
       with --insecure, where there is none). */
    fc_hostile_target_t one = {target->endpoint, target->curve, NULL, 0, NULL};
    zsock_t *dealer = fc_hostile_connect(&one);
    if (!dealer)
        return 1;
    /* Header readable (each earns an ERROR while the broker still listens), body not. */
    for (int i = 0; i < count; i++) {
        zmsg_t *msg = s_raw("\x94\x02\x05\x4d\xc0", 5);
        zmsg_send(&msg, dealer);
    }
    char got[FC_MAX_TEXT + 64] = "";
    int type = 0, code = 0;
    bool answered = s_await_welcome(dealer, 2000, got, sizeof got, &type, &code);
    zsock_destroy(&dealer);
    /* Reconnecting: the same key is still ignored; with no key it starts afresh. */
    dealer = fc_hostile_connect(&one);
    bool again = dealer && s_await_welcome(dealer, 3000, NULL, 0, NULL, NULL);
    zsock_destroy(&dealer);
    bool secure = target->curve != NULL;
    printf("after %d malformed messages: that peer %s; reconnecting with the same %s it %s\n",
           count, answered ? "STILL ANSWERED" : "is ignored", secure ? "key" : "(no) key",
           again ? "is served" : "is ignored");
    bool ok = !answered && again == !secure;
    if (secure && target->nmore > 0) {
        fc_hostile_target_t other = {target->endpoint, target->more[0], NULL, 0, NULL};
        dealer = fc_hostile_connect(&other);
        bool others = dealer && s_await_welcome(dealer, 3000, NULL, 0, NULL, NULL);
        zsock_destroy(&dealer);
        printf("another key %s\n", others ? "is served" : "IS NOT SERVED");
        ok = ok && others;
    }
    return ok ? 0 : 1;
}

/* --- hog: a peer that asks for chunks and never reads them ------------------------------ */

static int s_hog(const fc_hostile_target_t *target, const char *channel, int seconds)
{
    uint8_t blob[FC_HASH_LEN];
    uint64_t size = 0;
    if (s_pick_blob(target, channel, blob, &size) != 0) {
        printf("no release with a non-empty file on channel %s\n", channel);
        return 1;
    }
    /* A 1-message receive HWM, a 4 KiB kernel buffer and no heartbeats of its own: as
       little as libzmq lets it take, and nothing that shows it alive but TCP itself. */
    zsock_t *dealer = fc_hostile_connect_tuned(target, 1, 4096, false);
    if (!dealer)
        return 1;
    const uint64_t window = 64u << 20;
    uint64_t asked = 0, req = 1000;
    while (asked < window) {
        for (uint64_t off = 0; off < size && asked < window; off += FC_CHUNK_SIZE) {
            uint64_t len = size - off < FC_CHUNK_SIZE ? size - off : FC_CHUNK_SIZE;
            fc_msg_t *m = fc_msg_new(FC_MSG_GET_CHUNK);
            memcpy(m->blob, blob, FC_HASH_LEN);
            m->offset = off;
            m->length = len;
            m->req = req++;
            fc_msg_send(&m, zsock_resolve(dealer));
            asked += len;
        }
    }
    printf("asked for %" PRIu64 " bytes of chunks in %" PRIu64 " requests; reading none for %d s\n",
           asked, req - 1000, seconds);
    zclock_sleep(seconds * 1000);
    zsock_destroy(&dealer);
    return 0;
}

/* --- nilflood: large frames of msgpack nils, their header readable ---------------------- */

static int s_nilflood(const fc_hostile_target_t *target, int count, int mib)
{
    /* Under CURVE a frame grows by its box (about 40 bytes) before libzmq's size check:
       MIB 16 is refused by the broker's libzmq outright, 15 is the largest that gets in. */
    size_t len = (size_t)mib << 20;
    if (mib <= 0 || len > FC_MAX_FRAME)
        return 2;
    uint8_t *buf = malloc(len);
    if (!buf)
        return 1;
    /* GET_CHUNK [2, 5, 77, nil, nil, ...]: req readable, the rest millions of objects. */
    memset(buf, 0xc0, len);
    size_t n = len - 5;
    memcpy(buf,
           (uint8_t[]){0xdd, (uint8_t)(n >> 24), (uint8_t)(n >> 16), (uint8_t)(n >> 8), (uint8_t)n,
                       FC_PROTO_VERSION, 0x05, 0x4d},
           8);
    zsock_t *dealer = fc_hostile_connect(target);
    if (!dealer) {
        free(buf);
        return 1;
    }
    /* A small send queue here: this process need not hold the flood, the broker should not. */
    zsock_set_sndhwm(dealer, 2);
    zpoller_t *poller = zpoller_new(dealer, NULL);
    int sent = 0, answers = 0;
    int64_t quiet_since = zclock_mono();
    while (sent < count || zclock_mono() - quiet_since < 3000) {
        if (sent < count && zmq_send(zsock_resolve(dealer), buf, len, ZMQ_DONTWAIT) == (int)len) {
            sent++;
            quiet_since = zclock_mono();
        }
        if (zpoller_wait(poller, sent < count ? 1 : 100)) {
            zmsg_t *reply = zmsg_recv(dealer);
            zmsg_destroy(&reply);
            answers++;
            quiet_since = zclock_mono();
        }
    }
    printf("sent %d frames of %d MiB of nils; %d answers\n", sent, mib, answers);
    zsock_set_linger(dealer, 10000); /* the last frames may still be queued here */
    zpoller_destroy(&poller);
    zsock_destroy(&dealer);
    free(buf);
    return 0;
}

int main(int argc, char **argv)
{
    zsys_init();
    zsys_set_logstream(NULL);
    fc_crypto_init();
    setvbuf(stdout, NULL, _IOLBF, 0); /* lines in order with anything on stderr */
    /* Security options first, as tests/lib.sh passes them: --broker-key KEY --cert FILE (a
       client), --server-cert FILE (the fake broker), --insecure (nothing). The "+" stops
       at MODE: what follows is the mode's own, even where it starts with '-'. */
    static const struct option options[] = {{"broker-key", required_argument, NULL, 'k'},
                                            {"cert", required_argument, NULL, 'c'},
                                            {"server-cert", required_argument, NULL, 's'},
                                            {"insecure", no_argument, NULL, 'i'},
                                            {"help", no_argument, NULL, 'h'},
                                            {NULL, 0, NULL, 0}};
    const char *broker_key = NULL, *cert = NULL, *server_cert = NULL;
    const char *more_certs[8];
    size_t nmore = 0;
    int opt;
    while ((opt = getopt_long(argc, argv, "+h", options, NULL)) != -1) {
        if (opt == 'k')
            broker_key = optarg;
        else if (opt == 'c' && !cert)
            cert = optarg;
        else if (opt == 'c' && nmore < 8)
            more_certs[nmore++] = optarg;
        else if (opt == 's')
            server_cert = optarg;
        else if (opt == 'h')
            return s_usage(stdout, 0);
        else if (opt != 'i')
            return s_usage(stderr, 2); /* getopt said what; or a tenth --cert */
    }
    /* MODE and its arguments, as argv[1...] */
    argc -= optind - 1;
    argv += optind - 1;
    /* The numbers a mode takes, checked before anything connects. */
    uint64_t num[2] = {0, 0};
    char msg[256];
    bool numbers_ok = true;
    if (argc == 4 && streq(argv[1], "flood"))
        numbers_ok = !fc_optval_uint("COUNT", argv[3], 1, 1000000, &num[0], msg, sizeof msg);
    else if (argc == 5 && (streq(argv[1], "hog") || streq(argv[1], "broker")))
        numbers_ok = !fc_optval_uint("SECONDS", argv[4], 1, 86400, &num[0], msg, sizeof msg);
    else if (argc == 5 && streq(argv[1], "nilflood"))
        numbers_ok = !fc_optval_uint("COUNT", argv[3], 1, 1000000, &num[0], msg, sizeof msg) &&
                     !fc_optval_uint("MIB", argv[4], 1, 1024, &num[1], msg, sizeof msg);
    if (!numbers_ok) {
        fprintf(stderr, "fleetcast-hostile: %s\n", msg);
        return s_usage(stderr, 2);
    }
    char text[FC_MAX_TEXT] = "";
    int err = 0;
    fc_curve_t *curve = NULL;
    if (server_cert)
        curve = fc_curve_new_server(server_cert, &err, text, sizeof text);
    else if (broker_key || cert)
        curve = fc_curve_new_client(cert ? cert : "", broker_key ? broker_key : "", &err, text,
                                    sizeof text);
    if ((server_cert || broker_key || cert) && !curve) {
        fprintf(stderr, "fleetcast-hostile: %s\n", text);
        return 2;
    }
    fc_curve_t *more[8] = {NULL};
    for (size_t i = 0; i < nmore; i++) {
        more[i] = fc_curve_new_client(more_certs[i], broker_key ? broker_key : "", &err, text,
                                      sizeof text);
        if (!more[i]) {
            fprintf(stderr, "fleetcast-hostile: %s\n", text);
            return 2;
        }
    }
    size_t turn = 0;
    fc_hostile_target_t target = {argc >= 3 ? argv[2] : NULL, curve,
                                  (const fc_curve_t *const *)more, nmore, &turn};
    int rc = -1;
    if (argc == 3 && streq(argv[1], "client"))
        rc = s_client(&target);
    else if (argc == 4 && streq(argv[1], "chunks"))
        rc = s_chunks(&target, argv[3]);
    else if (argc == 4 && streq(argv[1], "commit"))
        rc = s_commit(&target, argv[3]);
    else if (argc == 3 && streq(argv[1], "relay-keys"))
        rc = s_relay_keys(&target);
    else if (argc == 4 && streq(argv[1], "flood"))
        rc = s_flood(&target, (int)num[0]);
    else if (argc == 5 && streq(argv[1], "hog"))
        rc = s_hog(&target, argv[3], (int)num[0]);
    else if (argc == 5 && streq(argv[1], "nilflood"))
        rc = s_nilflood(&target, (int)num[0], (int)num[1]);
    else if (argc == 3 && streq(argv[1], "config"))
        rc = fc_hostile_config(&target);
    else if ((argc == 5 || argc == 6) && streq(argv[1], "as-agent"))
        rc = fc_hostile_as_agent(&target, argv[4], argv[3], argc == 6 ? argv[5] : NULL);
    else if (argc == 5 && streq(argv[1], "broker"))
        rc = fc_hostile_fake_broker(argv[2], argv[3], (int)num[0], curve);
    fc_curve_destroy(&curve);
    for (size_t i = 0; i < nmore; i++)
        fc_curve_destroy(&more[i]);
    if (rc >= 0)
        return rc;
    return s_usage(stderr, 2);
}
