/* fc_store_listen.c: a thread holding a LISTEN connection to the shared PostgreSQL store,
   telling the broker's loop over a pipe when another broker committed (fc_store_listen.h). */
#include "fc_store_listen.h"
#include "fc_db.h"
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_BACKOFF_MIN_MS 100
#define S_BACKOFF_MAX_MS 5000

struct fc_store_listen_t {
    zactor_t *actor;
    char *where; /* owned here, read by the thread until the actor is destroyed */
    bool quiet;
    atomic_int connects;
};

/* Opens and LISTENs; NULL on failure (the reason in why). */
static fc_db_t *s_connect(const char *where, char *why, size_t whysize)
{
    int rc = 0;
    fc_db_t *db = fc_db_open(where, &rc, why, whysize);
    if (db && fc_db_listen(db, FC_STORE_CHANNEL) != FC_DB_OK) {
        snprintf(why, whysize, "LISTEN %s: %s", FC_STORE_CHANNEL, fc_db_errmsg(db));
        fc_db_close(&db);
    }
    return db;
}

static void s_actor(zsock_t *pipe, void *args)
{
    fc_store_listen_t *self = args;
    zsock_signal(pipe, 0);
    fc_db_t *db = NULL;
    int backoff = S_BACKOFF_MIN_MS;
    int64_t next_try = zclock_mono();
    bool warned = false;
    while (true) {
        if (!db && zclock_mono() >= next_try) {
            char why[256] = "";
            db = s_connect(self->where, why, sizeof why);
            if (db) {
                if (warned && !self->quiet)
                    zsys_info("fleetcast-broker: listening to the database again");
                warned = false;
                backoff = S_BACKOFF_MIN_MS;
                /* A first connection or one back from a loss: whatever was committed
                   before LISTEN took hold is read now, not at the next heartbeat. */
                atomic_fetch_add(&self->connects, 1);
                zstr_send(pipe, "NOTIFIED");
            } else {
                if (!warned && !self->quiet)
                    zsys_warning("fleetcast-broker: cannot listen to the database (%s): other "
                                 "brokers' commits are seen at each heartbeat until it is back",
                                 why);
                warned = true;
                next_try = zclock_mono() + backoff;
                backoff = backoff * 2 > S_BACKOFF_MAX_MS ? S_BACKOFF_MAX_MS : backoff * 2;
            }
        }
        zmq_pollitem_t items[2] = {{zsock_resolve(pipe), 0, ZMQ_POLLIN, 0},
                                   {NULL, db ? fc_db_fd(db) : -1, ZMQ_POLLIN, 0}};
        long timeout = -1;
        if (!db) {
            int64_t left = next_try - zclock_mono();
            timeout = left > 0 ? (long)left : 0;
        }
        int n = zmq_poll(items, db ? 2 : 1, timeout);
        if (n < 0 && zmq_errno() != EINTR)
            break; /* the context is going */
        if (items[0].revents & ZMQ_POLLIN) {
            char *command = zstr_recv(pipe);
            bool term = !command || streq(command, "$TERM");
            zstr_free(&command);
            if (term)
                break;
        }
        if (db && (items[1].revents & (ZMQ_POLLIN | ZMQ_POLLERR))) {
            int count = 0;
            if (fc_db_notified(db, &count) != FC_DB_OK) {
                if (!self->quiet)
                    zsys_warning("fleetcast-broker: lost the database's notifications (%s): "
                                 "connecting again",
                                 fc_db_errmsg(db));
                warned = true;
                fc_db_close(&db);
                next_try = zclock_mono() + backoff;
            } else if (count > 0)
                zstr_send(pipe, "NOTIFIED");
        }
    }
    fc_db_close(&db);
}

fc_store_listen_t *fc_store_listen_new(const char *where, bool quiet)
{
    if (!where || !fc_db_where_is_pg(where))
        return NULL;
    fc_store_listen_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->where = strdup(where);
    self->quiet = quiet;
    atomic_init(&self->connects, 0);
    if (self->where)
        self->actor = zactor_new(s_actor, self);
    if (!self->actor) {
        free(self->where);
        free(self);
        return NULL;
    }
    return self;
}

void fc_store_listen_destroy(fc_store_listen_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    fc_store_listen_t *self = *self_p;
    zactor_destroy(&self->actor);
    free(self->where);
    free(self);
    *self_p = NULL;
}

void *fc_store_listen_sock(fc_store_listen_t *self)
{
    return self->actor;
}

bool fc_store_listen_handle(fc_store_listen_t *self, void *which)
{
    if (!which || which != (void *)self->actor)
        return false;
    char *note = zstr_recv(self->actor);
    zstr_free(&note);
    /* Several batches may be queued: one reload covers them all. */
    while (zsock_events(zactor_sock(self->actor)) & ZMQ_POLLIN) {
        note = zstr_recv(self->actor);
        zstr_free(&note);
    }
    return true;
}

int fc_store_listen_connects(fc_store_listen_t *self)
{
    return atomic_load(&self->connects);
}
