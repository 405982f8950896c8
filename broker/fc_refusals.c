/* fc_refusals.c: refused connections in the broker's log, named and rate-limited
   (fc_refusals.h). */
#include "fc_refusals.h"
#include "fc_test_check.h"

#include <czmq.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#define S_KEYS 64        /* keys remembered; the oldest is forgotten first */
#define S_EVERY_MS 60000 /* one line per key at most this often */
#define S_KEY_MAX 64

typedef struct {
    char key[S_KEY_MAX + 1];
    int64_t logged; /* zclock_mono of its last line; 0: free slot */
    uint64_t quiet; /* refusals since, not logged */
} s_key_t;

struct fc_refusals_t {
    pthread_mutex_t lock; /* zauth's thread logs; a test may too */
    bool verbose;
    char address[64]; /* of the ZAP request being decided */
    s_key_t keys[S_KEYS];
};

fc_refusals_t *fc_refusals_new(bool verbose)
{
    fc_refusals_t *self = (fc_refusals_t *)calloc(1, sizeof *self);
    if (!self)
        return NULL;
    pthread_mutex_init(&self->lock, NULL);
    self->verbose = verbose;
    return self;
}

void fc_refusals_destroy(fc_refusals_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    pthread_mutex_destroy(&(*self_p)->lock);
    free(*self_p);
    *self_p = NULL;
}

/* The key's slot, or the least recently logged one taken over. */
static s_key_t *s_slot(fc_refusals_t *self, const char *key)
{
    s_key_t *oldest = &self->keys[0];
    for (size_t i = 0; i < S_KEYS; i++) {
        if (self->keys[i].logged && streq(self->keys[i].key, key))
            return &self->keys[i];
        if (self->keys[i].logged < oldest->logged)
            oldest = &self->keys[i];
    }
    memset(oldest, 0, sizeof *oldest);
    snprintf(oldest->key, sizeof oldest->key, "%s", key);
    return oldest;
}

/* Whether a refusal keyed key is due for a line now: *quiet gets the count of those not
   logged since the last one. Under the lock. */
static bool s_due(fc_refusals_t *self, const char *key, uint64_t *quiet)
{
    s_key_t *k = s_slot(self, key);
    int64_t now = zclock_mono();
    if (k->logged && now - k->logged < S_EVERY_MS) {
        k->quiet++;
        return false;
    }
    *quiet = k->quiet;
    k->logged = now ? now : 1;
    k->quiet = 0;
    return true;
}

bool fc_refusals_due(fc_refusals_t *self, const char *key, uint64_t *quiet)
{
    pthread_mutex_lock(&self->lock);
    bool due = s_due(self, key, quiet);
    pthread_mutex_unlock(&self->lock);
    return due;
}

bool fc_refusals_filter(fc_log_level_t *level, char *text, size_t size, void *arg)
{
    fc_refusals_t *self = (fc_refusals_t *)arg;
    if (strncmp(text, "zauth: ", 7) != 0)
        return true;
    pthread_mutex_lock(&self->lock);
    bool keep = self->verbose;
    const char *ip = strstr(text, "ipaddress=");
    const char *denied = strstr(text, "- denied (CURVE) client_key=");
    if (ip && strstr(text, "ZAP request"))
        snprintf(self->address, sizeof self->address, "%s", ip + strlen("ipaddress="));
    else if (denied) {
        char key[S_KEY_MAX + 1];
        snprintf(key, sizeof key, "%s", denied + strlen("- denied (CURVE) client_key="));
        uint64_t quiet = 0;
        keep = s_due(self, key, &quiet);
        if (keep) {
            char more[64] = "";
            if (quiet)
                snprintf(more, sizeof more, " (%llu more refused in the last minute)",
                         (unsigned long long)quiet);
            snprintf(text, size,
                     "refused a connection from %s: CURVE key %s is not enrolled (fleetcast "
                     "keys add-agent or add-publisher '%s' --data DATA to admit it)%s",
                     self->address[0] ? self->address : "?", key, key, more);
            *level = FC_LOG_WARNING;
        }
    }
    pthread_mutex_unlock(&self->lock);
    return keep;
}

void fc_refusals_test(bool verbose)
{
    printf(" * fc_refusals: ");
    fc_refusals_t *r = fc_refusals_new(false);
    FC_CHECK(r);
    char text[512];
    fc_log_level_t level = FC_LOG_INFO;
    /* The chatter goes; another program's lines pass. */
    snprintf(text, sizeof text, "zauth: ZAP request mechanism=CURVE ipaddress=10.0.0.7");
    FC_CHECK(!fc_refusals_filter(&level, text, sizeof text, r));
    snprintf(text, sizeof text, "zauth: - allowed (CURVE) client_key=abc");
    FC_CHECK(!fc_refusals_filter(&level, text, sizeof text, r));
    snprintf(text, sizeof text, "denied HELLO from key x");
    FC_CHECK(fc_refusals_filter(&level, text, sizeof text, r) && level == FC_LOG_INFO);
    /* A refusal: named, with the address, as a warning; the next ones within a minute are
       counted, not logged. */
    snprintf(text, sizeof text, "zauth: - denied (CURVE) client_key=KEY1");
    FC_CHECK(fc_refusals_filter(&level, text, sizeof text, r));
    FC_CHECK(level == FC_LOG_WARNING && strstr(text, "refused a connection from 10.0.0.7") &&
             strstr(text, "CURVE key KEY1 is not enrolled"));
    for (int i = 0; i < 5; i++) {
        snprintf(text, sizeof text, "zauth: - denied (CURVE) client_key=KEY1");
        FC_CHECK(!fc_refusals_filter(&level, text, sizeof text, r));
    }
    /* Another key has its own minute. */
    snprintf(text, sizeof text, "zauth: - denied (CURVE) client_key=KEY2");
    FC_CHECK(fc_refusals_filter(&level, text, sizeof text, r) && strstr(text, "KEY2"));
    /* A minute later KEY1 is logged again with the count of the quiet ones. */
    for (size_t i = 0; i < S_KEYS; i++)
        if (streq(r->keys[i].key, "KEY1"))
            r->keys[i].logged -= S_EVERY_MS;
    snprintf(text, sizeof text, "zauth: - denied (CURVE) client_key=KEY1");
    FC_CHECK(fc_refusals_filter(&level, text, sizeof text, r) &&
             strstr(text, "(5 more refused in the last minute)"));
    /* Many keys: the table stays bounded, the newest is still told. */
    for (int i = 0; i < 3 * S_KEYS; i++) {
        snprintf(text, sizeof text, "zauth: - denied (CURVE) client_key=K%d", i);
        FC_CHECK(fc_refusals_filter(&level, text, sizeof text, r));
    }
    /* Connections that failed before a key: per kind and address, once a minute. The keys
       above all logged long ago, so the new ones take their slots, not each other's. */
    for (size_t i = 0; i < S_KEYS; i++)
        r->keys[i].logged = 1;
    uint64_t quiet = 99;
    FC_CHECK(fc_refusals_due(r, "plain 10.0.0.9", &quiet) && quiet == 0);
    FC_CHECK(!fc_refusals_due(r, "plain 10.0.0.9", &quiet));
    FC_CHECK(fc_refusals_due(r, "plain 10.0.0.8", &quiet));
    FC_CHECK(fc_refusals_due(r, "crypto 10.0.0.9", &quiet));
    for (size_t i = 0; i < S_KEYS; i++)
        if (streq(r->keys[i].key, "plain 10.0.0.9"))
            r->keys[i].logged -= S_EVERY_MS;
    FC_CHECK(fc_refusals_due(r, "plain 10.0.0.9", &quiet) && quiet == 1);
    fc_refusals_destroy(&r);
    FC_CHECK(r == NULL);
    fc_refusals_destroy(&r);
    if (verbose)
        printf("(chatter dropped, refusals named, rate-limited per key) ");
    printf("OK\n");
}
