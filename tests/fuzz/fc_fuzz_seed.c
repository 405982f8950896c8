/* fc_fuzz_seed.c: writes the seed corpora of the fuzz targets from real encodings: every
   message type, signed manifests and config revisions of each kind, and schemas.
   Usage: fc_fuzz_seed CORPUS_DIR (tests/fuzz/corpus), then check the files in. */
#include "fc_config_value.h"
#include "fc_envelope.h"
#include "fc_error.h"
#include "fc_file.h"
#include "fc_fuzz.h"
#include "fc_hash.h"
#include "fc_manifest.h"
#include "fc_manifest_parts.h"
#include "fc_msg.h"
#include "fc_objdelta.h"
#include "fc_revision.h"
#include "fc_test_check.h"
#include "fc_trustlist.h"
#include <czmq.h>
#include <stdio.h>
#include <stdlib.h>

static void s_write(const char *root, const char *target, const char *name, const void *buf,
                    size_t len)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", root, target);
    FC_CHECK(fc_mkdirs(path, 0755) == 0);
    snprintf(path, sizeof path, "%s/%s/seed-%s", root, target, name);
    FC_CHECK(fc_write_file_atomic(path, buf, len, 0644) == 0);
}

/* The msg target's input: [flags][split:u16 be] then the frames back to back. */
static void s_write_msg(const char *root, fc_msg_t **m_p)
{
    char name[64];
    snprintf(name, sizeof name, "%s", fc_msg_type_name((*m_p)->type));
    zmsg_t *msg = fc_msg_encode(*m_p);
    fc_msg_destroy(m_p);
    FC_CHECK(msg);
    zframe_t *body = zmsg_first(msg), *data = zmsg_next(msg);
    size_t blen = zframe_size(body), dlen = data ? zframe_size(data) : 0;
    uint8_t *buf = malloc(3 + blen + dlen);
    FC_CHECK(buf && blen < 65536);
    buf[0] = data != NULL;
    buf[1] = (uint8_t)(blen >> 8);
    buf[2] = (uint8_t)blen;
    memcpy(buf + 3, zframe_data(body), blen);
    if (data)
        memcpy(buf + 3 + blen, zframe_data(data), dlen);
    s_write(root, "msg", name, buf, 3 + blen + dlen);
    free(buf);
    zmsg_destroy(&msg);
}

static fc_msg_t *s_filled(fc_msg_type_t type, const uint8_t *manifest, size_t mlen,
                          const uint8_t *revision, size_t rlen)
{
    fc_msg_t *m = fc_msg_new(type);
    m->req = 77;
    m->role = FC_ROLE_AGENT;
    strcpy(m->id, "agent-1");
    strcpy(m->channel, "stable");
    strcpy(m->version, "1.2.3");
    strcpy(m->endpoint, "tcp://127.0.0.1:7401");
    strcpy(m->text, "global");
    strcpy(m->group, "edge");
    strcpy(m->state, "applied");
    m->epoch = 123456789;
    m->seq = 42;
    m->serial = 3;
    m->offset = type == FC_MSG_PUT_CHUNK ? FC_CHUNK_SIZE : 1000;
    m->length = 4096;
    m->size = 300000;
    m->heartbeat_ms = 1000;
    m->code = FC_EINVAL;
    m->flag = true;
    memset(m->blob, 0xab, sizeof m->blob);
    memset(m->hash, 0xcd, sizeof m->hash);
    if (type == FC_MSG_CHUNK || type == FC_MSG_PUT_CHUNK)
        m->data = zframe_new("chunk-bytes", 11);
    if (type == FC_MSG_SNAPSHOT || type == FC_MSG_RELEASE_COMMIT)
        fc_msg_set_bytes(m, manifest, mlen);
    if (type == FC_MSG_CONFIG_PUSH || type == FC_MSG_CONFIG_ANNOUNCE)
        fc_msg_set_bytes(m, revision, rlen);
    if (type == FC_MSG_UPLOAD_STATE) {
        m->flag = false;
        m->nranges = 2;
        m->ranges = calloc(2, sizeof *m->ranges);
        m->ranges[0] = (fc_range_t){0, FC_CHUNK_SIZE};
        m->ranges[1] = (fc_range_t){2 * FC_CHUNK_SIZE, FC_CHUNK_SIZE};
    }
    if (type == FC_MSG_SNAPSHOT || type == FC_MSG_LIST_REPLY) {
        m->nreleases = 2;
        m->releases = calloc(2, sizeof *m->releases);
        for (int i = 0; i < 2; i++) {
            fc_release_info_t *r = &m->releases[i];
            strcpy(r->channel, i ? "beta" : "stable");
            strcpy(r->version, "1.0");
            r->serial = 1 + i;
            r->size = 1000;
            r->files = 3;
            r->created = 1700000000;
            r->mandatory = i;
        }
    }
    if (type == FC_MSG_REPORT || type == FC_MSG_STATUS_REPLY ||
        type == FC_MSG_CONFIG_STATUS_REPLY) {
        m->nagents = 1;
        m->agents = calloc(1, sizeof *m->agents);
        strcpy(m->agents[0].id, "agent-1");
        strcpy(m->agents[0].channel, "stable");
        strcpy(m->agents[0].version, "1.0");
        strcpy(m->agents[0].state, "installed");
        strcpy(m->agents[0].message, "ok");
        m->agents[0].done = m->agents[0].total = 5000;
        m->agents[0].last_seen = 1700000000;
    }
    if (type == FC_MSG_CONFIG_SNAPSHOT) {
        m->nitems = 1;
        m->items = calloc(1, sizeof *m->items);
        m->items[0].data = malloc(rlen);
        memcpy(m->items[0].data, revision, rlen);
        m->items[0].len = rlen;
    }
    if (type == FC_MSG_BLOBS_QUERY || type == FC_MSG_OBJECTS_QUERY) { /* two hashes */
        uint8_t hashes[2 * FC_HASH_LEN];
        memset(hashes, 0xab, FC_HASH_LEN);
        memset(hashes + FC_HASH_LEN, 0xcd, FC_HASH_LEN);
        fc_msg_set_bytes(m, hashes, sizeof hashes);
    }
    if (type == FC_MSG_UPLOAD_CHUNKS) { /* two chunks adding up to size */
        fc_msg_chunk_ref_add(m, 100000, m->hash);
        fc_msg_chunk_ref_add(m, 200000, m->blob);
    }
    if (type == FC_MSG_UPLOAD_PREFIXES) { /* the same two, by prefix */
        fc_msg_chunk_prefix_add(m, 100000, m->hash);
        fc_msg_chunk_prefix_add(m, 200000, m->blob);
    }
    if (type == FC_MSG_BLOBS_STATE)
        fc_msg_set_bytes(m, "\x01\x00", 2);
    if (type == FC_MSG_RELAY_KEYS) /* the page after a key */
        strcpy(m->cursor, "(#ZxP$9!2XsWF8Nb.vxtUQ/W=mTx@d1M&V0TSjq+");
    if (type == FC_MSG_RELAY_KEYS_REPLY) { /* two keys, ascending, more to come */
        fc_msg_relay_key_add(m, "(#ZxP$9!2XsWF8Nb.vxtUQ/W=mTx@d1M&V0TSjq+");
        fc_msg_relay_key_add(m, "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7");
        m->more = true;
    }
    if (type == FC_MSG_OBJECT || type == FC_MSG_PUT_OBJECT)
        fc_msg_set_bytes(m, "\x90", 1); /* the chunk list of an empty file */
    if (type == FC_MSG_OBJECT_DELTA)
        fc_msg_set_bytes(m, "\x0a\x01\x00\x0a", 4); /* the base's first 10 bytes */
    if (type == FC_MSG_PUT_BLOBS) {                 /* an empty blob and a small one */
        fc_msg_put_blob_add(m, m->blob, NULL, 0);
        fc_msg_put_blob_add(m, m->hash, "small file content\n", 19);
    }
    if (type == FC_MSG_STATUS_REPLY || type == FC_MSG_CONFIG_STATUS_REPLY) {
        m->offline_ms = 30000; /* the optional pair */
        m->time_ms = 1700000031000;
    }
    if (type == FC_MSG_STATUS || type == FC_MSG_CONFIG_STATUS || type == FC_MSG_STATUS_REPLY ||
        type == FC_MSG_CONFIG_STATUS_REPLY || type == FC_MSG_LIST || type == FC_MSG_LIST_REPLY ||
        type == FC_MSG_AUDIT_REPLY) {
        m->limit = 1000; /* the paging group: a page after agent-0, more to come */
        strcpy(m->cursor, "agent-0");
        strcpy(m->state, type == FC_MSG_STATUS ? "failed" : "applied");
        m->more = true;
    }
    if (type == FC_MSG_STATUS_SUMMARY_REPLY || type == FC_MSG_CONFIG_SUMMARY_REPLY) {
        m->ncounts = 1;
        m->counts = calloc(1, sizeof *m->counts);
        strcpy(m->counts[0].channel, "stable");
        strcpy(m->counts[0].state, "failed");
        strcpy(m->counts[0].reason, "disk full");
        m->counts[0].agents = 7;
    }
    if (type == FC_MSG_STATUS_SUMMARY)
        m->limit = 4096; /* the optional limit: a client that can be told what was left out */
    if (type == FC_MSG_STATUS_SUMMARY_REPLY) {
        m->left_out = 12; /* the optional group: rows, groups and agents left out */
        m->groups_left_out = 10;
        m->agents_left_out = 900;
    }
    if (type == FC_MSG_ROLLOUT_PLAN) {
        m->nwaves = 3;
        m->waves[0] = 5, m->waves[1] = 25, m->waves[2] = 100;
        m->halt_percent = 20;
        m->wave_wait_ms = 60000;
    }
    if (type == FC_MSG_ROLLOUT_STATUS_REPLY) {
        m->nrollouts = 1;
        m->rollouts = calloc(1, sizeof *m->rollouts);
        fc_rollout_info_t *r = &m->rollouts[0];
        strcpy(r->channel, "stable");
        strcpy(r->version, "2.0");
        strcpy(r->prev_version, "1.0");
        strcpy(r->state, "HALTED");
        strcpy(r->reason, "wave 1 of 2: 2 of 2 agents failed or rolled back (more than 20%)");
        r->serial = 2, r->prev_serial = 1, r->wave = 1, r->waves = 2, r->percent = 20;
        r->halt_percent = 20, r->wave_started = 1700000000, r->agents = 10, r->offered = 2;
        r->rolled_back = 2, r->not_offered = 8;
    }
    if (type == FC_MSG_AUDIT_REPLY) {
        m->naudit = 1;
        m->audit = calloc(1, sizeof *m->audit);
        m->audit[0].time = 1700000000;
        strcpy(m->audit[0].who, "5a5a5a5a");
        strcpy(m->audit[0].action, "config.set");
        strcpy(m->audit[0].detail, "rev 1 global: port");
        strcpy(m->audit[0].result, "ok");
    }
    return m;
}

/* Writes one signed envelope to <env_target> and its body to <body_target>. */
static void s_write_signed(const char *root, const char *body_target, const char *env_target,
                           const char *name, const uint8_t *env, size_t len, size_t max)
{
    const uint8_t *body;
    size_t body_len;
    uint8_t signer[FC_PUBKEY_LEN];
    FC_CHECK(fc_envelope_open(env, len, max, NULL, &body, &body_len, signer) == FC_OK);
    s_write(root, env_target, name, env, len);
    s_write(root, body_target, name, body, body_len);
}

static void s_add_file(fc_manifest_t *m, const char *path, uint64_t size)
{
    m->files = realloc(m->files, (m->nfiles + 1) * sizeof *m->files);
    fc_file_t *f = &m->files[m->nfiles++];
    memset(f, 0, sizeof *f);
    f->path = strdup(path);
    f->mode = 0644;
    f->size = size;
    f->nchunks = (uint32_t)((size + FC_CHUNK_SIZE - 1) / FC_CHUNK_SIZE);
    f->chunks = calloc(f->nchunks ? f->nchunks : 1, sizeof *f->chunks);
    uint8_t *hashes = calloc(f->nchunks ? f->nchunks : 1, FC_HASH_LEN);
    for (uint32_t i = 0; i < f->nchunks; i++) {
        f->chunks[i].offset = (uint64_t)i * FC_CHUNK_SIZE;
        uint64_t left = size - f->chunks[i].offset;
        f->chunks[i].length = (uint32_t)(left < FC_CHUNK_SIZE ? left : FC_CHUNK_SIZE);
        memset(f->chunks[i].hash, (int)(i + 1), FC_HASH_LEN);
        memcpy(hashes + (size_t)i * FC_HASH_LEN, f->chunks[i].hash, FC_HASH_LEN);
    }
    fc_hash_of_chunks(f->hash, (const uint8_t(*)[FC_HASH_LEN])hashes, f->nchunks);
    free(hashes);
}

static size_t s_manifests(const char *root, const fc_signkey_t *key, uint8_t **first)
{
    size_t first_len = 0;
    for (int variant = 0; variant < 6; variant++) {
        fc_manifest_t *m = fc_manifest_new();
        strcpy(m->product, "app");
        strcpy(m->channel, variant == 2 ? "beta" : "stable");
        strcpy(m->version, variant ? "2.0.1" : "1.0");
        if (variant == 3)
            strcpy(m->min_version, "1.5");
        m->serial = (uint64_t)variant + 1;
        m->mandatory = variant == 3;
        m->created = 1700000000;
        if (variant >= 1) {
            s_add_file(m, "bin/app", 3 * FC_CHUNK_SIZE + 17);
            s_add_file(m, "etc/app.conf", 120);
        }
        if (variant >= 2)
            s_add_file(m, "share/empty", 0);
        if (variant >= 4) { /* format 2's other kinds, times and an external link */
            m->files[0].mtime = (fc_mtime_t){1600000000, 250000000};
            fc_manifest_add_dir(m, "bin", 0755, (fc_mtime_t){1600000000, 0});
            fc_manifest_add_dir(m, "logs", 0700, (fc_mtime_t){-1, 999999999});
            fc_manifest_add_link(m, "bin/run", "app", (fc_mtime_t){1600000001, 0}, false);
            fc_manifest_add_link(m, "etc/app.link", "../bin/app", (fc_mtime_t){0, 0}, false);
            fc_manifest_add_link(m, "tmp", "/var/tmp", (fc_mtime_t){0, 0}, true);
        }
        if (variant == 5) { /* chunks of varying lengths, as content-defined chunking makes */
            fc_file_t *f = &m->files[0];
            uint32_t lengths[] = {70000, 1, FC_MAX_CHUNK, 4096};
            uint8_t hashes[4][FC_HASH_LEN];
            f->chunks = realloc(f->chunks, 4 * sizeof *f->chunks);
            f->nchunks = 4;
            f->size = 0;
            for (uint32_t i = 0; i < 4; i++) {
                f->chunks[i] = (fc_chunk_t){.offset = f->size, .length = lengths[i]};
                memset(f->chunks[i].hash, (int)(0x40 + i), FC_HASH_LEN);
                memcpy(hashes[i], f->chunks[i].hash, FC_HASH_LEN);
                f->size += lengths[i];
            }
            fc_hash_of_chunks(f->hash, (const uint8_t(*)[FC_HASH_LEN])hashes, 4);
        }
        size_t len;
        uint8_t *env = fc_manifest_sign(m, key, &len);
        FC_CHECK(env);
        char name[32];
        snprintf(name, sizeof name, "manifest-%d", variant);
        s_write_signed(root, "manifest", "manifest_env", name, env, len, FC_MAX_MANIFEST);
        if (variant == 1) {
            *first = env;
            first_len = len;
        } else
            free(env);
        fc_manifest_destroy(&m);
    }
    return first_len;
}

/* manifest_parts: [mode] then a page (0), a chunk list (1) or a top body (2, 3), from a
   release of files, a directory and links cut into its format-3 parts. */
static void s_manifest_parts(const char *root, const fc_signkey_t *key)
{
    fc_manifest_t *m = fc_manifest_new();
    strcpy(m->product, "app");
    strcpy(m->channel, "stable");
    strcpy(m->version, "3.0");
    m->serial = 3;
    fc_manifest_add_dir(m, "bin", 0755, (fc_mtime_t){1600000000, 0});
    s_add_file(m, "bin/app", 3 * FC_CHUNK_SIZE + 10);
    s_add_file(m, "empty", 0);
    s_add_file(m, "etc/app.conf", 100);
    fc_manifest_add_link(m, "run", "bin/app", (fc_mtime_t){0, 0}, false);
    int err = 0;
    fc_mparts_t *p = fc_mparts_sign(m, key, &err);
    FC_CHECK(p);
    const uint8_t *body = NULL;
    size_t blen = 0;
    uint8_t signer[FC_PUBKEY_LEN];
    FC_CHECK(fc_envelope_open(p->top, p->top_len, FC_MAX_MANIFEST, NULL, &body, &blen, signer) ==
             0);
    for (uint32_t i = 0; i <= p->nobjs; i++) {
        const uint8_t *obj = i < p->nobjs ? p->objs[i].data : body;
        size_t olen = i < p->nobjs ? p->objs[i].len : blen;
        uint8_t *buf = malloc(olen + 1);
        FC_CHECK(buf);
        buf[0] = i == p->nobjs ? 2 : p->objs[i].kind == FC_MOBJ_PAGE ? 0 : 1;
        memcpy(buf + 1, obj, olen);
        char name[32];
        snprintf(name, sizeof name, "%s-%u", i == p->nobjs ? "top" : buf[0] ? "list" : "page", i);
        s_write(root, "manifest_parts", name, buf, olen + 1);
        free(buf);
    }
    fc_mparts_destroy(&p);
    fc_manifest_destroy(&m);
}

static const char *s_schema = "{\"keys\": {\"log.level\": {\"type\": \"string\", \"enum\": "
                              "[\"debug\", \"info\", \"warn\"]}, \"port\": {\"type\": "
                              "\"integer\", \"min\": 1, \"max\": 65535, \"reload\": "
                              "\"restart\"}, \"ratio\": {\"type\": \"float\", \"min\": 0, "
                              "\"max\": 1, \"description\": \"share\"}, \"limits\": {\"type\": "
                              "\"struct\"}, \"on\": {\"type\": \"boolean\"}}, \"strict\": true}";

static size_t s_revisions(const char *root, const fc_signkey_t *key, uint8_t **first)
{
    size_t first_len = 0;
    const char *values[] = {
        "8080",           "\"info\"", "0.25", "true", "{\"rps\":[100,200,null]}",
        "\"caf\\u00e9\"", "-12",      "1e300"};
    for (int variant = 0; variant < 5; variant++) {
        fc_revision_t *r = fc_revision_new(variant == 3   ? FC_REV_SCHEMA
                                           : variant == 4 ? FC_REV_PROMOTE
                                                          : FC_REV_SET);
        r->rev = (uint64_t)variant + 1;
        r->created = 1700000000;
        strcpy(r->message, "seed");
        strcpy(r->scope, variant == 1 ? "group:edge" : variant == 2 ? "agent:agent-1" : "global");
        if (variant == 0) {
            const char *keys[] = {"a", "b", "c", "d", "e", "f", "g", "h"};
            for (int i = 0; i < 8; i++) {
                fc_value_t v;
                FC_CHECK(fc_value_from_text(&v, values[i]) == FC_OK);
                FC_CHECK(fc_revision_set(r, keys[i], &v) == FC_OK);
                fc_value_free(&v);
            }
        }
        if (variant == 1) {
            fc_value_t v;
            FC_CHECK(fc_value_from_text(&v, "9090") == FC_OK);
            FC_CHECK(fc_revision_set(r, "port", &v) == FC_OK);
            fc_value_free(&v);
            FC_CHECK(fc_revision_unset(r, "log.level") == FC_OK);
            r->canary = 25;
            r->halt_percent = 20;
        }
        if (variant == 2)
            FC_CHECK(fc_revision_unset(r, "port") == FC_OK);
        if (variant == 3)
            r->schema_json = strdup(s_schema);
        if (variant == 4)
            r->target = 2;
        size_t len;
        uint8_t *env = fc_revision_sign(r, key, &len);
        FC_CHECK(env);
        char name[32];
        snprintf(name, sizeof name, "revision-%d", variant);
        s_write_signed(root, "revision", "revision_env", name, env, len, FC_MAX_REVISION);
        if (variant == 0) {
            *first = env;
            first_len = len;
        } else
            free(env);
        fc_revision_destroy(&r);
    }
    return first_len;
}

/* Trusted-key lists of 1, 2 and 3 keys (bodies only: the target signs its input). */
static void s_trustlists(const char *root, const fc_signkey_t *key)
{
    for (size_t n = 1; n <= 3; n++) {
        fc_trust_t *trust = fc_trust_new();
        for (size_t i = 0; i < n; i++) {
            fc_signkey_t k;
            fc_signkey_generate(&k);
            fc_trust_add(trust, k.pk);
        }
        fc_trustlist_t list;
        FC_CHECK(fc_trustlist_from_trust(&list, trust, n) == FC_OK);
        size_t len = 0;
        uint8_t *env = fc_trustlist_seal(&list, key, &len);
        FC_CHECK(env);
        char name[32];
        snprintf(name, sizeof name, "trustlist-%zu", n);
        const uint8_t *body;
        size_t body_len;
        uint8_t signer[FC_PUBKEY_LEN];
        FC_CHECK(fc_envelope_open(env, len, FC_MAX_TRUSTLIST, NULL, &body, &body_len, signer) ==
                 FC_OK);
        s_write(root, "trustlist", name, body, body_len);
        free(env);
        fc_trust_destroy(&trust);
    }
}

/* The objdelta target's input: [base length:u16 be][base][delta]: real deltas of a chunk
   list like object (an entry overwritten, one inserted) and an empty result. */
static void s_objdeltas(const char *root)
{
    uint8_t base[37 * 40], target[37 * 41];
    for (size_t i = 0; i < sizeof base; i++)
        base[i] = (uint8_t)(i * 2654435761u >> 13);
    const struct {
        const char *name;
        size_t tlen;
    } cases[] = {{"overwrite", sizeof base}, {"insert", sizeof target}, {"empty", 0}};
    for (size_t c = 0; c < 3; c++) {
        if (c == 0) {
            memcpy(target, base, sizeof base);
            memset(target + 37 * 7 + 5, 0xee, 32);
        } else if (c == 1) {
            memcpy(target, base, 37 * 3);
            memset(target + 37 * 3, 0xdd, 37);
            memcpy(target + 37 * 4, base + 37 * 3, sizeof base - 37 * 3);
        }
        uint8_t *d = NULL;
        size_t dlen = 0;
        FC_CHECK(fc_objdelta_encode(base, sizeof base, target, cases[c].tlen, &d, &dlen) == FC_OK);
        uint8_t *buf = malloc(2 + sizeof base + dlen);
        FC_CHECK(buf);
        buf[0] = (uint8_t)(sizeof base >> 8);
        buf[1] = (uint8_t)sizeof base;
        memcpy(buf + 2, base, sizeof base);
        memcpy(buf + 2 + sizeof base, d, dlen);
        s_write(root, "objdelta", cases[c].name, buf, 2 + sizeof base + dlen);
        free(buf);
        free(d);
    }
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: fc_fuzz_seed CORPUS_DIR\n");
        return 2;
    }
    const char *root = argv[1];
    FC_CHECK(fc_crypto_init() == 0);
    fc_signkey_t key;
    fc_fuzz_key(&key);

    uint8_t *manifest = NULL, *revision = NULL;
    size_t mlen = s_manifests(root, &key, &manifest);
    size_t rlen = s_revisions(root, &key, &revision);
    for (int t = 1; t < FC_MSG_TYPE_MAX; t++) {
        if (!fc_msg_type_known(t))
            continue;
        fc_msg_t *m = s_filled((fc_msg_type_t)t, manifest, mlen, revision, rlen);
        s_write_msg(root, &m);
    }
    s_trustlists(root, &key);
    s_manifest_parts(root, &key);
    s_objdeltas(root);
    s_write(root, "schema", "schema", s_schema, strlen(s_schema));
    const char *json = "{\"a\": [1, -2.5e3, true, false, null, \"x\\n\\u0041\"], \"b\": {}}";
    s_write(root, "schema", "json", json, strlen(json));
    free(manifest);
    free(revision);
    printf("fc_fuzz_seed: corpora written under %s\n", root);
    return 0;
}
