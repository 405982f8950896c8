/* fc_curve.c: CURVE certificates (CZMQ zcert files) and the CURVE settings of sockets. */
#include "fc_curve.h"
#include "fc_error.h"
#include "fc_file.h"
#include "fc_hash.h"
#include "fc_sockopt.h"
#include "fc_test_check.h"
#include "fc_text.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define S_ZAP_DOMAIN "fleetcast"
#define S_TIMESTAMP_PERSONAL "fleetcast-timestamp"

struct fc_curve_t {
    zcert_t *cert;
    bool server;
    char server_key[FC_CURVE_Z85_LEN + 1]; /* client only */
};

static bool s_is_z85_key(const char *text)
{
    uint8_t key[32];
    return text && strlen(text) == FC_CURVE_Z85_LEN && zmq_z85_decode(key, text) != NULL;
}

static bool s_all_zero(const uint8_t *buf, size_t len)
{
    uint8_t acc = 0;
    for (size_t i = 0; i < len; i++)
        acc |= buf[i];
    return acc == 0;
}

/* Reads exactly the file at path (zcert_load would prefer path_secret when it exists).
   need_secret: the file must hold a secret key matching its public key. */
static zcert_t *s_load(const char *path, bool need_secret, int *err, char *text, size_t textsize)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        fc_textf(text, textsize, "cannot read %s: %s", path, strerror(errno));
        *err = FC_EIO;
        return NULL;
    }
    if (!S_ISREG(st.st_mode) || st.st_size > (off_t)FC_CURVE_MAX_CERT) {
        fc_textf(text, textsize, "%s is not a certificate file", path);
        *err = FC_EPROTO;
        return NULL;
    }
    /* Read it ourselves and parse the text: zconfig_load leaks its zfile on a file that does
       not parse, and a keys dir may hold any file. */
    size_t len = 0;
    char *textbuf = (char *)fc_read_file(path, FC_CURVE_MAX_CERT, &len);
    zconfig_t *root = textbuf ? zconfig_str_load(textbuf) : NULL;
    if (textbuf)
        sodium_memzero(textbuf, len); /* it may hold a secret key */
    free(textbuf);
    if (!root) {
        bool readable = access(path, R_OK) == 0;
        fc_textf(text, textsize, readable ? "%s is not a certificate file" : "cannot read %s",
                 path);
        *err = readable ? FC_EPROTO : FC_EIO;
        return NULL;
    }
    const char *pub_txt = zconfig_get(root, "/curve/public-key", NULL);
    const char *sec_txt = zconfig_get(root, "/curve/secret-key", NULL);
    uint8_t pub[32] = {0}, sec[32] = {0}, check[32];
    zcert_t *cert = NULL;
    if (!s_is_z85_key(pub_txt)) {
        fc_textf(text, textsize, "%s is not a CURVE certificate (no public-key)", path);
        *err = FC_EPROTO;
    } else if (sec_txt && !s_is_z85_key(sec_txt)) {
        fc_textf(text, textsize, "%s: malformed secret-key", path);
        *err = FC_EPROTO;
    } else {
        zmq_z85_decode(pub, pub_txt);
        if (sec_txt)
            zmq_z85_decode(sec, sec_txt);
        bool have_secret = !s_all_zero(sec, sizeof sec);
        if (need_secret && !have_secret) {
            fc_textf(text, textsize,
                     "%s holds no secret key (use the .cert_secret file, not the public .cert)",
                     path);
            *err = FC_EINVAL;
        } else if (have_secret && (crypto_scalarmult_base(check, sec) != 0 ||
                                   sodium_memcmp(check, pub, sizeof pub) != 0)) {
            fc_textf(text, textsize, "%s: the secret key does not match the public key", path);
            *err = FC_EPROTO;
        } else {
            cert = zcert_new_from(pub, sec);
            zconfig_t *meta = zconfig_locate(root, "/metadata");
            for (zconfig_t *item = meta ? zconfig_child(meta) : NULL; item;
                 item = zconfig_next(item))
                if (zconfig_name(item) && zconfig_value(item))
                    zcert_set_meta(cert, zconfig_name(item), "%s", zconfig_value(item));
            *err = FC_OK;
        }
    }
    sodium_memzero(sec, sizeof sec);
    zconfig_destroy(&root);
    return cert;
}

fc_curve_t *fc_curve_new_server(const char *cert_path, int *err, char *text, size_t textsize)
{
    int dummy;
    if (!err)
        err = &dummy;
    zcert_t *cert = s_load(cert_path, true, err, text, textsize);
    if (!cert)
        return NULL;
    fc_curve_t *self = zmalloc(sizeof *self);
    self->cert = cert;
    self->server = true;
    return self;
}

fc_curve_t *fc_curve_new_client(const char *cert_path, const char *server_key, int *err, char *text,
                                size_t textsize)
{
    int dummy;
    if (!err)
        err = &dummy;
    char key[FC_CURVE_Z85_LEN + 1];
    *err = fc_curve_read_public(server_key, key);
    if (*err) {
        fc_textf(text, textsize, "broker key %s: %s", server_key,
                 *err == FC_EIO ? "cannot read the file" : "not a certificate or Z85 key");
        return NULL;
    }
    zcert_t *cert = s_load(cert_path, true, err, text, textsize);
    if (!cert)
        return NULL;
    fc_curve_t *self = zmalloc(sizeof *self);
    self->cert = cert;
    memcpy(self->server_key, key, sizeof key);
    return self;
}

fc_curve_t *fc_curve_dup(const fc_curve_t *self)
{
    if (!self)
        return NULL;
    fc_curve_t *copy = zmalloc(sizeof *copy);
    *copy = *self;
    copy->cert = zcert_dup((zcert_t *)self->cert);
    return copy;
}

void fc_curve_destroy(fc_curve_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    zcert_destroy(&(*self_p)->cert);
    free(*self_p);
    *self_p = NULL;
}

void fc_curve_apply(const fc_curve_t *self, void *sock)
{
    if (!self)
        return;
    zcert_apply(self->cert, sock);
    if (self->server) {
        zsock_set_curve_server(sock, 1);
        zsock_set_zap_domain(sock, S_ZAP_DOMAIN);
    } else
        zsock_set_curve_serverkey(sock, self->server_key);
}

const char *fc_curve_public_txt(const fc_curve_t *self)
{
    return zcert_public_txt(self->cert);
}

const zcert_t *fc_curve_cert(const fc_curve_t *self)
{
    return self->cert;
}

int fc_curve_read_public(const char *file_or_z85, char out[FC_CURVE_Z85_LEN + 1])
{
    if (!file_or_z85 || !*file_or_z85)
        return FC_EINVAL;
    /* A file wins: a 40-char file name that happens to be valid Z85 is still a file. */
    if (s_is_z85_key(file_or_z85) && access(file_or_z85, F_OK) != 0) {
        memcpy(out, file_or_z85, FC_CURVE_Z85_LEN + 1);
        return FC_OK;
    }
    int err;
    zcert_t *cert = s_load(file_or_z85, false, &err, NULL, 0);
    if (!cert)
        return err;
    snprintf(out, FC_CURVE_Z85_LEN + 1, "%s", zcert_public_txt(cert));
    zcert_destroy(&cert);
    return FC_OK;
}

int fc_curve_key_hex(const char *z85, char out[2 * 32 + 1])
{
    uint8_t key[32];
    if (!s_is_z85_key(z85))
        return -1;
    zmq_z85_decode(key, z85);
    fc_hex_encode(out, key, sizeof key);
    return 0;
}

int fc_curve_timestamp_key(const zcert_t *broker_secret_cert, fc_signkey_t *out)
{
    const uint8_t *sec = zcert_secret_key((zcert_t *)broker_secret_cert);
    if (!sec || s_all_zero(sec, 32))
        return FC_EINVAL;
    uint8_t seed[crypto_sign_SEEDBYTES];
    crypto_generichash(seed, sizeof seed, sec, 32, (const uint8_t *)S_TIMESTAMP_PERSONAL,
                       strlen(S_TIMESTAMP_PERSONAL));
    crypto_sign_seed_keypair(out->pk, out->sk, seed);
    sodium_memzero(seed, sizeof seed);
    return FC_OK;
}

int fc_curve_timestamp_pub(const char *broker_public_cert_path, uint8_t pk[FC_PUBKEY_LEN])
{
    int err;
    zcert_t *cert = s_load(broker_public_cert_path, false, &err, NULL, 0);
    if (!cert)
        return err;
    const char *hex = zcert_meta(cert, FC_CURVE_META_TIMESTAMP);
    err = !hex                                         ? FC_ENOTFOUND
          : strlen(hex) != 2 * FC_PUBKEY_LEN           ? FC_EPROTO
          : fc_hex_decode(pk, FC_PUBKEY_LEN, hex) != 0 ? FC_EPROTO
                                                       : FC_OK;
    zcert_destroy(&cert);
    return err;
}

/* Creates path empty with mode 0600, failing if it exists: zcert_save_secret then writes
   into it (fopen "w" keeps the mode), so the secret is never world-readable, not even for
   a moment, and never overwritten. */
static int s_create_secret_file(const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return errno == EEXIST ? FC_EINVAL : fc_errno_to_error(errno);
    close(fd);
    return FC_OK;
}

int fc_curve_generate(const char *path, bool broker, char pub_out[FC_CURVE_Z85_LEN + 1])
{
    char secret_path[PATH_MAX];
    if (snprintf(secret_path, sizeof secret_path, "%s_secret", path) >= (int)sizeof secret_path)
        return FC_EINVAL;
    int err = s_create_secret_file(secret_path);
    if (err)
        return err;
    zcert_t *cert = zcert_new();
    if (!cert) {
        unlink(secret_path);
        return FC_ENOMEM;
    }
    if (broker) {
        fc_signkey_t ts;
        fc_curve_timestamp_key(cert, &ts);
        char hex[2 * FC_PUBKEY_LEN + 1];
        fc_hex_encode(hex, ts.pk, FC_PUBKEY_LEN);
        fc_signkey_wipe(&ts);
        zcert_set_meta(cert, FC_CURVE_META_TIMESTAMP, "%s", hex);
    }
    if (zcert_save_secret(cert, secret_path) != 0) {
        err = fc_errno_to_error(errno);
        unlink(secret_path);
    } else if (zcert_save_public(cert, path) != 0)
        err = fc_errno_to_error(errno);
    if (!err && pub_out)
        snprintf(pub_out, FC_CURVE_Z85_LEN + 1, "%s", zcert_public_txt(cert));
    zcert_destroy(&cert);
    return err;
}

int fc_curve_save_public(const char *z85, const char *path)
{
    if (!s_is_z85_key(z85))
        return FC_EINVAL;
    uint8_t pub[32], sec[32] = {0};
    zmq_z85_decode(pub, z85);
    zcert_t *cert = zcert_new_from(pub, sec);
    int err = zcert_save_public(cert, path) == 0 ? FC_OK : fc_errno_to_error(errno);
    zcert_destroy(&cert);
    return err;
}

void fc_curve_test(bool verbose)
{
    printf(" * fc_curve: ");
    char dir[] = "/tmp/fc_curve_test.XXXXXX";
    FC_CHECK(mkdtemp(dir));
    char path[PATH_MAX], secret[PATH_MAX], pub[FC_CURVE_Z85_LEN + 1], pub2[FC_CURVE_Z85_LEN + 1];
    snprintf(path, sizeof path, "%s/broker.cert", dir);
    snprintf(secret, sizeof secret, "%s/broker.cert_secret", dir);

    /* Generate: secret 0600, never overwritten. */
    FC_CHECK(fc_curve_generate(path, true, pub) == FC_OK);
    struct stat st;
    FC_CHECK(stat(secret, &st) == 0 && (st.st_mode & 0777) == 0600);
    FC_CHECK(fc_curve_generate(path, true, pub2) == FC_EINVAL);
    FC_CHECK(fc_curve_read_public(path, pub2) == FC_OK && streq(pub, pub2));
    FC_CHECK(fc_curve_read_public(secret, pub2) == FC_OK && streq(pub, pub2));
    FC_CHECK(fc_curve_read_public(pub, pub2) == FC_OK && streq(pub, pub2));
    FC_CHECK(fc_curve_read_public("tooshort", pub2) != FC_OK);
    FC_CHECK(fc_curve_read_public("/nonexistent/x.cert", pub2) == FC_EIO);

    /* A server needs the secret file; the public one is refused. */
    int err = 0;
    char text[256] = "";
    fc_curve_t *server = fc_curve_new_server(path, &err, text, sizeof text);
    FC_CHECK(!server && err == FC_EINVAL && strstr(text, "no secret"));
    server = fc_curve_new_server(secret, &err, text, sizeof text);
    FC_CHECK(server && streq(fc_curve_public_txt(server), pub));

    /* A secret that does not match its public key is refused. */
    char bad[PATH_MAX];
    snprintf(bad, sizeof bad, "%s/bad.cert_secret", dir);
    zcert_t *other = zcert_new();
    zcert_t *mixed =
        zcert_new_from(zcert_public_key((zcert_t *)fc_curve_cert(server)), zcert_secret_key(other));
    FC_CHECK(zcert_save_secret(mixed, bad) == 0);
    FC_CHECK(!fc_curve_new_server(bad, &err, NULL, 0) && err == FC_EPROTO);
    zcert_destroy(&mixed);
    zcert_destroy(&other);
    /* Garbage is not a cert. */
    FC_CHECK(fc_write_file_atomic(bad, "junk {{{", 8, 0600) == 0);
    FC_CHECK(fc_curve_read_public(bad, pub2) == FC_EPROTO);

    /* Timestamp key: deterministic, matches the public cert's metadata, signs. */
    fc_signkey_t ts1, ts2;
    FC_CHECK(fc_curve_timestamp_key(fc_curve_cert(server), &ts1) == FC_OK);
    FC_CHECK(fc_curve_timestamp_key(fc_curve_cert(server), &ts2) == FC_OK);
    FC_CHECK(memcmp(ts1.sk, ts2.sk, FC_SECKEY_LEN) == 0);
    uint8_t tspub[FC_PUBKEY_LEN];
    FC_CHECK(fc_curve_timestamp_pub(path, tspub) == FC_OK);
    FC_CHECK(memcmp(tspub, ts1.pk, FC_PUBKEY_LEN) == 0);
    uint8_t sig[FC_SIG_LEN];
    fc_sign(sig, "now", 3, &ts1);
    FC_CHECK(fc_sign_verify(sig, "now", 3, tspub));
    fc_signkey_wipe(&ts1);
    fc_signkey_wipe(&ts2);

    /* An agent cert has no timestamp key. */
    char agent[PATH_MAX], agent_secret[PATH_MAX], apub[FC_CURVE_Z85_LEN + 1];
    snprintf(agent, sizeof agent, "%s/agent.cert", dir);
    snprintf(agent_secret, sizeof agent_secret, "%s/agent.cert_secret", dir);
    FC_CHECK(fc_curve_generate(agent, false, apub) == FC_OK);
    FC_CHECK(fc_curve_timestamp_pub(agent, tspub) == FC_ENOTFOUND);

    /* Enrolment file: public only, named by hex. */
    char hex[65], enrolled[PATH_MAX];
    FC_CHECK(fc_curve_key_hex(apub, hex) == 0 && strlen(hex) == 64);
    FC_CHECK(fc_curve_key_hex("nope", hex) == -1);
    snprintf(enrolled, sizeof enrolled, "%s/%s.cert", dir, hex);
    FC_CHECK(fc_curve_save_public(apub, enrolled) == FC_OK);
    FC_CHECK(fc_curve_read_public(enrolled, pub2) == FC_OK && streq(pub2, apub));
    FC_CHECK(!fc_curve_new_client(enrolled, path, &err, NULL, 0) && err == FC_EINVAL);

    /* Client and server talk; the client with a wrong server key does not. */
    fc_curve_t *client = fc_curve_new_client(agent_secret, path, &err, text, sizeof text);
    FC_CHECK(client);
    fc_curve_t *copy = fc_curve_dup(client);
    FC_CHECK(streq(fc_curve_public_txt(copy), apub));
    zsock_t *router = zsock_new(ZMQ_ROUTER);
    fc_sock_tune(zsock_resolve(router));
    fc_curve_apply(server, router);
    int port = zsock_bind(router, "tcp://127.0.0.1:*");
    FC_CHECK(port > 0);
    zsock_t *dealer = zsock_new(ZMQ_DEALER);
    fc_curve_apply(copy, dealer);
    FC_CHECK(zsock_connect(dealer, "tcp://127.0.0.1:%d", port) == 0);
    zstr_send(dealer, "hello");
    zsock_set_rcvtimeo(router, 3000);
    zframe_t *id = zframe_recv(router);
    zframe_t *body = zframe_recv(router);
    FC_CHECK(id && body);
    zframe_destroy(&id);
    zframe_destroy(&body);
    zsock_destroy(&dealer);

    fc_curve_t *wrong = fc_curve_new_client(agent_secret, apub, &err, NULL, 0);
    FC_CHECK(wrong);
    dealer = zsock_new(ZMQ_DEALER);
    fc_curve_apply(wrong, dealer);
    FC_CHECK(zsock_connect(dealer, "tcp://127.0.0.1:%d", port) == 0);
    zstr_send(dealer, "hello");
    zsock_set_rcvtimeo(router, 300);
    id = zframe_recv(router);
    FC_CHECK(!id);
    zsock_destroy(&dealer);
    zsock_destroy(&router);
    fc_curve_apply(NULL, NULL); /* insecure: nothing */

    fc_curve_destroy(&wrong);
    fc_curve_destroy(&copy);
    fc_curve_destroy(&client);
    fc_curve_destroy(&server);
    fc_curve_destroy(&server); /* safe on NULL */
    fc_remove_tree(dir);
    if (verbose)
        printf("(dir %s) ", dir);
    printf("OK\n");
}
