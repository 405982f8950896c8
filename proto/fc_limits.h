/* fc_limits.h: every bound the wire and file formats enforce, in one place. */
#ifndef FC_LIMITS_H
#define FC_LIMITS_H

/* 2: manifest format 3 on the wire, its objects fetched by GET_OBJECT (PROTOCOL.md 3.15). */
#define FC_PROTO_VERSION 2

/* The whole-manifest format (section 5 of PROTOCOL.md) publishers wrote before protocol
   version 2, and fc_manifest_sign still writes; fc_manifest_parse reads 1 and 2. */
#define FC_MANIFEST_FORMAT 2
/* The compact manifest of issue 13 (proto/fc_manifest_parts.h): a signed top level naming
   pages of entries, each file naming its chunk list, pages and lists content-addressed
   objects. What publishers push since protocol version 2; fc_manifest_load reads 1 to 3. */
#define FC_MANIFEST_FORMAT_PARTS 3
#define FC_PAGE_MAX_ENTRIES 256u /* entries in one page */
#define FC_PAGE_CUT_MASK 63u     /* a page ends after a path whose hash's first byte & this is 0 */
#define FC_MAX_PAGE (1024u * 1024u)           /* page object bytes */
#define FC_MAX_CHUNKLIST (8u * 1024u * 1024u) /* chunk list object bytes (= FC_MAX_MANIFEST) */
#define FC_MAX_OBJECT FC_MAX_CHUNKLIST        /* any object in OBJECT, PUT_OBJECT */
/* The largest blob whose chunk list a broker derives (DERIVE_OBJECT), reading and hashing it
   on its loop; a larger one's list, at most 0.06% of it (64 KiB chunks), is sent whole. */
#define FC_MAX_DERIVE_BLOB (8u * 1024u * 1024u)

/* The fixed chunks publishers cut before issue 13 (last one shorter), which blobs stored
   then are named by; the publisher still uploads in pieces of at most this size. The
   manifest does not depend on it: its chunks may have any length from 1 to FC_MAX_CHUNK. */
#define FC_CHUNK_SIZE (256u * 1024u)
/* The content-defined cut publishers make (proto/fc_cdc.c, PROTOCOL.md section 5), chosen by
   a file's size. Below FC_CDC_LARGE_FILE every chunk but a file's last is FC_CDC_MIN..
   FC_CDC_MAX long, FC_CDC_AVG on average: small chunks, so an edit fetches little, now that
   format 3 sends only a changed file's chunk list; normalization level 1, so chunks fall
   back on the old cuts soon after an insertion. From FC_CDC_LARGE_FILE up, FC_CDC_LARGE_*:
   there a chunk list of small chunks would cost more than the data it saves. FC_CDC_LARGE_*
   was every file's cut before the small one existed (docs/BENCHMARKS.md, "Choosing the
   content-defined chunk sizes"). A blob is named by one of these cuts or the fixed one, so
   all are part of the format. */
#define FC_CDC_MIN (1u * 1024u)
#define FC_CDC_AVG (4u * 1024u)
#define FC_CDC_MAX (16u * 1024u)
#define FC_CDC_LEVEL 1u
#define FC_CDC_LARGE_FILE (8u * 1024u * 1024u)
#define FC_CDC_LARGE_MIN (16u * 1024u)
#define FC_CDC_LARGE_AVG (64u * 1024u)
#define FC_CDC_LARGE_MAX (256u * 1024u)
#define FC_CDC_LARGE_LEVEL 2u
#define FC_MAX_CHUNK (1024u * 1024u) /* a manifest chunk: one GET_CHUNK fetches it */
#define FC_HASH_LEN 32               /* BLAKE2b-256 */
#define FC_PUBKEY_LEN 32             /* Ed25519 */
#define FC_SECKEY_LEN 64
#define FC_SIG_LEN 64

#define FC_MAX_FRAME (16u * 1024u * 1024u)   /* ZMQ_MAXMSGSIZE on every socket */
#define FC_MAX_MANIFEST (8u * 1024u * 1024u) /* signed manifest bytes */
#define FC_MAX_CHUNK_REQ (1024u * 1024u)     /* largest GET_CHUNK / PUT_CHUNK length */
#define FC_MAX_FILES 100000u                 /* entries (files, dirs, links) per release */
#define FC_MAX_FILE_SIZE (1ull << 40)        /* 1 TiB per file */
#define FC_MAX_PATH 1024                     /* relative path bytes */
#define FC_MAX_NAME 64                       /* channel, agent id, version, product */
#define FC_MAX_TEXT 512                      /* error and status text */
#define FC_MAX_ENDPOINT 256
#define FC_MAX_LIST 4096     /* entries in a list reply */
#define FC_MAX_RANGES 65536  /* ranges in an UPLOAD_STATE */
#define FC_MAX_SNAPSHOT 1024 /* manifests in one SNAPSHOT */
#define FC_MAX_WAVES 16      /* waves of one release rollout */
/* Small files batched (BLOBS_QUERY, PUT_BLOBS): blobs named in one request, and the largest
   blob PUT_BLOBS carries whole (the broker cuts and hashes it in memory, as it verifies any
   blob). */
#define FC_MAX_BLOB_BATCH 1024
#define FC_MAX_SMALL_BLOB (256u * 1024u)
/* Chunks one UPLOAD_CHUNKS names: a file of more goes by UPLOAD_QUERY. */
#define FC_MAX_UPLOAD_CHUNKS 65536
/* Bytes the broker copies from chunks it holds into one upload per UPLOAD_CHUNKS (work done
   in one request, between others). */
#define FC_MAX_UPLOAD_COPY (256ull * 1024u * 1024u)

/* Runtime configuration. */
#define FC_MAX_REVISION (1024u * 1024u) /* signed config revision bytes */
#define FC_MAX_KEY 128                  /* config key: [A-Za-z0-9._-] */
#define FC_MAX_CHANGES 4096             /* keys changed by one revision */
#define FC_MAX_VALUE (64u * 1024u)      /* one value, msgpack-encoded */
#define FC_MAX_SCOPE (FC_MAX_NAME + 8)  /* "global", "group:NAME", "agent:ID" */

/* Signatures and freshness. */
#define FC_MAX_TRUST_KEYS 64    /* keys in one trust list */
#define FC_MAX_TRUSTLIST 16384u /* sealed trust list bytes */

#endif
