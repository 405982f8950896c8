/* fc_keys_cmd.c: `fleetcast keygen` (signing keys and CURVE certificates) and `fleetcast keys`
   (enrol, revoke and list the CURVE keys a broker admits): files in one broker's DIR/keys, or
   rows of the database brokers share (--store, proto/fc_db_keys.h). */
#include "fc_keys_cmd.h"
#include "fc_curve.h"
#include "fc_db_keys.h"
#include "fc_error.h"
#include "fc_file.h"
#include "fc_json.h"
#include "fc_key.h"
#include "fc_role.h"

#include <czmq.h>
#include <dirent.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The roles with a directory under BROKERDATA/keys (fc_role_keys_dir: the broker's
   fc_keyring reads the same). */
static const fc_role_t s_role_dirs[] = {FC_ROLE_AGENT, FC_ROLE_PUBLISHER, FC_ROLE_RELAY};

/* A usage error: the message (one %s for arg) and exit status 2. */
static int s_usage(const char *fmt, const char *arg)
{
    fprintf(stderr, "fleetcast: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, " (see fleetcast --help)\n");
    return 2;
}

static int s_fail(const char *fmt, const char *a, const char *b)
{
    fprintf(stderr, "fleetcast: ");
    fprintf(stderr, fmt, a, b);
    fprintf(stderr, "\n");
    return 1;
}

/* Makes DIR/NAME.cert(+_secret) unless the secret is there; *made says whether it did. */
static int s_make_cert(const char *dir, const char *name, bool broker, char *pub, bool *made)
{
    char path[PATH_MAX], secret[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s.cert", dir, name);
    snprintf(secret, sizeof secret, "%s/%s.cert_secret", dir, name);
    *made = false;
    if (access(secret, F_OK) == 0)
        return fc_curve_read_public(secret, pub);
    int err = fc_curve_generate(path, broker, pub);
    *made = err == FC_OK;
    return err;
}

int fc_keygen_cmd(const char *out, const char *role, bool json)
{
    if (!out)
        return s_usage("keygen needs --out DIR%s", "");
    role = role ? role : fc_role_name(FC_ROLE_PUBLISHER);
    /* A certificate for a peer of a HELLO role (fc_role.h), or the broker's own. */
    fc_role_t peer = FC_ROLE_NONE;
    bool broker = streq(role, "broker");
    if (!broker && !fc_role_from_name(role, &peer))
        return s_usage("--role is publisher, agent, relay or broker, not '%s'", role);
    if (fc_mkdirs(out, 0700) != 0)
        return s_fail("cannot create %s: %s", out, strerror(errno));
    bool signing_made = false, cert_made = false;
    char signing[PATH_MAX];
    snprintf(signing, sizeof signing, "%s/signing.key", out);
    if (peer == FC_ROLE_PUBLISHER && access(signing, F_OK) != 0) {
        fc_signkey_t key;
        fc_signkey_generate(&key);
        int rc = fc_signkey_save(&key, out);
        fc_signkey_wipe(&key);
        if (rc)
            return s_fail("cannot write %s: %s", signing, fc_strerror(rc));
        signing_made = true;
    }
    char pub[FC_CURVE_Z85_LEN + 1] = "";
    int rc = s_make_cert(out, role, broker, pub, &cert_made);
    if (rc)
        return s_fail("cannot write the %s certificate: %s", role, fc_strerror(rc));
    if (!signing_made && !cert_made) {
        fprintf(stderr, "fleetcast: %s keys are already in %s; not overwritten\n", role, out);
        return 1;
    }
    char cert[PATH_MAX];
    snprintf(cert, sizeof cert, "%s/%s.cert", out, role);
    if (json) {
        fc_json_t *j = fc_json_new();
        fc_json_open(j);
        fc_json_key_str(j, "role", role);
        if (peer == FC_ROLE_PUBLISHER) {
            fc_json_key_str(j, "secret", signing);
            snprintf(signing, sizeof signing, "%s/signing.pub", out);
            fc_json_key_str(j, "public", signing);
        }
        fc_json_key_str(j, "cert", cert);
        strcat(cert, "_secret");
        fc_json_key_str(j, "cert_secret", cert);
        fc_json_key_str(j, "curve_key", pub);
        fc_json_close(j);
        puts(fc_json_text(j));
        fc_json_destroy(&j);
        return 0;
    }
    if (signing_made)
        printf("wrote %s/signing.key (secret, keep it safe) and %s/signing.pub (give it to "
               "agents with --trust)\n",
               out, out);
    if (!cert_made)
        printf("kept the existing %s_secret\n", cert);
    else if (broker)
        printf("wrote %s_secret (the broker's secret: keep it in the broker's data dir) and %s\n"
               "(give it to agents and publishers as --broker-key); key %s\n",
               cert, cert, pub);
    else
        printf("wrote %s_secret (secret: the %s's --%s) and %s (public key '%s');\n"
               "enrol it on the broker: fleetcast keys add-%s %s --data BROKER_DATA_DIR\n",
               cert, role, peer == FC_ROLE_AGENT ? "key" : "cert", cert, pub, role, cert);
    return 0;
}

/* Every enrolled cert file under data/keys: calls fn with role dir, file path and key. */
typedef void(s_visit_fn)(const char *role, const char *file, const char *key, void *arg);

static void s_visit(const char *data, s_visit_fn *fn, void *arg)
{
    for (size_t i = 0; i < sizeof s_role_dirs / sizeof s_role_dirs[0]; i++) {
        char dir[PATH_MAX];
        snprintf(dir, sizeof dir, "%s/keys/%s", data, fc_role_keys_dir(s_role_dirs[i]));
        DIR *d = opendir(dir);
        struct dirent *e;
        while (d && (e = readdir(d))) {
            size_t n = strlen(e->d_name);
            if (e->d_name[0] == '.' || (n >= 7 && streq(e->d_name + n - 7, "_secret")))
                continue;
            char file[PATH_MAX], key[FC_CURVE_Z85_LEN + 1];
            if (snprintf(file, sizeof file, "%s/%s", dir, e->d_name) >= (int)sizeof file)
                continue;
            struct stat st;
            if (stat(file, &st) == 0 && S_ISREG(st.st_mode) && fc_curve_read_public(file, key) == 0)
                fn(fc_role_name(s_role_dirs[i]), file, key, arg);
        }
        if (d)
            closedir(d);
    }
}

typedef struct {
    const char *key;
    int removed;
    int failed;
} s_revoke_t;

static void s_revoke_one(const char *role, const char *file, const char *key, void *arg)
{
    s_revoke_t *r = arg;
    if (!streq(key, r->key))
        return;
    if (unlink(file) == 0) {
        printf("revoked %s key %s (removed %s)\n", role, key, file);
        r->removed++;
    } else {
        fprintf(stderr, "fleetcast: cannot remove %s: %s\n", file, strerror(errno));
        r->failed++;
    }
}

static void s_list_one(const char *role, const char *file, const char *key, void *arg)
{
    fc_json_t *j = arg;
    if (j) {
        fc_json_open(j);
        fc_json_key_str(j, "role", role);
        fc_json_key_str(j, "key", key);
        fc_json_key_str(j, "file", file);
        fc_json_close(j);
    } else
        printf("%-10s %s %s\n", role, key, file);
}

static bool s_list_row(const char *key, const char *role, const char *name, int64_t added,
                       void *arg)
{
    fc_json_t *j = arg;
    if (j) {
        fc_json_open(j);
        fc_json_key_str(j, "role", role);
        fc_json_key_str(j, "key", key);
        fc_json_key_str(j, "name", name);
        fc_json_key_int(j, "added", added);
        fc_json_close(j);
    } else
        printf("%-10s %s %s\n", role, key, name);
    return true;
}

/* keys ... --store DB: the rows every broker on DB mirrors into its keys/ (fc_store_keys.h). */
static int s_store_run(const char *store, bool json, const char *sub, const char *arg)
{
    if (!fc_db_where_is_pg(store))
        return s_usage("--store takes the PostgreSQL database brokers share (postgresql://...), "
                       "not '%s': a broker on SQLite admits the keys in its DIR/keys (--data)",
                       store);
    bool list = streq(sub, "list");
    int rc = 0;
    char why[512] = "";
    fc_db_t *db = list ? fc_db_open_readonly(store, &rc, why, sizeof why)
                       : fc_db_open(store, &rc, why, sizeof why);
    if (!db)
        return s_fail("cannot open the database %s: %s", "(--store)", why);
    int status = 0;
    if (list) {
        fc_json_t *j = json ? fc_json_new() : NULL;
        if (j)
            fc_json_open_array(j);
        else
            printf("%-10s %-40s %s\n", "ROLE", "KEY", "NAME");
        rc = fc_db_keys_each(db, s_list_row, j);
        if (rc == FC_DB_OK && j)
            puts(fc_json_text(j));
        fc_json_destroy(&j);
        if (rc != FC_DB_OK)
            status = s_fail("cannot read the enrolled keys (%s%s)", fc_db_errmsg(db),
                            ": has a broker started on this database yet?");
        fc_db_close(&db);
        return status;
    }
    char key[FC_CURVE_Z85_LEN + 1];
    int err = fc_curve_read_public(arg, key);
    if (err) {
        fc_db_close(&db);
        return s_fail("'%s' is not a CURVE key or certificate file (%s)", arg, fc_strerror(err));
    }
    if (streq(sub, "revoke")) {
        int removed = 0;
        rc = fc_db_keys_revoke(db, key, &removed);
        if (rc != FC_DB_OK)
            status = s_fail("cannot revoke %s: %s", key, fc_db_errmsg(db));
        else if (!removed)
            status = s_fail("key %s is not enrolled in the database%s", key, "");
        else
            printf("revoked key %s in the database; every broker on it removes it within a "
                   "second\n",
                   key);
        fc_db_close(&db);
        return status;
    }
    const char *role = streq(sub, "add-agent")       ? fc_role_name(FC_ROLE_AGENT)
                       : streq(sub, "add-publisher") ? fc_role_name(FC_ROLE_PUBLISHER)
                                                     : fc_role_name(FC_ROLE_RELAY);
    rc = fc_db_keys_add(db, key, role, arg);
    if (rc != FC_DB_OK)
        status = s_fail("cannot enrol %s: %s", key, fc_db_errmsg(db));
    else
        printf("enrolled %s key %s in the database; every broker on it admits it within a "
               "second\n",
               role, key);
    fc_db_close(&db);
    return status;
}

int fc_keys_cmd_run(const char *data, const char *store, bool json, int argc, char **argv)
{
    const char *sub = argc > 1 ? argv[1] : NULL;
    if (!sub)
        return s_usage("keys needs add-agent, add-publisher, add-relay, revoke or list%s", "");
    if (store && data)
        return s_usage("keys %s takes --data DIR (one broker's files) or --store DB (the "
                       "database brokers share), not both",
                       sub);
    if (store) {
        bool known = streq(sub, "list") || streq(sub, "add-agent") || streq(sub, "add-publisher") ||
                     streq(sub, "add-relay") || streq(sub, "revoke");
        if (!known)
            return s_usage("unknown keys command '%s'", sub);
        if (streq(sub, "list") ? argc != 2 : argc != 3)
            return s_usage("keys %s --store needs one KEY (Z85 key or .cert file)", sub);
        return s_store_run(store, json, sub, argc > 2 ? argv[2] : NULL);
    }
    if (!data)
        return s_usage("keys %s needs --data BROKER_DATA_DIR (or --store DB)", sub);
    if (streq(sub, "list")) {
        fc_json_t *j = json ? fc_json_new() : NULL;
        if (j)
            fc_json_open_array(j);
        else
            printf("%-10s %-40s %s\n", "ROLE", "KEY", "FILE");
        s_visit(data, s_list_one, j);
        if (j) {
            fc_json_close_array(j);
            puts(fc_json_text(j));
            fc_json_destroy(&j);
        }
        return 0;
    }
    bool add_agent = streq(sub, "add-agent"), add_pub = streq(sub, "add-publisher");
    bool add_relay = streq(sub, "add-relay");
    if (!add_agent && !add_pub && !add_relay && !streq(sub, "revoke"))
        return s_usage("unknown keys command '%s'", sub);
    if (argc != 3)
        return s_usage("keys %s needs one KEY (Z85 key or .cert file)", sub);
    char key[FC_CURVE_Z85_LEN + 1], hex[65];
    int err = fc_curve_read_public(argv[2], key);
    if (err)
        return s_fail("'%s' is not a CURVE key or certificate file (%s)", argv[2],
                      fc_strerror(err));
    if (!add_agent && !add_pub && !add_relay) {
        s_revoke_t r = {key, 0, 0};
        s_visit(data, s_revoke_one, &r);
        if (r.removed == 0 && r.failed == 0)
            return s_fail("key %s is not enrolled in %s/keys", key, data);
        return r.failed ? 1 : 0;
    }
    char dir[PATH_MAX], file[PATH_MAX + 80];
    size_t which = add_agent ? 0 : add_pub ? 1 : 2; /* s_role_dirs */
    snprintf(dir, sizeof dir, "%s/keys/%s", data, fc_role_keys_dir(s_role_dirs[which]));
    if (fc_mkdirs(dir, 0750) != 0)
        return s_fail("cannot create %s: %s", dir, strerror(errno));
    fc_curve_key_hex(key, hex);
    snprintf(file, sizeof file, "%s/%s.cert", dir, hex);
    err = fc_curve_save_public(key, file);
    if (err)
        return s_fail("cannot write %s: %s", file, fc_strerror(err));
    printf("enrolled %s key %s (%s); the broker admits it within a second\n",
           fc_role_name(s_role_dirs[which]), key, file);
    return 0;
}
