/* fc_msg.h: the one codec for every message on the service and announce sockets. */
#ifndef FC_MSG_H
#define FC_MSG_H

#include "fc_limits.h"
#include "fc_role.h"
#include <czmq.h>
#include <stdbool.h>
#include <stdint.h>

/* Message types. Values travel on the wire: never renumber, only append.
   docs/PROTOCOL.md describes each one; the field list says which fc_msg_t fields it uses. */
typedef enum {
    FC_MSG_HELLO = 1,     /* C>B  role, id, channel */
    FC_MSG_WELCOME = 2,   /* B>C  epoch, seq, endpoint (announce), heartbeat_ms */
    FC_MSG_SYNC = 3,      /* C>B  channel, id (optional: the agent asking, for its rollout wave) */
    FC_MSG_SNAPSHOT = 4,  /* B>C  epoch, seq, releases (latest per channel), bytes (signed manifest
                             of channel, may be empty) */
    FC_MSG_GET_CHUNK = 5, /* C>B  blob, offset, length */
    FC_MSG_CHUNK = 6,     /* B>C  blob, offset, data (second frame) */
    FC_MSG_UPLOAD_QUERY = 7,    /* P>B  blob, size */
    FC_MSG_UPLOAD_STATE = 8,    /* B>P  blob, flag (complete), ranges (already held) */
    FC_MSG_PUT_CHUNK = 9,       /* P>B  blob, offset, hash (of this chunk), data (second frame) */
    FC_MSG_PUT_ACK = 10,        /* B>P  blob, offset */
    FC_MSG_BLOB_COMMIT = 11,    /* P>B  blob, size -> OK once the whole blob verifies */
    FC_MSG_RELEASE_COMMIT = 12, /* P>B  bytes (signed manifest) -> OK (serial) */
    FC_MSG_LIST = 13,           /* P>B  channel ("" = all), [limit, cursor, state ("")] */
    FC_MSG_LIST_REPLY = 14,     /* B>P  releases, [limit, more, cursor (of the next page)] */
    FC_MSG_REPORT = 15, /* A>B  agents[0] (own status; state one of fc_state.h), blob (found corrupt
                           at the broker; all zero = none) */
    FC_MSG_STATUS = 16, /* P>B  channel ("" = all), [limit, cursor, state] (optional: paging) */
    FC_MSG_STATUS_REPLY = 17, /* B>P  agents, [offline_ms, time_ms] (optional pair: the broker's
                                 offline threshold and clock), [limit, more] (paged replies) */
    FC_MSG_OK = 18, /* B>C  serial (where meaningful), flag (RESTART_SLOT: granted; on the wire only
                       when true) */
    FC_MSG_ERROR = 19,     /* B>C  code (fc_error_t), text */
    FC_MSG_ANNOUNCE = 20,  /* PUB  epoch, seq, channel, serial, version */
    FC_MSG_HEARTBEAT = 21, /* PUB  epoch, seq, [time_ms, sig] (signed timestamp; optional pair),
                              [root_epoch, root_seq, root_time_ms, root_sig] (a relay: the
                              root's signed timestamp carried through; optional group) */
    /* Runtime configuration (issue 3). A "revision" is a signed config revision envelope
       (proto/fc_config.h), carried in items[] or bytes. */
    FC_MSG_CONFIG_PUSH = 22, /* P>B  bytes (signed revision) -> OK (serial = rev) */
    FC_MSG_CONFIG_SYNC =
        23, /* C>B  id, group, serial (revisions after this one); id "" = all (publisher view) */
    FC_MSG_CONFIG_SNAPSHOT = 24, /* B>C  epoch, seq, serial (latest rev), flag (more to come), items
                                    (signed revisions matching the agent's scopes, rev order) */
    FC_MSG_CONFIG_ACK = 25,      /* A>B  id, group, serial (rev), state, text (reason) -> OK */
    FC_MSG_CONFIG_STATUS = 26,   /* P>B  serial (rev; 0 = latest), [limit, cursor, state] ->
                                    CONFIG_STATUS_REPLY */
    FC_MSG_CONFIG_STATUS_REPLY =
        27, /* B>P  serial, flag (halted), text (halt reason), agents (id, channel = group, state,
               message; state "pending" for no answer), [offline_ms, time_ms], [limit, more] as
               STATUS_REPLY */
    FC_MSG_RESTART_SLOT = 28, /* A>B  id, group, serial (rev) -> OK with flag (granted) */
    FC_MSG_AUDIT = 29, /* P>B  serial (max entries, 0 = default 100), [limit, cursor, state ("")]
                          (paged: the whole log; serial 0) -> AUDIT_REPLY */
    FC_MSG_AUDIT_REPLY = 30,     /* B>P  audit, [limit, more, cursor (of the next page)] */
    FC_MSG_CONFIG_ANNOUNCE = 31, /* PUB topic "C/": epoch, seq, serial (rev), text (scope), bytes
                                    (the signed revision; optional, only when small) */
    /* Key rotation (issue 4). A "trust list" is a sealed fc_trustlist (proto/fc_trustlist.h). */
    FC_MSG_TRUST_PUSH = 32, /* P>B  bytes (sealed trust list) -> OK (serial) */
    FC_MSG_GET_TRUST = 33,  /* C>B  serial (the list the asker holds; 0 = none) -> TRUST */
    FC_MSG_TRUST =
        34, /* B>C  serial (latest; 0 = none), bytes (sealed trust list, empty if none) */
    FC_MSG_TRUST_ANNOUNCE = 35, /* PUB topic "T": epoch, seq, serial (of the new trust list) */
    FC_MSG_RELEASE_GET = 36,    /* P>B  channel, serial -> SNAPSHOT (that release's manifest) */
    FC_MSG_RELEASE_PRUNE = 37,  /* P>B  channel, serial (to keep) -> OK (serial = removed) */
    FC_MSG_CONFIG_AGENTS = 38,  /* P>B  text (scope) -> CONFIG_STATUS_REPLY (agents it matches) */
    /* Release rollouts (issue 12): waves of agents, halted past a failure threshold. */
    FC_MSG_ROLLOUT_PLAN = 39,   /* P>B  channel, serial (the release about to be committed), waves,
                                   halt_percent, wave_wait_ms, flag (hold after wave 1) -> OK */
    FC_MSG_ROLLOUT_STATUS = 40, /* P>B  channel ("" = all) -> ROLLOUT_STATUS_REPLY */
    FC_MSG_ROLLOUT_STATUS_REPLY = 41, /* B>P  rollouts (one per channel) */
    FC_MSG_ROLLOUT_PROMOTE = 42,      /* P>B  channel -> OK (serial) */
    FC_MSG_ROLLOUT_PAUSE = 43,        /* P>B  channel -> OK (serial) */
    FC_MSG_ROLLOUT_RESUME = 44,       /* P>B  channel -> OK (serial) */
    /* Small files batched (issue 18): many whole blobs per request, one group commit. */
    FC_MSG_BLOBS_QUERY = 45, /* P>B  bytes (blob hashes, 32 bytes each) -> BLOBS_STATE */
    FC_MSG_BLOBS_STATE = 46, /* B>P  bytes (one per queried blob: 1 held complete, 0 not) */
    FC_MSG_PUT_BLOBS = 47,   /* P>B  items (each: blob hash, then the whole content) -> OK */
    /* Chunk-granular upload (issue 13): the broker copies the chunks it holds in any blob. */
    FC_MSG_UPLOAD_CHUNKS = 48, /* P>B  blob, size, bytes (chunk list) -> UPLOAD_STATE */
    /* Fleet summary (issue 19): counted by the broker, one small reply whatever the fleet. */
    FC_MSG_STATUS_SUMMARY = 49,       /* P>B  channel ("" = all) -> STATUS_SUMMARY_REPLY */
    FC_MSG_STATUS_SUMMARY_REPLY = 50, /* B>P  counts, offline_ms, time_ms */
    FC_MSG_CONFIG_SUMMARY = 51,       /* P>B  serial (rev; 0 = latest) -> CONFIG_SUMMARY_REPLY */
    FC_MSG_CONFIG_SUMMARY_REPLY = 52, /* B>P  serial, flag (halted), text (halt reason), counts
                                         (one per ack state: state, agents, offline) */
    /* Manifest format 3 (issue 13, protocol version 2): its pages and chunk lists are objects
       named by their hash, stored and served by the broker. */
    FC_MSG_GET_OBJECT = 53, /* C>B  hash -> OBJECT */
    FC_MSG_OBJECT = 54,     /* B>C  hash, bytes (the object, at most FC_MAX_OBJECT) */
    FC_MSG_PUT_OBJECT = 55, /* P>B  hash, bytes (the object, at most FC_MAX_OBJECT) -> OK */
    /* A chunk list as a delta against one the agent holds (fc_objdelta.h): a small change to
       a large file costs a few dozen bytes of its list, not the whole list. */
    FC_MSG_GET_OBJECT_DELTA = 56, /* C>B  hash, blob (the base: an object the asker holds) ->
                                     OBJECT_DELTA, or OBJECT (no base here, no gain) */
    FC_MSG_OBJECT_DELTA = 57,     /* B>C  hash, blob (the base), bytes (the delta, fc_objdelta.h;
                                     at most FC_MAX_OBJECT) */
    /* The publisher's side of a small change (issue 13): the broker derives a chunk list from
       the blob it names instead of receiving it whole, and an upload names its chunks by
       prefix (the broker checks both against full hashes). */
    FC_MSG_DERIVE_OBJECT = 58,   /* P>B  hash (a chunk-list object), blob (its file) -> OK */
    FC_MSG_UPLOAD_PREFIXES = 59, /* P>B  blob, size, bytes (chunk list by hash prefix) ->
                                    UPLOAD_STATE */
    /* 60-67 and 69-71 are free (fc_msg_type_known: a number without a name is unknown). */
    /* A push asks which objects the broker lacks, as BLOBS_QUERY asks of blobs. */
    FC_MSG_OBJECTS_QUERY = 68, /* P>B  bytes (object hashes, 32 bytes each) -> BLOBS_STATE */
    /* Agent keys for relays (issue 16): only a relay key asks. */
    FC_MSG_RELAY_KEYS = 72,       /* R>B  cursor (list keys sorting after it; "" = from the
                                     first) -> RELAY_KEYS_REPLY */
    FC_MSG_RELAY_KEYS_REPLY = 73, /* B>R  serial (of the whole set), more, bytes (enrolled agent
                                     keys, Z85, FC_MSG_KEY_Z85_LEN each, strictly ascending);
                                     also the body of the announce topic "K" (req 0, no keys) */
    /* Relays forward what their agents say (issue 16). */
    FC_MSG_RELAY_REPORTS = 74, /* R>B  text (via: the relay the agents are behind), items (each
                                  an encoded REPORT or CONFIG_ACK frame) -> OK (serial = taken) */
    FC_MSG_RELAY_SLOT = 75,    /* R>B  id, group, serial (rev), text (via) -> OK with flag */
    FC_MSG_TYPE_MAX
} fc_msg_type_t;

typedef struct {
    uint64_t offset;
    uint64_t length;
} fc_range_t;

/* One release as listed by LIST_REPLY and SNAPSHOT. */
typedef struct {
    char channel[FC_MAX_NAME + 1];
    char version[FC_MAX_NAME + 1];
    uint64_t serial;
    uint64_t size; /* total bytes of all files */
    uint64_t files;
    int64_t created; /* unix seconds */
    bool mandatory;
} fc_release_info_t;

/* One agent's status as sent in REPORT and listed by STATUS_REPLY. */
typedef struct {
    char id[FC_MAX_NAME + 1];
    char channel[FC_MAX_NAME + 1];
    char version[FC_MAX_NAME + 1]; /* installed, "" if none */
    char state[FC_MAX_NAME + 1];   /* REPORT, STATUS_REPLY: a name from fc_state.h;
                                      CONFIG_STATUS_REPLY: a name from fc_ack.h ("pending": no ack) */
    char message[FC_MAX_TEXT + 1];
    uint64_t done;     /* bytes of the release in hand */
    uint64_t total;    /* bytes of the release being fetched, 0 if none */
    int64_t last_seen; /* unix seconds; filled in by the broker */
    /* STATUS_REPLY, CONFIG_STATUS_REPLY: the relay the agent reports through ("" = this
       broker directly); optional last element, left off the wire when empty */
    char via[FC_MAX_NAME + 1];
} fc_agent_status_t;

/* One audit log entry (AUDIT_REPLY): who did what, when, with what result. */
typedef struct {
    int64_t time;              /* unix seconds */
    char who[FC_MAX_NAME + 1]; /* signer key (hex prefix) or peer role/id */
    char action[FC_MAX_NAME +
                1]; /* config.set, config.schema, config.promote, release.commit, ... */
    char detail[FC_MAX_TEXT + 1];
    char result[FC_MAX_TEXT + 1]; /* "ok" or the error text */
} fc_audit_entry_t;

/* A channel's current release and its rollout, as ROLLOUT_STATUS_REPLY lists them. Every
   agent of the channel is counted once: offline first, then by what it runs and reported. */
typedef struct {
    char channel[FC_MAX_NAME + 1];
    char version[FC_MAX_NAME + 1]; /* the channel's latest release */
    uint64_t serial;
    char prev_version[FC_MAX_NAME + 1]; /* what agents not offered it follow ("" none) */
    uint64_t prev_serial;
    char state[FC_MAX_NAME + 1];  /* a name from fc_rollout_state.h; "" = no rollout: the
                                     release is offered to every agent */
    char reason[FC_MAX_TEXT + 1]; /* why it halted */
    uint32_t wave;                /* 1-based; 0 without a rollout */
    uint32_t waves;
    uint32_t percent; /* cumulative share of the channel offered up to this wave */
    uint32_t halt_percent;
    uint64_t wave_wait_ms; /* 0: a wave waits for every member's health */
    int64_t wave_started;  /* unix seconds */
    uint64_t agents;       /* of the channel */
    uint64_t offered;      /* agents offered the release */
    uint64_t installed;    /* running it */
    uint64_t healthy;      /* running it, health check passed (installed / up-to-date) */
    uint64_t failed;       /* offered, failed or rejected it */
    uint64_t rolled_back;  /* offered, installed it, failed the health check, swapped back */
    uint64_t downloading;  /* offered, fetching or installing it */
    uint64_t bytes_done;   /* of those downloading */
    uint64_t bytes_total;
    uint64_t pending;     /* offered, nothing reported yet */
    uint64_t not_offered; /* following the previous release */
    uint64_t offline;     /* not heard for the broker's offline threshold */
    /* The root's current share as a rank cut (PROTOCOL.md 3.16, "Rollouts"): the id of its
       last member in offer order, FC_ROLLOUT_CUT_ALL, FC_ROLLOUT_CUT_NONE, or "" (not
       stated: no rollout under way, or an older broker). Optional on the wire. */
    char cut[FC_MAX_NAME + 1];
} fc_rollout_info_t;
#define FC_ROLLOUT_CUT_ALL "*"  /* every agent is within the share */
#define FC_ROLLOUT_CUT_NONE "!" /* no agent is (the root knows none yet) */

/* One row of a STATUS_SUMMARY_REPLY. With reason "": how many agents of channel run version
   and last reported state, how many of those are offline, and the bytes done and total of
   those downloading. With a reason: how many agents of channel in state (a failure) last said
   reason (version ""), the most common reasons first. */
typedef struct {
    char channel[FC_MAX_NAME + 1];
    char version[FC_MAX_NAME + 1];
    char state[FC_MAX_NAME + 1];
    char reason[FC_MAX_TEXT + 1];
    uint64_t agents;
    uint64_t offline;
    uint64_t done;
    uint64_t total;
} fc_fleet_count_t;

/* One opaque byte string in a list (CONFIG_SNAPSHOT items). */
typedef struct {
    uint8_t *data; /* malloc'd */
    size_t len;
} fc_item_t;

/* A decoded message. Like a zproto codec: one struct with every field; each type uses the
   fields its comment above names, the rest stay zero. Strings are NUL-terminated copies
   (never pointers into a receive buffer). The struct owns bytes, data, ranges, releases,
   agents, items (and each item's data) and audit; fc_msg_destroy frees them. */
typedef struct {
    fc_msg_type_t type;
    uint64_t req; /* request id chosen by the requester, echoed in the reply */
    /* ERROR only: the protocol version to frame it in, 0 for FC_PROTO_VERSION. A broker
       answers a request of an older version in that version (ERROR's layout is the same in
       every version), so an older peer can read why it is refused. */
    uint32_t proto_version;
    fc_role_t role; /* HELLO; a name from fc_role.h on the wire */
    char id[FC_MAX_NAME + 1];
    char channel[FC_MAX_NAME + 1];
    char version[FC_MAX_NAME + 1];
    char endpoint[FC_MAX_ENDPOINT + 1];
    char text[FC_MAX_TEXT + 1];
    uint64_t epoch;
    uint64_t seq;
    uint64_t serial;
    uint64_t offset;
    uint64_t length;
    uint64_t size;
    uint64_t heartbeat_ms;
    uint32_t code;
    bool flag;
    uint8_t blob[FC_HASH_LEN];
    uint8_t hash[FC_HASH_LEN];
    uint8_t *bytes; /* malloc'd, bytes_len long; NULL if empty */
    size_t bytes_len;
    zframe_t *data; /* CHUNK and PUT_CHUNK payload, sent as a second frame */
    fc_range_t *ranges;
    size_t nranges;
    fc_release_info_t *releases;
    size_t nreleases;
    fc_agent_status_t *agents;
    size_t nagents;
    char group[FC_MAX_NAME + 1]; /* config: the agent's group ("" = none) */
    char state[FC_MAX_NAME + 1]; /* CONFIG_ACK: a name from fc_ack.h an agent may send */
    fc_item_t *items; /* CONFIG_SNAPSHOT: at most FC_MAX_SNAPSHOT, total within FC_MAX_FRAME */
    size_t nitems;
    fc_audit_entry_t *audit; /* AUDIT_REPLY: at most FC_MAX_LIST */
    size_t naudit;
    uint64_t time_ms;        /* HEARTBEAT: broker's clock, unix ms (0 = unsigned) */
    uint8_t sig[FC_SIG_LEN]; /* HEARTBEAT: fc_stamp signature of (epoch, seq, time_ms) */
    /* HEARTBEAT of a relay (issue 16): the root's signed timestamp as the relay received it
       (root_epoch 0 = none carried), so an agent pinning the root's key checks it end to end. */
    uint64_t root_epoch, root_seq, root_time_ms;
    uint8_t root_sig[FC_SIG_LEN];
    uint32_t waves[FC_MAX_WAVES]; /* ROLLOUT_PLAN: cumulative percentages, rising, last 100 */
    size_t nwaves;
    uint32_t halt_percent;       /* ROLLOUT_PLAN */
    uint64_t wave_wait_ms;       /* ROLLOUT_PLAN */
    fc_rollout_info_t *rollouts; /* ROLLOUT_STATUS_REPLY: at most FC_MAX_LIST */
    size_t nrollouts;
    uint64_t offline_ms; /* STATUS_REPLY, CONFIG_STATUS_REPLY: an agent not heard for this long
                            (by time_ms, the broker's clock) is offline */
    /* Paging of STATUS, CONFIG_STATUS and LIST (an optional trailing group, docs/PROTOCOL.md
       "Paging"). Request: limit (page size, 1 to FC_MAX_LIST; 0 = an old, unpaged request),
       cursor (list the agents whose id sorts after it; LIST: the cursor its last reply
       named; "" = from the first), state (only agents in this state; "" = all; LIST: ""
       only). Reply: limit (the page size used), more (entries follow the last one listed:
       ask again with its id, or LIST_REPLY's cursor, as cursor). */
    uint64_t limit;
    char cursor[FC_MAX_NAME + 1];
    bool more;
    fc_fleet_count_t *counts; /* STATUS_SUMMARY_REPLY: at most FC_MAX_LIST */
    size_t ncounts;
    /* STATUS_SUMMARY_REPLY to a STATUS_SUMMARY with a limit (an optional trailing group,
       docs/PROTOCOL.md STATUS_SUMMARY): the rows left out (groups and reasons; 0: none, and
       the group is left off the wire), the (channel, version, state) groups among them and
       the agents those groups hold. Never a summary cut without saying so. */
    uint64_t left_out;
    uint64_t groups_left_out;
    uint64_t agents_left_out;
} fc_msg_t;

/* New empty message of the given type; never NULL (aborts on out of memory, like CZMQ). */
fc_msg_t *fc_msg_new(fc_msg_type_t type);
/* Frees the message and what it owns; nulls *self_p; safe on NULL. */
void fc_msg_destroy(fc_msg_t **self_p);

/* Copies src into dst (bounded by FC_MAX_TEXT etc., truncating); for filling string fields. */
void fc_msg_set_str(char *dst, size_t dstsize, const char *src);
/* Copies len bytes into self->bytes (replacing). */
void fc_msg_set_bytes(fc_msg_t *self, const void *buf, size_t len);
/* CONFIG_SNAPSHOT's optional `halted` field (in bytes): the numbers of the halted canary
   revisions, each 8 bytes big-endian, ascending, at most FC_MAX_LIST. set: n numbers from
   revs (n 0: none). get: into revs (max of them), *n set; FC_EPROTO (and *n 0) if the field
   is not such a list. */
void fc_msg_set_halted(fc_msg_t *self, const uint64_t *revs, size_t n);
int fc_msg_halted(const fc_msg_t *self, uint64_t *revs, size_t max, size_t *n);

/* PUT_BLOBS items: each is a blob's 32-byte hash followed by its whole content (at most
   FC_MAX_SMALL_BLOB bytes); the codec refuses any other item. add: appends one (copies
   data). get: item i's hash and content (borrowed from self, valid while it lives). */
/* RELAY_KEYS_REPLY keys in bytes: FC_MSG_KEY_Z85_LEN characters each (a CURVE public key in
   Z85), strictly ascending (so a page names each key once, and the next page starts after
   its last), at most FC_MAX_LIST; the codec refuses any other list. add: appends one (-1 if
   z85 is not 40 Z85 characters sorting after the last one, or the list is full). count, get:
   key i into out (NUL-terminated). */
#define FC_MSG_KEY_Z85_LEN 40
int fc_msg_relay_key_add(fc_msg_t *self, const char *z85);
size_t fc_msg_relay_key_count(const fc_msg_t *self);
void fc_msg_relay_key_get(const fc_msg_t *self, size_t i, char out[FC_MSG_KEY_Z85_LEN + 1]);

void fc_msg_put_blob_add(fc_msg_t *self, const uint8_t blob[FC_HASH_LEN], const void *data,
                         size_t len);
void fc_msg_put_blob_get(const fc_msg_t *self, size_t i, const uint8_t **blob, const uint8_t **data,
                         size_t *len);
/* BLOBS_QUERY or OBJECTS_QUERY (one layout, both answered by BLOBS_STATE): the number of
   hashes in bytes, and hash i (borrowed). */
size_t fc_msg_blobs_count(const fc_msg_t *self);
const uint8_t *fc_msg_blobs_hash(const fc_msg_t *self, size_t i);

/* UPLOAD_CHUNKS' chunk list in bytes: FC_CHUNK_REF_LEN bytes a chunk, its length (u32, big
   endian, 1 to FC_MAX_CHUNK) then its hash, in file order; the lengths add up to size (the
   codec refuses any other list). add: appends one. count, get: chunk i's length and hash
   (borrowed from self). */
#define FC_CHUNK_REF_LEN (4 + FC_HASH_LEN)
void fc_msg_chunk_ref_add(fc_msg_t *self, uint32_t length, const uint8_t hash[FC_HASH_LEN]);
size_t fc_msg_chunk_ref_count(const fc_msg_t *self);
uint32_t fc_msg_chunk_ref_get(const fc_msg_t *self, size_t i, const uint8_t **hash);
/* UPLOAD_PREFIXES' list: as UPLOAD_CHUNKS' with each hash cut to its first FC_CHUNK_PREFIX
   bytes (FC_CHUNK_PREF_LEN bytes a chunk). add: appends one, taking the prefix of hash. get:
   chunk i's length and prefix (borrowed from self). Count and rules as UPLOAD_CHUNKS'. */
#define FC_CHUNK_PREFIX 8
#define FC_CHUNK_PREF_LEN (4 + FC_CHUNK_PREFIX)
void fc_msg_chunk_prefix_add(fc_msg_t *self, uint32_t length, const uint8_t hash[FC_HASH_LEN]);
size_t fc_msg_chunk_prefix_count(const fc_msg_t *self);
uint32_t fc_msg_chunk_prefix_get(const fc_msg_t *self, size_t i, const uint8_t **prefix);

/* Encodes the message into one frame (msgpack) plus, for CHUNK and PUT_CHUNK, a second frame
   holding data (ownership of self->data moves to the zmsg; self->data becomes NULL).
   Returns NULL if a field is over its limit. */
zmsg_t *fc_msg_encode(fc_msg_t *self);
/* Decodes *msg_p (which it destroys and nulls). Returns NULL and sets *err (FC_EPROTO,
   FC_ETOOBIG) on anything malformed: wrong frame count, bad msgpack, wrong types, unknown
   type, counts over limits, trailing bytes, a REPORT whose state is not in fc_state.h, a
   CONFIG_ACK whose state is not an agent's outcome in fc_ack.h, a ROLLOUT_PLAN whose waves
   are not rising percentages ending at 100, a ROLLOUT_STATUS_REPLY whose state is neither ""
   nor in fc_rollout_state.h, a BLOBS_QUERY, OBJECTS_QUERY, BLOBS_STATE or PUT_BLOBS breaking the
   rules of fc_msg_put_blob_add and fc_msg_blobs_count, an UPLOAD_CHUNKS breaking
   fc_msg_chunk_ref_add's (empty, a partial hash, a flag not 0 or 1, an item shorter than a hash;
   FC_ETOOBIG: longer than a hash and FC_MAX_SMALL_BLOB). Never asserts on input. (Encoding does not
   check states: test tools send bad ones.) */
fc_msg_t *fc_msg_decode(zmsg_t **msg_p, int *err);

/* Sends on a DEALER (or PUB, see fc_msg_publish). Destroys *self_p. Returns 0 or -1. */
int fc_msg_send(fc_msg_t **self_p, void *sock);
/* Sends on a ROUTER to routing_id (borrowed). Non-blocking: returns -1 if the peer is gone
   or its queue is full (the request will be re-sent). Destroys *self_p. */
int fc_msg_send_to(fc_msg_t **self_p, zframe_t *routing_id, void *sock);
/* As fc_msg_send_to, for a CHUNK or PUT_CHUNK whose data (self->data must be NULL) is len
   bytes at data, handed to ZeroMQ without a copy: free_fn(data, hint) runs once ZeroMQ is
   done with them (possibly on its I/O thread, possibly before this returns, always exactly
   once, also when the send fails). 0, or -1 if not sent. */
int fc_msg_send_to_owned(fc_msg_t **self_p, zframe_t *routing_id, void *sock, void *data,
                         size_t len, zmq_free_fn *free_fn, void *hint);
/* Receives one message. On a ROUTER pass routing_id_p to get the peer's id (caller owns).
   Returns NULL on a malformed message (consumed and dropped, *err set) or interrupt. */
fc_msg_t *fc_msg_recv(void *sock, zframe_t **routing_id_p, int *err);

/* PUB topics: announce frames are [topic][body]. Agents subscribe to FC_TOPIC_RELEASE
   (all channels, so gaps in the global sequence mean something) and FC_TOPIC_HEARTBEAT. */
#define FC_TOPIC_RELEASE "R/"
#define FC_TOPIC_CONFIG "C/"
#define FC_TOPIC_HEARTBEAT "H"
#define FC_TOPIC_TRUST "T"
/* Relays subscribe to it: the serial of the upstream's enrolled agent keys (RELAY_KEYS_REPLY,
   req 0, no keys), on every heartbeat and at once when it changes. */
#define FC_TOPIC_KEYS "K"
/* Publishes ANNOUNCE (topic "R/<channel>"), CONFIG_ANNOUNCE (topic "C/<scope>", scope in
   text), TRUST_ANNOUNCE (topic "T"), HEARTBEAT (topic "H") or RELAY_KEYS_REPLY (topic "K").
   Destroys *self_p. */
int fc_msg_publish(fc_msg_t **self_p, void *pub);
/* Receives one announcement from a SUB socket (topic frame checked and dropped). */
fc_msg_t *fc_msg_recv_announce(void *sub, int *err);

/* Like fc_msg_decode / fc_msg_recv, and also set *req_p (if not NULL) to the request id
   whenever the header's req element could be read, even if the rest is malformed (else 0):
   the broker then answers ERROR FC_EPROTO to that request instead of leaving it to time out.
   fc_msg_recv / fc_msg_recv_req: NULL with *err == FC_OK means nothing was received
   (interrupt or receive timeout); on a ROUTER, *routing_id_p is set whenever a message was
   received, malformed or not, and the caller must destroy it. */
fc_msg_t *fc_msg_decode_req(zmsg_t **msg_p, int *err, uint64_t *req_p);
fc_msg_t *fc_msg_recv_req(void *sock, zframe_t **routing_id_p, int *err, uint64_t *req_p);

/* Whether agent, listed in a STATUS_REPLY or CONFIG_STATUS_REPLY, is offline: the reply's
   optional [offline_ms, time_ms] is there and the broker had not heard the agent for
   offline_ms at time_ms (its clock, not ours). */
bool fc_msg_agent_offline(const fc_msg_t *reply, const fc_agent_status_t *agent);
/* A paged list request's parameters (STATUS, CONFIG_STATUS): *limit gets the page size to
   use (limit 0, an old unpaged request, or above FC_MAX_LIST: FC_MAX_LIST). NULL if they
   are usable, else a one-line reason (static) for an FC_EINVAL error: a cursor that is not
   an agent id, or a cursor or state without a limit. The state filter's names are each
   list's own, checked by the service. */
const char *fc_msg_page_check(const fc_msg_t *req, size_t *limit);
/* Whether waves (n of them) are a rollout's waves: 1 to FC_MAX_WAVES cumulative percentages
   from 1 to 100, strictly rising, the last 100. */
bool fc_msg_waves_valid(const uint32_t *waves, size_t n);
/* Name of a type ("GET_CHUNK"), "?" if unknown. */
const char *fc_msg_type_name(int type);
/* Whether type is a message of this protocol (numbers left free between types are not). */
bool fc_msg_type_known(int type);
/* Whether messages of this type end with a data frame (CHUNK, PUT_CHUNK). */
bool fc_msg_type_has_data(int type);
/* Whether this type is a request of the config and trust-list services (CONFIG_PUSH,
   CONFIG_SYNC, CONFIG_ACK, CONFIG_STATUS, CONFIG_SUMMARY, RESTART_SLOT, AUDIT, TRUST_PUSH,
   GET_TRUST). */
bool fc_msg_type_is_config_request(int type);
/* Whether this type is a request of the release rollout service (ROLLOUT_PLAN,
   ROLLOUT_STATUS, ROLLOUT_PROMOTE, ROLLOUT_PAUSE, ROLLOUT_RESUME). */
bool fc_msg_type_is_rollout_request(int type);
/* Reads the req of a message the codec refused, if its first frame still begins with a
   msgpack array header of at least three elements whose first two are scalars and whose
   third is a non-negative integer, so the sender can learn why instead of timing out.
   Reads only those leading bytes (at most 32), whatever follows them: a huge or trailing
   body costs nothing here. */
bool fc_msg_peek_req(zframe_t *frame, uint64_t *req);
/* Reads the protocol version of a message the codec refused, under the same conditions as
   fc_msg_peek_req (the version is its first scalar), so the broker can tell "another version"
   from garbage and say which version it speaks. */
bool fc_msg_peek_version(zframe_t *frame, uint64_t *version);
/* Whether a message the codec refused is, under the same conditions as fc_msg_peek_req and
   in this protocol version, one from a newer program: a type this codec does not know, or
   more fields than it reads for its type (optional groups added after it). Then why gets a
   sentence naming it and "upgrade the broker" (what a broker answers: only a newer program
   sends such a request; a garbled one is malformed like any other). */
bool fc_msg_peek_newer(zframe_t *frame, char *why, size_t size);
/* Receives one whole multipart message but keeps at most keep frames: a peer sending
   thousands of frames cannot make us hold them, and the rest of its message is still
   consumed so the next receive starts on a message boundary. NULL if nothing came. The
   message is the caller's. */
zmsg_t *fc_msg_recv_frames(void *sock, size_t keep);

void fc_msg_test(bool verbose);
/* The config messages' part of fc_msg_test (fc_msg_config_test.c); fc_msg_test calls it. */
void fc_msg_config_test(bool verbose);
/* The signed heartbeat and trust messages' part (fc_msg_fresh_test.c). */
void fc_msg_fresh_test(bool verbose);
/* RELAY_KEYS, RELAY_KEYS_REPLY and topic "K" (fc_msg_relay_test.c). */
void fc_msg_relay_test(bool verbose);
/* RELAY_REPORTS, RELAY_SLOT and agent-status' via (fc_msg_relay_up_test.c). */
void fc_msg_relay_up_test(bool verbose);

#endif
