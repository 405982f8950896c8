/* fc_key.c: Ed25519 signing keys (libsodium), their text files, and the agent's trusted keys. */
#include "fc_key.h"
#include "fc_error.h"
#include "fc_file.h"
#include "fc_hash.h"
#include "fc_test_check.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define S_SECRET_TAG "fleetcast-signing-secret-v1"
#define S_PUBLIC_TAG "fleetcast-signing-public-v1"
/* Generous: a trust file is a list of 92-byte lines with comments. */
#define S_MAX_TRUST_FILE (1024u * 1024u)
#define S_MAX_KEY_FILE 4096u

struct fc_trust_t {
    uint8_t (*keys)[FC_PUBKEY_LEN];
    size_t nkeys;
    size_t cap;
};

void fc_signkey_generate(fc_signkey_t *key)
{
    crypto_sign_keypair(key->pk, key->sk);
}

void fc_signkey_from_seed(fc_signkey_t *key, const uint8_t seed[32])
{
    crypto_sign_seed_keypair(key->pk, key->sk, seed);
}

void fc_signkey_wipe(fc_signkey_t *key)
{
    if (key)
        sodium_memzero(key, sizeof *key);
}

void fc_sign(uint8_t sig[FC_SIG_LEN], const void *msg, size_t len, const fc_signkey_t *key)
{
    crypto_sign_detached(sig, NULL, (const unsigned char *)msg, len, key->sk);
}

bool fc_sign_verify(const uint8_t sig[FC_SIG_LEN], const void *msg, size_t len,
                    const uint8_t pk[FC_PUBKEY_LEN])
{
    return crypto_sign_verify_detached(sig, (const unsigned char *)msg, len, pk) == 0;
}

/* Matches "TAG <2*len hex>" with optional surrounding blanks (and a CR from a Windows
   editor) in line [s, end). Fills out; 0 or -1. */
static int s_parse_line(const char *s, const char *end, const char *tag, uint8_t *out, size_t len)
{
    while (s < end && (*s == ' ' || *s == '\t'))
        s++;
    while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
        end--;
    size_t taglen = strlen(tag);
    if ((size_t)(end - s) <= taglen || memcmp(s, tag, taglen) != 0)
        return -1;
    s += taglen;
    if (*s != ' ' && *s != '\t')
        return -1;
    while (s < end && (*s == ' ' || *s == '\t'))
        s++;
    if ((size_t)(end - s) != 2 * len)
        return -1;
    char hex[2 * FC_SECKEY_LEN + 1];
    memcpy(hex, s, 2 * len);
    hex[2 * len] = '\0';
    int rc = fc_hex_decode(out, len, hex);
    sodium_memzero(hex, sizeof hex);
    return rc;
}

/* Writes one "TAG hex\n" line to fd. 0 or -1 (errno). */
static int s_write_key_line(int fd, const char *tag, const uint8_t *bytes, size_t len)
{
    char line[sizeof S_SECRET_TAG + 2 * FC_SECKEY_LEN + 3];
    size_t taglen = strlen(tag);
    memcpy(line, tag, taglen);
    line[taglen] = ' ';
    fc_hex_encode(line + taglen + 1, bytes, len);
    size_t total = taglen + 1 + 2 * len;
    line[total++] = '\n';
    int rc = fc_pwrite_all(fd, line, total, 0);
    sodium_memzero(line, sizeof line);
    return rc;
}

int fc_signkey_save(const fc_signkey_t *key, const char *dir)
{
    if (!key || !dir || !*dir)
        return FC_EINVAL;
    if (fc_mkdirs(dir, 0700) != 0)
        return fc_errno_to_error(errno);
    size_t dlen = strlen(dir);
    char *keypath = malloc(dlen + 16), *pubpath = malloc(dlen + 16);
    if (!keypath || !pubpath) {
        free(keypath);
        free(pubpath);
        return FC_ENOMEM;
    }
    sprintf(keypath, "%s/signing.key", dir);
    sprintf(pubpath, "%s/signing.pub", dir);

    /* O_EXCL: an existing key is never replaced, since every agent trusting it would break.
       0600 from the start so the secret is never readable by others, even briefly. */
    int rc = FC_OK;
    int fd = open(keypath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        rc = errno == EEXIST ? FC_EINVAL : fc_errno_to_error(errno);
    else {
        if (s_write_key_line(fd, S_SECRET_TAG, key->sk, FC_SECKEY_LEN) != 0 || fsync(fd) != 0)
            rc = fc_errno_to_error(errno);
        if (close(fd) != 0 && rc == FC_OK)
            rc = fc_errno_to_error(errno);
        if (rc != FC_OK)
            unlink(keypath); /* a half-written key would block the retry */
    }
    if (rc == FC_OK) {
        char line[sizeof S_PUBLIC_TAG + 2 * FC_PUBKEY_LEN + 2];
        snprintf(line, sizeof line, "%s ", S_PUBLIC_TAG);
        fc_hex_encode(line + strlen(line), key->pk, FC_PUBKEY_LEN);
        strcat(line, "\n");
        if (fc_write_file_atomic(pubpath, line, strlen(line), 0644) != 0) {
            rc = fc_errno_to_error(errno);
            unlink(keypath);
        }
    }
    if (rc == FC_OK && fc_fsync_dir(dir) != 0)
        rc = fc_errno_to_error(errno);
    free(keypath);
    free(pubpath);
    return rc;
}

int fc_signkey_load(fc_signkey_t *key, const char *path)
{
    if (!key || !path)
        return FC_EINVAL;
    size_t len = 0;
    uint8_t *buf = fc_read_file(path, S_MAX_KEY_FILE, &len);
    if (!buf)
        return errno == EFBIG ? FC_EPROTO : FC_EIO;
    /* One line; a trailing newline is optional. */
    const char *s = (const char *)buf;
    const char *end = s + len;
    const char *nl = memchr(s, '\n', len);
    int rc = FC_OK;
    if (nl) {
        for (const char *p = nl + 1; p < end; p++)
            if (*p != '\n' && *p != '\r' && *p != ' ' && *p != '\t')
                rc = FC_EPROTO;
        end = nl;
    }
    if (memchr(s, '\0', len))
        rc = FC_EPROTO;
    fc_signkey_t loaded;
    if (rc == FC_OK && s_parse_line(s, end, S_SECRET_TAG, loaded.sk, FC_SECKEY_LEN) != 0)
        rc = FC_EPROTO;
    if (rc == FC_OK) {
        /* A libsodium secret key is seed||pk: re-derive the pair from the seed, so a
           corrupted file is caught here rather than as signatures nobody accepts. */
        uint8_t seed[crypto_sign_SEEDBYTES];
        fc_signkey_t derived;
        crypto_sign_ed25519_sk_to_seed(seed, loaded.sk);
        crypto_sign_seed_keypair(derived.pk, derived.sk, seed);
        if (sodium_memcmp(derived.sk, loaded.sk, FC_SECKEY_LEN) != 0)
            rc = FC_EPROTO;
        else
            *key = derived;
        sodium_memzero(seed, sizeof seed);
        fc_signkey_wipe(&derived);
    }
    fc_signkey_wipe(&loaded);
    sodium_memzero(buf, len);
    free(buf);
    return rc;
}

fc_trust_t *fc_trust_new(void)
{
    fc_trust_t *self = calloc(1, sizeof *self);
    if (!self)
        abort(); /* like CZMQ: out of memory is not recoverable here */
    return self;
}

void fc_trust_destroy(fc_trust_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    fc_trust_t *self = *self_p;
    free(self->keys);
    free(self);
    *self_p = NULL;
}

void fc_trust_add(fc_trust_t *self, const uint8_t pk[FC_PUBKEY_LEN])
{
    if (fc_trust_contains(self, pk))
        return;
    if (self->nkeys == self->cap) {
        size_t ncap = self->cap ? self->cap * 2 : 4;
        void *nk = realloc(self->keys, ncap * FC_PUBKEY_LEN);
        if (!nk)
            abort();
        self->keys = nk;
        self->cap = ncap;
    }
    memcpy(self->keys[self->nkeys++], pk, FC_PUBKEY_LEN);
}

bool fc_trust_contains(const fc_trust_t *self, const uint8_t pk[FC_PUBKEY_LEN])
{
    if (!self)
        return false;
    for (size_t i = 0; i < self->nkeys; i++)
        if (memcmp(self->keys[i], pk, FC_PUBKEY_LEN) == 0)
            return true;
    return false;
}

size_t fc_trust_size(const fc_trust_t *self)
{
    return self ? self->nkeys : 0;
}

const uint8_t *fc_trust_key(const fc_trust_t *self, size_t i)
{
    return self && i < self->nkeys ? self->keys[i] : NULL;
}

void fc_trust_set(fc_trust_t *self, const fc_trust_t *src)
{
    if (!self || self == src)
        return;
    self->nkeys = 0;
    for (size_t i = 0; src && i < src->nkeys; i++)
        fc_trust_add(self, src->keys[i]);
}

int fc_pubkey_load(uint8_t pk[FC_PUBKEY_LEN], const char *path)
{
    int err = FC_OK;
    fc_trust_t *one = fc_trust_load(path, &err);
    if (one && one->nkeys != 1)
        err = FC_EPROTO;
    if (!err)
        memcpy(pk, one->keys[0], FC_PUBKEY_LEN);
    fc_trust_destroy(&one);
    return err;
}

fc_trust_t *fc_trust_load(const char *path, int *err)
{
    int dummy;
    if (!err)
        err = &dummy;
    size_t len = 0;
    uint8_t *buf = path ? fc_read_file(path, S_MAX_TRUST_FILE, &len) : NULL;
    if (!buf) {
        *err = !path ? FC_EINVAL : errno == EFBIG ? FC_ETOOBIG : FC_EIO;
        return NULL;
    }
    fc_trust_t *self = fc_trust_new();
    const char *s = (const char *)buf, *end = s + len;
    *err = memchr(s, '\0', len) ? FC_EPROTO : FC_OK;
    while (*err == FC_OK && s < end) {
        const char *nl = memchr(s, '\n', (size_t)(end - s));
        const char *eol = nl ? nl : end;
        const char *p = s;
        while (p < eol && (*p == ' ' || *p == '\t' || *p == '\r'))
            p++;
        if (p < eol && *p != '#') {
            /* Anything that is not blank or a comment must be a public key line: a typo
               must not silently leave the agent trusting fewer keys than intended. */
            uint8_t pk[FC_PUBKEY_LEN];
            if (s_parse_line(p, eol, S_PUBLIC_TAG, pk, FC_PUBKEY_LEN) != 0)
                *err = FC_EPROTO;
            else
                fc_trust_add(self, pk);
        }
        s = nl ? nl + 1 : end;
    }
    free(buf);
    if (*err == FC_OK && self->nkeys == 0)
        *err = FC_EPROTO; /* an agent trusting nobody can never install anything */
    if (*err != FC_OK)
        fc_trust_destroy(&self);
    return self;
}

/* Test helper: writes text to dir/name and leaves that path in path. */
static void s_write_text(char *path, size_t pathsize, const char *dir, const char *name,
                         const char *text)
{
    snprintf(path, pathsize, "%s/%s", dir, name);
    FC_CHECK(fc_write_file_atomic(path, text, strlen(text), 0644) == 0);
}

void fc_key_test(bool verbose)
{
    printf(" * fc_key: ");
    FC_CHECK(fc_crypto_init() == 0);
    char dir[] = "/tmp/fc_key_test.XXXXXX";
    FC_CHECK(mkdtemp(dir));
    char keydir[128], path[256];
    snprintf(keydir, sizeof keydir, "%s/keys/sub", dir);

    /* Generate, save (creating the directory), load back identical. */
    fc_signkey_t key, loaded, other;
    fc_signkey_generate(&key);
    fc_signkey_generate(&other);
    FC_CHECK(memcmp(key.pk, other.pk, FC_PUBKEY_LEN) != 0);
    FC_CHECK(fc_signkey_save(&key, keydir) == FC_OK);
    struct stat st;
    FC_CHECK(stat(keydir, &st) == 0 && (st.st_mode & 0777) == 0700);
    snprintf(path, sizeof path, "%s/signing.key", keydir);
    FC_CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
    memset(&loaded, 0, sizeof loaded);
    FC_CHECK(fc_signkey_load(&loaded, path) == FC_OK);
    FC_CHECK(memcmp(&loaded, &key, sizeof key) == 0);

    /* A seeded key is the same every time, differs by seed, and signs like any other. */
    uint8_t seed[32];
    memset(seed, 7, sizeof seed);
    fc_signkey_t s1, s2;
    fc_signkey_from_seed(&s1, seed);
    fc_signkey_from_seed(&s2, seed);
    FC_CHECK(memcmp(&s1, &s2, sizeof s1) == 0);
    seed[0] = 8;
    fc_signkey_from_seed(&s2, seed);
    FC_CHECK(memcmp(s1.pk, s2.pk, FC_PUBKEY_LEN) != 0);
    uint8_t seeded_sig[FC_SIG_LEN];
    fc_sign(seeded_sig, "seeded", 6, &s1);
    FC_CHECK(fc_sign_verify(seeded_sig, "seeded", 6, s1.pk) &&
             !fc_sign_verify(seeded_sig, "seeded", 6, s2.pk));

    /* The public file is a valid one-key trust file, world-readable. */
    snprintf(path, sizeof path, "%s/signing.pub", keydir);
    FC_CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0644);
    int err = -1;
    fc_trust_t *trust = fc_trust_load(path, &err);
    FC_CHECK(trust && err == FC_OK);
    FC_CHECK(fc_trust_size(trust) == 1 && fc_trust_contains(trust, key.pk));
    FC_CHECK(!fc_trust_contains(trust, other.pk));
    fc_trust_destroy(&trust);
    FC_CHECK(trust == NULL);
    fc_trust_destroy(&trust); /* safe on NULL */

    /* Never overwrites an existing key, and the existing one is untouched. */
    FC_CHECK(fc_signkey_save(&other, keydir) == FC_EINVAL);
    snprintf(path, sizeof path, "%s/signing.key", keydir);
    FC_CHECK(fc_signkey_load(&loaded, path) == FC_OK);
    FC_CHECK(memcmp(loaded.pk, key.pk, FC_PUBKEY_LEN) == 0);

    /* Sign and verify; tampered message, signature or wrong key fail. */
    const char *msg = "release 1.2.3";
    uint8_t sig[FC_SIG_LEN];
    fc_sign(sig, msg, strlen(msg), &loaded);
    FC_CHECK(fc_sign_verify(sig, msg, strlen(msg), key.pk));
    FC_CHECK(!fc_sign_verify(sig, "release 1.2.4", strlen(msg), key.pk));
    FC_CHECK(!fc_sign_verify(sig, msg, strlen(msg) - 1, key.pk));
    FC_CHECK(!fc_sign_verify(sig, msg, strlen(msg), other.pk));
    sig[5] ^= 0x40;
    FC_CHECK(!fc_sign_verify(sig, msg, strlen(msg), key.pk));

    /* Wipe zeroes the secret. */
    fc_signkey_wipe(&loaded);
    uint8_t zero[FC_SECKEY_LEN] = {0};
    FC_CHECK(memcmp(loaded.sk, zero, FC_SECKEY_LEN) == 0);

    /* Malformed secret key files. */
    char hexsk[2 * FC_SECKEY_LEN + 1], text[512];
    fc_hex_encode(hexsk, key.sk, FC_SECKEY_LEN);
    snprintf(text, sizeof text, "%s %s", S_SECRET_TAG, hexsk); /* no newline: fine */
    s_write_text(path, sizeof path, dir, "nonl.key", text);
    FC_CHECK(fc_signkey_load(&loaded, path) == FC_OK);
    FC_CHECK(memcmp(loaded.pk, key.pk, FC_PUBKEY_LEN) == 0);
    snprintf(text, sizeof text, "%s %.126s\n", S_SECRET_TAG, hexsk); /* short */
    s_write_text(path, sizeof path, dir, "short.key", text);
    FC_CHECK(fc_signkey_load(&loaded, path) == FC_EPROTO);
    snprintf(text, sizeof text, "%s %s\n", S_PUBLIC_TAG, hexsk); /* wrong tag */
    s_write_text(path, sizeof path, dir, "tag.key", text);
    FC_CHECK(fc_signkey_load(&loaded, path) == FC_EPROTO);
    hexsk[100] = hexsk[100] == '0' ? '1' : '0'; /* pk half no longer matches the seed */
    snprintf(text, sizeof text, "%s %s\n", S_SECRET_TAG, hexsk);
    s_write_text(path, sizeof path, dir, "corrupt.key", text);
    FC_CHECK(fc_signkey_load(&loaded, path) == FC_EPROTO);
    snprintf(path, sizeof path, "%s/missing.key", dir);
    FC_CHECK(fc_signkey_load(&loaded, path) == FC_EIO);

    /* Trust file with two keys, comments, blank lines, CRLF and indentation. */
    char hexa[2 * FC_PUBKEY_LEN + 1], hexb[2 * FC_PUBKEY_LEN + 1];
    fc_hex_encode(hexa, key.pk, FC_PUBKEY_LEN);
    fc_hex_encode(hexb, other.pk, FC_PUBKEY_LEN);
    snprintf(text, sizeof text, "# release signers\n\n%s %s\r\n   \n  # ops team\n\t%s  %s",
             S_PUBLIC_TAG, hexa, S_PUBLIC_TAG, hexb);
    s_write_text(path, sizeof path, dir, "trust", text);
    trust = fc_trust_load(path, &err);
    FC_CHECK(trust && err == FC_OK && fc_trust_size(trust) == 2);
    FC_CHECK(fc_trust_contains(trust, key.pk) && fc_trust_contains(trust, other.pk));
    fc_trust_add(trust, key.pk); /* duplicates are not added twice */
    FC_CHECK(fc_trust_size(trust) == 2);
    fc_trust_destroy(&trust);

    /* Malformed trust files are rejected as a whole. */
    const char *bad[] = {
        "%s %s\nfleetcast-signing-public-v1 00\n", /* short key */
        "%s %s\nsomething else\n",                 /* stray line */
        "%s %sff\n",                               /* long key */
        "%s%s\n",                                  /* no separator */
        "%s %s trailing-label\n",                  /* extra field */
        "fleetcast-signing-secret-v1 %.0s%s\n",    /* a secret line is not a public one */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(text, sizeof text, bad[i], S_PUBLIC_TAG, hexa);
        s_write_text(path, sizeof path, dir, "badtrust", text);
        err = -1;
        FC_CHECK(fc_trust_load(path, &err) == NULL);
        FC_CHECK(err == FC_EPROTO);
    }
    /* A trust file with only comments trusts nobody: refused. */
    s_write_text(path, sizeof path, dir, "emptytrust", "# nobody\n\n");
    FC_CHECK(fc_trust_load(path, &err) == NULL && err == FC_EPROTO);
    snprintf(path, sizeof path, "%s/missing", dir);
    FC_CHECK(fc_trust_load(path, &err) == NULL && err == FC_EIO);

    /* An empty list built in code. */
    trust = fc_trust_new();
    FC_CHECK(fc_trust_size(trust) == 0 && !fc_trust_contains(trust, key.pk));
    for (int i = 0; i < 10; i++) {
        fc_signkey_t k;
        fc_signkey_generate(&k);
        fc_trust_add(trust, k.pk);
    }
    fc_trust_add(trust, other.pk);
    FC_CHECK(fc_trust_size(trust) == 11 && fc_trust_contains(trust, other.pk));
    fc_trust_destroy(&trust);

    fc_signkey_wipe(&key);
    fc_signkey_wipe(&other);
    FC_CHECK(fc_remove_tree(dir) == 0);
    if (verbose)
        printf("(files, modes, sign, trust) ");
    printf("OK\n");
}
