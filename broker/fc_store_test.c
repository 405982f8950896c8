/* fc_store_test.c: self-test of fc_store: uploads, durability across reopen, releases, agents,
   agent keys. */
#include "fc_cdc.h"
#include "fc_curve.h"
#include "fc_error.h"
#include "fc_file.h"
#include "fc_hash.h"
#include "fc_manifest.h"
#include "fc_manifest_parts.h"
#include "fc_store.h"
#include "fc_store_config.h"
#include "fc_store_priv.h" /* fc_store_exec: a batch commit made to fail */
#include "fc_store_testdb.h"
#include "fc_store_view.h"
#include "fc_test_blob.h"
#include "fc_test_check.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Deterministic content that differs per seed and per position. */
static uint8_t *s_content(size_t len, uint32_t seed)
{
    uint8_t *buf = malloc(len ? len : 1);
    FC_CHECK(buf);
    uint32_t x = seed * 2654435761u + 1;
    for (size_t i = 0; i < len; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        buf[i] = (uint8_t)x;
    }
    return buf;
}

static size_t s_nchunks(size_t len)
{
    return (len + FC_CHUNK_SIZE - 1) / FC_CHUNK_SIZE;
}

static size_t s_chunk_len(size_t len, size_t i)
{
    size_t off = i * FC_CHUNK_SIZE;
    return len - off < FC_CHUNK_SIZE ? len - off : FC_CHUNK_SIZE;
}

/* The blob id content had before issue 13: the hash of its FC_CHUNK_SIZE chunks' hashes. */
static void s_blob_id_fixed(uint8_t blob[FC_HASH_LEN], const uint8_t *buf, size_t len)
{
    size_t n = s_nchunks(len);
    uint8_t(*hashes)[FC_HASH_LEN] = calloc(n ? n : 1, FC_HASH_LEN);
    FC_CHECK(hashes);
    for (size_t i = 0; i < n; i++)
        fc_hash_buf(hashes[i], buf + i * FC_CHUNK_SIZE, s_chunk_len(len, i));
    fc_hash_of_chunks(blob, (const uint8_t(*)[FC_HASH_LEN])hashes, n);
    free(hashes);
}

static int s_put(fc_store_t *store, const uint8_t *blob, const uint8_t *buf, size_t len, size_t i)
{
    uint8_t h[FC_HASH_LEN];
    size_t clen = s_chunk_len(len, i);
    fc_hash_buf(h, buf + i * FC_CHUNK_SIZE, clen);
    return fc_store_put_chunk(store, blob, i * FC_CHUNK_SIZE, buf + i * FC_CHUNK_SIZE, clen, h);
}

/* Starts (UPLOAD_QUERY) an upload of buf as a blob and returns its id. */
static void s_begin_upload(fc_store_t *store, const uint8_t *buf, size_t len,
                           uint8_t blob[FC_HASH_LEN])
{
    fc_test_blob_id(blob, buf, len);
    bool complete;
    fc_range_t *ranges;
    size_t nranges;
    FC_CHECK(fc_store_blob_state(store, blob, len, &complete, &ranges, &nranges) == FC_OK);
    free(ranges);
}

/* Uploads buf completely as a blob (the happy path) and returns its id. */
static void s_upload(fc_store_t *store, const uint8_t *buf, size_t len, uint8_t blob[FC_HASH_LEN])
{
    s_begin_upload(store, buf, len, blob);
    for (size_t i = 0; i < s_nchunks(len); i++)
        FC_CHECK(s_put(store, blob, buf, len, i) == FC_OK);
    FC_CHECK(fc_store_blob_commit(store, blob, len) == FC_OK);
}

static void s_write(const char *dir, const char *name, const void *buf, size_t len)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FC_CHECK(fc_write_file_atomic(path, buf, len, 0644) == 0);
}

/* Scans tree and signs it as channel/version/serial. Returns the signed bytes. */
static uint8_t *s_manifest(const char *tree, const char *channel, const char *version,
                           uint64_t serial, const fc_signkey_t *key, size_t *len)
{
    fc_manifest_t *m = fc_manifest_new();
    FC_CHECK(fc_manifest_scan_dir(m, tree, NULL, NULL) == FC_OK);
    snprintf(m->product, sizeof m->product, "demo");
    snprintf(m->channel, sizeof m->channel, "%s", channel);
    snprintf(m->version, sizeof m->version, "%s", version);
    m->serial = serial;
    m->mandatory = serial % 2 == 0;
    m->created = 1700000000 + (int64_t)serial;
    uint8_t *bytes = fc_manifest_sign(m, key, len);
    FC_CHECK(bytes);
    fc_manifest_destroy(&m);
    return bytes;
}

static void s_test_uploads(fc_store_t **store_p, const char *dir)
{
    fc_store_t *store = *store_p;
    /* Two and a bit chunks, uploaded out of order, with a reopen in the middle. */
    size_t len = 2 * FC_CHUNK_SIZE + 1000;
    uint8_t *buf = s_content(len, 1);
    uint8_t blob[FC_HASH_LEN];
    fc_test_blob_id(blob, buf, len);
    bool complete = true;
    fc_range_t *ranges = NULL;
    size_t nranges = 99;
    FC_CHECK(fc_store_blob_state(store, blob, len, &complete, &ranges, &nranges) == FC_OK);
    FC_CHECK(!complete && nranges == 0 && ranges == NULL);
    /* A chunk before UPLOAD_QUERY for an unknown blob is refused. */
    uint8_t other[FC_HASH_LEN];
    fc_hash_buf(other, "other", 5);
    uint8_t h[FC_HASH_LEN];
    fc_hash_buf(h, buf, FC_CHUNK_SIZE);
    FC_CHECK(fc_store_put_chunk(store, other, 0, buf, FC_CHUNK_SIZE, h) == FC_EINVAL);

    FC_CHECK(s_put(store, blob, buf, len, 2) == FC_OK);
    FC_CHECK(s_put(store, blob, buf, len, 0) == FC_OK);
    FC_CHECK(s_put(store, blob, buf, len, 0) == FC_OK); /* idempotent */
    FC_CHECK(fc_store_blob_commit(store, blob, len) == FC_EMISSING);

    /* Wrong chunk hash, no data, running past the size, outside the size. (Any offset and
       length inside the blob is a piece: chunks cut by content.) */
    fc_hash_buf(h, buf, 10);
    FC_CHECK(fc_store_put_chunk(store, blob, FC_CHUNK_SIZE, buf + FC_CHUNK_SIZE, FC_CHUNK_SIZE,
                                h) == FC_EHASH);
    fc_hash_buf(h, buf, 0);
    FC_CHECK(fc_store_put_chunk(store, blob, 100, buf, 0, h) == FC_EINVAL);
    fc_hash_buf(h, buf, 1000);
    FC_CHECK(fc_store_put_chunk(store, blob, len - 500, buf, 1000, h) == FC_EINVAL);
    fc_hash_buf(h, buf, 1000);
    FC_CHECK(fc_store_put_chunk(store, blob, 3 * FC_CHUNK_SIZE, buf, 1000, h) == FC_EINVAL);

    /* Held ranges survive a close and reopen. */
    fc_store_destroy(store_p);
    FC_CHECK(*store_p == NULL);
    int err = -1;
    store = *store_p = fc_store_testdb_new(dir, &err, NULL, 0);
    FC_CHECK(store && err == FC_OK);
    FC_CHECK(fc_store_blob_state(store, blob, len, &complete, &ranges, &nranges) == FC_OK);
    FC_CHECK(!complete && nranges == 2);
    FC_CHECK(ranges[0].offset == 0 && ranges[0].length == FC_CHUNK_SIZE);
    FC_CHECK(ranges[1].offset == 2 * FC_CHUNK_SIZE && ranges[1].length == 1000);
    free(ranges);
    FC_CHECK(fc_store_blob_commit(store, blob, len + 1) == FC_EINVAL);
    FC_CHECK(fc_store_blob_size(store, blob, &(uint64_t){0}) == FC_ENOTFOUND);

    /* The last chunk completes it; neighbouring ranges coalesce. */
    FC_CHECK(s_put(store, blob, buf, len, 1) == FC_OK);
    FC_CHECK(fc_store_blob_state(store, blob, len, &complete, &ranges, &nranges) == FC_OK);
    FC_CHECK(!complete && nranges == 1 && ranges[0].offset == 0 && ranges[0].length == len);
    free(ranges);
    FC_CHECK(fc_store_blob_commit(store, blob, len) == FC_OK);
    FC_CHECK(fc_store_blob_commit(store, blob, len) == FC_OK); /* idempotent */
    FC_CHECK(fc_store_blob_state(store, blob, len, &complete, &ranges, &nranges) == FC_OK);
    FC_CHECK(complete && nranges == 0);
    char path[512], hex[2 * FC_HASH_LEN + 1];
    fc_hash_hex(blob, hex);
    snprintf(path, sizeof path, "%s/blobs/%.2s/%s", dir, hex, hex);
    struct stat sb;
    FC_CHECK(stat(path, &sb) == 0 && (size_t)sb.st_size == len);
    snprintf(path, sizeof path, "%s/incoming/%s.part", dir, hex);
    FC_CHECK(stat(path, &sb) == -1 && errno == ENOENT);
    /* A chunk for a complete blob is still checked, then accepted. */
    FC_CHECK(s_put(store, blob, buf, len, 1) == FC_OK);
    fc_hash_buf(h, buf, 1);
    FC_CHECK(fc_store_put_chunk(store, blob, 0, buf, FC_CHUNK_SIZE, h) == FC_EHASH);

    /* Positioned reads, across a chunk boundary; nothing outside the blob. */
    uint64_t size = 0;
    FC_CHECK(fc_store_blob_size(store, blob, &size) == FC_OK && size == len);
    uint8_t *rb = malloc(FC_CHUNK_SIZE);
    FC_CHECK(rb);
    FC_CHECK(fc_store_blob_read(store, blob, FC_CHUNK_SIZE - 500, rb, 1000) == FC_OK);
    FC_CHECK(memcmp(rb, buf + FC_CHUNK_SIZE - 500, 1000) == 0);
    FC_CHECK(fc_store_blob_read(store, blob, len - 10, rb, 10) == FC_OK);
    FC_CHECK(memcmp(rb, buf + len - 10, 10) == 0);
    FC_CHECK(fc_store_blob_read(store, blob, len - 10, rb, 11) == FC_EINVAL);
    FC_CHECK(fc_store_blob_read(store, blob, UINT64_MAX, rb, 2) == FC_EINVAL);
    FC_CHECK(fc_store_blob_read(store, other, 0, rb, 1) == FC_ENOTFOUND);
    free(rb);

    /* Content that does not match the blob id: every chunk is self-consistent, so each
       PUT_CHUNK passes, but the commit fails and the partial upload is discarded. */
    uint8_t *liar = s_content(len, 2);
    FC_CHECK(fc_store_blob_state(store, other, len, &complete, &ranges, &nranges) == FC_OK);
    for (size_t i = 0; i < 3; i++)
        FC_CHECK(s_put(store, other, liar, len, i) == FC_OK);
    FC_CHECK(fc_store_blob_commit(store, other, len) == FC_EHASH);
    fc_hash_hex(other, hex);
    snprintf(path, sizeof path, "%s/incoming/%s.part", dir, hex);
    FC_CHECK(stat(path, &sb) == -1 && errno == ENOENT);
    FC_CHECK(fc_store_blob_commit(store, other, len) == FC_EMISSING);
    FC_CHECK(s_put(store, other, liar, len, 0) == FC_EINVAL); /* upload forgotten */
    free(liar);

    /* A different declared size restarts an unfinished upload. */
    FC_CHECK(fc_store_blob_state(store, other, len, &complete, &ranges, &nranges) == FC_OK);
    FC_CHECK(s_put(store, other, buf, len, 0) == FC_OK);
    FC_CHECK(fc_store_blob_state(store, other, 5, &complete, &ranges, &nranges) == FC_OK);
    FC_CHECK(!complete && nranges == 0);
    FC_CHECK(fc_store_blob_state(store, other, len, &complete, &ranges, &nranges) == FC_OK);
    FC_CHECK(nranges == 0);
    FC_CHECK(fc_store_blob_state(store, other, FC_MAX_FILE_SIZE + 1, &complete, &ranges,
                                 &nranges) == FC_ETOOBIG);

    /* An empty blob has no chunks and commits at once. */
    uint8_t empty[FC_HASH_LEN];
    s_upload(store, (const uint8_t *)"", 0, empty);
    FC_CHECK(fc_store_blob_size(store, empty, &size) == FC_OK && size == 0);
    free(buf);
}

static void s_test_releases(fc_store_t **store_p, const char *dir, const char *tree)
{
    fc_store_t *store = *store_p;
    fc_signkey_t key;
    fc_signkey_generate(&key);
    size_t alen = FC_CHUNK_SIZE + 77, blen = 5000;
    uint8_t *a = s_content(alen, 3), *b = s_content(blen, 4);
    FC_CHECK(fc_mkdirs(tree, 0755) == 0);
    char sub[512];
    snprintf(sub, sizeof sub, "%s/sub", tree);
    FC_CHECK(fc_mkdirs(sub, 0755) == 0);
    s_write(tree, "a.bin", a, alen);
    s_write(tree, "sub/b.bin", b, blen);
    s_write(tree, "empty", "", 0);

    size_t m1len, m0len, m2len, m3len, mxlen;
    uint8_t *m1 = s_manifest(tree, "stable", "1.0", 10, &key, &m1len);
    uint8_t blob_a[FC_HASH_LEN], blob_b[FC_HASH_LEN];
    s_upload(store, a, alen, blob_a);
    fc_test_blob_id(blob_b, b, blen);

    /* b is missing: named in the text. */
    fc_release_info_t info;
    uint64_t seq = 99;
    char text[FC_MAX_TEXT + 1], hex[2 * FC_HASH_LEN + 1];
    FC_CHECK(fc_store_release_commit(store, m1, m1len, &info, &seq, text, sizeof text) ==
             FC_EMISSING);
    FC_CHECK(strstr(text, fc_hash_hex(blob_b, hex)) != NULL);
    FC_CHECK(seq == 0 && fc_store_seq(store) == 0);
    FC_CHECK(fc_store_latest(store, "stable", NULL, NULL, NULL) == FC_ENOTFOUND);

    s_upload(store, b, blen, blob_b);
    FC_CHECK(fc_store_release_commit(store, m1, m1len, &info, &seq, text, sizeof text) == FC_OK);
    FC_CHECK(seq == 1 && fc_store_seq(store) == 1);
    FC_CHECK(!strcmp(info.channel, "stable") && !strcmp(info.version, "1.0"));
    FC_CHECK(info.serial == 10 && info.files == 3 && info.size == alen + blen && info.mandatory);
    /* Identical re-commit: OK, nothing new to announce. */
    FC_CHECK(fc_store_release_commit(store, m1, m1len, &info, &seq, text, sizeof text) == FC_OK);
    FC_CHECK(seq == 0 && fc_store_seq(store) == 1 && info.serial == 10);

    /* Lower serial, and the same serial with other content, are refused. */
    uint8_t *m0 = s_manifest(tree, "stable", "0.9", 9, &key, &m0len);
    FC_CHECK(fc_store_release_commit(store, m0, m0len, &info, &seq, text, sizeof text) ==
             FC_ESERIAL);
    uint8_t *mx = s_manifest(tree, "stable", "1.0-other", 10, &key, &mxlen);
    FC_CHECK(fc_store_release_commit(store, mx, mxlen, &info, &seq, text, sizeof text) ==
             FC_ESERIAL);
    FC_CHECK(seq == 0 && fc_store_seq(store) == 1);
    /* Garbage is not a manifest. */
    FC_CHECK(fc_store_release_commit(store, (const uint8_t *)"junk", 4, &info, &seq, text,
                                     sizeof text) != FC_OK);
    /* A tampered manifest fails its signature. */
    m1[m1len / 2] ^= 0x01;
    FC_CHECK(fc_store_release_commit(store, m1, m1len, &info, &seq, text, sizeof text) != FC_OK);
    m1[m1len / 2] ^= 0x01;

    uint8_t *m2 = s_manifest(tree, "stable", "1.1", 11, &key, &m2len);
    FC_CHECK(fc_store_release_commit(store, m2, m2len, &info, &seq, NULL, 0) == FC_OK && seq == 2);
    uint8_t *m3 = s_manifest(tree, "beta", "2.0", 1, &key, &m3len);
    FC_CHECK(fc_store_release_commit(store, m3, m3len, &info, &seq, NULL, 0) == FC_OK && seq == 3);
    /* Now the old latest (m1) is no longer the latest: re-committing it is a serial error. */
    FC_CHECK(fc_store_release_commit(store, m1, m1len, &info, &seq, NULL, 0) == FC_ESERIAL);
    /* Serials start at 1, even on a channel without releases: an agent with nothing installed
       holds serial 0, so it would take a release 0 for what it has and never install it. */
    size_t mzlen;
    uint8_t *mz = s_manifest(tree, "edge", "0.1", 0, &key, &mzlen);
    FC_CHECK(fc_store_release_commit(store, mz, mzlen, &info, &seq, text, sizeof text) ==
             FC_ESERIAL);
    FC_CHECK(strstr(text, "serial 0") && seq == 0 && fc_store_seq(store) == 3);
    FC_CHECK(fc_store_latest(store, "edge", NULL, NULL, NULL) == FC_ENOTFOUND);
    free(mz);

    /* Agents. */
    fc_agent_status_t st;
    memset(&st, 0, sizeof st);
    snprintf(st.id, sizeof st.id, "web-01");
    snprintf(st.channel, sizeof st.channel, "stable");
    snprintf(st.version, sizeof st.version, "1.0");
    snprintf(st.state, sizeof st.state, "downloading");
    snprintf(st.message, sizeof st.message, "half way");
    st.done = 5;
    st.total = 10;
    st.last_seen = 42; /* ignored */
    FC_CHECK(fc_store_agent_report(store, &st) == FC_OK);
    st.done = 10;
    snprintf(st.state, sizeof st.state, "installed");
    FC_CHECK(fc_store_agent_report(store, &st) == FC_OK); /* replaces */
    FC_CHECK(fc_store_agent_seen(store, "db-01", "beta") == FC_OK);
    FC_CHECK(fc_store_agent_seen(store, "web-01", "stable") == FC_OK); /* keeps its report */
    FC_CHECK(fc_store_agent_seen(store, "bad id", "beta") == FC_EINVAL);
    snprintf(st.id, sizeof st.id, "../x");
    FC_CHECK(fc_store_agent_report(store, &st) == FC_EINVAL);
    uint64_t next = 0;
    FC_CHECK(fc_store_next_seq(store, &next) == FC_OK && next == 4 && fc_store_seq(store) == 4);

    /* Reopen: everything is still there. */
    fc_store_destroy(store_p);
    int err;
    store = *store_p = fc_store_testdb_new(dir, &err, NULL, 0);
    FC_CHECK(store);
    FC_CHECK(fc_store_seq(store) == 4);
    fc_release_info_t *list;
    size_t n;
    FC_CHECK(fc_store_list(store, "", FC_MAX_LIST, &list, &n) == FC_OK && n == 3);
    FC_CHECK(!strcmp(list[0].channel, "beta") && list[1].serial == 11 && list[2].serial == 10);
    FC_CHECK(!list[1].mandatory && list[2].mandatory && list[0].created == 1700000001);
    free(list);
    FC_CHECK(fc_store_list(store, "stable", FC_MAX_LIST, &list, &n) == FC_OK && n == 2);
    FC_CHECK(list[0].serial == 11 && list[1].serial == 10);
    free(list);
    FC_CHECK(fc_store_list(store, "stable", 1, &list, &n) == FC_OK && n == 1);
    free(list);
    /* Pages, newest first, each before the last one's sequence number. */
    bool more;
    uint64_t last, first_last;
    uint64_t last_id, first_id;
    FC_CHECK(fc_store_list_page(store, "", 0, 0, 2, &list, &n, &more, &last, &last_id) == FC_OK &&
             n == 2 && more && last > 0 && last_id > 0 && !strcmp(list[0].channel, "beta") &&
             list[1].serial == 11);
    free(list);
    first_last = last;
    first_id = last_id;
    FC_CHECK(fc_store_list_page(store, "", first_last, first_id, 2, &list, &n, &more, &last,
                                &last_id) == FC_OK &&
             n == 1 && !more && list[0].serial == 10 && last < first_last);
    free(list);
    /* A position before a sequence number alone (id 0, a cursor from before ids were in
       it) lists what is older than that number, as it did. */
    FC_CHECK(fc_store_list_page(store, "", first_last, 0, 2, &list, &n, &more, &last, &last_id) ==
                 FC_OK &&
             n == 1 && list[0].serial == 10);
    free(list);
    FC_CHECK(fc_store_list_page(store, "stable", 0, 0, 5, &list, &n, &more, &last, &last_id) ==
                 FC_OK &&
             n == 2 && !more);
    free(list);
    /* The schema does not make seq unique: with every release on one sequence number, pages
       of one still list each once, none skipped (the order is (seq, id), issue 19). */
    FC_CHECK(fc_store_exec(store, "CREATE TEMP TABLE kept AS SELECT id, seq FROM releases;"
                                  " UPDATE releases SET seq = 3") == FC_OK);
    uint64_t serials = 0, pages = 0;
    last = last_id = 0;
    more = true;
    while (more && pages < 10) {
        FC_CHECK(fc_store_list_page(store, "", last, last_id, 1, &list, &n, &more, &last,
                                    &last_id) == FC_OK &&
                 n == 1);
        serials += list[0].serial; /* 1 + 10 + 11 when each comes once */
        pages++;
        free(list);
    }
    FC_CHECK(pages == 3 && serials == 22);
    FC_CHECK(fc_store_exec(store, "UPDATE releases SET seq ="
                                  " (SELECT seq FROM kept WHERE kept.id = releases.id);"
                                  " DROP TABLE kept") == FC_OK);
    FC_CHECK(fc_store_list(store, "nope", FC_MAX_LIST, &list, &n) == FC_OK && n == 0 && !list);
    FC_CHECK(fc_store_latest_all(store, FC_MAX_SNAPSHOT, &list, &n) == FC_OK && n == 2);
    FC_CHECK(!strcmp(list[0].channel, "beta") && list[0].serial == 1);
    FC_CHECK(!strcmp(list[1].channel, "stable") && list[1].serial == 11);
    free(list);
    uint8_t *bytes = NULL;
    size_t blen2 = 0;
    FC_CHECK(fc_store_latest(store, "stable", &info, &bytes, &blen2) == FC_OK);
    FC_CHECK(info.serial == 11 && !strcmp(info.version, "1.1"));
    FC_CHECK(blen2 == m2len && memcmp(bytes, m2, m2len) == 0);
    free(bytes);
    /* The identical re-commit still holds after a reopen. */
    FC_CHECK(fc_store_release_commit(store, m2, m2len, &info, &seq, NULL, 0) == FC_OK && seq == 0);

    fc_agent_status_t *agents;
    FC_CHECK(fc_store_agents(store, "", FC_MAX_LIST, &agents, &n) == FC_OK && n == 2);
    FC_CHECK(!strcmp(agents[0].id, "db-01") && !strcmp(agents[0].state, "unknown"));
    FC_CHECK(!strcmp(agents[1].id, "web-01") && !strcmp(agents[1].state, "installed"));
    FC_CHECK(agents[1].done == 10 && agents[1].total == 10 && agents[1].last_seen > 1700000000);
    FC_CHECK(!strcmp(agents[1].message, "half way") && !strcmp(agents[1].version, "1.0"));
    free(agents);
    FC_CHECK(fc_store_agents(store, "beta", FC_MAX_LIST, &agents, &n) == FC_OK && n == 1);
    FC_CHECK(!strcmp(agents[0].id, "db-01"));
    free(agents);
    /* Pages by id after a cursor; more says whether agents follow; a state filter, "offline"
       meaning not heard since online_since. */
    FC_CHECK(fc_store_agents_page(store, "", "", "", 0, 1, &agents, &n, &more) == FC_OK && n == 1 &&
             more && !strcmp(agents[0].id, "db-01"));
    free(agents);
    FC_CHECK(fc_store_agents_page(store, "", "db-01", "", 0, 1, &agents, &n, &more) == FC_OK &&
             n == 1 && !more && !strcmp(agents[0].id, "web-01"));
    free(agents);
    FC_CHECK(fc_store_agents_page(store, "", "web-01", "", 0, 1, &agents, &n, &more) == FC_OK &&
             n == 0 && !more);
    free(agents);
    FC_CHECK(fc_store_agents_page(store, "", "", "installed", 0, 10, &agents, &n, &more) == FC_OK &&
             n == 1 && !strcmp(agents[0].id, "web-01"));
    free(agents);
    FC_CHECK(fc_store_agents_page(store, "", "", "installed", INT64_MAX, 10, &agents, &n, &more) ==
                 FC_OK &&
             n == 0);
    free(agents);
    FC_CHECK(fc_store_agents_page(store, "", "", "offline", INT64_MAX, 10, &agents, &n, &more) ==
                 FC_OK &&
             n == 2);
    free(agents);
    /* The summary: a row per (channel, version, state), offline counted; FC_ETOOBIG rather
       than a summary cut. */
    fc_fleet_count_t *counts;
    fc_store_left_out_t left;
    FC_CHECK(fc_store_view_summary(store, "", 0, 5, 10, false, &counts, &n, &left) == FC_OK &&
             n == 2 && left.rows == 0);
    FC_CHECK(!strcmp(counts[0].channel, "beta") && counts[0].agents == 1 &&
             counts[0].offline == 0 && !*counts[0].reason);
    FC_CHECK(!strcmp(counts[1].state, "installed") && counts[1].agents == 1);
    free(counts);
    FC_CHECK(fc_store_view_summary(store, "beta", INT64_MAX, 5, 10, false, &counts, &n, &left) ==
                 FC_OK &&
             n == 1 && counts[0].offline == 1);
    free(counts);
    FC_CHECK(fc_store_view_summary(store, "", 0, 5, 1, false, &counts, &n, &left) == FC_ETOOBIG &&
             !counts);
    /* A summary that does not fit, to a client that can be told (issue 19): what fits is
       listed and what is left out counted, groups and reasons alike. Three failed agents
       more: groups beta, stable/1.0/installed, stable/2.0/failed, stable/2.0/rejected (4)
       and reasons "disk full" (2 agents), "bad sig" (1). */
    const char *fails[][3] = {{"f-1", "failed", "disk full"},
                              {"f-2", "failed", "disk full"},
                              {"f-3", "rejected", "bad sig"}};
    for (size_t i = 0; i < 3; i++) {
        fc_agent_status_t f = {.done = 0};
        snprintf(f.id, sizeof f.id, "%s", fails[i][0]);
        snprintf(f.channel, sizeof f.channel, "stable");
        snprintf(f.version, sizeof f.version, "2.0");
        snprintf(f.state, sizeof f.state, "%s", fails[i][1]);
        snprintf(f.message, sizeof f.message, "%s", fails[i][2]);
        FC_CHECK(fc_store_agent_report(store, &f) == FC_OK);
    }
    FC_CHECK(fc_store_view_summary(store, "", 0, 5, 10, false, &counts, &n, &left) == FC_OK &&
             n == 6 && left.rows == 0 && left.groups == 0 && left.agents == 0);
    FC_CHECK(streq(counts[4].reason, "disk full") && counts[4].agents == 2);
    free(counts);
    FC_CHECK(fc_store_view_summary(store, "", 0, 5, 1, true, &counts, &n, &left) == FC_OK &&
             n == 1 && streq(counts[0].channel, "beta"));
    FC_CHECK(left.groups == 3 && left.agents == 4 && left.rows == 3 + 2);
    free(counts);
    /* Every group fits, the reasons do not: the old client is refused, the new one told. */
    FC_CHECK(fc_store_view_summary(store, "", 0, 5, 5, false, &counts, &n, &left) == FC_ETOOBIG);
    FC_CHECK(fc_store_view_summary(store, "", 0, 5, 5, true, &counts, &n, &left) == FC_OK &&
             n == 5 && streq(counts[4].reason, "disk full"));
    FC_CHECK(left.rows == 1 && left.groups == 0 && left.agents == 0);
    free(counts);
    FC_CHECK(fc_store_view_summary(store, "stable", 0, 5, 2, true, &counts, &n, &left) == FC_OK &&
             n == 2 && left.groups == 1 && left.agents == 1 && left.rows == 1 + 2);
    free(counts);

    uint64_t size;
    FC_CHECK(fc_store_blob_size(store, blob_b, &size) == FC_OK && size == blen);
    FC_CHECK(fc_store_check(store) == FC_OK);
    free(a);
    free(b);
    free(m0);
    free(m1);
    free(m2);
    free(m3);
    free(mx);
    fc_signkey_wipe(&key);
}

static void s_test_open_errors(const char *base)
{
    char path[512], text[256];
    int err = 0;
    /* Missing directory. */
    snprintf(path, sizeof path, "%s/missing", base);
    FC_CHECK(fc_store_testdb_new(path, &err, text, sizeof text) == NULL && err == FC_EIO);
    FC_CHECK(strstr(text, path));
    if (fc_store_testdb_pg())
        return; /* the rest is SQLite's file */
    /* A file that is not a database. */
    snprintf(path, sizeof path, "%s/corrupt", base);
    FC_CHECK(fc_mkdirs(path, 0755) == 0);
    char db[600];
    snprintf(db, sizeof db, "%s/fleetcast.db", path);
    char junk[4096];
    memset(junk, 'x', sizeof junk);
    FC_CHECK(fc_write_file_atomic(db, junk, sizeof junk, 0644) == 0);
    text[0] = '\0';
    FC_CHECK(fc_store_testdb_new(path, &err, text, sizeof text) == NULL && err == FC_EPROTO);
    FC_CHECK(strstr(text, "fleetcast.db"));
}

/* A blob damaged on disk after it was stored: verify says so, quarantine stops serving it,
   and uploading it again repairs it and clears the mark. */
static void s_test_corrupt(fc_store_t *store, const char *dir)
{
    size_t len = 2 * FC_CHUNK_SIZE + 100;
    uint8_t *buf = s_content(len, 77);
    uint8_t blob[FC_HASH_LEN];
    s_upload(store, buf, len, blob);
    FC_CHECK(fc_store_blob_verify(store, blob) == FC_OK);
    char hex[2 * FC_HASH_LEN + 1], path[512];
    fc_hash_hex(blob, hex);
    snprintf(path, sizeof path, "%s/blobs/%.2s/%s", dir, hex, hex);
    int fd = open(path, O_WRONLY);
    FC_CHECK(fd >= 0 && pwrite(fd, "X", 1, FC_CHUNK_SIZE + 5) == 1);
    close(fd);
    FC_CHECK(fc_store_blob_verify(store, blob) == FC_EHASH);
    FC_CHECK(fc_store_corrupt_count(store) == 0 && !fc_store_blob_marked(store, blob));
    char text[1024] = "";
    FC_CHECK(fc_store_blob_suspect(store, blob, "a1", text, sizeof text) == FC_EHASH);
    FC_CHECK(strstr(text, "reported by agent a1") && strstr(text, "re-push"));
    FC_CHECK(fc_store_corrupt_count(store) == 1 && fc_store_blob_marked(store, blob));
    FC_CHECK(fc_store_blob_suspect(store, blob, "a1", text, sizeof text) == FC_ENOTFOUND);
    uint64_t size;
    FC_CHECK(fc_store_blob_size(store, blob, &size) == FC_ENOTFOUND); /* no longer served */
    FC_CHECK(fc_store_blob_verify(store, blob) == FC_ENOTFOUND);
    s_upload(store, buf, len, blob); /* a re-push */
    FC_CHECK(fc_store_blob_verify(store, blob) == FC_OK);
    FC_CHECK(fc_store_corrupt_count(store) == 0 && !fc_store_blob_marked(store, blob));
    FC_CHECK(fc_store_blob_suspect(store, blob, "a1", text, sizeof text) == FC_OK);
    free(buf);
}

/* The keys the agent-key test treats as enrolled (fc_store_enrolled_fn). */
typedef struct {
    const char *revoked; /* every other key is enrolled */
} s_keyring_t;

static bool s_enrolled(const char *key, void *arg)
{
    const s_keyring_t *ring = arg;
    return !ring->revoked || !streq(key, ring->revoked);
}

/* Audit entries with this action whose detail contains detail_part (of the newest
   FC_MAX_LIST). */
static size_t s_audits(fc_store_t *store, const char *action, const char *detail_part)
{
    fc_audit_entry_t *audit = NULL;
    size_t n = 0, found = 0;
    FC_CHECK(fc_store_audit_list(store, FC_MAX_LIST, &audit, &n) == FC_OK);
    for (size_t i = 0; i < n; i++)
        found += streq(audit[i].action, action) && strstr(audit[i].detail, detail_part);
    free(audit);
    return found;
}

/* An agent id belongs to the first key heard with it: the same key again costs nothing,
   another is refused while the first is enrolled and takes the id once it is not; the
   binding survives a reopen, is written with a batch, and is forgotten with a failed one. */
static void s_test_agent_keys(fc_store_t **store_p, const char *dir)
{
    fc_store_t *store = *store_p;
    char k1[FC_CURVE_Z85_LEN + 1], k2[FC_CURVE_Z85_LEN + 1], holder[FC_CURVE_Z85_LEN + 1];
    memset(k1, 'a', FC_CURVE_Z85_LEN);
    memset(k2, 'b', FC_CURVE_Z85_LEN);
    k1[FC_CURVE_Z85_LEN] = k2[FC_CURVE_Z85_LEN] = '\0';
    s_keyring_t ring = {NULL};

    FC_CHECK(fc_store_agent_key(store, "web-01") == NULL);
    FC_CHECK(fc_store_agent_claim(store, "web-01", k1, s_enrolled, &ring, holder, sizeof holder) ==
             FC_OK);
    FC_CHECK(streq(fc_store_agent_key(store, "web-01"), k1));
    FC_CHECK(s_audits(store, "agent.bind", "agent web-01 ") == 1);
    /* Heard again with its key: nothing written. */
    FC_CHECK(fc_store_agent_claim(store, "web-01", k1, s_enrolled, &ring, NULL, 0) == FC_OK);
    FC_CHECK(s_audits(store, "agent.bind", "agent web-01 ") == 1);
    /* Another enrolled key: refused, named, nothing written. */
    FC_CHECK(fc_store_agent_claim(store, "web-01", k2, s_enrolled, &ring, holder, sizeof holder) ==
             FC_EPERM);
    FC_CHECK(streq(holder, k1) && streq(fc_store_agent_key(store, "web-01"), k1));
    FC_CHECK(fc_store_agent_claim(store, "web-01", k2, NULL, NULL, NULL, 0) == FC_EPERM);
    /* One key may hold several ids (agents sharing a key). */
    FC_CHECK(fc_store_agent_claim(store, "web-02", k2, s_enrolled, &ring, NULL, 0) == FC_OK);
    FC_CHECK(fc_store_agent_claim(store, "web-03", k2, s_enrolled, &ring, NULL, 0) == FC_OK);
    /* Invalid ids and keys bind nothing. */
    FC_CHECK(fc_store_agent_claim(store, "bad id", k1, s_enrolled, &ring, NULL, 0) == FC_EINVAL);
    FC_CHECK(fc_store_agent_claim(store, "", k1, s_enrolled, &ring, NULL, 0) == FC_EINVAL);
    FC_CHECK(fc_store_agent_claim(store, "web-04", "short", s_enrolled, &ring, NULL, 0) ==
             FC_EINVAL);
    FC_CHECK(fc_store_agent_key(store, "bad id") == NULL && !fc_store_agent_key(store, "web-04"));

    /* Durable: the bindings are read back at open. */
    fc_store_destroy(store_p);
    int err;
    store = *store_p = fc_store_testdb_new(dir, &err, NULL, 0);
    FC_CHECK(store);
    FC_CHECK(streq(fc_store_agent_key(store, "web-01"), k1));
    FC_CHECK(streq(fc_store_agent_key(store, "web-03"), k2));
    FC_CHECK(fc_store_agent_claim(store, "web-01", k2, s_enrolled, &ring, holder, sizeof holder) ==
             FC_EPERM);

    /* k1 revoked: the next key heard with web-01 takes it (audited), and k1, enrolled again,
       is now the one refused. */
    ring.revoked = k1;
    FC_CHECK(fc_store_agent_claim(store, "web-01", k2, s_enrolled, &ring, holder, sizeof holder) ==
             FC_OK);
    FC_CHECK(streq(fc_store_agent_key(store, "web-01"), k2));
    FC_CHECK(s_audits(store, "agent.rebind", k1) == 1);
    ring.revoked = NULL;
    FC_CHECK(fc_store_agent_claim(store, "web-01", k1, s_enrolled, &ring, holder, sizeof holder) ==
             FC_EPERM);
    FC_CHECK(streq(holder, k2));

    /* Bound inside a batch (a REPORT from a new id): on disk with the batch's commit. */
    FC_CHECK(fc_store_batch_begin(store) == FC_OK);
    FC_CHECK(fc_store_agent_claim(store, "web-05", k1, s_enrolled, &ring, NULL, 0) == FC_OK);
    FC_CHECK(fc_store_batch_commit(store) == FC_OK);
    /* A batch whose commit fails (here its transaction is gone from under it) forgets the
       ids it bound: the cache is read again from the table. */
    FC_CHECK(fc_store_batch_begin(store) == FC_OK);
    FC_CHECK(fc_store_agent_claim(store, "web-06", k1, s_enrolled, &ring, NULL, 0) == FC_OK);
    FC_CHECK(streq(fc_store_agent_key(store, "web-06"), k1));
    FC_CHECK(fc_store_exec(store, "ROLLBACK") == FC_OK);
    FC_CHECK(fc_store_batch_commit(store) != FC_OK);
    FC_CHECK(fc_store_agent_key(store, "web-06") == NULL);
    FC_CHECK(streq(fc_store_agent_key(store, "web-05"), k1));
    /* A batch that fails to commit while the table cannot be read back either: the cache
       is stale, and claims fail closed (FC_EIO, nothing taken) until it can be read. */
    FC_CHECK(fc_store_batch_begin(store) == FC_OK);
    FC_CHECK(fc_store_agent_claim(store, "web-07", k1, s_enrolled, &ring, NULL, 0) == FC_OK);
    FC_CHECK(fc_store_exec(store, "ROLLBACK") == FC_OK);
    FC_CHECK(fc_store_exec(store, "ALTER TABLE agent_keys RENAME TO agent_keys_away") == FC_OK);
    FC_CHECK(fc_store_batch_commit(store) != FC_OK);
    FC_CHECK(fc_store_agent_claim(store, "web-01", k1, s_enrolled, &ring, holder, sizeof holder) ==
             FC_EIO);
    FC_CHECK(fc_store_agent_claim(store, "web-08", k1, s_enrolled, &ring, NULL, 0) == FC_EIO);
    FC_CHECK(fc_store_exec(store, "ALTER TABLE agent_keys_away RENAME TO agent_keys") == FC_OK);
    FC_CHECK(fc_store_agent_claim(store, "web-01", k1, s_enrolled, &ring, holder, sizeof holder) ==
             FC_EPERM);
    FC_CHECK(streq(holder, k2) && fc_store_agent_key(store, "web-07") == NULL);
    /* A row the cache does not know (written behind its back): the bind does not overwrite
       it, the claim is refused, and the cache learns the row. */
    char sql[200];
    snprintf(sql, sizeof sql, "INSERT INTO agent_keys VALUES ('web-09', '%s', 0)", k2);
    FC_CHECK(fc_store_exec(store, sql) == FC_OK);
    FC_CHECK(fc_store_agent_key(store, "web-09") == NULL);
    FC_CHECK(fc_store_agent_claim(store, "web-09", k1, s_enrolled, &ring, holder, sizeof holder) ==
             FC_EPERM);
    FC_CHECK(streq(holder, k2) && streq(fc_store_agent_key(store, "web-09"), k2));

    fc_store_destroy(store_p);
    store = *store_p = fc_store_testdb_new(dir, &err, NULL, 0);
    FC_CHECK(store);
    FC_CHECK(streq(fc_store_agent_key(store, "web-01"), k2));
    FC_CHECK(streq(fc_store_agent_key(store, "web-05"), k1));
    FC_CHECK(streq(fc_store_agent_key(store, "web-09"), k2));
    FC_CHECK(s_audits(store, "agent.bind", "agent web-0") == 4);
}

/* fc_store_busy_fn for the test: the one blob arg points at is being fetched. */
static bool s_busy_one(const uint8_t blob[FC_HASH_LEN], void *arg)
{
    return fc_hash_equal(blob, (const uint8_t *)arg);
}

/* Prune keeps the current and previous releases and one in transfer, removes the rest and
   the blobs only they named (a blob another release names stays); collection removes a blob
   no release names and partial uploads only once a day old, and never a busy blob. */
static void s_test_gc(const char *base)
{
    char dir[300], tree[300];
    snprintf(dir, sizeof dir, "%s/gcdata", base);
    FC_CHECK(fc_mkdirs(dir, 0755) == 0);
    int err = -1;
    char text[FC_MAX_TEXT + 1] = "";
    fc_store_t *store = fc_store_testdb_new(dir, &err, text, sizeof text);
    FC_CHECK(store);
    fc_signkey_t key;
    fc_signkey_generate(&key);
    /* Releases 1..4 of channel gc: file x<i> each, and s, shared by 1 and 4. */
    uint8_t xblob[5][FC_HASH_LEN], shared[FC_HASH_LEN];
    size_t slen = 3000;
    uint8_t *sbuf = s_content(slen, 40);
    s_upload(store, sbuf, slen, shared);
    for (uint32_t i = 1; i <= 4; i++) {
        snprintf(tree, sizeof tree, "%s/gctree%u", base, i);
        FC_CHECK(fc_mkdirs(tree, 0755) == 0);
        size_t xlen = 1000 + i;
        uint8_t *x = s_content(xlen, 40 + i);
        s_write(tree, "x.bin", x, xlen);
        if (i == 1 || i == 4)
            s_write(tree, "s.bin", sbuf, slen);
        s_upload(store, x, xlen, xblob[i]);
        free(x);
        char version[8];
        snprintf(version, sizeof version, "%u.0", i);
        size_t len;
        uint8_t *m = s_manifest(tree, "gc", version, i, &key, &len);
        uint64_t seq;
        FC_CHECK(fc_store_release_commit(store, m, len, NULL, &seq, text, sizeof text) == FC_OK);
        free(m);
    }
    free(sbuf);
    fc_store_gc_result_t res;
    FC_CHECK(fc_store_release_prune(store, "bad name", 1, NULL, NULL, "t", &res, text,
                                    sizeof text) == FC_EINVAL);
    /* keep 1 counts as 2: 4 and 3 stay; 2 is being fetched; 1 goes, with x1 but not s. */
    FC_CHECK(fc_store_release_prune(store, "gc", 1, s_busy_one, xblob[2], "tester", &res, text,
                                    sizeof text) == FC_OK);
    FC_CHECK(res.releases == 1 && res.kept_busy == 1 && res.blobs == 1 && res.bytes == 1001);
    FC_CHECK(fc_store_release_get(store, "gc", 1, NULL, NULL, NULL) == FC_ENOTFOUND);
    for (uint64_t serial = 2; serial <= 4; serial++)
        FC_CHECK(fc_store_release_get(store, "gc", serial, NULL, NULL, NULL) == FC_OK);
    uint64_t size;
    FC_CHECK(fc_store_blob_size(store, xblob[1], &size) == FC_ENOTFOUND);
    FC_CHECK(fc_store_blob_size(store, shared, &size) == FC_OK && size == slen);
    for (int i = 2; i <= 4; i++)
        FC_CHECK(fc_store_blob_size(store, xblob[i], &size) == FC_OK);
    FC_CHECK(s_audits(store, "release.prune", "channel gc keep 2") == 1);
    /* Once no longer fetched, 2 goes too. */
    FC_CHECK(fc_store_release_prune(store, "gc", 2, NULL, NULL, "tester", &res, text,
                                    sizeof text) == FC_OK);
    FC_CHECK(res.releases == 1 && res.kept_busy == 0 && res.blobs == 1);
    FC_CHECK(fc_store_blob_size(store, xblob[2], &size) == FC_ENOTFOUND);

    /* A blob no release names (a push not committed yet) and a partial upload: young, they
       stay; a day old, they go, unless the blob is being fetched. */
    uint8_t orphan[FC_HASH_LEN], part[FC_HASH_LEN];
    size_t olen = 2000, plen = 2 * FC_CHUNK_SIZE;
    uint8_t *obuf = s_content(olen, 50), *pbuf = s_content(plen, 51);
    s_upload(store, obuf, olen, orphan);
    s_begin_upload(store, pbuf, plen, part);
    FC_CHECK(s_put(store, part, pbuf, plen, 0) == FC_OK);
    char ppath[400], hex[2 * FC_HASH_LEN + 1];
    snprintf(ppath, sizeof ppath, "%s/incoming/%s.part", dir, fc_hash_hex(part, hex));
    int64_t now = (int64_t)time(NULL);
    memset(&res, 0, sizeof res);
    FC_CHECK(fc_store_gc(store, NULL, NULL, NULL, now, &res) == FC_OK);
    FC_CHECK(res.blobs == 0 && res.parts == 0 && access(ppath, F_OK) == 0);
    FC_CHECK(fc_store_blob_size(store, orphan, &size) == FC_OK);
    int64_t later = now + 2 * FC_STORE_GC_AGE;
    FC_CHECK(fc_store_gc(store, NULL, s_busy_one, orphan, later, &res) == FC_OK);
    FC_CHECK(res.blobs == 0 && res.blobs_busy == 1 && res.parts == 1 && access(ppath, F_OK) != 0);
    memset(&res, 0, sizeof res);
    FC_CHECK(fc_store_gc(store, NULL, NULL, NULL, later, &res) == FC_OK);
    FC_CHECK(res.blobs == 1 && res.bytes == olen);
    FC_CHECK(fc_store_blob_size(store, orphan, &size) == FC_ENOTFOUND);
    FC_CHECK(fc_store_blob_size(store, shared, &size) == FC_OK); /* named by release 4 */
    bool complete = true;
    fc_range_t *ranges;
    size_t nranges;
    FC_CHECK(fc_store_blob_state(store, part, plen, &complete, &ranges, &nranges) == FC_OK &&
             !complete && nranges == 0); /* the upload starts afresh */
    free(ranges);
    free(obuf);
    free(pbuf);
    FC_CHECK(fc_store_check(store) == FC_OK);
    fc_store_destroy(&store);
}

/* Uploads inside a batch (a publisher's many small files): acknowledged inside it, complete
   only once the batch commits (data synced, blobs moved, then the records), and the same
   blob committed twice in one batch moves once. A batch that cannot commit leaves no blob
   named complete without its records. */
/* Puts buf[off..off+n) of blob's upload as one piece. */
static int s_put_piece(fc_store_t *store, const uint8_t *blob, const uint8_t *buf, size_t off,
                       size_t n)
{
    uint8_t h[FC_HASH_LEN];
    fc_hash_buf(h, buf + off, n);
    return fc_store_put_chunk(store, blob, off, buf + off, n, h);
}

/* A blob named by its content-defined chunks (fc_cdc) is uploaded in those chunks, at any
   offsets, and verified by the same cut; a blob named by any other cut is refused. */
static void s_test_cdc_uploads(fc_store_t **store_p, const char *dir)
{
    fc_store_t *store = *store_p;
    size_t len = 3 * FC_CHUNK_SIZE + 777;
    uint8_t *buf = s_content(len, 7);
    fc_cdc_t cdc;
    fc_cdc_init(&cdc, len);
    size_t cuts[512], n = 0;
    uint8_t hashes[512][FC_HASH_LEN], blob[FC_HASH_LEN];
    for (size_t off = 0; off < len; n++) {
        FC_CHECK(n < 512);
        cuts[n] = fc_cdc_cut(&cdc, buf + off, len - off);
        fc_hash_buf(hashes[n], buf + off, cuts[n]);
        off += cuts[n];
    }
    FC_CHECK(n > 4); /* not the fixed cut */
    fc_hash_of_chunks(blob, (const uint8_t(*)[FC_HASH_LEN])hashes, n);
    bool complete;
    fc_range_t *ranges = NULL;
    size_t nranges;
    FC_CHECK(fc_store_blob_state(store, blob, len, &complete, &ranges, &nranges) == FC_OK);
    /* Backwards, all but the first two chunks; then one piece that overlaps them. */
    size_t off = len;
    for (size_t i = n; i-- > 2;) {
        off -= cuts[i];
        FC_CHECK(s_put_piece(store, blob, buf, off, cuts[i]) == FC_OK);
    }
    FC_CHECK(fc_store_blob_commit(store, blob, len) == FC_EMISSING);
    FC_CHECK(fc_store_blob_state(store, blob, len, &complete, &ranges, &nranges) == FC_OK);
    FC_CHECK(!complete && nranges == 1 && ranges[0].offset == off && ranges[0].length == len - off);
    free(ranges);
    FC_CHECK(s_put_piece(store, blob, buf, 0, cuts[0] + cuts[1] + 10) == FC_OK);
    FC_CHECK(fc_store_blob_commit(store, blob, len) == FC_OK);
    FC_CHECK(fc_store_blob_verify(store, blob) == FC_OK);
    FC_CHECK(fc_store_blob_verify_file(dir, blob, NULL, NULL) == FC_OK);

    /* Named by a cut neither fixed nor by content (100 KiB pieces): refused at commit. */
    uint8_t odd[FC_HASH_LEN], oh[8][FC_HASH_LEN];
    size_t k = 0;
    for (off = 0; off < len; off += 100000, k++)
        fc_hash_buf(oh[k], buf + off, len - off < 100000 ? len - off : 100000);
    fc_hash_of_chunks(odd, (const uint8_t(*)[FC_HASH_LEN])oh, k);
    FC_CHECK(fc_store_blob_state(store, odd, len, &complete, &ranges, &nranges) == FC_OK);
    for (off = 0; off < len; off += 100000)
        FC_CHECK(s_put_piece(store, odd, buf, off, len - off < 100000 ? len - off : 100000) ==
                 FC_OK);
    FC_CHECK(fc_store_blob_commit(store, odd, len) == FC_EHASH);

    /* Named by the other content cut (FC_CDC_LARGE_*: how publishers cut every file before
       the small cut existed): taken, verified now and by a later scan of the file, and its
       chunks indexed under that cut. */
    uint8_t large[FC_HASH_LEN];
    fc_cdc_init_other(&cdc, len);
    FC_CHECK(cdc.max == FC_CDC_LARGE_MAX);
    size_t lcuts[64], ln = 0;
    for (off = 0; off < len; off += lcuts[ln++]) {
        FC_CHECK(ln < 64);
        lcuts[ln] = fc_cdc_cut(&cdc, buf + off, len - off);
        fc_hash_buf(hashes[ln], buf + off, lcuts[ln]);
    }
    FC_CHECK(ln > 2 && ln < n); /* not the small cut, nor the fixed one */
    fc_hash_of_chunks(large, (const uint8_t(*)[FC_HASH_LEN])hashes, ln);
    FC_CHECK(!fc_hash_equal(large, blob));
    FC_CHECK(fc_store_blob_state(store, large, len, &complete, &ranges, &nranges) == FC_OK);
    free(ranges);
    FC_CHECK(s_put_piece(store, large, buf, 0, len) == FC_OK);
    FC_CHECK(fc_store_blob_commit(store, large, len) == FC_OK);
    FC_CHECK(fc_store_blob_verify(store, large) == FC_OK);
    FC_CHECK(fc_store_blob_verify_file(dir, large, NULL, NULL) == FC_OK);

    /* A store whose upload was recorded the old way (the idx-th FC_CHUNK_SIZE chunk) reads
       it back as a piece on its next open. */
    uint8_t old[FC_HASH_LEN];
    s_blob_id_fixed(old, buf, len);
    FC_CHECK(fc_store_blob_state(store, old, len, &complete, &ranges, &nranges) == FC_OK);
    FC_CHECK(s_put(store, old, buf, len, 3) == FC_OK);
    FC_CHECK(fc_store_exec(store, "DELETE FROM upload_pieces; INSERT INTO upload_chunks (blob, "
                                  "idx) SELECT blob, 3 FROM uploads") == FC_OK);
    fc_store_destroy(store_p);
    int err = -1;
    store = *store_p = fc_store_testdb_new(dir, &err, NULL, 0);
    FC_CHECK(store && err == FC_OK);
    FC_CHECK(fc_store_blob_state(store, old, len, &complete, &ranges, &nranges) == FC_OK);
    FC_CHECK(!complete && nranges == 1 && ranges[0].offset == 3 * FC_CHUNK_SIZE &&
             ranges[0].length == 777);
    free(ranges);
    for (size_t i = 0; i < 3; i++)
        FC_CHECK(s_put(store, old, buf, len, i) == FC_OK);
    FC_CHECK(fc_store_blob_commit(store, old, len) == FC_OK);
    FC_CHECK(fc_store_blob_verify(store, old) == FC_OK);
    free(buf);
}

static void s_test_batched_uploads(fc_store_t *store)
{
    size_t lens[3] = {5000, FC_CHUNK_SIZE + 77, 1};
    uint8_t blobs[3][FC_HASH_LEN];
    uint8_t *bufs[3];
    FC_CHECK(fc_store_batch_begin(store) == FC_OK);
    for (int b = 0; b < 3; b++) {
        bufs[b] = s_content(lens[b], (uint32_t)(900 + b));
        fc_test_blob_id(blobs[b], bufs[b], lens[b]);
        bool complete = true;
        fc_range_t *ranges = NULL;
        size_t nranges = 0;
        FC_CHECK(fc_store_blob_state(store, blobs[b], lens[b], &complete, &ranges, &nranges) ==
                     FC_OK &&
                 !complete);
        free(ranges);
        for (size_t i = 0; i < s_nchunks(lens[b]); i++)
            FC_CHECK(s_put(store, blobs[b], bufs[b], lens[b], i) == FC_OK);
        FC_CHECK(fc_store_blob_commit(store, blobs[b], lens[b]) == FC_OK);
        FC_CHECK(fc_store_blob_commit(store, blobs[b], lens[b]) == FC_OK); /* once */
    }
    uint64_t size;
    for (int b = 0; b < 3; b++) /* moved at the batch's commit, not before */
        FC_CHECK(!fc_store_blob_exists(store, blobs[b], &size));
    FC_CHECK(fc_store_batch_commit(store) == FC_OK);
    for (int b = 0; b < 3; b++) {
        FC_CHECK(fc_store_blob_exists(store, blobs[b], &size) && size == lens[b]);
        FC_CHECK(fc_store_blob_verify(store, blobs[b]) == FC_OK);
        bool complete = false;
        fc_range_t *ranges = NULL;
        size_t nranges = 0;
        FC_CHECK(fc_store_blob_state(store, blobs[b], lens[b], &complete, &ranges, &nranges) ==
                     FC_OK &&
                 complete);
        free(ranges);
        free(bufs[b]);
    }
}

/* True if DIR/incoming/<hex of blob>.part exists. */
static bool s_part_exists(const char *dir, const uint8_t blob[FC_HASH_LEN])
{
    char hex[2 * FC_HASH_LEN + 1], path[512];
    snprintf(path, sizeof path, "%s/incoming/%s.part", dir, fc_hash_hex(blob, hex));
    return access(path, F_OK) == 0;
}

/* PUT_BLOBS and BLOBS_QUERY at the store: whole small blobs, checked, batched, idempotent;
   a mismatch or an oversize content stores nothing. */
static void s_test_whole_blobs(fc_store_t *store, const char *dir)
{
    size_t lens[3] = {0, 5000, FC_MAX_SMALL_BLOB};
    uint8_t blobs[3][FC_HASH_LEN];
    uint8_t *bufs[3];
    uint64_t size;
    for (int b = 0; b < 3; b++) {
        bufs[b] = s_content(lens[b], (uint32_t)(700 + b));
        fc_test_blob_id(blobs[b], bufs[b], lens[b]);
    }
    /* The empty blob is there already (s_test_uploads), and is removed to go again. */
    uint64_t freed;
    FC_CHECK(fc_store_blob_remove(store, blobs[0], &freed) == FC_OK);
    for (int b = 0; b < 3; b++)
        FC_CHECK(!fc_store_blob_held(store, blobs[b]));
    /* Content that is not the blob's: refused before anything is written. */
    FC_CHECK(fc_store_put_blob(store, blobs[1], bufs[2], lens[1]) == FC_EHASH);
    FC_CHECK(fc_store_put_blob(store, blobs[1], bufs[1], lens[1] - 1) == FC_EHASH);
    FC_CHECK(!fc_store_blob_held(store, blobs[1]) && !s_part_exists(dir, blobs[1]));
    /* Over one chunk: not a small blob, whatever its hash. */
    uint8_t *big = s_content(FC_MAX_SMALL_BLOB + 1, 710);
    uint8_t big_id[FC_HASH_LEN];
    fc_test_blob_id(big_id, big, FC_MAX_SMALL_BLOB + 1);
    FC_CHECK(fc_store_put_blob(store, big_id, big, FC_MAX_SMALL_BLOB + 1) == FC_ETOOBIG);
    FC_CHECK(!fc_store_blob_held(store, big_id));
    free(big);

    /* blobs[2] uploaded by chunks first, not committed: the whole content replaces that
       upload. */
    s_begin_upload(store, bufs[2], lens[2], blobs[2]);
    FC_CHECK(s_put(store, blobs[2], bufs[2], lens[2], 0) == FC_OK);
    FC_CHECK(s_part_exists(dir, blobs[2]));
    FC_CHECK(fc_store_batch_begin(store) == FC_OK);
    for (int b = 0; b < 3; b++) {
        FC_CHECK(fc_store_put_blob(store, blobs[b], bufs[b], lens[b]) == FC_OK);
        FC_CHECK(fc_store_put_blob(store, blobs[b], bufs[b], lens[b]) == FC_OK); /* once */
        FC_CHECK(!fc_store_blob_exists(store, blobs[b], &size)); /* at the batch's commit */
    }
    FC_CHECK(fc_store_batch_commit(store) == FC_OK);
    for (int b = 0; b < 3; b++) {
        FC_CHECK(fc_store_blob_held(store, blobs[b]));
        FC_CHECK(fc_store_blob_exists(store, blobs[b], &size) && size == lens[b]);
        FC_CHECK(fc_store_blob_verify(store, blobs[b]) == FC_OK);
        FC_CHECK(!s_part_exists(dir, blobs[b]));
        uint8_t *back = malloc(lens[b] + 1);
        FC_CHECK(back && fc_store_blob_read(store, blobs[b], 0, back, lens[b]) == FC_OK);
        FC_CHECK(memcmp(back, bufs[b], lens[b]) == 0);
        free(back);
        /* held now: a re-sent PUT_BLOBS writes nothing and is accepted */
        FC_CHECK(fc_store_put_blob(store, blobs[b], bufs[b], lens[b]) == FC_OK);
    }
    /* The chunked upload's records went with it: its UPLOAD_QUERY finds the blob complete. */
    bool complete = false;
    fc_range_t *ranges = NULL;
    size_t nranges = 0;
    FC_CHECK(fc_store_blob_state(store, blobs[2], lens[2], &complete, &ranges, &nranges) == FC_OK &&
             complete);
    free(ranges);

    /* Outside a batch, durable at once; and it repairs a blob marked corrupt. */
    FC_CHECK(fc_store_blob_quarantine(store, blobs[1], "test") == FC_OK);
    FC_CHECK(!fc_store_blob_held(store, blobs[1]) && fc_store_blob_marked(store, blobs[1]));
    FC_CHECK(fc_store_put_blob(store, blobs[1], bufs[1], lens[1]) == FC_OK);
    FC_CHECK(fc_store_blob_held(store, blobs[1]) && !fc_store_blob_marked(store, blobs[1]));
    for (int b = 0; b < 3; b++)
        free(bufs[b]);

    /* A blob named by the cut before issue 13 (one FC_CHUNK_SIZE piece) is taken too, as
       BLOB_COMMIT takes it; the same content under a name of neither cut is not. */
    uint8_t *old = s_content(100000, 720);
    uint8_t old_id[FC_HASH_LEN], cdc_id[FC_HASH_LEN];
    s_blob_id_fixed(old_id, old, 100000);
    fc_test_blob_id(cdc_id, old, 100000);
    FC_CHECK(!fc_hash_equal(old_id, cdc_id)); /* more than one content-defined chunk */
    FC_CHECK(fc_store_put_blob(store, old_id, old, 100000) == FC_OK);
    FC_CHECK(fc_store_blob_held(store, old_id) && fc_store_blob_verify(store, old_id) == FC_OK);
    uint8_t other[FC_HASH_LEN];
    fc_hash_buf(other, old, 100000);
    FC_CHECK(fc_store_put_blob(store, other, old, 100000) == FC_EHASH);
    FC_CHECK(!fc_store_blob_held(store, other) && !s_part_exists(dir, other));
    free(old);

    /* A small blob named by the other content cut (FC_CDC_LARGE_*, how every file was cut
       before the small cut existed): taken whole too, and verified. */
    uint8_t *prev = s_content(200000, 730);
    fc_cdc_t cdc;
    fc_cdc_init_other(&cdc, 200000);
    uint8_t lh[16][FC_HASH_LEN], prev_id[FC_HASH_LEN];
    size_t ln = 0;
    for (size_t off = 0, c; off < 200000; off += c, ln++) {
        FC_CHECK(ln < 16);
        c = fc_cdc_cut(&cdc, prev + off, 200000 - off);
        fc_hash_buf(lh[ln], prev + off, c);
    }
    FC_CHECK(ln > 1); /* not one piece, which any cut would give */
    fc_hash_of_chunks(prev_id, (const uint8_t(*)[FC_HASH_LEN])lh, ln);
    fc_test_blob_id(cdc_id, prev, 200000);
    FC_CHECK(!fc_hash_equal(prev_id, cdc_id));
    FC_CHECK(fc_store_put_blob(store, prev_id, prev, 200000) == FC_OK);
    FC_CHECK(fc_store_blob_held(store, prev_id) && fc_store_blob_verify(store, prev_id) == FC_OK);
    free(prev);
}

/* buf's chunks cut by content, as a publisher names them (lens and hashes owned). */
static size_t s_cut(const uint8_t *buf, size_t len, uint32_t **lens,
                    uint8_t (**hashes)[FC_HASH_LEN])
{
    fc_cdc_t cdc;
    fc_cdc_init(&cdc, len);
    *lens = calloc(len / FC_CDC_MIN + 1, sizeof **lens);
    *hashes = calloc(len / FC_CDC_MIN + 1, FC_HASH_LEN);
    FC_CHECK(*lens && *hashes);
    size_t n = 0;
    for (size_t off = 0; off < len; off += (*lens)[n++]) {
        (*lens)[n] = (uint32_t)fc_cdc_cut(&cdc, buf + off, len - off);
        fc_hash_buf((*hashes)[n], buf + off, (*lens)[n]);
    }
    return n;
}

/* UPLOAD_CHUNKS at the store: a blob that shares most chunks with one stored is filled from
   it (checked), so only the chunks around a change are missing; a list that does not add up
   is refused; a removed blob's chunks are copied no more. */
static void s_test_chunk_index(fc_store_t *store)
{
    size_t len = 900000;
    uint8_t *a = s_content(len, 800), *b = malloc(len);
    FC_CHECK(b);
    memcpy(b, a, len);
    memset(b + 450000, 0x77, 4096); /* 4 KiB changed in the middle */
    uint8_t ida[FC_HASH_LEN], idb[FC_HASH_LEN];
    uint32_t *lens;
    uint8_t(*hashes)[FC_HASH_LEN];
    s_upload(store, a, len, ida); /* indexed as it completes */
    size_t n = s_cut(b, len, &lens, &hashes);
    FC_CHECK(n > 3);
    fc_test_blob_id(idb, b, len);
    bool complete = true;
    fc_range_t *ranges = NULL;
    size_t nranges = 0;
    uint64_t copied = 0;
    /* lengths that do not add up to the size: refused, nothing registered */
    FC_CHECK(fc_store_upload_chunks(store, idb, len + 1, lens,
                                    (const uint8_t(*)[FC_HASH_LEN])hashes, n, &complete, &ranges,
                                    &nranges, &copied) == FC_EINVAL);
    FC_CHECK(fc_store_batch_begin(store) == FC_OK);
    FC_CHECK(fc_store_upload_chunks(store, idb, len, lens, (const uint8_t(*)[FC_HASH_LEN])hashes, n,
                                    &complete, &ranges, &nranges, &copied) == FC_OK);
    FC_CHECK(fc_store_batch_commit(store) == FC_OK);
    FC_CHECK(!complete && copied > len / 2 && copied < len);
    /* Missing: exactly the chunks the change touched, which the publisher now sends. */
    uint64_t missing = 0, off = 0;
    for (size_t i = 0; i < n; off += lens[i++]) {
        bool held = false;
        for (size_t r = 0; r < nranges; r++)
            held |= ranges[r].offset <= off && off + lens[i] <= ranges[r].offset + ranges[r].length;
        bool changed = off < 450000 + 4096 && off + lens[i] > 450000;
        FC_CHECK(held == !changed); /* held if and only if unchanged */
        if (!held) {
            FC_CHECK(fc_store_put_chunk(store, idb, off, b + off, lens[i], hashes[i]) == FC_OK);
            missing += lens[i];
        }
    }
    FC_CHECK(missing + copied == len);
    free(ranges);
    FC_CHECK(fc_store_blob_commit(store, idb, len) == FC_OK);
    FC_CHECK(fc_store_blob_verify(store, idb) == FC_OK);
    uint8_t *back = malloc(len);
    FC_CHECK(back && fc_store_blob_read(store, idb, 0, back, len) == FC_OK);
    FC_CHECK(memcmp(back, b, len) == 0);
    free(back);

    /* Both removed: a third variant finds nothing to copy and uploads everything. */
    uint64_t freed;
    FC_CHECK(fc_store_blob_remove(store, ida, &freed) == FC_OK);
    FC_CHECK(fc_store_blob_remove(store, idb, &freed) == FC_OK);
    b[10] ^= 1;
    free(lens);
    free(hashes);
    n = s_cut(b, len, &lens, &hashes);
    fc_test_blob_id(idb, b, len);
    FC_CHECK(fc_store_upload_chunks(store, idb, len, lens, (const uint8_t(*)[FC_HASH_LEN])hashes, n,
                                    &complete, &ranges, &nranges, &copied) == FC_OK);
    FC_CHECK(!complete && copied == 0 && nranges == 0);
    free(ranges);
    FC_CHECK(fc_store_upload_discard(store, idb) == FC_OK);
    free(lens);
    free(hashes);
    free(a);
    free(b);
}

/* UPLOAD_PREFIXES and DERIVE_OBJECT at the store: chunks named by 8-byte prefixes are
   copied as by whole hashes (checked against the index's whole hash), and the chunk list of
   the completed blob is derived byte for byte as a manifest writes it; a name that is not
   that list is refused and nothing stored; a blob not stored complete is FC_ENOTFOUND. */
static void s_test_prefixes_derive(fc_store_t *store)
{
    size_t len = 700000;
    uint8_t *a = s_content(len, 900), *b = malloc(len);
    FC_CHECK(b);
    memcpy(b, a, len);
    memset(b + 300000, 0x55, 4096);
    uint8_t ida[FC_HASH_LEN], idb[FC_HASH_LEN];
    s_upload(store, a, len, ida);
    uint32_t *lens;
    uint8_t(*hashes)[FC_HASH_LEN];
    size_t n = s_cut(b, len, &lens, &hashes);
    fc_test_blob_id(idb, b, len);
    uint8_t *prefixes = malloc(n * FC_CHUNK_PREFIX);
    fc_chunk_t *chunks = calloc(n, sizeof *chunks);
    FC_CHECK(prefixes && chunks);
    for (size_t i = 0; i < n; i++) {
        memcpy(prefixes + i * FC_CHUNK_PREFIX, hashes[i], FC_CHUNK_PREFIX);
        chunks[i].length = lens[i];
        memcpy(chunks[i].hash, hashes[i], FC_HASH_LEN);
    }
    uint8_t *list = NULL;
    size_t list_len = 0;
    uint8_t name[FC_HASH_LEN], other[FC_HASH_LEN];
    FC_CHECK(fc_mchunks_encode(chunks, (uint32_t)n, &list, &list_len) == FC_OK);
    fc_hash_buf(name, list, list_len);
    /* Not stored yet: nothing to derive from. */
    FC_CHECK(fc_store_object_derive(store, name, idb) == FC_ENOTFOUND);
    bool complete = true;
    fc_range_t *ranges = NULL;
    size_t nranges = 0;
    uint64_t copied = 0;
    FC_CHECK(fc_store_batch_begin(store) == FC_OK);
    FC_CHECK(fc_store_upload_prefixes(store, idb, len, lens, prefixes, n, &complete, &ranges,
                                      &nranges, &copied) == FC_OK);
    FC_CHECK(fc_store_batch_commit(store) == FC_OK);
    FC_CHECK(!complete && copied > len / 2 && copied < len);
    uint64_t off = 0, sent = 0;
    for (size_t i = 0; i < n; off += lens[i++]) {
        bool held = false;
        for (size_t r = 0; r < nranges; r++)
            held |= ranges[r].offset <= off && off + lens[i] <= ranges[r].offset + ranges[r].length;
        if (!held) {
            FC_CHECK(fc_store_put_chunk(store, idb, off, b + off, lens[i], hashes[i]) == FC_OK);
            sent += lens[i];
        }
    }
    FC_CHECK(sent + copied == len && sent < 4 * FC_CDC_MAX);
    free(ranges);
    FC_CHECK(fc_store_blob_commit(store, idb, len) == FC_OK);
    /* Derived: the same bytes as the manifest's list. */
    FC_CHECK(fc_store_object_derive(store, name, idb) == FC_OK);
    uint8_t *got = NULL;
    size_t got_len = 0;
    FC_CHECK(fc_store_object_get(store, name, &got, &got_len) == FC_OK);
    FC_CHECK(got_len == list_len && memcmp(got, list, list_len) == 0);
    free(got);
    /* Another blob's list under this name, or this blob's under another: refused. */
    fc_hash_buf(other, list, list_len - 1);
    FC_CHECK(fc_store_object_derive(store, other, idb) == FC_EHASH);
    FC_CHECK(!fc_store_object_held(store, other));
    FC_CHECK(fc_store_object_derive(store, name, ida) == FC_EHASH);
    /* Past FC_MAX_DERIVE_BLOB: refused before it is read (the broker's loop would read it
       whole); at the limit: derived. */
    for (size_t big = FC_MAX_DERIVE_BLOB; big <= FC_MAX_DERIVE_BLOB + 1; big++) {
        uint8_t *c = s_content(big, 901 + (unsigned)(big - FC_MAX_DERIVE_BLOB));
        uint8_t idc[FC_HASH_LEN], *clist = NULL;
        size_t clist_len = 0;
        s_upload(store, c, big, idc);
        uint32_t *clens;
        uint8_t(*chashes)[FC_HASH_LEN];
        size_t cn = s_cut(c, big, &clens, &chashes);
        fc_chunk_t *cchunks = calloc(cn, sizeof *cchunks);
        FC_CHECK(cchunks);
        for (size_t i = 0; i < cn; i++) {
            cchunks[i].length = clens[i];
            memcpy(cchunks[i].hash, chashes[i], FC_HASH_LEN);
        }
        FC_CHECK(fc_mchunks_encode(cchunks, (uint32_t)cn, &clist, &clist_len) == FC_OK);
        uint8_t cname[FC_HASH_LEN];
        fc_hash_buf(cname, clist, clist_len);
        int want = big > FC_MAX_DERIVE_BLOB ? FC_ETOOBIG : FC_OK;
        FC_CHECK(fc_store_object_derive(store, cname, idc) == want);
        FC_CHECK(fc_store_object_held(store, cname) == (want == FC_OK));
        free(clist);
        free(cchunks);
        free(clens);
        free(chashes);
        free(c);
    }
    free(list);
    free(chunks);
    free(prefixes);
    free(lens);
    free(hashes);
    free(a);
    free(b);
}

/* UPLOAD_CHUNKS' copied bytes for content b (nothing kept: the upload is discarded). */
static uint64_t s_copied(fc_store_t *store, const uint8_t *b, size_t len)
{
    uint32_t *lens;
    uint8_t(*hashes)[FC_HASH_LEN];
    size_t n = s_cut(b, len, &lens, &hashes);
    uint8_t id[FC_HASH_LEN];
    fc_test_blob_id(id, b, len);
    bool complete = true;
    fc_range_t *ranges = NULL;
    size_t nranges = 0;
    uint64_t copied = 0;
    FC_CHECK(fc_store_upload_chunks(store, id, len, lens, (const uint8_t(*)[FC_HASH_LEN])hashes, n,
                                    &complete, &ranges, &nranges, &copied) == FC_OK);
    FC_CHECK(!complete);
    free(ranges);
    FC_CHECK(fc_store_upload_discard(store, id) == FC_OK);
    free(lens);
    free(hashes);
    return copied;
}

/* A store whose blobs have no chunk index rows (stored before the index, one of them named
   by the cut before issue 13): UPLOAD_CHUNKS copies nothing from them until the backfill has
   indexed them, a bounded step at a time, resuming after a reopen where it stopped. */
static void s_test_backfill(const char *base)
{
    char dir[512];
    snprintf(dir, sizeof dir, "%s/backfill", base);
    FC_CHECK(fc_mkdirs(dir, 0700) == 0);
    int err = -1;
    fc_store_t *store = fc_store_testdb_new(dir, &err, NULL, 0);
    FC_CHECK(store);
    size_t len = 600000;
    uint8_t *bufs[3], ids[3][FC_HASH_LEN];
    for (int i = 0; i < 3; i++) {
        bufs[i] = s_content(len, 900 + (uint32_t)i);
        if (i == 2) { /* stored whole under its name of fixed pieces */
            s_blob_id_fixed(ids[i], bufs[i], len);
            fc_range_t *ranges;
            size_t nranges;
            bool complete;
            FC_CHECK(fc_store_blob_state(store, ids[i], len, &complete, &ranges, &nranges) ==
                     FC_OK);
            free(ranges);
            for (size_t c = 0; c < s_nchunks(len); c++)
                FC_CHECK(s_put(store, ids[i], bufs[i], len, c) == FC_OK);
            FC_CHECK(fc_store_blob_commit(store, ids[i], len) == FC_OK);
        } else
            s_upload(store, bufs[i], len, ids[i]);
    }
    /* What an older broker left: no index rows, no backfill begun. */
    FC_CHECK(fc_store_exec(store, "DELETE FROM chunk_index; UPDATE chunk_index_backfill SET "
                                  "cursor = '', done = 0") == FC_OK);
    uint8_t *variant = malloc(len);
    FC_CHECK(variant);
    for (int i = 0; i < 3; i++) {
        memcpy(variant, bufs[i], len);
        variant[len / 2] ^= 0xff;
        FC_CHECK(s_copied(store, variant, len) == 0);
    }
    /* A budget of one byte: one blob a step. The store reopened after the first. */
    fc_store_backfill_t res;
    FC_CHECK(fc_store_backfill_step(store, 1, &res) == FC_OK);
    FC_CHECK(res.blobs == 1 && res.indexed == 1 && res.bytes >= len && !res.done);
    fc_store_destroy(&store);
    store = fc_store_testdb_new(dir, &err, NULL, 0);
    FC_CHECK(store);
    size_t steps = 1;
    uint64_t looked = 1;
    do {
        FC_CHECK(fc_store_backfill_step(store, 1, &res) == FC_OK);
        FC_CHECK(res.blobs <= 1);
        looked += res.blobs;
    } while (!res.done && ++steps < 10);
    FC_CHECK(res.done && looked == 3);
    FC_CHECK(fc_store_backfill_step(store, 1, &res) == FC_OK && res.done && res.blobs == 0);
    /* Each variant now copies all but the chunk around its change, the older blob's too. */
    for (int i = 0; i < 3; i++) {
        memcpy(variant, bufs[i], len);
        variant[len / 2] ^= 0xff;
        uint64_t copied = s_copied(store, variant, len);
        FC_CHECK(copied > len / 2 && copied < len);
        free(bufs[i]);
    }
    free(variant);
    fc_store_destroy(&store);
}

/* Format-3 releases: the top level commits only once every object it names is stored, each
   object checked against its name; SNAPSHOT's bytes are the top; objects no release names go
   with the releases that named them, or after FC_STORE_OBJECT_GRACE_S. */
static void s_test_objects(fc_store_t *store, const char *base)
{
    char tree[300];
    snprintf(tree, sizeof tree, "%s/objtree", base);
    FC_CHECK(fc_mkdirs(tree, 0755) == 0);
    size_t len = 5000;
    uint8_t *buf = s_content(len, 31), blob[FC_HASH_LEN];
    s_write(tree, "f.bin", buf, len);
    s_write(tree, "g.bin", buf, len); /* same content: one chunk list for both */
    s_upload(store, buf, len, blob);
    fc_signkey_t key;
    fc_signkey_generate(&key);
    fc_manifest_t *m = fc_manifest_new();
    FC_CHECK(fc_manifest_scan_dir(m, tree, NULL, NULL) == FC_OK);
    snprintf(m->product, sizeof m->product, "demo");
    snprintf(m->channel, sizeof m->channel, "parts");
    snprintf(m->version, sizeof m->version, "3.0");
    m->serial = 1;
    int err = -1;
    fc_mparts_t *p = fc_mparts_sign(m, &key, &err);
    FC_CHECK(p && err == FC_OK && p->nobjs == 2);
    fc_manifest_destroy(&m);

    /* Nothing stored: the first object is named. */
    fc_release_info_t info;
    uint64_t seq = 0;
    char text[FC_MAX_TEXT + 1], hex[2 * FC_HASH_LEN + 1];
    FC_CHECK(fc_store_release_commit(store, p->top, p->top_len, &info, &seq, text, sizeof text) ==
             FC_EMISSING);
    FC_CHECK(strstr(text, fc_hash_hex(p->objs[0].hash, hex)) != NULL);
    /* Objects are hostile input: a damaged one, an empty one, one past the bound. */
    fc_mobj_t *o = &p->objs[0];
    o->data[0] ^= 1;
    FC_CHECK(fc_store_object_put(store, o->hash, o->data, o->len) == FC_EHASH);
    o->data[0] ^= 1;
    FC_CHECK(fc_store_object_put(store, o->hash, o->data, 0) == FC_EPROTO);
    FC_CHECK(fc_store_object_put(store, o->hash, o->data, FC_MAX_OBJECT + 1) == FC_ETOOBIG);
    uint8_t *got = NULL;
    size_t glen = 0;
    FC_CHECK(fc_store_object_get(store, o->hash, &got, &glen) == FC_ENOTFOUND && !got);
    FC_CHECK(!fc_store_object_held(store, o->hash)); /* OBJECTS_QUERY: lacking, send it */
    for (uint32_t i = 0; i < p->nobjs; i++)
        FC_CHECK(fc_store_object_put(store, p->objs[i].hash, p->objs[i].data, p->objs[i].len) ==
                 FC_OK);
    FC_CHECK(fc_store_object_put(store, o->hash, o->data, o->len) == FC_OK); /* again: fine */
    FC_CHECK(fc_store_object_held(store, o->hash));
    /* Damaged in the store: not held, so a push sends it again and the REPLACE repairs it. */
    FC_CHECK(fc_store_exec(store, "UPDATE objects SET data = substr(data, 2)") == FC_OK);
    FC_CHECK(!fc_store_object_held(store, o->hash));
    for (uint32_t i = 0; i < p->nobjs; i++)
        FC_CHECK(fc_store_object_put(store, p->objs[i].hash, p->objs[i].data, p->objs[i].len) ==
                 FC_OK);
    FC_CHECK(fc_store_object_held(store, o->hash));
    FC_CHECK(fc_store_release_commit(store, p->top, p->top_len, &info, &seq, text, sizeof text) ==
             FC_OK);
    FC_CHECK(seq > 0 && info.serial == 1 && info.files == 2 && info.size == 2 * len);
    uint8_t *top = NULL;
    size_t tlen = 0;
    FC_CHECK(fc_store_latest(store, "parts", NULL, &top, &tlen) == FC_OK);
    FC_CHECK(tlen == p->top_len && !memcmp(top, p->top, tlen));
    free(top);
    FC_CHECK(fc_store_object_get(store, o->hash, &got, &glen) == FC_OK);
    FC_CHECK(glen == o->len && !memcmp(got, o->data, glen));
    free(got);

    /* An object no release names stays through its grace, then goes; named ones stay. */
    uint8_t stray[FC_HASH_LEN];
    fc_hash_buf(stray, "\x90", 1);
    FC_CHECK(fc_store_object_put(store, stray, (const uint8_t *)"\x90", 1) == FC_OK);
    fc_store_gc_result_t res;
    memset(&res, 0, sizeof res);
    FC_CHECK(fc_store_gc(store, NULL, NULL, NULL, time(NULL), &res) == FC_OK && res.objects == 0);
    memset(&res, 0, sizeof res);
    FC_CHECK(fc_store_gc(store, NULL, NULL, NULL, time(NULL) + FC_STORE_OBJECT_GRACE_S + 10,
                         &res) == FC_OK);
    FC_CHECK(res.objects == 1);
    FC_CHECK(fc_store_object_get(store, stray, &got, &glen) == FC_ENOTFOUND);
    for (uint32_t i = 0; i < p->nobjs; i++) {
        FC_CHECK(fc_store_object_get(store, p->objs[i].hash, &got, &glen) == FC_OK);
        free(got);
    }
    fc_mparts_destroy(&p);
    free(buf);
}

/* A relay's mirror stores a signed release whose blobs are not here (fetched when an agent
   asks); a publisher's commit of the same needs them. Serials still only go up. */
static void s_test_mirror(const char *base)
{
    char dir[400], relayed[400];
    snprintf(dir, sizeof dir, "%s/mirror-data", base);
    snprintf(relayed, sizeof relayed, "%s/mirror-tree", base);
    FC_CHECK(fc_mkdirs(dir, 0755) == 0 && fc_mkdirs(relayed, 0755) == 0);
    int err;
    fc_store_t *store = fc_store_testdb_new(dir, &err, NULL, 0);
    FC_CHECK(store);
    fc_signkey_t key;
    fc_signkey_generate(&key);
    uint8_t *rc = s_content(3000, 9);
    s_write(relayed, "only-upstream.bin", rc, 3000);
    size_t mrlen, mr0len;
    uint8_t *mr = s_manifest(relayed, "relayed", "r2", 2, &key, &mrlen);
    uint8_t *mr0 = s_manifest(relayed, "relayed", "r1", 1, &key, &mr0len);
    fc_release_info_t info;
    uint64_t seq = 99;
    char text[FC_MAX_TEXT + 1];
    FC_CHECK(fc_store_release_commit(store, mr, mrlen, &info, &seq, text, sizeof text) ==
             FC_EMISSING);
    FC_CHECK(fc_store_release_mirror(store, mr, mrlen, &info, &seq, text, sizeof text) == FC_OK);
    FC_CHECK(seq == 1 && info.serial == 2 && !strcmp(info.version, "r2"));
    FC_CHECK(fc_store_release_mirror(store, mr, mrlen, &info, &seq, text, sizeof text) == FC_OK);
    FC_CHECK(seq == 0); /* had it: nothing to announce */
    FC_CHECK(fc_store_release_mirror(store, mr0, mr0len, &info, &seq, text, sizeof text) ==
             FC_ESERIAL);
    mr[mrlen / 2] ^= 0x01; /* a mirror checks the signature too */
    FC_CHECK(fc_store_release_mirror(store, mr, mrlen, &info, &seq, text, sizeof text) != FC_OK);
    FC_CHECK(fc_store_seq(store) == 1);
    uint64_t size;
    uint8_t blob[FC_HASH_LEN];
    fc_test_blob_id(blob, rc, 3000);
    FC_CHECK(fc_store_blob_size(store, blob, &size) == FC_ENOTFOUND); /* not fetched */
    fc_signkey_wipe(&key);
    free(rc);
    free(mr);
    free(mr0);
    fc_store_destroy(&store);
}

void fc_store_test(bool verbose)
{
    printf(" * fc_store: ");
    FC_CHECK(fc_crypto_init() == 0);
    char base[] = "/tmp/fc_store_test.XXXXXX";
    FC_CHECK(mkdtemp(base));
    char dir[300], tree[300];
    snprintf(dir, sizeof dir, "%s/data", base);
    snprintf(tree, sizeof tree, "%s/tree", base);
    FC_CHECK(fc_mkdirs(dir, 0755) == 0);

    int err = -1;
    char text[256] = "";
    fc_store_t *store = fc_store_testdb_new(dir, &err, text, sizeof text);
    FC_CHECK(store && err == FC_OK);
    FC_CHECK(fc_store_seq(store) == 0);
    s_test_uploads(&store, dir);
    s_test_cdc_uploads(&store, dir);
    s_test_batched_uploads(store);
    s_test_whole_blobs(store, dir);
    s_test_chunk_index(store);
    if (verbose)
        printf("(uploads, batched) ");
    s_test_releases(&store, dir, tree);
    if (verbose)
        printf("(releases, agents, reopen) ");
    s_test_corrupt(store, dir);
    if (verbose)
        printf("(corrupt blob) ");
    s_test_agent_keys(&store, dir);
    if (verbose)
        printf("(agent keys: bind, refuse, rebind, reopen) ");
    s_test_gc(base);
    if (verbose)
        printf("(prune, garbage collection) ");
    s_test_objects(store, base);
    s_test_prefixes_derive(store); /* after: its derived list is one no release names */
    s_test_mirror(base);
    if (verbose)
        printf("(format-3 objects) ");
    s_test_backfill(base);
    if (verbose)
        printf("(chunk index backfill) ");
    FC_CHECK(fc_store_check(store) == FC_OK);
    fc_store_destroy(&store);
    fc_store_destroy(&store); /* safe on NULL */
    s_test_open_errors(base);
    FC_CHECK(fc_remove_tree(base) == 0);
    printf("OK\n");
}
