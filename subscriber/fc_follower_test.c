/* fc_follower_test.c: the release follower's self-test, without the engine: a stub host, a
   plain DEALER and the one fake broker. A manifest refused, one fetched chunk by chunk past a
   bad chunk and installed, a write failure (a file size limit, the path a full disk takes)
   waited out, a corrupt blob named and the release fetched again once the copy heals. */
#include "fc_clock.h"
#include "fc_error.h"
#include "fc_fake_broker.h"
#include "fc_file.h"
#include "fc_follower.h"
#include "fc_hash.h"
#include "fc_test_check.h"

#include <czmq.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>

/* ---------------------------------------------------------------- fake broker */

/* What the fake broker serves; the test changes it between phases, under lock. */
typedef struct {
    pthread_mutex_t lock;
    fc_manifest_t *m; /* parsed without trust */
    char src[300];
    int corrupt; /* chunk replies still to damage */
} s_fake_t;

/* fc_fake_serve_fn: GET_CHUNK from the release's files; the default for the rest. */
static fc_msg_t *s_serve(fc_fake_broker_t *broker, const fc_msg_t *req, bool *drop)
{
    (void)drop;
    s_fake_t *fake = (s_fake_t *)broker->state;
    if (req->type != FC_MSG_GET_CHUNK)
        return NULL;
    pthread_mutex_lock(&fake->lock);
    bool corrupt = fake->corrupt > 0 && req->length > 0;
    fc_msg_t *rep = fc_fake_chunk_reply(fake->m, fake->src, req, corrupt);
    if (corrupt && rep->type == FC_MSG_CHUNK)
        fake->corrupt--;
    pthread_mutex_unlock(&fake->lock);
    return rep;
}

static void s_fake_actor(zsock_t *pipe, void *args)
{
    fc_fake_broker_run(pipe, 7, s_serve, NULL, args);
}

/* Signs src as release version/serial of channel "stable" with key, and serves it. Returns
   the signed manifest (the caller frees it), its length in *len. */
static uint8_t *s_release(s_fake_t *fake, const char *src, const char *version, uint64_t serial,
                          const fc_signkey_t *key, size_t *len)
{
    fc_manifest_t *m = fc_manifest_new();
    /* Cut in FC_CHUNK_SIZE chunks (as publishers did before issue 13, and agents still take):
       the chunk arithmetic of this test relies on it. */
    const fc_scan_opts_t fixed = {.fixed_chunks = true};
    FC_CHECK(fc_manifest_scan_tree(m, src, &fixed, NULL, NULL, NULL, 0) == 0);
    strcpy(m->product, "app");
    strcpy(m->channel, "stable");
    snprintf(m->version, sizeof m->version, "%s", version);
    m->serial = serial;
    m->created = 1700000000;
    uint8_t *bytes = fc_manifest_sign(m, key, len);
    FC_CHECK(bytes);
    fc_manifest_destroy(&m);
    int err = 0;
    pthread_mutex_lock(&fake->lock);
    fc_manifest_destroy(&fake->m);
    fake->m = fc_manifest_parse(bytes, *len, NULL, &err);
    FC_CHECK(fake->m);
    snprintf(fake->src, sizeof fake->src, "%s", src);
    pthread_mutex_unlock(&fake->lock);
    return bytes;
}

static void s_corrupt(s_fake_t *fake, int n)
{
    pthread_mutex_lock(&fake->lock);
    fake->corrupt = n;
    pthread_mutex_unlock(&fake->lock);
}

/* ---------------------------------------------------------------- stub host */

typedef struct {
    fc_agent_mode_t mode;
    char state[32];
    char message[FC_MAX_TEXT + 1];
    uint8_t blob[FC_HASH_LEN];
    bool has_blob;
    int exit_code, error;
    bool finished;
    int reports;
    double progress;
    zsock_t *dealer;
    bool verbose;
    bool wrote_again; /* "writing again" was logged */
    uint64_t chunks;  /* CHUNK replies handed over */
} s_host_t;

static void s_set_state(void *ctx, const char *state, const char *message, const uint8_t *blob)
{
    s_host_t *h = (s_host_t *)ctx;
    snprintf(h->state, sizeof h->state, "%s", state);
    snprintf(h->message, sizeof h->message, "%s", message);
    h->has_blob = blob != NULL;
    if (blob)
        memcpy(h->blob, blob, FC_HASH_LEN);
    if (h->verbose)
        fprintf(stderr, "\n    %s: %s", state, message);
}

static void s_finish(void *ctx, int exit_code, int error)
{
    s_host_t *h = (s_host_t *)ctx;
    h->error = error;
    if (h->mode == FC_AGENT_DAEMON)
        return; /* as the engine: a daemon only records the error */
    h->exit_code = exit_code;
    h->finished = true;
}

static bool s_finished(void *ctx)
{
    return ((s_host_t *)ctx)->finished;
}

static void s_report(void *ctx, double now)
{
    (void)now;
    ((s_host_t *)ctx)->reports++;
}

static void s_progress(void *ctx, double now)
{
    ((s_host_t *)ctx)->progress = now;
}

static void *s_service(void *ctx)
{
    return zsock_resolve(((s_host_t *)ctx)->dealer);
}

static void s_log(const char *line, void *arg)
{
    s_host_t *h = (s_host_t *)arg;
    if (strstr(line, "writing again"))
        h->wrote_again = true;
    if (h->verbose)
        fprintf(stderr, "\n    log: %s", line);
}

/* A new run in mode: the host's record cleared, the follower told. */
static void s_begin(s_host_t *h, fc_follower_t *f, fc_agent_mode_t mode)
{
    h->mode = mode;
    h->state[0] = h->message[0] = '\0';
    h->has_blob = h->finished = h->wrote_again = false;
    h->exit_code = h->error = h->reports = 0;
    h->chunks = 0;
    fc_follower_begin(f, mode);
}

/* Runs the follower's side of the engine's loop until the state is `until` (true) or secs
   pass (false). */
static bool s_drive(s_host_t *h, fc_follower_t *f, const char *until, double secs)
{
    double deadline = fc_now() + secs;
    while (!streq(h->state, until) && fc_now() < deadline) {
        double now = fc_now();
        fc_follower_retry(f, now);
        fc_follower_expire(f, now);
        fc_follower_pump(f, now);
        zmq_pollitem_t items[1 + 8] = {{zsock_resolve(h->dealer), 0, ZMQ_POLLIN, 0}};
        void *pipes[8];
        size_t n = fc_follower_pipes(f, pipes, 8);
        for (size_t i = 0; i < n; i++)
            items[1 + i] = (zmq_pollitem_t){pipes[i], 0, ZMQ_POLLIN, 0};
        if (zmq_poll(items, (int)(1 + n), 50) < 0)
            continue;
        while (zsock_events(h->dealer) & ZMQ_POLLIN) {
            int err = 0;
            fc_msg_t *msg = fc_msg_recv(zsock_resolve(h->dealer), NULL, &err);
            if (msg && msg->type == FC_MSG_CHUNK) {
                h->chunks++;
                fc_follower_on_chunk(f, msg, fc_now());
            } else if (msg && msg->type == FC_MSG_ERROR)
                fc_follower_on_error(f, msg, 0.5, fc_now());
            fc_msg_destroy(&msg);
        }
        fc_follower_on_written(f, fc_now());
    }
    return streq(h->state, until);
}

static void s_write(const char *dir, const char *name, const void *buf, size_t len)
{
    char path[400];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FC_CHECK(fc_write_file_atomic(path, buf, len, 0644) == 0);
}

static bool s_installed(const char *inst, const char *name, const void *buf, size_t len)
{
    char path[400];
    snprintf(path, sizeof path, "%s/current/%s", inst, name);
    size_t got = 0;
    uint8_t *data = fc_read_file(path, len + 1, &got);
    bool same = data && got == len && memcmp(data, buf, len) == 0;
    free(data);
    return same;
}

/* ---------------------------------------------------------------- test */

void fc_follower_test(bool verbose)
{
    printf(" * fc_follower: ");
    char root[] = "/tmp/fc_follower_test.XXXXXX";
    FC_CHECK(mkdtemp(root));
    char src[300], inst_dir[300], state_dir[300];
    snprintf(src, sizeof src, "%s/src", root);
    snprintf(inst_dir, sizeof inst_dir, "%s/install", root);
    snprintf(state_dir, sizeof state_dir, "%s/state", root);
    FC_CHECK(fc_mkdirs(src, 0755) == 0);

    size_t size = 4 * FC_CHUNK_SIZE + 1000; /* five chunks */
    uint8_t *app = (uint8_t *)malloc(size);
    for (size_t i = 0; i < size; i++)
        app[i] = (uint8_t)(i * 2654435761u >> 13);
    s_write(src, "app", app, size);
    s_write(src, "app.conf", "port=80\n", 8);

    fc_signkey_t key, stranger;
    fc_signkey_generate(&key);
    fc_signkey_generate(&stranger);
    fc_trust_t *trust = fc_trust_new();
    fc_trust_add(trust, key.pk);
    int err = 0;
    fc_install_t *inst = fc_install_new(inst_dir, state_dir, trust, &err, NULL, 0);
    FC_CHECK(inst);

    s_fake_t fake = {.lock = PTHREAD_MUTEX_INITIALIZER};
    zactor_t *broker = zactor_new(s_fake_actor, &fake);
    int port = 0, pub_port = 0;
    zsock_recv(broker, "ii", &port, &pub_port);
    FC_CHECK(port > 0);
    s_host_t h = {.verbose = verbose};
    h.dealer = zsock_new_dealer(NULL);
    FC_CHECK(zsock_connect(h.dealer, "tcp://127.0.0.1:%d", port) == 0);

    fc_agent_result_t res = {0};
    fc_follower_config_t cfg = {.channel = "stable",
                                .policy = FC_AGENT_UPDATE_ALL,
                                .window = 2 * FC_CHUNK_SIZE,
                                .retry_interval = 0.2,
                                .verbose = verbose,
                                .inst = inst,
                                .trust = trust,
                                .res = &res};
    fc_follower_host_t host = {&h,       s_set_state, s_finish,  s_finished,
                               s_report, s_progress,  s_service, s_log};
    fc_follower_t *f = fc_follower_new(&cfg, &host);
    FC_CHECK(f);

    /* A manifest signed by a key not trusted: refused, nothing staged, the run ends. */
    size_t len = 0;
    uint8_t *bytes = s_release(&fake, src, "1.0", 1, &stranger, &len);
    s_begin(&h, f, FC_AGENT_ONCE);
    fc_follower_consider(f, bytes, len, fc_now());
    FC_CHECK(streq(h.state, "rejected") && strstr(h.message, "release rejected"));
    FC_CHECK(h.finished && h.exit_code != FC_AGENT_EXIT_OK);
    FC_CHECK(!fc_follower_staging(f) && fc_follower_newest_serial(f) == 0);
    free(bytes);

    /* Signed by the trusted key: staged and fetched chunk by chunk, one chunk damaged on the
       way (asked for again), installed, a REPORT sent before the install. */
    bytes = s_release(&fake, src, "1.0", 1, &key, &len);
    s_begin(&h, f, FC_AGENT_ONCE);
    s_corrupt(&fake, 1);
    fc_follower_consider(f, bytes, len, fc_now());
    FC_CHECK(streq(h.state, "downloading") && fc_follower_staging(f) && h.progress > 0);
    FC_CHECK(fc_follower_newest_serial(f) == 1);
    uint64_t done = 1, total = 0;
    fc_follower_bytes(f, &done, &total);
    FC_CHECK(done == 0 && total == size + 8);
    FC_CHECK(s_drive(&h, f, "installed", 30));
    FC_CHECK(h.finished && h.exit_code == FC_AGENT_EXIT_OK && h.reports == 1);
    FC_CHECK(h.chunks == 6 + 1 && fc_follower_hash_errors(f) == 1);
    FC_CHECK(res.bytes_fetched > size + 8 && res.bytes_total == size + 8);
    FC_CHECK(streq(res.version, "1.0") && !fc_follower_staging(f));
    FC_CHECK(s_installed(inst_dir, "app", app, size));
    free(bytes);

    /* 2.0 changes the last chunk: the rest is reused locally. Writing it fails (a file size
       limit: EFBIG, taken as a full disk is); a daemon keeps what is staged, says so, and
       writes again once it can. */
    app[size - 1] ^= 0xff;
    s_write(src, "app", app, size);
    bytes = s_release(&fake, src, "2.0", 2, &key, &len);
    s_begin(&h, f, FC_AGENT_DAEMON);
    res.bytes_reused = 0;
    fc_follower_consider(f, bytes, len, fc_now());
    FC_CHECK(streq(h.state, "downloading") && res.bytes_reused == size + 8 - 1000);
    struct rlimit was;
    FC_CHECK(getrlimit(RLIMIT_FSIZE, &was) == 0);
    struct rlimit tiny = {1, was.rlim_max};
    void (*was_sig)(int) = signal(SIGXFSZ, SIG_IGN);
    FC_CHECK(setrlimit(RLIMIT_FSIZE, &tiny) == 0);
    bool failed = s_drive(&h, f, "failed", 30);
    FC_CHECK(setrlimit(RLIMIT_FSIZE, &was) == 0);
    signal(SIGXFSZ, was_sig);
    FC_CHECK(failed && strstr(h.message, "write error writing 2.0") &&
             strstr(h.message, "keeping what is staged"));
    FC_CHECK(h.error == FC_EIO && !h.finished && fc_follower_staging(f));
    FC_CHECK(s_drive(&h, f, "installed", 30)); /* the parked request goes out after 5 s */
    FC_CHECK(h.wrote_again && s_installed(inst_dir, "app", app, size));
    free(bytes);

    /* 3.0 from a broker whose copy of app is damaged: after three bad chunks the release is
       refused, the blob named; once the copy is good again the daemon fetches it after its
       retry interval. */
    app[0] ^= 0xff;
    s_write(src, "app", app, size);
    bytes = s_release(&fake, src, "3.0", 3, &key, &len);
    s_begin(&h, f, FC_AGENT_DAEMON);
    s_corrupt(&fake, 1000);
    fc_follower_consider(f, bytes, len, fc_now());
    FC_CHECK(s_drive(&h, f, "failed", 30));
    FC_CHECK(strstr(h.message, "corrupt at the broker") && h.error == FC_EHASH);
    const fc_file_t *file = NULL;
    for (uint32_t i = 0; i < fake.m->nfiles; i++)
        if (streq(fake.m->files[i].path, "app"))
            file = &fake.m->files[i];
    FC_CHECK(file && h.has_blob && fc_hash_equal(h.blob, file->hash));
    FC_CHECK(!fc_follower_staging(f) && fc_follower_newest_serial(f) == 3);
    s_corrupt(&fake, 0);
    FC_CHECK(s_drive(&h, f, "installed", 30));
    FC_CHECK(s_installed(inst_dir, "app", app, size) && streq(res.version, "3.0"));
    free(bytes);

    fc_follower_destroy(&f);
    fc_follower_destroy(&f); /* safe on NULL */
    zsock_destroy(&h.dealer);
    zactor_destroy(&broker);
    pthread_mutex_lock(&fake.lock);
    fc_manifest_destroy(&fake.m);
    pthread_mutex_unlock(&fake.lock);
    fc_install_destroy(&inst);
    fc_trust_destroy(&trust);
    free(app);
    fc_remove_tree(root);
    printf("OK\n");
}
