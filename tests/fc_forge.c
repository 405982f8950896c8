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
            "       fc_forge tamper --in FILE --out FILE --offset N   (flips one byte)\n");
    return 2;
}

/* Writes a correctly signed manifest whose files carry whatever paths were asked for. */
static int s_sign(int argc, char **argv)
{
    const char *keyfile = NULL, *out = NULL, *channel = "stable", *version = "1";
    const char *paths[16];
    int npaths = 0;
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
        else
            return s_usage();
    }
    if (!keyfile || !out || npaths == 0)
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
    msgpack_pack_array(&pk, 10);
    msgpack_pack_uint32(&pk, 1);
    fc_mpack_pack_str(&pk, "default");
    fc_mpack_pack_str(&pk, channel);
    fc_mpack_pack_str(&pk, version);
    fc_mpack_pack_str(&pk, "");
    msgpack_pack_uint64(&pk, serial);
    msgpack_pack_false(&pk);
    msgpack_pack_int64(&pk, 1700000000);
    msgpack_pack_uint32(&pk, FC_CHUNK_SIZE);
    msgpack_pack_array(&pk, (size_t)npaths);
    for (int i = 0; i < npaths; i++) {
        msgpack_pack_array(&pk, 5);
        fc_mpack_pack_str(&pk, paths[i]);
        msgpack_pack_uint32(&pk, 0644);
        msgpack_pack_uint64(&pk, strlen(content));
        fc_mpack_pack_bin(&pk, file_hash, FC_HASH_LEN);
        msgpack_pack_array(&pk, 1);
        msgpack_pack_array(&pk, 3);
        msgpack_pack_uint64(&pk, 0);
        msgpack_pack_uint32(&pk, (uint32_t)strlen(content));
        fc_mpack_pack_bin(&pk, chunk_hash, FC_HASH_LEN);
    }
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
