/* fc_chunks_test.c: self-test of the chunk server: the bytes it holds never pass the budget,
   queued requests are answered in order as ZeroMQ releases bytes, peers take turns, a
   re-sent request is queued once and not answered twice on one connection, a connection
   at its share is passed over and one that stalls is dropped (and served again once its
   bytes drained), one key's connections share a cap on bytes held and on requests waiting,
   a full waiting cap still queues a new peer's window, bad requests refused. */
#include "fc_chunks.h"
#include "fc_error.h"
#include "fc_file.h"
#include "fc_hash.h"
#include "fc_msg.h"
#include "fc_store_testdb.h"
#include "fc_test_check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define S_SIZE (8u * FC_CHUNK_SIZE)

/* Stores buf as a complete blob and returns its id. */
static void s_upload(fc_store_t *store, const uint8_t *buf, uint8_t blob[FC_HASH_LEN])
{
    uint8_t hashes[S_SIZE / FC_CHUNK_SIZE][FC_HASH_LEN];
    for (size_t i = 0; i < S_SIZE / FC_CHUNK_SIZE; i++)
        fc_hash_buf(hashes[i], buf + i * FC_CHUNK_SIZE, FC_CHUNK_SIZE);
    fc_hash_of_chunks(blob, (const uint8_t(*)[FC_HASH_LEN])hashes, S_SIZE / FC_CHUNK_SIZE);
    bool complete;
    fc_range_t *ranges;
    size_t nranges;
    FC_CHECK(fc_store_blob_state(store, blob, S_SIZE, &complete, &ranges, &nranges) == FC_OK);
    free(ranges);
    for (size_t i = 0; i < S_SIZE / FC_CHUNK_SIZE; i++)
        FC_CHECK(fc_store_put_chunk(store, blob, i * FC_CHUNK_SIZE, buf + i * FC_CHUNK_SIZE,
                                    FC_CHUNK_SIZE, hashes[i]) == FC_OK);
    FC_CHECK(fc_store_blob_commit(store, blob, S_SIZE) == FC_OK);
}

/* Receives one reply on the dealer: the request id and, for a CHUNK, its offset and bytes. */
static fc_msg_t *s_recv(zsock_t *dealer)
{
    zsock_set_rcvtimeo(dealer, 2000);
    int err = 0;
    fc_msg_t *m = fc_msg_recv(zsock_resolve(dealer), NULL, &err);
    FC_CHECK(m);
    return m;
}

void fc_chunks_test(bool verbose)
{
    printf(" * fc_chunks: ");
    FC_CHECK(fc_crypto_init() == 0);
    char base[] = "/tmp/fc_chunks_test.XXXXXX";
    FC_CHECK(mkdtemp(base));
    int err = -1;
    fc_store_t *store = fc_store_testdb_new(base, &err, NULL, 0);
    FC_CHECK(store);
    uint8_t *buf = malloc(S_SIZE), blob[FC_HASH_LEN];
    for (size_t i = 0; i < S_SIZE; i++)
        buf[i] = (uint8_t)(i * 7 + i / 4096);
    s_upload(store, buf, blob);

    zsock_t *router = zsock_new_router("inproc://fc_chunks_test");
    zsock_t *dealer = zsock_new(ZMQ_DEALER);
    zsock_set_identity(dealer, "peer");
    FC_CHECK(router && dealer && zsock_connect(dealer, "inproc://fc_chunks_test") == 0);
    zframe_t *peer = zframe_new("peer", 4);
    /* Two chunks' worth of budget; the replies stay in the inproc pipe until received. */
    fc_chunks_t *chunks = fc_chunks_new(store, zsock_resolve(router), 2 * FC_CHUNK_SIZE);
    FC_CHECK(chunks);
    char text[256];
    for (uint64_t i = 0; i < 8; i++)
        FC_CHECK(fc_chunks_get(chunks, peer, NULL, 100 + i, blob, i * FC_CHUNK_SIZE, FC_CHUNK_SIZE,
                               text, sizeof text) == 0);
    FC_CHECK(fc_chunks_held(chunks) == 2 * FC_CHUNK_SIZE);
    FC_CHECK(fc_chunks_waiting(chunks) == 6);
    FC_CHECK(fc_chunks_pump(chunks) == 0); /* nothing released yet */
    /* Each reply received releases its bytes; a pump then answers the next in line. */
    for (uint64_t i = 0; i < 8; i++) {
        fc_msg_t *m = s_recv(dealer);
        FC_CHECK(m->type == FC_MSG_CHUNK && m->req == 100 + i && m->offset == i * FC_CHUNK_SIZE);
        FC_CHECK(zframe_size(m->data) == FC_CHUNK_SIZE);
        FC_CHECK(memcmp(zframe_data(m->data), buf + i * FC_CHUNK_SIZE, FC_CHUNK_SIZE) == 0);
        fc_msg_destroy(&m);
        FC_CHECK(fc_chunks_held(chunks) <= 2 * FC_CHUNK_SIZE);
        fc_chunks_pump(chunks);
    }
    FC_CHECK(fc_chunks_waiting(chunks) == 0 && fc_chunks_held(chunks) == 0);
    if (verbose)
        printf("(budget, order) ");

    /* Two peers with full windows: served in turn, one chunk each, each in its own order;
       a request re-sent while it waits is queued once. */
    zsock_t *dealer2 = zsock_new(ZMQ_DEALER);
    zsock_set_identity(dealer2, "peer2");
    FC_CHECK(dealer2 && zsock_connect(dealer2, "inproc://fc_chunks_test") == 0);
    zframe_t *peer2 = zframe_new("peer2", 5);
    /* The router learns peer2's identity when it handles the connection: have it do so. */
    zstr_send(dealer2, "hi");
    zmsg_t *hi = zmsg_recv(router);
    FC_CHECK(hi);
    zmsg_destroy(&hi);
    fc_chunks_t *one = fc_chunks_new(store, zsock_resolve(router), FC_CHUNK_SIZE);
    for (uint64_t i = 0; i < 4; i++) {
        FC_CHECK(fc_chunks_get(one, peer, NULL, 300 + i, blob, i * FC_CHUNK_SIZE, FC_CHUNK_SIZE,
                               text, sizeof text) == 0);
        if (i > 0) /* re-sent while waiting (300 went out at once: its re-send would count) */
            FC_CHECK(fc_chunks_get(one, peer, NULL, 300 + i, blob, i * FC_CHUNK_SIZE, FC_CHUNK_SIZE,
                                   text, sizeof text) == 0);
    }
    for (uint64_t i = 0; i < 4; i++)
        FC_CHECK(fc_chunks_get(one, peer2, NULL, 400 + i, blob, i * FC_CHUNK_SIZE, FC_CHUNK_SIZE,
                               text, sizeof text) == 0);
    FC_CHECK(fc_chunks_held(one) == FC_CHUNK_SIZE && fc_chunks_waiting(one) == 7);
    /* peer got 300 at once; then peer (first to wait), peer2, peer, ... one chunk a turn. */
    zsock_t *expect_sock[8] = {dealer, dealer, dealer2, dealer, dealer2, dealer, dealer2, dealer2};
    uint64_t expect_req[8] = {300, 301, 400, 302, 401, 303, 402, 403};
    for (int k = 0; k < 8; k++) {
        fc_msg_t *m = s_recv(expect_sock[k]);
        FC_CHECK(m->type == FC_MSG_CHUNK && m->req == expect_req[k]);
        fc_msg_destroy(&m);
        fc_chunks_pump(one);
    }
    FC_CHECK(fc_chunks_waiting(one) == 0 && fc_chunks_dropped(one) == 0);
    zsock_set_rcvtimeo(dealer, 100);
    zmsg_t *extra = zmsg_recv(dealer); /* no duplicate of a re-sent request */
    FC_CHECK(!extra);
    fc_chunks_destroy(&one);
    zframe_destroy(&peer2);
    zsock_destroy(&dealer2);
    if (verbose)
        printf("(turns, re-sends) ");

    /* A request re-sent on the same connection after its chunk went out (the reply late,
       not lost) is not answered again; the same id from another connection is. */
    fc_chunks_t *dup = fc_chunks_new(store, zsock_resolve(router), 0);
    FC_CHECK(dup);
    FC_CHECK(fc_chunks_get(dup, peer, NULL, 500, blob, 0, FC_CHUNK_SIZE, text, sizeof text) == 0);
    FC_CHECK(fc_chunks_get(dup, peer, NULL, 500, blob, 0, FC_CHUNK_SIZE, text, sizeof text) == 0);
    fc_msg_t *first = s_recv(dealer);
    FC_CHECK(first->type == FC_MSG_CHUNK && first->req == 500);
    fc_msg_destroy(&first);
    FC_CHECK(fc_chunks_get(dup, peer, NULL, 500, blob, 0, FC_CHUNK_SIZE, text, sizeof text) == 0);
    FC_CHECK(fc_chunks_duplicates(dup) == 2 && fc_chunks_waiting(dup) == 0);
    zsock_set_rcvtimeo(dealer, 100);
    extra = zmsg_recv(dealer);
    FC_CHECK(!extra);
    /* A new request on it, and the same id from another peer, are answered. */
    FC_CHECK(fc_chunks_get(dup, peer, NULL, 501, blob, 0, FC_CHUNK_SIZE, text, sizeof text) == 0);
    fc_msg_t *next = s_recv(dealer);
    FC_CHECK(next->type == FC_MSG_CHUNK && next->req == 501);
    fc_msg_destroy(&next);
    zsock_t *dealer3 = zsock_new(ZMQ_DEALER);
    zsock_set_identity(dealer3, "peer3");
    FC_CHECK(dealer3 && zsock_connect(dealer3, "inproc://fc_chunks_test") == 0);
    zstr_send(dealer3, "hi");
    hi = zmsg_recv(router);
    FC_CHECK(hi);
    zmsg_destroy(&hi);
    zframe_t *peer3 = zframe_new("peer3", 5);
    FC_CHECK(fc_chunks_get(dup, peer3, NULL, 500, blob, 0, FC_CHUNK_SIZE, text, sizeof text) == 0);
    fc_msg_t *other3 = s_recv(dealer3);
    FC_CHECK(other3->type == FC_MSG_CHUNK && other3->req == 500);
    fc_msg_destroy(&other3);
    FC_CHECK(fc_chunks_duplicates(dup) == 2);
    fc_chunks_destroy(&dup);
    zframe_destroy(&peer3);
    zsock_destroy(&dealer3);
    if (verbose)
        printf("(late re-send not answered twice) ");

    /* A connection that does not read fills its share and is passed over: another is
       served from the rest of the budget meanwhile. Past the deadline without taking any of
       its bytes, it is dropped: its bytes leave the budget, its queue is forgotten, and
       its requests are refused from then on. */
    fc_chunks_t *fair = fc_chunks_new(store, zsock_resolve(router), 8 * FC_CHUNK_SIZE);
    FC_CHECK(fair);
    fc_chunks_set_share(fair, 2 * FC_CHUNK_SIZE);
    fc_chunks_set_deadline(fair, 300);
    for (uint64_t i = 0; i < 6; i++) /* "peer" is the hog: nothing read from dealer here */
        FC_CHECK(fc_chunks_get(fair, peer, NULL, 600 + i, blob, i * FC_CHUNK_SIZE, FC_CHUNK_SIZE,
                               text, sizeof text) == 0);
    FC_CHECK(fc_chunks_held(fair) == 2 * FC_CHUNK_SIZE && fc_chunks_waiting(fair) == 4);
    zsock_t *dealer4 = zsock_new(ZMQ_DEALER);
    zsock_set_identity(dealer4, "peer4");
    FC_CHECK(dealer4 && zsock_connect(dealer4, "inproc://fc_chunks_test") == 0);
    zstr_send(dealer4, "hi");
    hi = zmsg_recv(router);
    FC_CHECK(hi);
    zmsg_destroy(&hi);
    zframe_t *peer4 = zframe_new("peer4", 5);
    for (uint64_t i = 0; i < 6; i++)
        FC_CHECK(fc_chunks_get(fair, peer4, NULL, 700 + i, blob, i * FC_CHUNK_SIZE, FC_CHUNK_SIZE,
                               text, sizeof text) == 0);
    fc_chunks_pump(fair); /* as the broker does after each batch of requests */
    FC_CHECK(fc_chunks_held(fair) == 4 * FC_CHUNK_SIZE && fc_chunks_waiting(fair) == 8);
    for (uint64_t i = 0; i < 6; i++) {
        fc_msg_t *m = s_recv(dealer4);
        FC_CHECK(m->type == FC_MSG_CHUNK && m->req == 700 + i);
        fc_msg_destroy(&m);
        fc_chunks_pump(fair); /* the hog, first in turn, is passed over */
    }
    FC_CHECK(fc_chunks_held(fair) == 2 * FC_CHUNK_SIZE && fc_chunks_waiting(fair) == 4);
    FC_CHECK(fc_chunks_dropped_links(fair) == 0);
    zclock_sleep(1100); /* past the deadline, and the once-a-second check */
    fc_chunks_pump(fair);
    FC_CHECK(fc_chunks_dropped_links(fair) == 1);
    FC_CHECK(fc_chunks_held(fair) == 0 && fc_chunks_waiting(fair) == 0);
    FC_CHECK(fc_chunks_ignored(fair) == 4);
    FC_CHECK(fc_chunks_get(fair, peer, NULL, 610, blob, 0, FC_CHUNK_SIZE, text, sizeof text) == 0);
    FC_CHECK(fc_chunks_ignored(fair) == 5 && fc_chunks_waiting(fair) == 0);
    /* The budget it held serves the others at once. */
    FC_CHECK(fc_chunks_get(fair, peer4, NULL, 710, blob, 0, FC_CHUNK_SIZE, text, sizeof text) == 0);
    fc_msg_t *m4 = s_recv(dealer4);
    FC_CHECK(m4->req == 710);
    fc_msg_destroy(&m4);
    /* The dropped connection's replies are still in ZeroMQ: released when it lets go,
       without going below zero in the budget. */
    for (uint64_t i = 0; i < 2; i++) {
        fc_msg_t *m = s_recv(dealer);
        FC_CHECK(m->req == 600 + i);
        fc_msg_destroy(&m);
    }
    FC_CHECK(fc_chunks_held(fair) == 0);
    /* Its held bytes all drained (an honest agent back from a pause past the deadline, on
       the same connection): it is served again, not left unanswered for good. */
    FC_CHECK(fc_chunks_get(fair, peer, NULL, 611, blob, FC_CHUNK_SIZE, FC_CHUNK_SIZE, text,
                           sizeof text) == 0);
    fc_chunks_pump(fair);
    fc_msg_t *back = s_recv(dealer);
    FC_CHECK(back->type == FC_MSG_CHUNK && back->req == 611);
    fc_msg_destroy(&back);
    FC_CHECK(fc_chunks_ignored(fair) == 5);
    /* Stalled again past the deadline: dropped again (the drop counted; its audit entry is
       rate-limited per key). */
    for (uint64_t i = 0; i < 2; i++)
        FC_CHECK(fc_chunks_get(fair, peer, NULL, 620 + i, blob, i * FC_CHUNK_SIZE, FC_CHUNK_SIZE,
                               text, sizeof text) == 0);
    zclock_sleep(1100);
    fc_chunks_pump(fair);
    FC_CHECK(fc_chunks_dropped_links(fair) == 2 && fc_chunks_held(fair) == 0);
    for (uint64_t i = 0; i < 2; i++) {
        fc_msg_t *m = s_recv(dealer);
        FC_CHECK(m->req == 620 + i);
        fc_msg_destroy(&m);
    }
    fc_chunks_destroy(&fair);
    zframe_destroy(&peer4);
    zsock_destroy(&dealer4);
    if (verbose)
        printf("(share, deadline drop) ");

    /* The connections of one key hold at most FC_CHUNKS_KEY_SHARES shares together: more
       connections do not get it more, while another key is served. */
    fc_chunks_t *keyed = fc_chunks_new(store, zsock_resolve(router), 16 * FC_CHUNK_SIZE);
    FC_CHECK(keyed);
    fc_chunks_set_share(keyed, 2 * FC_CHUNK_SIZE);
    const char *ids[4] = {"k1", "k2", "k3", "o1"};
    const char *whos[4] = {"KEY", "KEY", "KEY", "OTHER"};
    const int asks[4] = {3, 3, 1, 1};
    zsock_t *ds[4];
    zframe_t *ps[4];
    for (int i = 0; i < 4; i++) {
        ds[i] = zsock_new(ZMQ_DEALER);
        zsock_set_identity(ds[i], ids[i]);
        FC_CHECK(ds[i] && zsock_connect(ds[i], "inproc://fc_chunks_test") == 0);
        zstr_send(ds[i], "hi");
        hi = zmsg_recv(router);
        FC_CHECK(hi);
        zmsg_destroy(&hi);
        ps[i] = zframe_new(ids[i], 2);
        for (int k = 0; k < asks[i]; k++)
            FC_CHECK(fc_chunks_get(keyed, ps[i], whos[i], 800 + 10 * i + k, blob,
                                   (uint64_t)k * FC_CHUNK_SIZE, FC_CHUNK_SIZE, text,
                                   sizeof text) == 0);
        fc_chunks_pump(keyed);
    }
    /* k1 and k2 took the key's two shares; k3 waits; o1, another key, was served. */
    FC_CHECK(fc_chunks_held(keyed) == 5 * FC_CHUNK_SIZE && fc_chunks_waiting(keyed) == 3);
    fc_msg_t *o1 = s_recv(ds[3]);
    FC_CHECK(o1->req == 830);
    fc_msg_destroy(&o1);
    fc_chunks_pump(keyed);
    FC_CHECK(fc_chunks_held(keyed) == 4 * FC_CHUNK_SIZE && fc_chunks_waiting(keyed) == 3);
    /* One of the key's chunks taken: room for one more of its requests, k1's (first). */
    fc_msg_t *k1 = s_recv(ds[0]);
    FC_CHECK(k1->req == 800);
    fc_msg_destroy(&k1);
    fc_chunks_pump(keyed);
    FC_CHECK(fc_chunks_held(keyed) == 4 * FC_CHUNK_SIZE && fc_chunks_waiting(keyed) == 2);
    fc_chunks_destroy(&keyed);
    for (int i = 0; i < 4; i++) {
        zframe_destroy(&ps[i]);
        zsock_destroy(&ds[i]);
    }
    if (verbose)
        printf("(shares per key) ");

    /* One key's many connections cannot fill the waiting cap: two hold the key's shares and
       never read, a hundred more queue a full connection's worth each (never servable, the
       key at its cap); another key's window is still served whole. */
    fc_chunks_t *many = fc_chunks_new(store, zsock_resolve(router), 64 * FC_CHUNK_SIZE);
    FC_CHECK(many);
    fc_chunks_set_share(many, 2 * FC_CHUNK_SIZE);
    const char *hogs[2] = {"h1", "h2"};
    zsock_t *hd[2];
    zframe_t *hp[2];
    for (int i = 0; i < 2; i++) {
        hd[i] = zsock_new(ZMQ_DEALER);
        zsock_set_identity(hd[i], hogs[i]);
        FC_CHECK(hd[i] && zsock_connect(hd[i], "inproc://fc_chunks_test") == 0);
        zstr_send(hd[i], "hi");
        hi = zmsg_recv(router);
        FC_CHECK(hi);
        zmsg_destroy(&hi);
        hp[i] = zframe_new(hogs[i], 2);
        for (uint64_t k = 0; k < 2; k++)
            FC_CHECK(fc_chunks_get(many, hp[i], "EVIL", 900 + k, blob, k * FC_CHUNK_SIZE,
                                   FC_CHUNK_SIZE, text, sizeof text) == 0);
    }
    for (int c = 0; c < 100; c++) {
        char id[8];
        snprintf(id, sizeof id, "q%03d", c);
        zframe_t *q = zframe_new(id, strlen(id));
        for (uint64_t k = 0; k < FC_CHUNKS_MAX_WAITING_PEER; k++)
            FC_CHECK(fc_chunks_get(many, q, "EVIL", 1000 + k, blob, (k % 8) * FC_CHUNK_SIZE,
                                   FC_CHUNK_SIZE, text, sizeof text) == 0);
        zframe_destroy(&q);
    }
    fc_chunks_pump(many);
    FC_CHECK(fc_chunks_waiting(many) <= FC_CHUNKS_MAX_WAITING_KEY);
    zsock_t *hon = zsock_new(ZMQ_DEALER);
    zsock_set_identity(hon, "honest");
    FC_CHECK(hon && zsock_connect(hon, "inproc://fc_chunks_test") == 0);
    zstr_send(hon, "hi");
    hi = zmsg_recv(router);
    FC_CHECK(hi);
    zmsg_destroy(&hi);
    zframe_t *honp = zframe_new("honest", 6);
    for (uint64_t k = 0; k < 8; k++)
        FC_CHECK(fc_chunks_get(many, honp, "GOOD", 2000 + k, blob, k * FC_CHUNK_SIZE, FC_CHUNK_SIZE,
                               text, sizeof text) == 0);
    fc_chunks_pump(many);
    for (uint64_t k = 0; k < 8; k++) {
        fc_msg_t *m = s_recv(hon);
        FC_CHECK(m->type == FC_MSG_CHUNK && m->req == 2000 + k);
        fc_msg_destroy(&m);
        fc_chunks_pump(many);
    }
    fc_chunks_destroy(&many);
    if (verbose)
        printf("(waiting per key) ");

    /* Many keys, each within its own cap, fill the waiting cap together (50 keys of 2048
       requests, behind one connection holding the whole budget): a new peer's window is
       still queued, in place of the newest of the longest queues, and served in turn. */
    fc_chunks_t *full = fc_chunks_new(store, zsock_resolve(router), 2 * FC_CHUNK_SIZE);
    FC_CHECK(full);
    fc_chunks_set_share(full, 2 * FC_CHUNK_SIZE);
    /* Not dropped while the cap fills, however slow the build (a sanitizer's). */
    fc_chunks_set_deadline(full, 600 * 1000);
    for (uint64_t k = 0; k < 2; k++) /* h1 does not read: it holds the budget */
        FC_CHECK(fc_chunks_get(full, hp[0], "HOLD", 3000 + k, blob, k * FC_CHUNK_SIZE,
                               FC_CHUNK_SIZE, text, sizeof text) == 0);
    for (int c = 0; c < 100; c++) {
        char id[8], who[8];
        snprintf(id, sizeof id, "r%03d", c);
        snprintf(who, sizeof who, "K%02d", c / 2);
        zframe_t *q = zframe_new(id, strlen(id));
        for (uint64_t k = 0; k < FC_CHUNKS_MAX_WAITING_PEER; k++) /* 1 byte each: cheap */
            FC_CHECK(fc_chunks_get(full, q, who, 4000 + k, blob, k, 1, text, sizeof text) == 0);
        zframe_destroy(&q);
    }
    FC_CHECK(fc_chunks_waiting(full) == FC_CHUNKS_MAX_WAITING);
    uint64_t before = fc_chunks_dropped(full);
    for (uint64_t k = 0; k < 8; k++)
        FC_CHECK(fc_chunks_get(full, honp, "GOOD", 5000 + k, blob, k * FC_CHUNK_SIZE, FC_CHUNK_SIZE,
                               text, sizeof text) == 0);
    FC_CHECK(fc_chunks_waiting(full) == FC_CHUNKS_MAX_WAITING);
    FC_CHECK(fc_chunks_dropped(full) == before + 8); /* 8 of the others made way */
    fc_chunks_set_deadline(full, 300);
    zclock_sleep(1100); /* h1 dropped: the budget serves the others, the new peer in turn */
    fc_chunks_pump(full);
    FC_CHECK(fc_chunks_dropped_links(full) == 1);
    for (uint64_t k = 0; k < 8; k++) {
        fc_msg_t *m = s_recv(hon);
        FC_CHECK(m->type == FC_MSG_CHUNK && m->req == 5000 + k);
        fc_msg_destroy(&m);
        fc_chunks_pump(full);
    }
    fc_chunks_destroy(&full);
    if (verbose)
        printf("(waiting cap, many keys) ");
    zframe_destroy(&honp);
    zsock_destroy(&hon);
    for (int i = 0; i < 2; i++) {
        zframe_destroy(&hp[i]);
        zsock_destroy(&hd[i]);
    }

    /* Refused at once: zero or oversized length, a range past the end, an unknown blob. */
    FC_CHECK(fc_chunks_get(chunks, peer, NULL, 1, blob, 0, 0, text, sizeof text) == FC_EINVAL);
    FC_CHECK(fc_chunks_get(chunks, peer, NULL, 1, blob, 0, FC_MAX_CHUNK_REQ + 1, text,
                           sizeof text) == FC_EINVAL);
    FC_CHECK(fc_chunks_get(chunks, peer, NULL, 1, blob, S_SIZE - 10, 11, text, sizeof text) ==
             FC_EINVAL);
    FC_CHECK(strstr(text, "outside the blob"));
    uint8_t other[FC_HASH_LEN] = {1};
    FC_CHECK(fc_chunks_get(chunks, peer, NULL, 1, other, 0, 10, text, sizeof text) == FC_ENOTFOUND);

    /* Destroyed with replies still queued in ZeroMQ: they stay valid and are released
       (the accounting outlives the server) when received. */
    FC_CHECK(fc_chunks_get(chunks, peer, NULL, 200, blob, 0, FC_CHUNK_SIZE, text, sizeof text) ==
             0);
    fc_chunks_destroy(&chunks);
    fc_chunks_destroy(&chunks); /* safe on NULL */
    fc_msg_t *m = s_recv(dealer);
    FC_CHECK(m->req == 200 && memcmp(zframe_data(m->data), buf, FC_CHUNK_SIZE) == 0);
    fc_msg_destroy(&m);
    if (verbose)
        printf("(refusals, lifetime) ");

    zframe_destroy(&peer);
    zsock_destroy(&dealer);
    zsock_destroy(&router);
    fc_store_destroy(&store);
    free(buf);
    FC_CHECK(fc_remove_tree(base) == 0);
    printf("OK\n");
}
