/* fc_msg_sample.c: sample messages and checks shared by the codec's self-tests. */

#include "fc_msg_sample.h"
#include "fc_error.h"
#include "fc_test_check.h"

#include <stdio.h>
#include <string.h>

void fc_msg_sample_hash(uint8_t *h, uint8_t seed)
{
    for (int i = 0; i < FC_HASH_LEN; i++)
        h[i] = (uint8_t)(seed + i);
}

/* n release-infos with distinct values, including limit-length strings and negative time. */
void fc_msg_sample_releases(fc_msg_t *m, size_t n)
{
    m->releases = (fc_release_info_t *)zmalloc(n * sizeof(fc_release_info_t));
    m->nreleases = n;
    for (size_t i = 0; i < n; i++) {
        fc_release_info_t *r = &m->releases[i];
        char s[FC_MAX_NAME + 1];
        memset(s, 'a' + (int)i, FC_MAX_NAME);
        s[FC_MAX_NAME] = '\0';
        fc_msg_set_str(r->channel, sizeof r->channel, i == 0 ? s : "stable");
        fc_msg_set_str(r->version, sizeof r->version, i == 1 ? "" : "1.2.3");
        r->serial = 100 + i;
        r->size = (1ull << 40) + i;
        r->files = 7 * i;
        r->created = i == 0 ? -5 : 1700000000 + (int64_t)i;
        r->mandatory = i % 2;
    }
}

static void s_add_agents(fc_msg_t *m, size_t n)
{
    m->agents = (fc_agent_status_t *)zmalloc(n * sizeof(fc_agent_status_t));
    m->nagents = n;
    for (size_t i = 0; i < n; i++) {
        fc_agent_status_t *a = &m->agents[i];
        char text[FC_MAX_TEXT + 1];
        memset(text, 'm', FC_MAX_TEXT);
        text[FC_MAX_TEXT] = '\0';
        snprintf(a->id, sizeof a->id, "host-%zu", i);
        fc_msg_set_str(a->channel, sizeof a->channel, "stable");
        fc_msg_set_str(a->version, sizeof a->version, "1.2.3");
        fc_msg_set_str(a->state, sizeof a->state, "downloading");
        fc_msg_set_str(a->message, sizeof a->message, i == 0 ? text : "fine");
        a->done = 1000 * i;
        a->total = UINT64_MAX - i;
        a->last_seen = -(int64_t)i;
    }
}

fc_msg_t *fc_msg_sample(fc_msg_type_t type)
{
    fc_msg_t *m = fc_msg_new(type);
    m->req = 0x1122334455667700ull + type;
    switch (type) {
    case FC_MSG_HELLO:
        m->role = FC_ROLE_AGENT;
        fc_msg_set_str(m->id, sizeof m->id, "host-01");
        fc_msg_set_str(m->channel, sizeof m->channel, "stable");
        break;
    case FC_MSG_WELCOME:
        m->epoch = UINT64_MAX;
        m->seq = 42;
        fc_msg_set_str(m->endpoint, sizeof m->endpoint, "tcp://10.0.0.1:7401");
        m->heartbeat_ms = 1000;
        break;
    case FC_MSG_SNAPSHOT:
        m->epoch = 9;
        m->seq = 10;
        fc_msg_sample_releases(m, 2);
        fc_msg_set_bytes(m, "signed manifest", 15);
        break;
    case FC_MSG_GET_CHUNK:
        fc_msg_sample_hash(m->blob, 1);
        m->offset = 3 * FC_CHUNK_SIZE;
        m->length = FC_CHUNK_SIZE;
        break;
    case FC_MSG_CHUNK:
    case FC_MSG_PUT_CHUNK:
        fc_msg_sample_hash(m->blob, 2);
        m->offset = 1ull << 35;
        m->data = zframe_new("payload", 7);
        if (type == FC_MSG_PUT_CHUNK)
            fc_msg_sample_hash(m->hash, 3);
        break;
    case FC_MSG_UPLOAD_STATE:
        fc_msg_sample_hash(m->blob, 4);
        m->flag = true;
        m->ranges = (fc_range_t *)zmalloc(3 * sizeof(fc_range_t));
        m->nranges = 3;
        for (size_t i = 0; i < 3; i++)
            m->ranges[i] = (fc_range_t){i * FC_CHUNK_SIZE, FC_CHUNK_SIZE - i};
        break;
    case FC_MSG_UPLOAD_QUERY:
    case FC_MSG_BLOB_COMMIT:
    case FC_MSG_PUT_ACK:
        fc_msg_sample_hash(m->blob, 5);
        if (type == FC_MSG_PUT_ACK)
            m->offset = FC_CHUNK_SIZE;
        else
            m->size = 123456789;
        break;
    case FC_MSG_RELEASE_COMMIT:
        fc_msg_set_bytes(m, "\x93\x01\x02\x03", 4);
        break;
    case FC_MSG_BLOBS_QUERY:
    case FC_MSG_OBJECTS_QUERY: {
        uint8_t hashes[3 * FC_HASH_LEN];
        for (uint8_t i = 0; i < 3; i++)
            fc_msg_sample_hash(hashes + i * FC_HASH_LEN, (uint8_t)(6 + i));
        fc_msg_set_bytes(m, hashes, sizeof hashes);
        break;
    }
    case FC_MSG_BLOBS_STATE:
        fc_msg_set_bytes(m, "\x01\x00\x01", 3);
        break;
    case FC_MSG_PUT_BLOBS: {
        /* an empty blob, and one of the largest content allowed */
        uint8_t h[FC_HASH_LEN];
        fc_msg_sample_hash(h, 9);
        fc_msg_put_blob_add(m, h, NULL, 0);
        uint8_t *big = (uint8_t *)zmalloc(FC_MAX_SMALL_BLOB);
        memset(big, 0x5a, FC_MAX_SMALL_BLOB);
        fc_msg_sample_hash(h, 10);
        fc_msg_put_blob_add(m, h, big, FC_MAX_SMALL_BLOB);
        free(big);
        break;
    }
    case FC_MSG_GET_OBJECT:
        fc_msg_sample_hash(m->hash, 15);
        break;
    case FC_MSG_GET_OBJECT_DELTA:
        fc_msg_sample_hash(m->hash, 15);
        fc_msg_sample_hash(m->blob, 17);
        break;
    case FC_MSG_OBJECT_DELTA: /* a result of 10 bytes: the base's first 10 */
        fc_msg_sample_hash(m->hash, 16);
        fc_msg_sample_hash(m->blob, 17);
        fc_msg_set_bytes(m, "\x0a\x01\x00\x0a", 4);
        break;
    case FC_MSG_OBJECT:
    case FC_MSG_PUT_OBJECT:
        fc_msg_sample_hash(m->hash, 16);
        fc_msg_set_bytes(m, "\x91\x92\xce\x00\x01\x00\x00", 7); /* not checked: a codec sample */
        break;
    case FC_MSG_DERIVE_OBJECT:
        fc_msg_sample_hash(m->hash, 16);
        fc_msg_sample_hash(m->blob, 11);
        break;
    case FC_MSG_UPLOAD_PREFIXES: {
        /* three chunks by prefix, the last of the largest length allowed */
        uint8_t h[FC_HASH_LEN];
        fc_msg_sample_hash(m->blob, 11);
        for (uint8_t i = 0; i < 3; i++) {
            uint32_t len = i == 2 ? FC_MAX_CHUNK : 16384u + i;
            fc_msg_sample_hash(h, (uint8_t)(12 + i));
            fc_msg_chunk_prefix_add(m, len, h);
            m->size += len;
        }
        break;
    }
    case FC_MSG_UPLOAD_CHUNKS: {
        /* three chunks, the last of the largest length allowed */
        uint8_t h[FC_HASH_LEN];
        fc_msg_sample_hash(m->blob, 11);
        for (uint8_t i = 0; i < 3; i++) {
            uint32_t len = i == 2 ? FC_MAX_CHUNK : 16384u + i;
            fc_msg_sample_hash(h, (uint8_t)(12 + i));
            fc_msg_chunk_ref_add(m, len, h);
            m->size += len;
        }
        break;
    }
    case FC_MSG_SYNC:
        fc_msg_set_str(m->id, sizeof m->id, "host-7"); /* the optional id, present */
        /* fall through */
    case FC_MSG_LIST:
    case FC_MSG_STATUS:
    case FC_MSG_ROLLOUT_STATUS:
    case FC_MSG_ROLLOUT_PROMOTE:
    case FC_MSG_ROLLOUT_PAUSE:
    case FC_MSG_ROLLOUT_RESUME:
        fc_msg_set_str(m->channel, sizeof m->channel, type == FC_MSG_LIST ? "" : "beta");
        break;
    case FC_MSG_ROLLOUT_PLAN:
        fc_msg_set_str(m->channel, sizeof m->channel, "beta");
        m->serial = 12;
        m->nwaves = 3;
        m->waves[0] = 5;
        m->waves[1] = 25;
        m->waves[2] = 100;
        m->halt_percent = 20;
        m->wave_wait_ms = 600000;
        m->flag = true;
        break;
    case FC_MSG_ROLLOUT_STATUS_REPLY:
        m->rollouts = (fc_rollout_info_t *)zmalloc(2 * sizeof(fc_rollout_info_t));
        m->nrollouts = 2;
        for (size_t i = 0; i < 2; i++) {
            fc_rollout_info_t *r = &m->rollouts[i];
            fc_msg_set_str(r->channel, sizeof r->channel, i ? "beta" : "stable");
            fc_msg_set_str(r->version, sizeof r->version, "2.0");
            fc_msg_set_str(r->prev_version, sizeof r->prev_version, i ? "" : "1.0");
            fc_msg_set_str(r->state, sizeof r->state, i ? "" : "HALTED");
            fc_msg_set_str(r->reason, sizeof r->reason, i ? "" : "2 of 2 failed");
            r->serial = 2 + i;
            r->prev_serial = i ? 0 : 1;
            r->wave = 1;
            r->waves = 3;
            r->percent = 20;
            r->halt_percent = 20;
            r->wave_wait_ms = 5000;
            r->wave_started = -3;
            r->agents = 10, r->offered = 2, r->installed = 3, r->healthy = 4, r->failed = 5;
            r->rolled_back = 6, r->downloading = 7, r->bytes_done = 8, r->bytes_total = 9;
            r->pending = 11, r->not_offered = UINT64_MAX, r->offline = 13;
            fc_msg_set_str(r->cut, sizeof r->cut, i ? "" : "agent-7"); /* optional */
        }
        break;
    case FC_MSG_LIST_REPLY:
        fc_msg_sample_releases(m, 3);
        break;
    case FC_MSG_REPORT:
        s_add_agents(m, 1);
        memset(m->blob, 0xbc, FC_HASH_LEN);
        break;
    case FC_MSG_STATUS_SUMMARY:
        fc_msg_set_str(m->channel, sizeof m->channel, "beta");
        break;
    case FC_MSG_CONFIG_SUMMARY_REPLY:
        m->serial = 4;
    /* fall through */
    case FC_MSG_STATUS_SUMMARY_REPLY:
        m->ncounts = 2;
        m->counts = calloc(2, sizeof *m->counts);
        FC_CHECK(m->counts);
        fc_msg_set_str(m->counts[0].channel, sizeof m->counts[0].channel, "beta");
        fc_msg_set_str(m->counts[0].version, sizeof m->counts[0].version, "2.0");
        fc_msg_set_str(m->counts[0].state, sizeof m->counts[0].state, "downloading");
        m->counts[0].agents = 9000, m->counts[0].offline = 12;
        m->counts[0].done = 1 << 20, m->counts[0].total = 1 << 22;
        fc_msg_set_str(m->counts[1].channel, sizeof m->counts[1].channel, "beta");
        fc_msg_set_str(m->counts[1].state, sizeof m->counts[1].state, "failed");
        fc_msg_set_str(m->counts[1].reason, sizeof m->counts[1].reason, "disk full");
        m->counts[1].agents = 40;
        if (type == FC_MSG_STATUS_SUMMARY_REPLY) { /* CONFIG_SUMMARY_REPLY has no clock */
            m->offline_ms = 30000;
            m->time_ms = 1700000000123ull;
        }
        break;
    case FC_MSG_STATUS_REPLY:
        s_add_agents(m, 2);
        fc_msg_set_str(m->agents[1].via, sizeof m->agents[1].via, "site1"); /* [0]: none */
        m->offline_ms = 30000; /* the optional pair, present */
        m->time_ms = 1700000000123ull;
        break;
    case FC_MSG_OK:
        m->serial = 77;
        break;
    case FC_MSG_CONFIG_ACK: /* the codec refuses a state not in fc_ack.h */
        fc_msg_set_str(m->state, sizeof m->state, "applied");
        break;
    case FC_MSG_ERROR: {
        char text[FC_MAX_TEXT + 1];
        memset(text, 't', FC_MAX_TEXT);
        text[FC_MAX_TEXT] = '\0';
        m->code = UINT32_MAX;
        fc_msg_set_str(m->text, sizeof m->text, text);
        break;
    }
    case FC_MSG_ANNOUNCE:
        m->epoch = 5;
        m->seq = 6;
        fc_msg_set_str(m->channel, sizeof m->channel, "stable");
        m->serial = 8;
        fc_msg_set_str(m->version, sizeof m->version, "2.0.0");
        break;
    case FC_MSG_HEARTBEAT:
        m->epoch = 5;
        m->seq = 7;
        m->time_ms = 1700000000123ull;
        memset(m->sig, 0x5a, FC_SIG_LEN);
        break;
    case FC_MSG_TRUST_PUSH:
        fc_msg_set_bytes(m, "sealed list", 11);
        break;
    case FC_MSG_GET_TRUST:
        m->serial = 3;
        break;
    case FC_MSG_RELAY_KEYS:
        fc_msg_set_str(m->cursor, sizeof m->cursor, FC_MSG_SAMPLE_KEY_A);
        break;
    case FC_MSG_RELAY_KEYS_REPLY:
        m->serial = 0xfedcba9876543210ull;
        m->more = true;
        fc_msg_relay_key_add(m, FC_MSG_SAMPLE_KEY_A);
        fc_msg_relay_key_add(m, FC_MSG_SAMPLE_KEY_B);
        break;
    case FC_MSG_TRUST:
        m->serial = 4;
        fc_msg_set_bytes(m, "sealed list 4", 13);
        break;
    case FC_MSG_TRUST_ANNOUNCE:
        m->epoch = 5;
        m->seq = 9;
        m->serial = 4;
        break;
    case FC_MSG_CONFIG_AGENTS:
        fc_msg_set_str(m->text, sizeof m->text, "group:web");
        break;
    case FC_MSG_RELEASE_GET:
    case FC_MSG_RELEASE_PRUNE:
        fc_msg_set_str(m->channel, sizeof m->channel, "stable");
        m->serial = type == FC_MSG_RELEASE_GET ? 12 : 3;
        break;
    case FC_MSG_RELAY_REPORTS: { /* a REPORT and a CONFIG_ACK, as their agents sent them */
        fc_msg_set_str(m->text, sizeof m->text, "site1");
        m->items = (fc_item_t *)zmalloc(2 * sizeof(fc_item_t));
        for (int i = 0; i < 2; i++) {
            fc_msg_t *item = fc_msg_sample(i ? FC_MSG_CONFIG_ACK : FC_MSG_REPORT);
            zmsg_t *msg = fc_msg_encode(item);
            fc_msg_destroy(&item);
            zframe_t *f = zmsg_first(msg);
            m->items[i].len = zframe_size(f);
            m->items[i].data = (uint8_t *)zmalloc(m->items[i].len);
            memcpy(m->items[i].data, zframe_data(f), m->items[i].len);
            zmsg_destroy(&msg);
        }
        m->nitems = 2;
        break;
    }
    case FC_MSG_RELAY_SLOT:
        fc_msg_set_str(m->id, sizeof m->id, "a1");
        fc_msg_set_str(m->group, sizeof m->group, "wave");
        fc_msg_set_str(m->text, sizeof m->text, "site1");
        m->serial = 9;
        break;
    default:
        break;
    }
    return m;
}

static bool s_items_equal(const fc_msg_t *a, const fc_msg_t *b)
{
    if (a->nitems != b->nitems)
        return false;
    for (size_t i = 0; i < a->nitems; i++) {
        if (a->items[i].len != b->items[i].len)
            return false;
        if (a->items[i].len && memcmp(a->items[i].data, b->items[i].data, a->items[i].len))
            return false;
        if (!a->items[i].len && (a->items[i].data || b->items[i].data))
            return false; /* empty items carry no buffer */
    }
    return true;
}

/* zmalloc zeroes both sides, so whole-struct compares of the fixed-size list entries are
   exact. */
bool fc_msg_equal(const fc_msg_t *a, const fc_msg_t *b)
{
    bool data_eq = (!a->data && !b->data) || (a->data && b->data && zframe_eq(a->data, b->data));
    return a->type == b->type && a->req == b->req && a->role == b->role && !strcmp(a->id, b->id) &&
           !strcmp(a->group, b->group) && !strcmp(a->state, b->state) &&
           !strcmp(a->channel, b->channel) && !strcmp(a->version, b->version) &&
           !strcmp(a->endpoint, b->endpoint) && !strcmp(a->text, b->text) && a->epoch == b->epoch &&
           a->seq == b->seq && a->serial == b->serial && a->offset == b->offset &&
           a->length == b->length && a->size == b->size && a->heartbeat_ms == b->heartbeat_ms &&
           a->code == b->code && a->flag == b->flag && !memcmp(a->blob, b->blob, FC_HASH_LEN) &&
           !memcmp(a->hash, b->hash, FC_HASH_LEN) && a->bytes_len == b->bytes_len &&
           (a->bytes_len == 0 || !memcmp(a->bytes, b->bytes, a->bytes_len)) && data_eq &&
           a->nranges == b->nranges &&
           (!a->nranges || !memcmp(a->ranges, b->ranges, a->nranges * sizeof(fc_range_t))) &&
           a->nreleases == b->nreleases &&
           (!a->nreleases ||
            !memcmp(a->releases, b->releases, a->nreleases * sizeof(fc_release_info_t))) &&
           a->time_ms == b->time_ms && !memcmp(a->sig, b->sig, FC_SIG_LEN) &&
           a->nagents == b->nagents &&
           (!a->nagents || !memcmp(a->agents, b->agents, a->nagents * sizeof(fc_agent_status_t))) &&
           s_items_equal(a, b) && a->naudit == b->naudit &&
           (!a->naudit || !memcmp(a->audit, b->audit, a->naudit * sizeof(fc_audit_entry_t))) &&
           a->nwaves == b->nwaves && !memcmp(a->waves, b->waves, sizeof a->waves) &&
           a->halt_percent == b->halt_percent && a->wave_wait_ms == b->wave_wait_ms &&
           a->offline_ms == b->offline_ms && a->limit == b->limit &&
           !strcmp(a->cursor, b->cursor) && a->more == b->more && a->ncounts == b->ncounts &&
           (!a->ncounts || !memcmp(a->counts, b->counts, a->ncounts * sizeof(fc_fleet_count_t))) &&
           a->nrollouts == b->nrollouts &&
           (!a->nrollouts ||
            !memcmp(a->rollouts, b->rollouts, a->nrollouts * sizeof(fc_rollout_info_t)));
}

fc_msg_t *fc_msg_accept(zmsg_t *msg)
{
    int err = -1;
    fc_msg_t *m = fc_msg_decode(&msg, &err);
    FC_CHECK(m && !msg && err == FC_OK);
    return m;
}

void fc_msg_reject(zmsg_t *msg, int want)
{
    int err = -1;
    fc_msg_t *m = fc_msg_decode(&msg, &err);
    FC_CHECK(!m && !msg);
    FC_CHECK(err == want);
}
