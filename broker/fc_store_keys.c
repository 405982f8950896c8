/* fc_store_keys.c: the database's enrolled keys mirrored into a broker's keys/<role>/
   (fc_store_keys.h); the writing and keeping-out is fc_relay_keys', shared with relays. */
#include "fc_store_keys.h"
#include "fc_curve.h"
#include "fc_db_keys.h"
#include "fc_error.h"
#include "fc_relay_keys.h"
#include "fc_role.h"
#include "fc_store_priv.h"

#include <czmq.h>
#include <string.h>

/* The roles mirrored: the table names them as fc_role_name does, and each has its
   directory under keys/ (fc_role_keys_dir). */
static const fc_role_t s_roles[] = {FC_ROLE_AGENT, FC_ROLE_PUBLISHER, FC_ROLE_RELAY};
#define S_ROLES (sizeof s_roles / sizeof s_roles[0])

struct fc_store_keys_t {
    fc_relay_keys_t *mirror[S_ROLES];
    bool synced; /* mirrored once since start: the serial alone says nothing before */
};

int fc_store_keys_init(fc_store_t *store)
{
    return fc_db_keys_init(store->db) == FC_DB_OK ? FC_OK : FC_EIO;
}

fc_store_keys_t *fc_store_keys_new(const char *data_dir, bool quiet)
{
    fc_store_keys_t *self = zmalloc(sizeof *self);
    for (size_t i = 0; i < S_ROLES; i++) {
        char state[64];
        const char *role = fc_role_name(s_roles[i]);
        snprintf(state, sizeof state, FC_STORE_KEYS_STATE, role);
        self->mirror[i] = fc_relay_keys_new_mirror(data_dir, fc_role_keys_dir(s_roles[i]), state,
                                                   "store", role, "in the database", quiet);
        if (!self->mirror[i]) {
            fc_store_keys_destroy(&self);
            return NULL;
        }
    }
    return self;
}

void fc_store_keys_destroy(fc_store_keys_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    fc_store_keys_t *self = *self_p;
    for (size_t i = 0; i < S_ROLES; i++)
        fc_relay_keys_destroy(&self->mirror[i]);
    free(self);
    *self_p = NULL;
}

static bool s_row(const char *key, const char *role, const char *name, int64_t added, void *arg)
{
    (void)name;
    (void)added;
    zlistx_t **lists = arg;
    for (size_t i = 0; i < S_ROLES; i++)
        if (streq(role, fc_role_name(s_roles[i])) && strlen(key) == FC_CURVE_Z85_LEN)
            zlistx_add_end(lists[i], strdup(key));
    return true; /* an unknown role or a malformed key is skipped, never written */
}

int fc_store_keys_sync(fc_store_keys_t *self, fc_store_t *store, bool force, bool *changed)
{
    if (changed)
        *changed = false;
    uint64_t serial = 0;
    if (fc_db_keys_serial(store->db, &serial) != FC_DB_OK)
        return FC_EIO;
    bool moved = force || !self->synced;
    for (size_t i = 0; i < S_ROLES && !moved; i++)
        moved = fc_relay_keys_serial(self->mirror[i]) != serial;
    if (!moved)
        return FC_OK;
    zlistx_t *lists[S_ROLES];
    for (size_t i = 0; i < S_ROLES; i++) {
        lists[i] = zlistx_new();
        zlistx_set_destructor(lists[i], (zlistx_destructor_fn *)zstr_free);
    }
    /* Read in one go, then applied: a failed read leaves every directory as it was. */
    int rc = fc_db_keys_each(store->db, s_row, lists);
    if (rc == FC_DB_OK) {
        for (size_t i = 0; i < S_ROLES; i++)
            fc_relay_keys_set(self->mirror[i], serial, lists[i]);
        self->synced = true;
        if (changed)
            *changed = true;
    }
    for (size_t i = 0; i < S_ROLES; i++)
        zlistx_destroy(&lists[i]);
    return rc == FC_DB_OK ? FC_OK : FC_EIO;
}

size_t fc_store_keys_enforce(fc_store_keys_t *self)
{
    size_t n = 0;
    for (size_t i = 0; i < S_ROLES; i++)
        n += fc_relay_keys_enforce(self->mirror[i]);
    return n;
}
