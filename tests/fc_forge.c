/* fc_forge.c: test tool that signs hostile release manifests (bad paths, tampered bytes) the
   publisher would never produce, so the suites can show agents refuse them. */
#include <msgpack.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fc_envelope.h"
#include "fc_file.h"
#include "fc_hash.h"
#include "fc_key.h"
#include "fc_limits.h"
#include "fc_mpack.h"
#include "fc_optval.h"

static int s_usage(void)
{
    fprintf(stderr,
            "usage: fc_forge sign --key SIGNING.KEY --out FILE --channel C --version V --serial N\n"
            "                     --path P [--path P ...]   (each file holds the bytes 'forged')\n"
            "                     [--link P=TARGET ...] [--format N]\n"
            "                     (links, or a format other than 1: a format-2 body, entries\n"
            "                     sorted, with the format number given)\n"
            "       fc_forge tamper --in FILE --out FILE --offset N   (flips one byte)\n");
    return 2;
}

/* The fields every format shares, after the format number. */
static void s_head(msgpack_packer *pk, const char *channel, const char *version, uint64_t serial)
{
    fc_mpack_pack_str(pk, "default");
    fc_mpack_pack_str(pk, channel);
    fc_mpack_pack_str(pk, version);
    fc_mpack_pack_str(pk, "");
    msgpack_pack_uint64(pk, serial);
    msgpack_pack_false(pk);
    msgpack_pack_int64(pk, 1700000000);
}

/* A format-1 body: the files as given, in that order. */
static void s_body_1(msgpack_packer *pk, const char *channel, const char *version, uint64_t serial,
                     const char **paths, int npaths, const uint8_t *file_hash,
                     const uint8_t *chunk_hash, size_t size)
{
    msgpack_pack_array(pk, 10);
    msgpack_pack_uint32(pk, 1);
    s_head(pk, channel, version, serial);
    msgpack_pack_uint32(pk, FC_CHUNK_SIZE);
    msgpack_pack_array(pk, (size_t)npaths);
    for (int i = 0; i < npaths; i++) {
        msgpack_pack_array(pk, 5);
        fc_mpack_pack_str(pk, paths[i]);
        msgpack_pack_uint32(pk, 0644);
        msgpack_pack_uint64(pk, size);
        fc_mpack_pack_bin(pk, file_hash, FC_HASH_LEN);
        msgpack_pack_array(pk, 1);
        msgpack_pack_array(pk, 3);
        msgpack_pack_uint64(pk, 0);
        msgpack_pack_uint32(pk, (uint32_t)size);
        fc_mpack_pack_bin(pk, chunk_hash, FC_HASH_LEN);
    }
}

/* A format-2 body (numbered format): files and links (P=TARGET, never marked external)
   merged in path order. */
static void s_body_2(msgpack_packer *pk, uint32_t format, const char *channel, const char *version,
                     uint64_t serial, const char **paths, int npaths, const char **links,
                     int nlinks, const uint8_t *file_hash, const uint8_t *chunk_hash, size_t size)
{
    msgpack_pack_array(pk, 9);
    msgpack_pack_uint32(pk, format);
    s_head(pk, channel, version, serial);
    msgpack_pack_array(pk, (size_t)(npaths + nlinks));
    int i = 0, j = 0;
    while (i < npaths || j < nlinks) {
        char lpath[FC_MAX_PATH + 1] = "";
        const char *target = NULL;
        if (j < nlinks) {
            target = strchr(links[j], '=');
            snprintf(lpath, sizeof lpath, "%.*s", (int)(target - links[j]), links[j]);
            target++;
        }
        if (i < npaths && (j >= nlinks || strcmp(paths[i], lpath) < 0)) {
            msgpack_pack_array(pk, 8);
            msgpack_pack_uint32(pk, 0);
            fc_mpack_pack_str(pk, paths[i++]);
            msgpack_pack_int64(pk, 1600000000);
            msgpack_pack_uint32(pk, 0);
            msgpack_pack_uint32(pk, 0644);
            msgpack_pack_uint64(pk, size);
            fc_mpack_pack_bin(pk, file_hash, FC_HASH_LEN);
            msgpack_pack_array(pk, 1);
            msgpack_pack_array(pk, 2);
            msgpack_pack_uint32(pk, (uint32_t)size);
            fc_mpack_pack_bin(pk, chunk_hash, FC_HASH_LEN);
        } else {
            msgpack_pack_array(pk, 6);
            msgpack_pack_uint32(pk, 2);
            fc_mpack_pack_str(pk, lpath);
            msgpack_pack_int64(pk, 1600000000);
            msgpack_pack_uint32(pk, 0);
            fc_mpack_pack_str(pk, target);
            msgpack_pack_false(pk);
            j++;
        }
    }
}

/* Writes a correctly signed manifest whose files carry whatever paths were asked for. */
static int s_sign(int argc, char **argv)
{
    const char *keyfile = NULL, *out = NULL, *channel = "stable", *version = "1";
    const char *paths[16], *links[16];
    int npaths = 0, nlinks = 0;
    uint32_t format = 1;
    unsigned long long serial = 1;
    for (int i = 2; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--key"))
            keyfile = argv[i + 1];
        else if (!strcmp(argv[i], "--out"))
            out = argv[i + 1];
        else if (!strcmp(argv[i], "--channel"))
            channel = argv[i + 1];
        else if (!strcmp(argv[i], "--version"))
            version = argv[i + 1];
        else if (!strcmp(argv[i], "--serial")) {
            /* Any serial a forger could sign, 0 too: the agents must refuse the wrong ones. */
            uint64_t v = 0;
            char msg[256];
            if (fc_optval_uint("--serial", argv[i + 1], 0, UINT64_MAX, &v, msg, sizeof msg)) {
                fprintf(stderr, "fc_forge: %s\n", msg);
                return s_usage();
            }
            serial = v;
        } else if (!strcmp(argv[i], "--path") && npaths < 16)
            paths[npaths++] = argv[i + 1];
        else if (!strcmp(argv[i], "--link") && nlinks < 16 && strchr(argv[i + 1], '='))
            links[nlinks++] = argv[i + 1];
        else if (!strcmp(argv[i], "--format")) {
            uint64_t v = 0;
            char msg[256];
            if (fc_optval_uint("--format", argv[i + 1], 1, UINT32_MAX, &v, msg, sizeof msg)) {
                fprintf(stderr, "fc_forge: %s\n", msg);
                return s_usage();
            }
            format = (uint32_t)v;
        } else
            return s_usage();
    }
    if (!keyfile || !out || npaths + nlinks == 0)
        return s_usage();
    fc_signkey_t key;
    if (fc_signkey_load(&key, keyfile) != 0) {
        fprintf(stderr, "fc_forge: cannot load %s\n", keyfile);
        return 1;
    }
    const char content[] = "forged";
    uint8_t chunk_hash[FC_HASH_LEN], file_hash[FC_HASH_LEN];
    fc_hash_buf(chunk_hash, content, strlen(content));
    fc_hash_of_chunks(file_hash, (const uint8_t(*)[FC_HASH_LEN])chunk_hash, 1);

    msgpack_sbuffer body;
    msgpack_sbuffer_init(&body);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &body, msgpack_sbuffer_write);
    if (format == 1 && nlinks == 0)
        s_body_1(&pk, channel, version, serial, paths, npaths, file_hash, chunk_hash,
                 strlen(content));
    else
        s_body_2(&pk, format == 1 ? 2 : format, channel, version, serial, paths, npaths, links,
                 nlinks, file_hash, chunk_hash, strlen(content));
    size_t len = 0;
    uint8_t *env = fc_envelope_seal(body.data, body.size, &key, FC_MAX_MANIFEST, &len);
    int rc = env ? fc_write_file_atomic(out, env, len, 0644) : -1;
    free(env);
    msgpack_sbuffer_destroy(&body);
    fc_signkey_wipe(&key);
    return rc ? 1 : 0;
}

static int s_tamper(int argc, char **argv)
{
    const char *in = NULL, *out = NULL;
    long offset = -1;
    for (int i = 2; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--in"))
            in = argv[i + 1];
        else if (!strcmp(argv[i], "--out"))
            out = argv[i + 1];
        else if (!strcmp(argv[i], "--offset")) {
            uint64_t v = 0;
            char msg[256];
            if (fc_optval_uint("--offset", argv[i + 1], 0, FC_MAX_MANIFEST, &v, msg, sizeof msg)) {
                fprintf(stderr, "fc_forge: %s\n", msg);
                return s_usage();
            }
            offset = (long)v;
        } else
            return s_usage();
    }
    size_t len = 0;
    uint8_t *buf = in ? fc_read_file(in, FC_MAX_MANIFEST, &len) : NULL;
    if (!buf || !out || offset < 0 || (size_t)offset >= len) {
        free(buf);
        return s_usage();
    }
    buf[offset] ^= 0x01;
    int rc = fc_write_file_atomic(out, buf, len, 0644);
    free(buf);
    return rc ? 1 : 0;
}

int main(int argc, char **argv)
{
    if (fc_crypto_init() != 0 || argc < 2)
        return s_usage();
    if (!strcmp(argv[1], "sign"))
        return s_sign(argc, argv);
    if (!strcmp(argv[1], "tamper"))
        return s_tamper(argc, argv);
    return s_usage();
}
