/* fc_msg.c: encodes and decodes every service and announce message (fc_msg_io.c sends them). */
#include "fc_msg.h"
#include "fc_ack.h"
#include "fc_error.h"
#include "fc_manifest.h"
#include "fc_mpack.h"
#include "fc_role.h"
#include "fc_rollout_state.h"
#include "fc_state.h"
#include "fc_text.h"

#include <assert.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

/* Deepest legal nesting: message array > list > entry (release-info, agent-status, range,
   audit-entry). */
#define S_MAX_DEPTH 3
/* Most objects a legal message holds: UPLOAD_STATE with FC_MAX_RANGES ranges of three objects
   each, plus its few scalars. Bounds what msgpack-c allocates (24 bytes per object) at a few
   MB whatever the frame claims. */
#define S_MAX_OBJECTS (16 + 3 * (size_t)FC_MAX_RANGES)
#define S_ZONE_CHUNK 8192
/* Most fields a message type has after its header. */
#define S_MAX_FIELDS 8

/* One field of a message or compound struct, in wire order. Encoder and decoder both walk
   these tables, so the two can never disagree about a layout. */
typedef enum {
    F_END = 0,
    F_STR,      /* char[size]: msgpack str of at most size - 1 bytes */
    F_ROLE,     /* fc_role_t: msgpack str, a name from fc_role.h; any other is malformed */
    F_U64,      /* uint64_t: non-negative int */
    F_U32,      /* uint32_t: non-negative int <= UINT32_MAX */
    F_I64,      /* int64_t: any int */
    F_BOOL,     /* bool */
    F_HASH,     /* uint8_t[FC_HASH_LEN]: bin of exactly 32 */
    F_BYTES,    /* fc_msg_t bytes/bytes_len: bin of at most size */
    F_RANGES,   /* fc_msg_t ranges: [[offset, length]] of at most size */
    F_RELEASES, /* fc_msg_t releases: [release-info] of at most size */
    F_AGENTS,   /* fc_msg_t agents: [agent-status] of at most size */
    F_ITEMS,    /* fc_msg_t items: [bin of at most FC_MAX_REVISION] of at most size */
    F_AUDIT,    /* fc_msg_t audit: [audit-entry] of at most size */
    F_OPTBOOL,  /* bool, last field only, left off the wire when false: OK gained its flag
                   (RESTART_SLOT grants) after release 1, and an OK without it must keep
                   the exact bytes older peers expect */
    F_OPTBYTES, /* fc_msg_t bytes/bytes_len, last field only, left off the wire when empty:
                   CONFIG_ANNOUNCE gained the revision itself after release 1, and agents
                   that predate it must still decode announcements without it */
    F_OPTU64,   /* uint64_t, first of an optional trailing group, which is left off the wire
                   (all of it) when this is 0: HEARTBEAT gained its signed timestamp
                   [time_ms, sig] after release 1 */
    F_SIG,      /* uint8_t[FC_SIG_LEN]: bin of exactly 64 (only inside an optional group) */
    F_HASH0,    /* uint8_t[FC_HASH_LEN]: bin of exactly 32, or an empty bin for "none" (all
                   zero in the struct: no BLAKE2b-256 output is 32 zero bytes in practice) */
    F_OPTSTR,   /* char[size], last field only, left off the wire when empty: SYNC gained the
                   asking agent's id (its rollout wave) after release 1 */
    F_WAVES,    /* fc_msg_t waves/nwaves: [u32] of at most size */
    F_ROLLOUTS, /* fc_msg_t rollouts: [rollout-info] of at most size */
    F_COUNTS,   /* fc_msg_t counts: [fleet-count] of at most size */
} s_kind_t;

typedef struct {
    s_kind_t kind;
    size_t off;  /* offset of the member in its struct */
    size_t size; /* F_STR: buffer size; lists and bytes: the limit */
    long want;   /* lists: exact count required, or -1 */
} s_field_t;

/* Brace initializers, one per line: clang-format would spread each over five lines. */
/* clang-format off */
#define S_SIZEOF(T, f) sizeof(((T *)0)->f)
#define S_STR(T, f) {F_STR, offsetof(T, f), S_SIZEOF(T, f), -1}
#define S_U64(T, f) {F_U64, offsetof(T, f), 0, -1}
#define S_U32(T, f) {F_U32, offsetof(T, f), 0, -1}
#define S_I64(T, f) {F_I64, offsetof(T, f), 0, -1}
#define S_BOOL(T, f) {F_BOOL, offsetof(T, f), 0, -1}
#define S_HASH(T, f) {F_HASH, offsetof(T, f), 0, -1}
#define S_OPTSTR(T, f) {F_OPTSTR, offsetof(T, f), S_SIZEOF(T, f), -1}
#define M_STR(f) S_STR(fc_msg_t, f)
#define M_ROLE(f) {F_ROLE, offsetof(fc_msg_t, f), 0, -1}
#define M_U64(f) S_U64(fc_msg_t, f)
#define M_HASH(f) S_HASH(fc_msg_t, f)
#define M_MANIFEST {F_BYTES, 0, FC_MAX_MANIFEST, -1}
#define M_RELEASES {F_RELEASES, 0, FC_MAX_LIST, -1}
#define M_AGENTS {F_AGENTS, 0, FC_MAX_LIST, -1}
#define M_BOOL(f) S_BOOL(fc_msg_t, f)
#define M_REVISION {F_BYTES, 0, FC_MAX_REVISION, -1}
#define M_ITEMS {F_ITEMS, 0, FC_MAX_SNAPSHOT, -1}
#define M_AUDIT {F_AUDIT, 0, FC_MAX_LIST, -1}
#define M_TRUSTLIST {F_BYTES, 0, FC_MAX_TRUSTLIST, -1}
/* Paging (issue 19): an optional group led by the page size a list request asks for. */
#define M_LIMIT {F_OPTU64, offsetof(fc_msg_t, limit), 0, -1}
/* clang-format on */

/* release-info = [channel, version, serial, size, files, created, mandatory] */
static const s_field_t s_release_fields[] = {
    S_STR(fc_release_info_t, channel),    S_STR(fc_release_info_t, version),
    S_U64(fc_release_info_t, serial),     S_U64(fc_release_info_t, size),
    S_U64(fc_release_info_t, files),      S_I64(fc_release_info_t, created),
    S_BOOL(fc_release_info_t, mandatory), {F_END, 0, 0, -1}};

/* agent-status = [id, channel, version, state, message, done, total, last_seen, (via)] */
static const s_field_t s_agent_fields[] = {
    S_STR(fc_agent_status_t, id),
    S_STR(fc_agent_status_t, channel),
    S_STR(fc_agent_status_t, version),
    S_STR(fc_agent_status_t, state),
    S_STR(fc_agent_status_t, message),
    S_U64(fc_agent_status_t, done),
    S_U64(fc_agent_status_t, total),
    S_I64(fc_agent_status_t, last_seen),
    {F_OPTSTR, offsetof(fc_agent_status_t, via), S_SIZEOF(fc_agent_status_t, via), -1},
    {F_END, 0, 0, -1}};

/* fleet-count = [channel, version, state, reason, agents, offline, done, total] */
static const s_field_t s_count_fields[] = {S_STR(fc_fleet_count_t, channel),
                                           S_STR(fc_fleet_count_t, version),
                                           S_STR(fc_fleet_count_t, state),
                                           S_STR(fc_fleet_count_t, reason),
                                           S_U64(fc_fleet_count_t, agents),
                                           S_U64(fc_fleet_count_t, offline),
                                           S_U64(fc_fleet_count_t, done),
                                           S_U64(fc_fleet_count_t, total),
                                           {F_END, 0, 0, -1}};

/* audit-entry = [time, who, action, detail, result] */
static const s_field_t s_audit_fields[] = {
    S_I64(fc_audit_entry_t, time),   S_STR(fc_audit_entry_t, who),
    S_STR(fc_audit_entry_t, action), S_STR(fc_audit_entry_t, detail),
    S_STR(fc_audit_entry_t, result), {F_END, 0, 0, -1}};

/* rollout-info = [channel, version, serial, prev_version, prev_serial, state, reason, wave,
   waves, percent, halt_percent, wave_wait_ms, wave_started, agents, offered, installed,
   healthy, failed, rolled_back, downloading, bytes_done, bytes_total, pending, not_offered,
   offline, (cut)] */
#define S_RO(kind, f) kind(fc_rollout_info_t, f)
static const s_field_t s_rollout_fields[] = {
    S_RO(S_STR, channel),      S_RO(S_STR, version),      S_RO(S_U64, serial),
    S_RO(S_STR, prev_version), S_RO(S_U64, prev_serial),  S_RO(S_STR, state),
    S_RO(S_STR, reason),       S_RO(S_U32, wave),         S_RO(S_U32, waves),
    S_RO(S_U32, percent),      S_RO(S_U32, halt_percent), S_RO(S_U64, wave_wait_ms),
    S_RO(S_I64, wave_started), S_RO(S_U64, agents),       S_RO(S_U64, offered),
    S_RO(S_U64, installed),    S_RO(S_U64, healthy),      S_RO(S_U64, failed),
    S_RO(S_U64, rolled_back),  S_RO(S_U64, downloading),  S_RO(S_U64, bytes_done),
    S_RO(S_U64, bytes_total),  S_RO(S_U64, pending),      S_RO(S_U64, not_offered),
    S_RO(S_U64, offline),      S_RO(S_OPTSTR, cut),       {F_END, 0, 0, -1}};
#undef S_RO

/* Each type's fields after [version, type, req], as docs/PROTOCOL.md lists them (section 3,
   and "Runtime configuration" for types 22-31).
   Unlisted entries are zero, i.e. F_END. */
static const s_field_t s_layouts[FC_MSG_TYPE_MAX][S_MAX_FIELDS] = {
    [FC_MSG_HELLO] = {M_ROLE(role), M_STR(id), M_STR(channel)},
    [FC_MSG_WELCOME] = {M_U64(epoch), M_U64(seq), M_STR(endpoint), M_U64(heartbeat_ms)},
    [FC_MSG_SYNC] = {M_STR(channel),
                     {F_OPTSTR, offsetof(fc_msg_t, id), S_SIZEOF(fc_msg_t, id), -1}},
    [FC_MSG_SNAPSHOT] = {M_U64(epoch), M_U64(seq), M_RELEASES, M_MANIFEST},
    [FC_MSG_GET_CHUNK] = {M_HASH(blob), M_U64(offset), M_U64(length)},
    [FC_MSG_CHUNK] = {M_HASH(blob), M_U64(offset)},
    [FC_MSG_UPLOAD_QUERY] = {M_HASH(blob), M_U64(size)},
    [FC_MSG_UPLOAD_STATE] = {M_HASH(blob),
                             S_BOOL(fc_msg_t, flag),
                             {F_RANGES, 0, FC_MAX_RANGES, -1}},
    [FC_MSG_PUT_CHUNK] = {M_HASH(blob), M_U64(offset), M_HASH(hash)},
    [FC_MSG_PUT_ACK] = {M_HASH(blob), M_U64(offset)},
    [FC_MSG_BLOB_COMMIT] = {M_HASH(blob), M_U64(size)},
    [FC_MSG_RELEASE_COMMIT] = {M_MANIFEST},
    [FC_MSG_LIST] = {M_STR(channel), M_LIMIT, M_STR(cursor), M_STR(state)},
    [FC_MSG_LIST_REPLY] = {M_RELEASES, M_LIMIT, M_BOOL(more), M_STR(cursor)},
    /* exactly the agent's own status; the blob it found corrupt at the broker, if any */
    [FC_MSG_REPORT] = {{F_AGENTS, 0, 1, 1}, {F_HASH0, offsetof(fc_msg_t, blob), 0, -1}},
    [FC_MSG_STATUS] = {M_STR(channel), M_LIMIT, M_STR(cursor), M_STR(state)},
    [FC_MSG_STATUS_REPLY] = {M_AGENTS,
                             {F_OPTU64, offsetof(fc_msg_t, offline_ms), 0, -1},
                             M_U64(time_ms),
                             M_LIMIT,
                             M_BOOL(more)},
    [FC_MSG_OK] = {M_U64(serial), {F_OPTBOOL, offsetof(fc_msg_t, flag), 0, -1}},
    [FC_MSG_ERROR] = {S_U32(fc_msg_t, code), M_STR(text)},
    [FC_MSG_ANNOUNCE] = {M_U64(epoch), M_U64(seq), M_STR(channel), M_U64(serial), M_STR(version)},
    [FC_MSG_HEARTBEAT] = {M_U64(epoch),
                          M_U64(seq),
                          {F_OPTU64, offsetof(fc_msg_t, time_ms), 0, -1},
                          {F_SIG, offsetof(fc_msg_t, sig), 0, -1},
                          /* a relay's: the root's stamp carried through (issue 16) */
                          {F_OPTU64, offsetof(fc_msg_t, root_epoch), 0, -1},
                          M_U64(root_seq),
                          M_U64(root_time_ms),
                          {F_SIG, offsetof(fc_msg_t, root_sig), 0, -1}},
    [FC_MSG_CONFIG_PUSH] = {M_REVISION},
    [FC_MSG_CONFIG_SYNC] = {M_STR(id), M_STR(group), M_U64(serial)},
    [FC_MSG_CONFIG_SNAPSHOT] = {M_U64(epoch),
                                M_U64(seq),
                                M_U64(serial),
                                M_BOOL(flag),
                                M_ITEMS,
                                {F_OPTBYTES, 0, FC_MAX_LIST * 8, -1}},
    [FC_MSG_CONFIG_ACK] = {M_STR(id), M_STR(group), M_U64(serial), M_STR(state), M_STR(text)},
    [FC_MSG_CONFIG_STATUS] = {M_U64(serial), M_LIMIT, M_STR(cursor), M_STR(state)},
    [FC_MSG_CONFIG_STATUS_REPLY] = {M_U64(serial),
                                    M_BOOL(flag),
                                    M_STR(text),
                                    M_AGENTS,
                                    {F_OPTU64, offsetof(fc_msg_t, offline_ms), 0, -1},
                                    M_U64(time_ms),
                                    M_LIMIT,
                                    M_BOOL(more)},
    [FC_MSG_RESTART_SLOT] = {M_STR(id), M_STR(group), M_U64(serial)},
    [FC_MSG_AUDIT] = {M_U64(serial), M_LIMIT, M_STR(cursor), M_STR(state)},
    [FC_MSG_AUDIT_REPLY] = {M_AUDIT, M_LIMIT, M_BOOL(more), M_STR(cursor)},
    [FC_MSG_CONFIG_ANNOUNCE] = {M_U64(epoch),
                                M_U64(seq),
                                M_U64(serial),
                                M_STR(text),
                                {F_OPTBYTES, 0, FC_MAX_REVISION, -1}},
    [FC_MSG_TRUST_PUSH] = {M_TRUSTLIST},
    [FC_MSG_GET_TRUST] = {M_U64(serial)},
    [FC_MSG_TRUST] = {M_U64(serial), M_TRUSTLIST},
    [FC_MSG_TRUST_ANNOUNCE] = {M_U64(epoch), M_U64(seq), M_U64(serial)},
    [FC_MSG_RELEASE_GET] = {M_STR(channel), M_U64(serial)},
    [FC_MSG_RELEASE_PRUNE] = {M_STR(channel), M_U64(serial)},
    [FC_MSG_CONFIG_AGENTS] = {M_STR(text), M_LIMIT, M_STR(cursor)},
    [FC_MSG_ROLLOUT_PLAN] = {M_STR(channel),
                             M_U64(serial),
                             {F_WAVES, 0, FC_MAX_WAVES, -1},
                             S_U32(fc_msg_t, halt_percent),
                             M_U64(wave_wait_ms),
                             M_BOOL(flag)},
    [FC_MSG_ROLLOUT_STATUS] = {M_STR(channel)},
    [FC_MSG_ROLLOUT_STATUS_REPLY] = {{F_ROLLOUTS, 0, FC_MAX_LIST, -1}},
    [FC_MSG_ROLLOUT_PROMOTE] = {M_STR(channel)},
    [FC_MSG_ROLLOUT_PAUSE] = {M_STR(channel)},
    [FC_MSG_ROLLOUT_RESUME] = {M_STR(channel)},
    [FC_MSG_BLOBS_QUERY] = {{F_BYTES, 0, FC_MAX_BLOB_BATCH *FC_HASH_LEN, -1}},
    [FC_MSG_BLOBS_STATE] = {{F_BYTES, 0, FC_MAX_BLOB_BATCH, -1}},
    [FC_MSG_PUT_BLOBS] = {{F_ITEMS, 0, FC_MAX_BLOB_BATCH, -1}},
    [FC_MSG_UPLOAD_CHUNKS] = {M_HASH(blob),
                              M_U64(size),
                              {F_BYTES, 0, FC_MAX_UPLOAD_CHUNKS *FC_CHUNK_REF_LEN, -1}},
    [FC_MSG_STATUS_SUMMARY] = {M_STR(channel), M_LIMIT},
    [FC_MSG_STATUS_SUMMARY_REPLY] = {{F_COUNTS, 0, FC_MAX_LIST, -1},
                                     M_U64(offline_ms),
                                     M_U64(time_ms),
                                     {F_OPTU64, offsetof(fc_msg_t, left_out), 0, -1},
                                     M_U64(groups_left_out),
                                     M_U64(agents_left_out)},
    [FC_MSG_CONFIG_SUMMARY] = {M_U64(serial)},
    [FC_MSG_CONFIG_SUMMARY_REPLY] =
        {M_U64(serial), M_BOOL(flag), M_STR(text), {F_COUNTS, 0, FC_MAX_LIST, -1}},
    [FC_MSG_GET_OBJECT] = {M_HASH(hash)},
    [FC_MSG_OBJECT] = {M_HASH(hash), {F_BYTES, 0, FC_MAX_OBJECT, -1}},
    [FC_MSG_PUT_OBJECT] = {M_HASH(hash), {F_BYTES, 0, FC_MAX_OBJECT, -1}},
    [FC_MSG_GET_OBJECT_DELTA] = {M_HASH(hash), M_HASH(blob)},
    [FC_MSG_OBJECT_DELTA] = {M_HASH(hash), M_HASH(blob), {F_BYTES, 0, FC_MAX_OBJECT, -1}},
    [FC_MSG_OBJECTS_QUERY] = {{F_BYTES, 0, FC_MAX_BLOB_BATCH *FC_HASH_LEN, -1}},
    [FC_MSG_DERIVE_OBJECT] = {M_HASH(hash), M_HASH(blob)},
    [FC_MSG_UPLOAD_PREFIXES] = {M_HASH(blob),
                                M_U64(size),
                                {F_BYTES, 0, FC_MAX_UPLOAD_CHUNKS *FC_CHUNK_PREF_LEN, -1}},
    [FC_MSG_RELAY_KEYS] = {M_STR(cursor)},
    [FC_MSG_RELAY_KEYS_REPLY] = {M_U64(serial),
                                 M_BOOL(more),
                                 {F_BYTES, 0, FC_MAX_LIST *FC_MSG_KEY_Z85_LEN, -1}},
    [FC_MSG_RELAY_REPORTS] = {M_STR(text), {F_ITEMS, 0, FC_MAX_LIST, -1}},
    [FC_MSG_RELAY_SLOT] = {M_STR(id), M_STR(group), M_U64(serial), M_STR(text)},
};

static const char *s_names[FC_MSG_TYPE_MAX] = {
    [FC_MSG_HELLO] = "HELLO",
    [FC_MSG_WELCOME] = "WELCOME",
    [FC_MSG_SYNC] = "SYNC",
    [FC_MSG_SNAPSHOT] = "SNAPSHOT",
    [FC_MSG_GET_CHUNK] = "GET_CHUNK",
    [FC_MSG_CHUNK] = "CHUNK",
    [FC_MSG_UPLOAD_QUERY] = "UPLOAD_QUERY",
    [FC_MSG_UPLOAD_STATE] = "UPLOAD_STATE",
    [FC_MSG_PUT_CHUNK] = "PUT_CHUNK",
    [FC_MSG_PUT_ACK] = "PUT_ACK",
    [FC_MSG_BLOB_COMMIT] = "BLOB_COMMIT",
    [FC_MSG_RELEASE_COMMIT] = "RELEASE_COMMIT",
    [FC_MSG_LIST] = "LIST",
    [FC_MSG_LIST_REPLY] = "LIST_REPLY",
    [FC_MSG_REPORT] = "REPORT",
    [FC_MSG_STATUS] = "STATUS",
    [FC_MSG_STATUS_REPLY] = "STATUS_REPLY",
    [FC_MSG_OK] = "OK",
    [FC_MSG_ERROR] = "ERROR",
    [FC_MSG_ANNOUNCE] = "ANNOUNCE",
    [FC_MSG_HEARTBEAT] = "HEARTBEAT",
    [FC_MSG_CONFIG_PUSH] = "CONFIG_PUSH",
    [FC_MSG_CONFIG_SYNC] = "CONFIG_SYNC",
    [FC_MSG_CONFIG_SNAPSHOT] = "CONFIG_SNAPSHOT",
    [FC_MSG_CONFIG_ACK] = "CONFIG_ACK",
    [FC_MSG_CONFIG_STATUS] = "CONFIG_STATUS",
    [FC_MSG_CONFIG_STATUS_REPLY] = "CONFIG_STATUS_REPLY",
    [FC_MSG_RESTART_SLOT] = "RESTART_SLOT",
    [FC_MSG_AUDIT] = "AUDIT",
    [FC_MSG_AUDIT_REPLY] = "AUDIT_REPLY",
    [FC_MSG_CONFIG_ANNOUNCE] = "CONFIG_ANNOUNCE",
    [FC_MSG_TRUST_PUSH] = "TRUST_PUSH",
    [FC_MSG_GET_TRUST] = "GET_TRUST",
    [FC_MSG_TRUST] = "TRUST",
    [FC_MSG_TRUST_ANNOUNCE] = "TRUST_ANNOUNCE",
    [FC_MSG_RELEASE_GET] = "RELEASE_GET",
    [FC_MSG_RELEASE_PRUNE] = "RELEASE_PRUNE",
    [FC_MSG_CONFIG_AGENTS] = "CONFIG_AGENTS",
    [FC_MSG_ROLLOUT_PLAN] = "ROLLOUT_PLAN",
    [FC_MSG_ROLLOUT_STATUS] = "ROLLOUT_STATUS",
    [FC_MSG_ROLLOUT_STATUS_REPLY] = "ROLLOUT_STATUS_REPLY",
    [FC_MSG_ROLLOUT_PROMOTE] = "ROLLOUT_PROMOTE",
    [FC_MSG_ROLLOUT_PAUSE] = "ROLLOUT_PAUSE",
    [FC_MSG_ROLLOUT_RESUME] = "ROLLOUT_RESUME",
    [FC_MSG_BLOBS_QUERY] = "BLOBS_QUERY",
    [FC_MSG_BLOBS_STATE] = "BLOBS_STATE",
    [FC_MSG_PUT_BLOBS] = "PUT_BLOBS",
    [FC_MSG_UPLOAD_CHUNKS] = "UPLOAD_CHUNKS",
    [FC_MSG_STATUS_SUMMARY] = "STATUS_SUMMARY",
    [FC_MSG_STATUS_SUMMARY_REPLY] = "STATUS_SUMMARY_REPLY",
    [FC_MSG_CONFIG_SUMMARY] = "CONFIG_SUMMARY",
    [FC_MSG_CONFIG_SUMMARY_REPLY] = "CONFIG_SUMMARY_REPLY",
    [FC_MSG_GET_OBJECT] = "GET_OBJECT",
    [FC_MSG_OBJECT] = "OBJECT",
    [FC_MSG_PUT_OBJECT] = "PUT_OBJECT",
    [FC_MSG_GET_OBJECT_DELTA] = "GET_OBJECT_DELTA",
    [FC_MSG_OBJECT_DELTA] = "OBJECT_DELTA",
    [FC_MSG_OBJECTS_QUERY] = "OBJECTS_QUERY",
    [FC_MSG_DERIVE_OBJECT] = "DERIVE_OBJECT",
    [FC_MSG_UPLOAD_PREFIXES] = "UPLOAD_PREFIXES",
    [FC_MSG_RELAY_KEYS] = "RELAY_KEYS",
    [FC_MSG_RELAY_KEYS_REPLY] = "RELAY_KEYS_REPLY",
    [FC_MSG_RELAY_REPORTS] = "RELAY_REPORTS",
    [FC_MSG_RELAY_SLOT] = "RELAY_SLOT",
};

bool fc_msg_agent_offline(const fc_msg_t *reply, const fc_agent_status_t *agent)
{
    return reply->offline_ms && reply->time_ms && agent->last_seen >= 0 &&
           (uint64_t)agent->last_seen * 1000 + reply->offline_ms < reply->time_ms;
}

const char *fc_msg_page_check(const fc_msg_t *req, size_t *limit)
{
    *limit = req->limit == 0 || req->limit > FC_MAX_LIST ? FC_MAX_LIST : (size_t)req->limit;
    if (*req->cursor && !fc_name_valid(req->cursor))
        return "invalid cursor: not an agent id (the last id of the previous page)";
    if (!req->limit && (*req->cursor || *req->state))
        return "a cursor or state without a limit: paging needs a limit of 1 or more";
    return NULL;
}

bool fc_msg_waves_valid(const uint32_t *waves, size_t n)
{
    if (n == 0 || n > FC_MAX_WAVES || waves[n - 1] != 100)
        return false;
    for (size_t i = 0; i < n; i++)
        if (waves[i] < 1 || waves[i] > 100 || (i > 0 && waves[i] <= waves[i - 1]))
            return false;
    return true;
}

static bool s_known(uint64_t type)
{
    return type >= FC_MSG_HELLO && type < FC_MSG_TYPE_MAX && s_names[type];
}

bool fc_msg_type_known(int type)
{
    return type >= 0 && s_known((uint64_t)type);
}

void fc_msg_set_halted(fc_msg_t *self, const uint64_t *revs, size_t n)
{
    if (n > FC_MAX_LIST)
        n = FC_MAX_LIST;
    uint8_t *buf = n ? malloc(n * 8) : NULL;
    for (size_t i = 0; buf && i < n; i++)
        for (int b = 0; b < 8; b++)
            buf[i * 8 + b] = (uint8_t)(revs[i] >> (56 - 8 * b));
    fc_msg_set_bytes(self, buf, buf ? n * 8 : 0);
    free(buf);
}

int fc_msg_halted(const fc_msg_t *self, uint64_t *revs, size_t max, size_t *n)
{
    *n = 0;
    if (self->bytes_len % 8 != 0 || self->bytes_len / 8 > FC_MAX_LIST)
        return FC_EPROTO;
    uint64_t prev = 0;
    for (size_t i = 0; i < self->bytes_len / 8; i++) {
        uint64_t v = 0;
        for (int b = 0; b < 8; b++)
            v = v << 8 | self->bytes[i * 8 + b];
        if (v <= prev) { /* ascending, each at least 1 */
            *n = 0;
            return FC_EPROTO;
        }
        prev = v;
        if (*n < max)
            revs[(*n)++] = v;
    }
    return FC_OK;
}

void fc_msg_put_blob_add(fc_msg_t *self, const uint8_t blob[FC_HASH_LEN], const void *data,
                         size_t len)
{
    self->items = (fc_item_t *)realloc(self->items, (self->nitems + 1) * sizeof *self->items);
    assert(self->items); /* out of memory aborts, like zmalloc */
    fc_item_t *item = &self->items[self->nitems++];
    item->len = FC_HASH_LEN + len;
    item->data = (uint8_t *)zmalloc(item->len);
    memcpy(item->data, blob, FC_HASH_LEN);
    if (len)
        memcpy(item->data + FC_HASH_LEN, data, len);
}

void fc_msg_put_blob_get(const fc_msg_t *self, size_t i, const uint8_t **blob, const uint8_t **data,
                         size_t *len)
{
    const fc_item_t *item = &self->items[i];
    *blob = item->data;
    *data = item->data + FC_HASH_LEN;
    *len = item->len - FC_HASH_LEN;
}

size_t fc_msg_blobs_count(const fc_msg_t *self)
{
    return self->bytes_len / FC_HASH_LEN;
}

const uint8_t *fc_msg_blobs_hash(const fc_msg_t *self, size_t i)
{
    return self->bytes + i * FC_HASH_LEN;
}

void fc_msg_chunk_ref_add(fc_msg_t *self, uint32_t length, const uint8_t hash[FC_HASH_LEN])
{
    self->bytes = (uint8_t *)realloc(self->bytes, self->bytes_len + FC_CHUNK_REF_LEN);
    assert(self->bytes); /* out of memory aborts, like zmalloc */
    uint8_t *p = self->bytes + self->bytes_len;
    p[0] = (uint8_t)(length >> 24), p[1] = (uint8_t)(length >> 16);
    p[2] = (uint8_t)(length >> 8), p[3] = (uint8_t)length;
    memcpy(p + 4, hash, FC_HASH_LEN);
    self->bytes_len += FC_CHUNK_REF_LEN;
}

size_t fc_msg_chunk_ref_count(const fc_msg_t *self)
{
    return self->bytes_len / FC_CHUNK_REF_LEN;
}

uint32_t fc_msg_chunk_ref_get(const fc_msg_t *self, size_t i, const uint8_t **hash)
{
    const uint8_t *p = self->bytes + i * FC_CHUNK_REF_LEN;
    *hash = p + 4;
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

void fc_msg_chunk_prefix_add(fc_msg_t *self, uint32_t length, const uint8_t hash[FC_HASH_LEN])
{
    self->bytes = (uint8_t *)realloc(self->bytes, self->bytes_len + FC_CHUNK_PREF_LEN);
    assert(self->bytes); /* out of memory aborts, like zmalloc */
    uint8_t *p = self->bytes + self->bytes_len;
    p[0] = (uint8_t)(length >> 24), p[1] = (uint8_t)(length >> 16);
    p[2] = (uint8_t)(length >> 8), p[3] = (uint8_t)length;
    memcpy(p + 4, hash, FC_CHUNK_PREFIX);
    self->bytes_len += FC_CHUNK_PREF_LEN;
}

size_t fc_msg_chunk_prefix_count(const fc_msg_t *self)
{
    return self->bytes_len / FC_CHUNK_PREF_LEN;
}

uint32_t fc_msg_chunk_prefix_get(const fc_msg_t *self, size_t i, const uint8_t **prefix)
{
    const uint8_t *p = self->bytes + i * FC_CHUNK_PREF_LEN;
    *prefix = p + 4;
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* UPLOAD_CHUNKS' (UPLOAD_PREFIXES') list of entry-byte entries: 1 to FC_MAX_UPLOAD_CHUNKS whole
   entries, each 1 to FC_MAX_CHUNK long, adding up to size (a blob over FC_MAX_FILE_SIZE is the
   store's FC_ETOOBIG). fc_error_t. */
static int s_chunk_refs_check(const fc_msg_t *self, size_t entry)
{
    if (self->bytes_len == 0 || self->bytes_len % entry != 0)
        return FC_EPROTO;
    uint64_t total = 0;
    for (size_t i = 0; i < self->bytes_len / entry; i++) {
        const uint8_t *hash;
        uint32_t len = entry == FC_CHUNK_REF_LEN ? fc_msg_chunk_ref_get(self, i, &hash)
                                                 : fc_msg_chunk_prefix_get(self, i, &hash);
        if (len == 0 || len > FC_MAX_CHUNK)
            return FC_EPROTO;
        total += len;
    }
    return total == self->size ? FC_OK : FC_EPROTO;
}

/* ZeroMQ's Z85 alphabet (RFC 32). */
static bool s_z85_char(char c)
{
    return c && strchr("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/"
                       "*?&<>()[]{}@%$#",
                       c) != NULL;
}

static bool s_z85_key(const char *p)
{
    for (size_t i = 0; i < FC_MSG_KEY_Z85_LEN; i++)
        if (!s_z85_char(p[i]))
            return false;
    return true;
}

size_t fc_msg_relay_key_count(const fc_msg_t *self)
{
    return self->bytes_len / FC_MSG_KEY_Z85_LEN;
}

void fc_msg_relay_key_get(const fc_msg_t *self, size_t i, char out[FC_MSG_KEY_Z85_LEN + 1])
{
    memcpy(out, self->bytes + i * FC_MSG_KEY_Z85_LEN, FC_MSG_KEY_Z85_LEN);
    out[FC_MSG_KEY_Z85_LEN] = '\0';
}

int fc_msg_relay_key_add(fc_msg_t *self, const char *z85)
{
    size_t n = fc_msg_relay_key_count(self);
    if (!z85 || strlen(z85) != FC_MSG_KEY_Z85_LEN || !s_z85_key(z85) || n >= FC_MAX_LIST ||
        (n && memcmp(self->bytes + (n - 1) * FC_MSG_KEY_Z85_LEN, z85, FC_MSG_KEY_Z85_LEN) >= 0))
        return -1;
    self->bytes = (uint8_t *)realloc(self->bytes, self->bytes_len + FC_MSG_KEY_Z85_LEN);
    assert(self->bytes);
    memcpy(self->bytes + self->bytes_len, z85, FC_MSG_KEY_Z85_LEN);
    self->bytes_len += FC_MSG_KEY_Z85_LEN;
    return 0;
}

/* A RELAY_KEYS_REPLY's keys: whole Z85 keys, strictly ascending (each named once). */
static int s_relay_keys_check(const fc_msg_t *self)
{
    if (self->bytes_len % FC_MSG_KEY_Z85_LEN != 0)
        return FC_EPROTO;
    for (size_t i = 0; i < fc_msg_relay_key_count(self); i++) {
        const uint8_t *k = self->bytes + i * FC_MSG_KEY_Z85_LEN;
        if (!s_z85_key((const char *)k) ||
            (i && memcmp(k - FC_MSG_KEY_Z85_LEN, k, FC_MSG_KEY_Z85_LEN) >= 0))
            return FC_EPROTO;
    }
    return FC_OK;
}

/* The batched blob messages' own rules, past their layout: a query names 1 to
   FC_MAX_BLOB_BATCH whole hashes, a state answers each with 0 or 1, and every PUT_BLOBS
   item is a hash and at most FC_MAX_SMALL_BLOB bytes of content (FC_ETOOBIG past it).
   fc_error_t. */
static int s_blobs_check(const fc_msg_t *self)
{
    switch (self->type) {
    case FC_MSG_BLOBS_QUERY:
    case FC_MSG_OBJECTS_QUERY:
        return self->bytes_len > 0 && self->bytes_len % FC_HASH_LEN == 0 ? FC_OK : FC_EPROTO;
    case FC_MSG_BLOBS_STATE:
        for (size_t i = 0; i < self->bytes_len; i++)
            if (self->bytes[i] > 1)
                return FC_EPROTO;
        return self->bytes_len > 0 ? FC_OK : FC_EPROTO;
    case FC_MSG_PUT_BLOBS:
        for (size_t i = 0; i < self->nitems; i++) {
            if (self->items[i].len < FC_HASH_LEN)
                return FC_EPROTO;
            if (self->items[i].len > FC_HASH_LEN + FC_MAX_SMALL_BLOB)
                return FC_ETOOBIG;
        }
        return self->nitems > 0 ? FC_OK : FC_EPROTO;
    case FC_MSG_UPLOAD_CHUNKS:
        return s_chunk_refs_check(self, FC_CHUNK_REF_LEN);
    case FC_MSG_UPLOAD_PREFIXES:
        return s_chunk_refs_check(self, FC_CHUNK_PREF_LEN);
    case FC_MSG_RELAY_KEYS_REPLY:
        return s_relay_keys_check(self);
    case FC_MSG_OBJECT:
    case FC_MSG_PUT_OBJECT:   /* an object is never empty: a chunk list holds its array header */
    case FC_MSG_OBJECT_DELTA: /* a delta holds at least the result's length */
        return self->bytes_len > 0 ? FC_OK : FC_EPROTO;
    default:
        return FC_OK;
    }
}

bool fc_msg_type_is_config_request(int type)
{
    switch (type) {
    case FC_MSG_CONFIG_PUSH:
    case FC_MSG_CONFIG_SYNC:
    case FC_MSG_CONFIG_ACK:
    case FC_MSG_CONFIG_STATUS:
    case FC_MSG_CONFIG_SUMMARY:
    case FC_MSG_CONFIG_AGENTS:
    case FC_MSG_RESTART_SLOT:
    case FC_MSG_AUDIT:
    case FC_MSG_TRUST_PUSH:
    case FC_MSG_GET_TRUST:
        return true;
    default:
        return false;
    }
}

bool fc_msg_type_is_rollout_request(int type)
{
    switch (type) {
    case FC_MSG_ROLLOUT_PLAN:
    case FC_MSG_ROLLOUT_STATUS:
    case FC_MSG_ROLLOUT_PROMOTE:
    case FC_MSG_ROLLOUT_PAUSE:
    case FC_MSG_ROLLOUT_RESUME:
        return true;
    default:
        return false;
    }
}

bool fc_msg_type_has_data(int type)
{
    return type == FC_MSG_CHUNK || type == FC_MSG_PUT_CHUNK;
}

static size_t s_count(const s_field_t *fields, size_t max)
{
    size_t n = 0;
    while (n < max && fields[n].kind != F_END)
        n++;
    return n;
}

#define S_AT(T, base, f) ((T *)((char *)(base) + (f)->off))
#define S_CAT(T, base, f) ((const T *)((const char *)(base) + (f)->off))

fc_msg_t *fc_msg_new(fc_msg_type_t type)
{
    fc_msg_t *self = (fc_msg_t *)zmalloc(sizeof(fc_msg_t));
    assert(self); /* zmalloc aborts on out of memory */
    self->type = type;
    return self;
}

void fc_msg_destroy(fc_msg_t **self_p)
{
    assert(self_p);
    fc_msg_t *self = *self_p;
    if (!self)
        return;
    free(self->bytes);
    zframe_destroy(&self->data);
    free(self->ranges);
    free(self->releases);
    free(self->agents);
    free(self->counts);
    for (size_t i = 0; i < self->nitems && self->items; i++)
        free(self->items[i].data);
    free(self->items);
    free(self->audit);
    free(self->rollouts);
    free(self);
    *self_p = NULL;
}

void fc_msg_set_str(char *dst, size_t dstsize, const char *src)
{
    assert(dst && dstsize > 0);
    size_t len = src ? strlen(src) : 0;
    if (len >= dstsize) {
        len = dstsize - 1;
        /* Cut before a UTF-8 continuation byte so the result stays valid text. */
        while (len > 0 && ((unsigned char)src[len] & 0xc0) == 0x80)
            len--;
    }
    if (len)
        memcpy(dst, src, len);
    dst[len] = '\0';
}

void fc_msg_set_bytes(fc_msg_t *self, const void *buf, size_t len)
{
    assert(self);
    assert(buf || len == 0);
    free(self->bytes);
    self->bytes = NULL;
    self->bytes_len = 0;
    if (len == 0)
        return;
    self->bytes = (uint8_t *)zmalloc(len);
    memcpy(self->bytes, buf, len);
    self->bytes_len = len;
}

/* ---------------------------------------------------------------------------------------- */
/* Encoding */

/* Packs one scalar field of base; -1 if it is over its limit or the packer fails. */
static int s_pack_scalar(msgpack_packer *pk, const s_field_t *f, const void *base)
{
    switch (f->kind) {
    case F_STR:
    case F_OPTSTR: {
        const char *s = S_CAT(char, base, f);
        size_t len = strnlen(s, f->size);
        if (len == f->size)
            return -1; /* not terminated inside its buffer: over the limit */
        return msgpack_pack_str_with_body(pk, s, len);
    }
    case F_ROLE: {
        fc_role_t role = *S_CAT(fc_role_t, base, f);
        if (!fc_role_valid(role))
            return -1; /* no role (never set), or not one of the table's */
        const char *name = fc_role_name(role);
        return msgpack_pack_str_with_body(pk, name, strlen(name));
    }
    case F_U64:
    case F_OPTU64:
        return msgpack_pack_uint64(pk, *S_CAT(uint64_t, base, f));
    case F_U32:
        return msgpack_pack_uint32(pk, *S_CAT(uint32_t, base, f));
    case F_I64:
        return msgpack_pack_int64(pk, *S_CAT(int64_t, base, f));
    case F_BOOL:
    case F_OPTBOOL:
        return *S_CAT(bool, base, f) ? msgpack_pack_true(pk) : msgpack_pack_false(pk);
    case F_HASH:
        return msgpack_pack_bin_with_body(pk, S_CAT(uint8_t, base, f), FC_HASH_LEN);
    case F_SIG:
        return msgpack_pack_bin_with_body(pk, S_CAT(uint8_t, base, f), FC_SIG_LEN);
    case F_HASH0: {
        static const uint8_t none[FC_HASH_LEN];
        const uint8_t *h = S_CAT(uint8_t, base, f);
        return msgpack_pack_bin_with_body(pk, h, memcmp(h, none, FC_HASH_LEN) ? FC_HASH_LEN : 0);
    }
    default:
        return -1;
    }
}

/* Packs a compound struct as an array of its fields. */
static int s_pack_struct(msgpack_packer *pk, const s_field_t *fields, const void *base)
{
    size_t n = s_count(fields, SIZE_MAX);
    /* An optional last string (agent-status' via) is left off when empty: older readers
       take the entry as before. */
    if (n && fields[n - 1].kind == F_OPTSTR && *S_CAT(char, base, &fields[n - 1]) == '\0')
        n--;
    int rc = msgpack_pack_array(pk, n);
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = s_pack_scalar(pk, &fields[i], base);
    return rc;
}

/* Lists must respect their limit (and exact count) and have storage behind their count. */
static bool s_list_ok(const s_field_t *f, const void *items, size_t n)
{
    return n <= f->size && (f->want < 0 || n == (size_t)f->want) && (items || n == 0);
}

/* Items are checked before any is packed: a snapshot whose revisions add up past the frame
   limit is refused without first copying up to a gigabyte into the buffer (the broker
   pages instead, setting flag). */
static bool s_items_ok(const s_field_t *f, const fc_msg_t *self)
{
    if (!s_list_ok(f, self->items, self->nitems))
        return false;
    size_t total = 0;
    for (size_t i = 0; i < self->nitems; i++) {
        const fc_item_t *item = &self->items[i];
        if (item->len > FC_MAX_REVISION || (!item->data && item->len))
            return false;
        total += item->len;
        if (total > FC_MAX_FRAME)
            return false;
    }
    return true;
}

/* Fields of the optional trailing groups (0 if the layout has none): a lone F_OPTBOOL or
   F_OPTBYTES last, or an F_OPTU64 and everything after it. Each further F_OPTU64 starts a
   further group (a message that gained fields twice: STATUS_REPLY's offline threshold, then
   its paging): groups are left off from the end, never one in the middle. */
static size_t s_optional_tail(const s_field_t *fields, size_t nfields)
{
    for (size_t i = 0; i < nfields; i++)
        if (fields[i].kind == F_OPTU64)
            return nfields - i;
    if (nfields && (fields[nfields - 1].kind == F_OPTBOOL ||
                    fields[nfields - 1].kind == F_OPTBYTES || fields[nfields - 1].kind == F_OPTSTR))
        return 1;
    return 0;
}

/* Whether a group whose first field is f is at its empty value (false, no bytes, "", 0). */
static bool s_group_empty(const s_field_t *f, const fc_msg_t *self)
{
    return f->kind == F_OPTBOOL    ? !*S_CAT(bool, self, f)
           : f->kind == F_OPTBYTES ? self->bytes_len == 0
           : f->kind == F_OPTSTR   ? *S_CAT(char, self, f) == '\0'
                                   : *S_CAT(uint64_t, self, f) == 0;
}

/* Fields actually on the wire: trailing optional groups are left off, from the last one,
   while their first field is at its empty value. */
static size_t s_wire_fields(const s_field_t *fields, size_t nfields, const fc_msg_t *self)
{
    size_t tail = s_optional_tail(fields, nfields);
    if (!tail)
        return nfields;
    size_t wire = nfields;
    for (size_t i = nfields; i-- > nfields - tail;) {
        bool lead = i == nfields - tail || fields[i].kind == F_OPTU64;
        if (!lead)
            continue;
        if (!s_group_empty(&fields[i], self))
            break;
        wire = i;
    }
    return wire;
}

/* Whether n fields on the wire are a legal length for this layout: all of them, or cut
   at the start of an optional group. */
static bool s_wire_length_ok(const s_field_t *fields, size_t nfields, size_t n)
{
    if (n == nfields)
        return true;
    size_t tail = s_optional_tail(fields, nfields);
    if (!tail || n < nfields - tail || n > nfields)
        return false;
    return n == nfields - tail || fields[n].kind == F_OPTU64;
}

static int s_pack_field(msgpack_packer *pk, const s_field_t *f, const fc_msg_t *self)
{
    int rc = 0;
    switch (f->kind) {
    case F_BYTES:
    case F_OPTBYTES:
        if (self->bytes_len > f->size || (!self->bytes && self->bytes_len))
            return -1;
        rc = msgpack_pack_bin(pk, self->bytes_len);
        if (rc == 0 && self->bytes_len)
            rc = msgpack_pack_bin_body(pk, self->bytes, self->bytes_len);
        return rc;
    case F_RANGES:
        if (!s_list_ok(f, self->ranges, self->nranges))
            return -1;
        rc = msgpack_pack_array(pk, self->nranges);
        for (size_t i = 0; i < self->nranges && rc == 0; i++) {
            rc = msgpack_pack_array(pk, 2);
            rc = rc ? rc : msgpack_pack_uint64(pk, self->ranges[i].offset);
            rc = rc ? rc : msgpack_pack_uint64(pk, self->ranges[i].length);
        }
        return rc;
    case F_RELEASES:
        if (!s_list_ok(f, self->releases, self->nreleases))
            return -1;
        rc = msgpack_pack_array(pk, self->nreleases);
        for (size_t i = 0; i < self->nreleases && rc == 0; i++)
            rc = s_pack_struct(pk, s_release_fields, &self->releases[i]);
        return rc;
    case F_COUNTS:
        if (!s_list_ok(f, self->counts, self->ncounts))
            return -1;
        rc = msgpack_pack_array(pk, self->ncounts);
        for (size_t i = 0; i < self->ncounts && rc == 0; i++)
            rc = s_pack_struct(pk, s_count_fields, &self->counts[i]);
        return rc;
    case F_AGENTS:
        if (!s_list_ok(f, self->agents, self->nagents))
            return -1;
        rc = msgpack_pack_array(pk, self->nagents);
        for (size_t i = 0; i < self->nagents && rc == 0; i++)
            rc = s_pack_struct(pk, s_agent_fields, &self->agents[i]);
        return rc;
    case F_ITEMS:
        if (!s_items_ok(f, self))
            return -1;
        rc = msgpack_pack_array(pk, self->nitems);
        for (size_t i = 0; i < self->nitems && rc == 0; i++) {
            rc = msgpack_pack_bin(pk, self->items[i].len);
            if (rc == 0 && self->items[i].len)
                rc = msgpack_pack_bin_body(pk, self->items[i].data, self->items[i].len);
        }
        return rc;
    case F_AUDIT:
        if (!s_list_ok(f, self->audit, self->naudit))
            return -1;
        rc = msgpack_pack_array(pk, self->naudit);
        for (size_t i = 0; i < self->naudit && rc == 0; i++)
            rc = s_pack_struct(pk, s_audit_fields, &self->audit[i]);
        return rc;
    case F_WAVES:
        if (self->nwaves > f->size)
            return -1;
        rc = msgpack_pack_array(pk, self->nwaves);
        for (size_t i = 0; i < self->nwaves && rc == 0; i++)
            rc = msgpack_pack_uint32(pk, self->waves[i]);
        return rc;
    case F_ROLLOUTS:
        if (!s_list_ok(f, self->rollouts, self->nrollouts))
            return -1;
        rc = msgpack_pack_array(pk, self->nrollouts);
        for (size_t i = 0; i < self->nrollouts && rc == 0; i++)
            rc = s_pack_struct(pk, s_rollout_fields, &self->rollouts[i]);
        return rc;
    default:
        return s_pack_scalar(pk, f, self);
    }
}

zmsg_t *fc_msg_encode(fc_msg_t *self)
{
    assert(self);
    if (!s_known(self->type))
        return NULL;
    bool has_data = fc_msg_type_has_data(self->type);
    if (has_data && self->data && zframe_size(self->data) > FC_MAX_CHUNK_REQ)
        return NULL;
    const s_field_t *fields = s_layouts[self->type];
    size_t nfields = s_wire_fields(fields, s_count(fields, S_MAX_FIELDS), self);

    msgpack_sbuffer sbuf;
    msgpack_sbuffer_init(&sbuf);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sbuf, msgpack_sbuffer_write);
    int rc = msgpack_pack_array(&pk, 3 + nfields);
    uint64_t version = FC_PROTO_VERSION;
    if (self->type == FC_MSG_ERROR && self->proto_version >= 1 &&
        self->proto_version < FC_PROTO_VERSION)
        version = self->proto_version; /* an older peer's version: it can read why it is refused */
    rc = rc ? rc : msgpack_pack_uint64(&pk, version);
    rc = rc ? rc : msgpack_pack_uint64(&pk, (uint64_t)self->type);
    rc = rc ? rc : msgpack_pack_uint64(&pk, self->req);
    for (size_t i = 0; i < nfields && rc == 0; i++)
        rc = s_pack_field(&pk, &fields[i], self);

    zmsg_t *msg = NULL;
    if (rc == 0 && sbuf.size <= FC_MAX_FRAME) {
        msg = zmsg_new();
        zmsg_addmem(msg, sbuf.data, sbuf.size);
        if (has_data) {
            /* A missing payload travels as an empty frame: the frame count stays fixed. */
            zframe_t *data = self->data ? self->data : zframe_new_empty();
            self->data = NULL;
            zmsg_append(msg, &data);
        }
    }
    msgpack_sbuffer_destroy(&sbuf);
    return msg;
}

/* ---------------------------------------------------------------------------------------- */
/* Decoding */

static int s_read_scalar(const msgpack_object *o, const s_field_t *f, void *base)
{
    switch (f->kind) {
    case F_STR:
    case F_OPTSTR:
        return fc_mpack_str(o, S_AT(char, base, f), f->size);
    case F_ROLE: {
        /* A role is one of the table's names, never free text the broker compares. */
        char name[FC_MAX_NAME + 1];
        int rc = fc_mpack_str(o, name, sizeof name);
        if (rc == 0 && !fc_role_from_name(name, S_AT(fc_role_t, base, f)))
            rc = FC_EPROTO;
        return rc;
    }
    case F_U64:
    case F_OPTU64:
        return fc_mpack_u64(o, S_AT(uint64_t, base, f));
    case F_U32:
        return fc_mpack_u32(o, S_AT(uint32_t, base, f));
    case F_I64:
        return fc_mpack_i64(o, S_AT(int64_t, base, f));
    case F_BOOL:
    case F_OPTBOOL:
        return fc_mpack_bool(o, S_AT(bool, base, f));
    case F_HASH:
        return fc_mpack_hash(o, S_AT(uint8_t, base, f));
    case F_SIG:
        return fc_mpack_fixbin(o, S_AT(uint8_t, base, f), FC_SIG_LEN);
    case F_HASH0: {
        const uint8_t *ptr;
        size_t len;
        /* any other length is malformed, as for F_HASH (not merely too big) */
        int rc = fc_mpack_bin(o, &ptr, &len, FC_MAX_FRAME);
        if (rc == 0 && len != 0 && len != FC_HASH_LEN)
            rc = FC_EPROTO;
        if (rc == 0 && len)
            memcpy(S_AT(uint8_t, base, f), ptr, FC_HASH_LEN);
        return rc;
    }
    default:
        return FC_EPROTO;
    }
}

/* A rollout entry's cut: not stated, a marker, or an agent id. */
static bool s_cut_ok(const char *cut)
{
    return !cut[0] || !strcmp(cut, FC_ROLLOUT_CUT_ALL) || !strcmp(cut, FC_ROLLOUT_CUT_NONE) ||
           fc_name_valid(cut);
}

static int s_read_struct(const msgpack_object *o, const s_field_t *fields, void *base)
{
    size_t want = s_count(fields, SIZE_MAX);
    bool opt = want && fields[want - 1].kind == F_OPTSTR;
    const msgpack_object *items;
    size_t n;
    /* Entries are fixed arrays: any other length is malformed (FC_EPROTO), as before the
       optional via. */
    int rc = fc_mpack_array(o, SIZE_MAX, opt ? -1 : (long)want, &items, &n);
    if (rc == 0 && (n > want || n + (opt ? 1 : 0) < want))
        rc = FC_EPROTO;
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = s_read_scalar(&items[i], &fields[i], base);
    return rc;
}

/* Reads a list field into a zeroed array of elsize entries; the count is bounded already. */
static int s_read_list(const msgpack_object *o, const s_field_t *f, size_t elsize, void **out,
                       size_t *nout, const msgpack_object **items)
{
    size_t n;
    int rc = fc_mpack_array(o, f->size, f->want, items, &n);
    if (rc)
        return rc;
    *out = n ? zmalloc(n * elsize) : NULL;
    *nout = n;
    return 0;
}

static int s_read_field(const msgpack_object *o, const s_field_t *f, fc_msg_t *self)
{
    const msgpack_object *items = NULL;
    int rc = 0;
    switch (f->kind) {
    case F_BYTES:
    case F_OPTBYTES: {
        const uint8_t *ptr;
        size_t len;
        rc = fc_mpack_bin(o, &ptr, &len, f->size);
        if (rc == 0)
            fc_msg_set_bytes(self, ptr, len); /* copied: ptr points into the frame */
        return rc;
    }
    case F_RANGES:
        rc = s_read_list(o, f, sizeof(fc_range_t), (void **)&self->ranges, &self->nranges, &items);
        for (size_t i = 0; i < self->nranges && rc == 0; i++) {
            const msgpack_object *pair;
            size_t two;
            rc = fc_mpack_array(&items[i], 2, 2, &pair, &two);
            rc = rc ? rc : fc_mpack_u64(&pair[0], &self->ranges[i].offset);
            rc = rc ? rc : fc_mpack_u64(&pair[1], &self->ranges[i].length);
        }
        return rc;
    case F_RELEASES:
        rc = s_read_list(o, f, sizeof(fc_release_info_t), (void **)&self->releases,
                         &self->nreleases, &items);
        for (size_t i = 0; i < self->nreleases && rc == 0; i++)
            rc = s_read_struct(&items[i], s_release_fields, &self->releases[i]);
        return rc;
    case F_COUNTS:
        rc = s_read_list(o, f, sizeof(fc_fleet_count_t), (void **)&self->counts, &self->ncounts,
                         &items);
        for (size_t i = 0; i < self->ncounts && rc == 0; i++)
            rc = s_read_struct(&items[i], s_count_fields, &self->counts[i]);
        return rc;
    case F_AGENTS:
        rc = s_read_list(o, f, sizeof(fc_agent_status_t), (void **)&self->agents, &self->nagents,
                         &items);
        for (size_t i = 0; i < self->nagents && rc == 0; i++)
            rc = s_read_struct(&items[i], s_agent_fields, &self->agents[i]);
        return rc;
    case F_ITEMS:
        rc = s_read_list(o, f, sizeof(fc_item_t), (void **)&self->items, &self->nitems, &items);
        for (size_t i = 0; i < self->nitems && rc == 0; i++) {
            const uint8_t *ptr;
            size_t len;
            rc = fc_mpack_bin(&items[i], &ptr, &len, FC_MAX_REVISION);
            if (rc == 0 && len) { /* copied: ptr points into the frame */
                self->items[i].data = (uint8_t *)zmalloc(len);
                memcpy(self->items[i].data, ptr, len);
                self->items[i].len = len;
            }
        }
        return rc;
    case F_AUDIT:
        rc = s_read_list(o, f, sizeof(fc_audit_entry_t), (void **)&self->audit, &self->naudit,
                         &items);
        for (size_t i = 0; i < self->naudit && rc == 0; i++)
            rc = s_read_struct(&items[i], s_audit_fields, &self->audit[i]);
        return rc;
    case F_WAVES: {
        size_t n;
        rc = fc_mpack_array(o, f->size, -1, &items, &n);
        for (size_t i = 0; i < n && rc == 0; i++)
            rc = fc_mpack_u32(&items[i], &self->waves[i]);
        if (rc == 0)
            self->nwaves = n;
        return rc;
    }
    case F_ROLLOUTS:
        rc = s_read_list(o, f, sizeof(fc_rollout_info_t), (void **)&self->rollouts,
                         &self->nrollouts, &items);
        for (size_t i = 0; i < self->nrollouts && rc == 0; i++)
            rc = s_read_struct(&items[i], s_rollout_fields, &self->rollouts[i]);
        return rc;
    default:
        return s_read_scalar(o, f, self);
    }
}

/* Decodes the unpacked top object; frames is the message's frame count, *data_p its second
   frame (moved into the message on success). */
static int s_decode_top(const msgpack_object *top, size_t frames, zframe_t **data_p,
                        fc_msg_t **self_p, uint64_t *req_p)
{
    if (top->type != MSGPACK_OBJECT_ARRAY || top->via.array.size < 3)
        return FC_EPROTO;
    const msgpack_object *it = top->via.array.ptr;
    size_t n = top->via.array.size;
    uint64_t version, type, req;
    if (fc_mpack_u64(&it[2], &req))
        return FC_EPROTO;
    /* The request id is worth knowing even when the rest is wrong: the broker can then
       answer ERROR to the right request instead of leaving it to time out. */
    if (req_p)
        *req_p = req;
    if (fc_mpack_u64(&it[0], &version) || version < 1 || version > FC_PROTO_VERSION)
        return FC_EPROTO;
    if (fc_mpack_u64(&it[1], &type) || !s_known(type))
        return FC_EPROTO;
    /* Only ERROR is read in an older version: its layout is the same in every version, and a
       broker frames its refusal of an older request in that version. */
    if (version != FC_PROTO_VERSION && type != FC_MSG_ERROR)
        return FC_EPROTO;
    const s_field_t *fields = s_layouts[type];
    size_t nfields = s_count(fields, S_MAX_FIELDS);
    if (n < 3 || !s_wire_length_ok(fields, nfields, n - 3))
        return FC_EPROTO;
    nfields = n - 3; /* optional groups left off stay zero */
    bool has_data = fc_msg_type_has_data(type);
    if (frames != (has_data ? 2u : 1u))
        return FC_EPROTO;
    if (has_data && zframe_size(*data_p) > FC_MAX_CHUNK_REQ)
        return FC_ETOOBIG;

    fc_msg_t *self = fc_msg_new((fc_msg_type_t)type);
    self->req = req;
    int rc = 0;
    for (size_t i = 0; i < nfields && rc == 0; i++)
        rc = s_read_field(&it[3 + i], &fields[i], self);
    /* A state is one of the documented names (fc_state.h), never free text a broker stores
       and a CLI shows. Only decoding checks: hostile-input tools must be able to send one. */
    fc_state_t state;
    if (rc == 0 && type == FC_MSG_REPORT && !fc_state_from_name(self->agents[0].state, &state))
        rc = FC_EPROTO;
    /* Likewise an ack's outcome is one an agent may send (fc_ack.h). */
    fc_ack_t ack;
    if (rc == 0 && type == FC_MSG_CONFIG_ACK && !fc_ack_from_agent(self->state, &ack))
        rc = FC_EPROTO;
    if (rc == 0 && type == FC_MSG_ROLLOUT_PLAN && !fc_msg_waves_valid(self->waves, self->nwaves))
        rc = FC_EPROTO;
    if (rc == 0)
        rc = s_blobs_check(self);
    fc_rollout_state_t rs;
    for (size_t i = 0; rc == 0 && type == FC_MSG_ROLLOUT_STATUS_REPLY && i < self->nrollouts; i++)
        if ((self->rollouts[i].state[0] &&
             !fc_rollout_state_from_name(self->rollouts[i].state, &rs)) ||
            !s_cut_ok(self->rollouts[i].cut))
            rc = FC_EPROTO;
    if (rc) {
        fc_msg_destroy(&self);
        return rc;
    }
    if (has_data) {
        self->data = *data_p;
        *data_p = NULL;
    }
    *self_p = self;
    return 0;
}

static int s_decode(zframe_t *body, size_t frames, zframe_t **data_p, fc_msg_t **self_p,
                    uint64_t *req_p)
{
    if (!body)
        return FC_EPROTO;
    /* libzmq enforces ZMQ_MAXMSGSIZE on the socket; this catches messages built in-process
       or received on a socket someone forgot to tune. */
    if (zframe_size(body) > FC_MAX_FRAME)
        return FC_ETOOBIG;
    msgpack_zone zone;
    if (!msgpack_zone_init(&zone, S_ZONE_CHUNK))
        return FC_ENOMEM;
    msgpack_object top;
    int rc = fc_mpack_unpack_max(zframe_data(body), zframe_size(body), S_MAX_DEPTH, S_MAX_OBJECTS,
                                 &zone, &top);
    if (rc == 0)
        rc = s_decode_top(&top, frames, data_p, self_p, req_p);
    msgpack_zone_destroy(&zone);
    return rc;
}

fc_msg_t *fc_msg_decode_req(zmsg_t **msg_p, int *err, uint64_t *req_p)
{
    int local_err;
    if (!err)
        err = &local_err;
    *err = FC_EPROTO;
    if (req_p)
        *req_p = 0;
    if (!msg_p || !*msg_p)
        return NULL;
    zmsg_t *msg = *msg_p;
    *msg_p = NULL;
    size_t frames = zmsg_size(msg);
    zframe_t *body = zmsg_pop(msg);
    zframe_t *data = zmsg_pop(msg);
    fc_msg_t *self = NULL;
    *err = s_decode(body, frames, &data, &self, req_p);
    zframe_destroy(&body);
    zframe_destroy(&data);
    zmsg_destroy(&msg);
    return self;
}

fc_msg_t *fc_msg_decode(zmsg_t **msg_p, int *err)
{
    return fc_msg_decode_req(msg_p, err, NULL);
}

/* Skips one msgpack scalar of fixed size (nil, bool, integer, float) at p, before end, and
   says whether it was a non-negative integer (*value); NULL for anything else or a short
   buffer. */
static const uint8_t *s_peek_scalar(const uint8_t *p, const uint8_t *end, uint64_t *value,
                                    bool *is_u64)
{
    *is_u64 = false;
    if (p >= end)
        return NULL;
    uint8_t b = *p++;
    if (b <= 0x7f) {
        *value = b;
        *is_u64 = true;
        return p;
    }
    if (b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3)
        return p;
    size_t width;
    if (b >= 0xcc && b <= 0xcf)
        width = (size_t)1 << (b - 0xcc);
    else if (b >= 0xd0 && b <= 0xd3)
        width = (size_t)1 << (b - 0xd0);
    else if (b == 0xca || b == 0xcb)
        width = b == 0xca ? 4 : 8;
    else
        return NULL;
    if ((size_t)(end - p) < width)
        return NULL;
    if (b <= 0xd3 && b >= 0xcc) {
        uint64_t v = 0;
        for (size_t i = 0; i < width; i++)
            v = v << 8 | p[i];
        bool negative = b >= 0xd0 && (p[0] & 0x80);
        *value = v;
        *is_u64 = !negative;
    }
    return p + width;
}

/* The three leading scalars of a frame: version, type, req (each set if an unsigned int). */
static bool s_peek_header(zframe_t *frame, uint64_t out[3]);
static bool s_peek_array(zframe_t *frame, uint64_t out[3], size_t *count);

bool fc_msg_peek_req(zframe_t *frame, uint64_t *req)
{
    uint64_t h[3];
    if (!s_peek_header(frame, h))
        return false;
    *req = h[2];
    return true;
}

bool fc_msg_peek_version(zframe_t *frame, uint64_t *version)
{
    uint64_t h[3];
    if (!s_peek_header(frame, h))
        return false;
    *version = h[0];
    return true;
}

static bool s_peek_header(zframe_t *frame, uint64_t out[3])
{
    size_t count;
    return s_peek_array(frame, out, &count);
}

static bool s_peek_array(zframe_t *frame, uint64_t out[3], size_t *count_out)
{
    /* Only the array header and the three leading scalars, at most 32 bytes: never the
       whole frame. Unpacking a frame of 16 MiB of nils only to read its third element made
       msgpack-c allocate a 24-byte object for each nil. */
    if (!frame)
        return false;
    const uint8_t *p = zframe_data(frame), *end = p + zframe_size(frame);
    if (p == end)
        return false;
    uint8_t b = *p++;
    size_t count;
    if (b >= 0x90 && b <= 0x9f)
        count = b & 0x0f;
    else if (b == 0xdc && end - p >= 2) {
        count = (size_t)p[0] << 8 | p[1];
        p += 2;
    } else if (b == 0xdd && end - p >= 4) {
        count = (size_t)p[0] << 24 | (size_t)p[1] << 16 | (size_t)p[2] << 8 | p[3];
        p += 4;
    } else
        return false;
    if (count < 3)
        return false;
    *count_out = count;
    uint64_t v = 0;
    bool is_u64 = false;
    out[0] = out[1] = UINT64_MAX; /* not an unsigned int: no version matches it */
    for (int i = 0; i < 3 && p; i++) {
        p = s_peek_scalar(p, end, &v, &is_u64);
        if (p && i < 2 && is_u64)
            out[i] = v;
    }
    if (!p || !is_u64)
        return false;
    out[2] = v;
    return true;
}

bool fc_msg_peek_newer(zframe_t *frame, char *why, size_t size)
{
    uint64_t h[3];
    size_t count = 0;
    if (!s_peek_array(frame, h, &count) || h[0] != FC_PROTO_VERSION)
        return false;
    if (!s_known(h[1])) {
        fc_textf(why, size,
                 "message type %llu is not one this broker knows (it knows 1 to %d): the "
                 "requesting program is newer than this broker; upgrade the broker",
                 h[1] == UINT64_MAX ? 0ull : (unsigned long long)h[1], FC_MSG_TYPE_MAX - 1);
        return true;
    }
    size_t known = s_count(s_layouts[h[1]], S_MAX_FIELDS);
    if (count - 3 <= known)
        return false;
    fc_textf(why, size,
             "%s with %zu fields after the header, of which this broker reads %zu: the "
             "requesting program is newer than this broker (fields it added later); upgrade "
             "the broker",
             s_names[h[1]], count - 3, known);
    return true;
}

const char *fc_msg_type_name(int type)
{
    if (!fc_msg_type_known(type))
        return "?";
    return s_names[type];
}
