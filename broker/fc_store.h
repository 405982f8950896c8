/* fc_store.h: the broker's durable state: SQLite database, content-addressed blobs, uploads. */
#ifndef FC_STORE_H
#define FC_STORE_H

#include "fc_manifest.h"
#include "fc_msg.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Layout under the data directory DIR:
     DIR/fleetcast.db            SQLite (WAL, synchronous=FULL): releases, agents, agent keys,
                                 uploads, meta
     DIR/blobs/<2 hex>/<64 hex>  complete, verified blobs, named by their hash, never rewritten
     DIR/incoming/<64 hex>.part  partial uploads; which chunks they hold is in the database
   A blob only appears under blobs/ (by rename) after its content matched its hash, so the
   presence of that file is what "complete" means. On a PostgreSQL store the database also
   holds every complete blob (fc_store_pieces.h) and blobs/ is a cache filled from it.

   Single-threaded: one fc_store_t is used by one thread (the broker actor). */
typedef struct fc_store_t fc_store_t;

/* Opens (creating if needed) the store under dir, which must exist. Returns NULL with *err
   set (FC_EIO, FC_ENOSPC, FC_EPROTO for a corrupt or foreign database) and, if text is
   non-NULL, a one-line explanation naming the failing path. */
fc_store_t *fc_store_new(const char *dir, int *err, char *text, size_t textsize);
/* fc_store_new with the database at db instead of DIR/fleetcast.db: a SQLite path, or a
   PostgreSQL connection string (postgresql://..., see fc_db_open); blobs and uploads stay
   under dir. NULL db: DIR/fleetcast.db. */
fc_store_t *fc_store_new_db(const char *dir, const char *db, int *err, char *text, size_t textsize);
/* Closes the database and every cached file descriptor; nulls *self_p; safe on NULL. */
void fc_store_destroy(fc_store_t **self_p);

/* --- Blobs ------------------------------------------------------------------------------ */

/* UPLOAD_QUERY. Sets *complete if the blob is already stored. Otherwise registers (or
   resumes) an upload of a blob of this declared size and returns in *ranges (malloc'd,
   caller frees; NULL if none) the chunk ranges already held, coalesced, at most
   FC_MAX_RANGES (a publisher resending a held chunk is harmless). A different declared
   size than an earlier, unfinished upload restarts that upload. Returns fc_error_t
   (FC_ETOOBIG if size is over FC_MAX_FILE_SIZE). */
int fc_store_blob_state(fc_store_t *self, const uint8_t blob[FC_HASH_LEN], uint64_t size,
                        bool *complete, fc_range_t **ranges, size_t *nranges);

/* PUT_CHUNK. Checks that BLAKE2b(data) equals chunk_hash (FC_EHASH), that offset is a
   multiple of FC_CHUNK_SIZE inside the declared size and len is exactly that chunk's
   length (FC_EINVAL), writes the data at offset in the partial file, syncs it, and records
   the range durably before returning FC_OK. Idempotent. A chunk for a blob already
   complete is checked and accepted without writing. FC_EINVAL if no upload of this blob
   was registered by fc_store_blob_state. data is borrowed. */
int fc_store_put_chunk(fc_store_t *self, const uint8_t blob[FC_HASH_LEN], uint64_t offset,
                       const void *data, size_t len, const uint8_t chunk_hash[FC_HASH_LEN]);

/* BLOB_COMMIT. Once every chunk is held, re-reads the partial file chunk by chunk, checks
   that the hash of the chunk hashes equals blob and moves it into blobs/ (fsync'd).
   FC_EMISSING if chunks are missing (or no upload exists), FC_EINVAL if size differs from
   the declared size, FC_EHASH if the content does not match (the partial upload is then
   discarded). FC_OK at once if the blob is already complete. Memory used: one chunk plus
   32 bytes per chunk of the blob. */
int fc_store_blob_commit(fc_store_t *self, const uint8_t blob[FC_HASH_LEN], uint64_t size);

/* UPLOAD_CHUNKS: fc_store_blob_state, then every chunk of the upload not held yet (the
   blob's n chunks in order: lens[i] bytes hashing to hashes[i], lens adding up to size,
   else FC_EINVAL) that the chunk index finds in another complete blob is copied into the
   upload, checked against its hash as read, as fc_store_put_chunk stores a piece (up to
   FC_MAX_UPLOAD_COPY bytes a call: the rest is left to be uploaded). *ranges then include
   the copies; *copied says how many bytes were copied. lens and hashes are borrowed. */
int fc_store_upload_chunks(fc_store_t *self, const uint8_t blob[FC_HASH_LEN], uint64_t size,
                           const uint32_t *lens, const uint8_t (*hashes)[FC_HASH_LEN], size_t n,
                           bool *complete, fc_range_t **ranges, size_t *nranges, uint64_t *copied);

/* UPLOAD_PREFIXES: fc_store_upload_chunks with each chunk named by the first
   FC_CHUNK_PREFIX bytes of its hash (prefixes: n of them end to end, borrowed): a chunk the
   index holds under a hash of that prefix and that length is copied, checked against the
   whole hash the index records. A wrong copy (two chunks sharing a prefix and a length) is
   caught by the blob's commit, which checks the whole content. */
int fc_store_upload_prefixes(fc_store_t *self, const uint8_t blob[FC_HASH_LEN], uint64_t size,
                             const uint32_t *lens, const uint8_t *prefixes, size_t n,
                             bool *complete, fc_range_t **ranges, size_t *nranges,
                             uint64_t *copied);

/* The chunks of a complete blob as the cut that names it puts them (by content, or the fixed
   pieces of before issue 13), read and checked against its name: an owned array of *n in
   *chunks (NULL if none). FC_ENOTFOUND if the blob is not stored complete, FC_EHASH if its
   content no longer matches its name, FC_ETOOBIG (before reading) if it is larger than max
   bytes (0: no limit). Reads the whole blob. */
int fc_store_blob_chunks(fc_store_t *self, const uint8_t blob[FC_HASH_LEN], uint64_t max,
                         fc_chunk_t **chunks, uint32_t *n);

/* A step of filling the chunk index for blobs stored before it existed (fc_store_backfill). */
typedef struct {
    uint64_t blobs;   /* looked at */
    uint64_t indexed; /* of those, cut and indexed now (the others had rows, or are damaged) */
    uint64_t bytes;   /* read */
    bool done;        /* every blob has been looked at: later steps do nothing */
} fc_store_backfill_t;

/* Indexes the chunks of the blobs stored before the chunk index (and of any whose rows are
   gone), so UPLOAD_CHUNKS copies from them too: in hex order from where the last step
   stopped (kept in the database: a restart resumes there), until budget bytes are read (at
   least one blob is read whole, so each step moves on). Blobs completed meanwhile are
   indexed as they complete. FC_OK, or the database's error. */
int fc_store_backfill_step(fc_store_t *self, uint64_t budget, fc_store_backfill_t *res);

/* BLOBS_QUERY, for one blob: whether it is complete (then it counts as young for garbage
   collection again: a push is counting on it). Registers no upload. */
bool fc_store_blob_held(fc_store_t *self, const uint8_t blob[FC_HASH_LEN]);
/* PUT_BLOBS, for one blob: the whole content (len at most FC_MAX_SMALL_BLOB, else
   FC_ETOOBIG) of blob, checked against its hash (FC_EHASH: nothing written), written and
   moved into blobs/ durably (inside a batch: by the batch's flush, before it commits), with
   no upload registered first. FC_OK at once if the blob is already complete. data is
   borrowed. */
int fc_store_put_blob(fc_store_t *self, const uint8_t blob[FC_HASH_LEN], const void *data,
                      size_t len);

/* Size of a complete blob; FC_ENOTFOUND if not stored. Opens the blob into a small LRU of
   file descriptors so that serving many chunks does not reopen it per request. */
int fc_store_blob_size(fc_store_t *self, const uint8_t blob[FC_HASH_LEN], uint64_t *size);
/* Positioned read of len bytes at offset of a complete blob into buf (caller's, len bytes).
   FC_ENOTFOUND unknown blob, FC_EINVAL range outside the blob, FC_EIO read failure. */
int fc_store_blob_read(fc_store_t *self, const uint8_t blob[FC_HASH_LEN], uint64_t offset,
                       void *buf, size_t len);

/* Re-reads a complete blob chunk by chunk and checks it still hashes to its name: FC_OK,
   FC_EHASH (damaged on disk: wrong size or content), FC_ENOTFOUND (not stored), FC_EIO. */
int fc_store_blob_verify(fc_store_t *self, const uint8_t blob[FC_HASH_LEN]);
/* As fc_store_blob_verify, for the complete blob under data dir dir, without a store: safe
   on any thread (it opens and reads the file itself and touches no database), for the
   broker's verifier thread. stop (may be NULL) is asked between chunks; when it returns true
   the check ends early with FC_ETIMEOUT. FC_OK, FC_EHASH, FC_ENOTFOUND, FC_EIO. */
int fc_store_blob_verify_file(const char *dir, const uint8_t blob[FC_HASH_LEN],
                              bool (*stop)(void *arg), void *arg);
/* Marks a damaged blob: moves its file aside (blobs/xx/HEX.corrupt) so it is no longer
   served and a re-push uploads it again, and records it with reason in corrupt_blobs
   until that upload commits. Returns fc_error_t. */
int fc_store_blob_quarantine(fc_store_t *self, const uint8_t blob[FC_HASH_LEN], const char *reason);
/* An agent reported blob corrupt: re-verifies it and, if it no longer matches, quarantines
   it. FC_EHASH when quarantined (text says so, naming who, and what to do), FC_OK when our
   copy verifies, FC_ENOTFOUND when not stored (or already moved aside), else an error. */
int fc_store_blob_suspect(fc_store_t *self, const uint8_t blob[FC_HASH_LEN], const char *who,
                          char *text, size_t textsize);
/* true if blob is marked corrupt (moved aside, waiting for a re-push). */
bool fc_store_blob_marked(fc_store_t *self, const uint8_t blob[FC_HASH_LEN]);
/* Number of blobs currently marked corrupt. */
size_t fc_store_corrupt_count(fc_store_t *self);

/* --- Releases --------------------------------------------------------------------------- */

/* RELEASE_COMMIT. Parses the signed manifest (signature checked against its embedded
   signer; which signers agents trust is their business), checks every non-empty file's
   blob is complete (FC_EMISSING, and the blob's hex in text), and that the serial is
   higher than the channel's latest (FC_ESERIAL) — except that a manifest byte-identical
   to the channel's latest is accepted again (idempotent push re-run). Stores it and bumps
   the announcement sequence in one transaction.
   On FC_OK fills *info (may be NULL) and sets *seq to the new sequence number to announce,
   or to 0 for an identical re-commit (nothing new to announce). text (may be NULL) gets a
   one-line reason on failure. manifest is borrowed. */
int fc_store_release_commit(fc_store_t *self, const uint8_t *manifest, size_t len,
                            fc_release_info_t *info, uint64_t *seq, char *text, size_t textsize);
/* A relay's copy of an upstream release (fc_relay.h): as fc_store_release_commit, with
   its format-3 objects stored first, but without its blobs, which the relay fetches when an
   agent first asks for them. The signature is checked as there; agents check the signer. */
int fc_store_release_mirror(fc_store_t *self, const uint8_t *manifest, size_t len,
                            fc_release_info_t *info, uint64_t *seq, char *text, size_t textsize);

/* Latest release of channel: fills *info (may be NULL) and, if manifest is non-NULL, a
   malloc'd copy of its signed manifest (caller frees) in *manifest / *len.
   FC_ENOTFOUND if the channel has none. */
int fc_store_latest(fc_store_t *self, const char *channel, fc_release_info_t *info,
                    uint8_t **manifest, size_t *len);
/* As fc_store_latest, for the release of channel with this serial (0: the latest).
   FC_ENOTFOUND if there is none (never stored, or pruned). */
int fc_store_release_get(fc_store_t *self, const char *channel, uint64_t serial,
                         fc_release_info_t *info, uint8_t **manifest, size_t *len);
/* Releases newest first (by commit order), only channel's unless channel is NULL or "",
   at most max. *list is malloc'd (caller frees; NULL when empty). Returns fc_error_t.
   _page: in (sequence number, row id) order, only those before position (before,
   before_id) (before 0: from the newest; before_id 0: every release of sequence number
   before too); *more says whether older ones follow, (*last, *last_id) is the position of
   the last one listed (the next page's; 0 if none listed). */
int fc_store_list_page(fc_store_t *self, const char *channel, uint64_t before, uint64_t before_id,
                       size_t max, fc_release_info_t **list, size_t *n, bool *more, uint64_t *last,
                       uint64_t *last_id);
int fc_store_list(fc_store_t *self, const char *channel, size_t max, fc_release_info_t **list,
                  size_t *n);
/* The latest release of every channel, by channel name, at most max. As fc_store_list. */
int fc_store_latest_all(fc_store_t *self, size_t max, fc_release_info_t **list, size_t *n);

/* --- Pruning and garbage collection (fc_store_gc.c) -------------------------------------- */

/* A channel keeps at least its current release and the one before it. */
#define FC_STORE_KEEP_MIN 2
/* Partial uploads, and blobs no release ever named, are collected once this old (seconds). */
#define FC_STORE_GC_AGE 86400

/* Whether blob is being fetched now (the broker served it lately); arg is the caller's. */
typedef bool(fc_store_busy_fn)(const uint8_t blob[FC_HASH_LEN], void *arg);

typedef struct {
    uint64_t releases;   /* releases removed */
    uint64_t kept_busy;  /* releases past keep left in place: an agent is fetching them */
    uint64_t blobs;      /* blob files removed */
    uint64_t bytes;      /* their bytes */
    uint64_t blobs_busy; /* unneeded blobs left in place: being fetched */
    uint64_t parts;      /* partial uploads removed */
    uint64_t objects;    /* format-3 manifest objects removed */
} fc_store_gc_result_t;

/* RELEASE_PRUNE: removes channel's releases beyond its newest keep (at least
   FC_STORE_KEEP_MIN), except those with a blob busy(blob, arg) says is being fetched
   (res->kept_busy), audits it as who ("release.prune"), then collects (fc_store_gc) the
   blobs of the removed releases that no other release names. FC_EINVAL bad channel; text
   says why on failure. */
int fc_store_release_prune(fc_store_t *self, const char *channel, uint64_t keep,
                           fc_store_busy_fn *busy, void *arg, const char *who,
                           fc_store_gc_result_t *res, char *text, size_t textsize);
/* Garbage collection: removes every complete blob no stored release names and busy (may be
   NULL) does not call busy, if freed (blob hex set, may be NULL) holds it or its file is
   older than FC_STORE_GC_AGE; and every partial upload started before now -
   FC_STORE_GC_AGE; and the format-3 manifest objects (fc_store_object_gc). Adds its counts
   to *res. */
int fc_store_gc(fc_store_t *self, zhashx_t *freed, fc_store_busy_fn *busy, void *arg, int64_t now,
                fc_store_gc_result_t *res);

/* --- Agents ----------------------------------------------------------------------------- */

/* Records an agent's report (replacing its previous one); last_seen is set to now, the
   status's own last_seen is ignored. FC_EINVAL if the id is not a valid name. */
int fc_store_agent_report(fc_store_t *self, const fc_agent_status_t *status);
/* HELLO from an agent: creates it if unknown, else updates channel and last_seen only. */
int fc_store_agent_seen(fc_store_t *self, const char *id, const char *channel);
/* Agents by id, only channel's unless channel is NULL or "", at most max. As fc_store_list. */
int fc_store_agents(fc_store_t *self, const char *channel, size_t max, fc_agent_status_t **list,
                    size_t *n);
/* One page of the same list: agents whose id sorts after after ("" = from the first), of
   channel ("" = all) and in state ("" = any), by id, at most max; *more says whether
   agents follow the last one. An agent not heard since online_since (unix seconds) is in
   state "offline" only, whatever it last reported. A stable cursor: agents arriving
   meanwhile never make a paged read list one twice or skip one. */
int fc_store_agents_page(fc_store_t *self, const char *channel, const char *after,
                         const char *state, int64_t online_since, size_t max,
                         fc_agent_status_t **list, size_t *n, bool *more);

/* --- Agent ids and agent keys (fc_store_agent_keys.c) ---------------------------------- */

/* An agent id belongs to the first agent key (Z85 CURVE public key) heard with it, trust on
   first use, until that key is no longer enrolled; then the next key heard with it takes it.
   Table agent_keys (agent_id, pubkey, first_seen), every row also held in memory (read at
   open), so checking a known id costs no SQLite query. */

/* Whether key is still enrolled (the broker asks its keyring); arg is the caller's. */
typedef bool(fc_store_enrolled_fn)(const char *key, void *arg);

/* key speaks for agent id. FC_OK if id belongs to key (nothing written), or belonged to no
   key, or to one enrolled(previous, arg) says is gone: then it is bound to key now, in one
   durable transaction with an audit entry (who = key, action "agent.bind" or
   "agent.rebind"; inside a batch, durable with the batch). FC_EPERM if it belongs to another
   key still enrolled (enrolled NULL: every key is): nothing written, holder (may be NULL)
   gets that key (also when the table names another key than the in-memory copy did: the
   copy is read again). FC_EINVAL for an invalid id or a key that is not 40 Z85 characters.
   FC_EIO while the in-memory copy could not be read again after a failed batch (fails
   closed: nothing bound, until a re-read succeeds). Else a store error (nothing bound). */
int fc_store_agent_claim(fc_store_t *self, const char *id, const char *key,
                         fc_store_enrolled_fn *enrolled, void *arg, char *holder,
                         size_t holdersize);
/* The key agent id belongs to, NULL if none; borrowed, valid until the next claim or batch
   commit. */
const char *fc_store_agent_key(fc_store_t *self, const char *id);

/* --- Sequence and checks ---------------------------------------------------------------- */

/* The latest announcement sequence number (0 before the first announcement). */
uint64_t fc_store_seq(fc_store_t *self);
/* Whether other brokers may write the same database (PostgreSQL): what this store caches
   from it (the sequence) must then be read again (fc_store_seq_reload). */
bool fc_store_shared(const fc_store_t *self);
/* Reads the sequence from the database again; *moved (may be NULL) says whether another
   writer moved it since this store last knew it. fc_error_t. */
int fc_store_seq_reload(fc_store_t *self, bool *moved);
/* Durably increments the sequence and returns the new value in *seq (for announcements that
   are not releases). Returns fc_error_t. */
int fc_store_next_seq(fc_store_t *self, uint64_t *seq);
/* PRAGMA integrity_check; FC_OK if the database reports "ok". */
int fc_store_check(fc_store_t *self);

/* Batches writes (config acks, reports) into one durable transaction: nothing written in it
   may be acknowledged before fc_store_batch_commit returns 0. Begin fails (an fc_error_t)
   when a transaction cannot start; the operations then run on their own as usual. Commit
   rolls back everything when it fails. */
int fc_store_batch_begin(fc_store_t *self);
int fc_store_batch_commit(fc_store_t *self);
bool fc_store_batch_open(const fc_store_t *self);

/* --- Trusted-key lists (fc_store_trust.c) ---------------------------------------------- */

/* TRUST_PUSH. Opens the sealed list (fc_trustlist.h) and stores it if its serial is above
   the latest stored one and its signer is one of that list's keys (FC_ESERIAL,
   FC_EUNTRUSTED); the first list may be signed by any valid key, since the broker pins
   none. Every push, accepted or refused, is audited ("trust.push"). On FC_OK sets *serial
   and *seq (the sequence number to announce it under). text gets a reason on failure. */
int fc_store_trust_push(fc_store_t *self, const uint8_t *bytes, size_t len, uint64_t *serial,
                        uint64_t *seq, char *text, size_t textsize);
/* The latest list: *serial, and a malloc'd copy in *bytes / *len (caller frees; both may be
   NULL). FC_ENOTFOUND (serial 0) if none was ever pushed. */
int fc_store_trust_latest(fc_store_t *self, uint64_t *serial, uint8_t **bytes, size_t *len);
/* Creates the table inside the store's open transaction (fc_store.c). */
int fc_store_trust_init(fc_store_t *self);
void fc_store_trust_test(bool verbose);

/* --- Manifest objects (fc_store_object.c) ---------------------------------------------- */

/* An object no release names is kept this long: a push stores its objects before it commits
   the top level that names them. */
#define FC_STORE_OBJECT_GRACE_S (24 * 3600)

/* PUT_OBJECT. Stores an object of a format-3 manifest (a page or a chunk list) under its
   name: FC_ETOOBIG past FC_MAX_OBJECT, FC_EHASH if data does not hash to hash. Storing one
   held already is a success, and repairs a stored copy that was damaged. data is borrowed. */
int fc_store_object_put(fc_store_t *self, const uint8_t hash[FC_HASH_LEN], const uint8_t *data,
                        size_t len);
/* DERIVE_OBJECT. Stores the chunk list of the complete blob as the object named hash: its
   bytes are built from the blob's own chunks (fc_store_blob_chunks, fc_mchunks_encode) and
   checked against hash as fc_store_object_put checks a received one (FC_EHASH: not this
   blob's list). FC_ENOTFOUND if the blob is not stored complete, FC_ETOOBIG if it is larger
   than FC_MAX_DERIVE_BLOB (the list is then sent whole). */
int fc_store_object_derive(fc_store_t *self, const uint8_t hash[FC_HASH_LEN],
                           const uint8_t blob[FC_HASH_LEN]);
/* OBJECTS_QUERY, for one object: whether it is stored intact (its bytes hash to its name: a
   damaged copy counts as lacking, so the push re-sends it and repairs it). One that is
   counts as newly added for garbage collection: a push is counting on it. */
bool fc_store_object_held(fc_store_t *self, const uint8_t hash[FC_HASH_LEN]);
/* GET_OBJECT. A malloc'd copy of the object named hash (caller frees) in *data / *len;
   FC_ENOTFOUND if none is stored. */
int fc_store_object_get(fc_store_t *self, const uint8_t hash[FC_HASH_LEN], uint8_t **data,
                        size_t *len);
/* Reads a stored or committed signed manifest of any format, a format-3 one from the stored
   objects (fc_manifest_load.h; any signer). FC_ENOTFOUND names in missing (may be NULL) the
   first object not stored. When used (may be NULL) gets the hex name of every object the
   manifest needs. Returns an owned manifest or NULL with *err set. */
fc_manifest_t *fc_store_manifest_load(fc_store_t *self, const uint8_t *bytes, size_t len,
                                      zhashx_t *used, uint8_t missing[FC_HASH_LEN], int *err);
/* Removes the objects not in keep (hex names) that are in freed (may be NULL: the objects of
   releases just pruned) or were stored before now - FC_STORE_OBJECT_GRACE_S; *removed (may be
   NULL) counts them. */
int fc_store_object_gc(fc_store_t *self, zhashx_t *keep, zhashx_t *freed, int64_t now,
                       uint64_t *removed);
/* Creates the table inside the store's open transaction (fc_store.c). */
int fc_store_object_init(fc_store_t *self);

void fc_store_test(bool verbose);

#endif
