/* fc_envelope.c: the signed envelope shared by manifests and config revisions. */
#include "fc_envelope.h"
#include "fc_error.h"
#include "fc_mpack.h"
#include "fc_test_check.h"

#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* [body, signer, sig]: one level; the body is bytes here, decoded by its owner. */
#define S_ENVELOPE_DEPTH 1
#define S_FIELDS 3

uint8_t *fc_envelope_seal(const void *body, size_t body_len, const fc_signkey_t *key, size_t max,
                          size_t *len)
{
    /* A body over max cannot fit: do not spend a signature on it. */
    if (!body || !key || !len || body_len > max)
        return NULL;
    uint8_t sig[FC_SIG_LEN];
    fc_sign(sig, body, body_len, key);
    msgpack_sbuffer sbuf;
    msgpack_sbuffer_init(&sbuf);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sbuf, msgpack_sbuffer_write);
    int rc = msgpack_pack_array(&pk, S_FIELDS);
    rc |= fc_mpack_pack_bin(&pk, body, body_len);
    rc |= fc_mpack_pack_bin(&pk, key->pk, FC_PUBKEY_LEN);
    rc |= fc_mpack_pack_bin(&pk, sig, FC_SIG_LEN);
    if (rc || sbuf.size > max) {
        msgpack_sbuffer_destroy(&sbuf);
        return NULL;
    }
    *len = sbuf.size;
    return (uint8_t *)msgpack_sbuffer_release(&sbuf);
}

int fc_envelope_open(const uint8_t *buf, size_t len, size_t max, const fc_trust_t *trust,
                     const uint8_t **body, size_t *body_len, uint8_t signer[FC_PUBKEY_LEN])
{
    if (!buf || len == 0)
        return FC_EPROTO;
    if (len > max)
        return FC_ETOOBIG;
    msgpack_zone zone;
    msgpack_zone_init(&zone, 1024);
    msgpack_object env;
    const msgpack_object *fld;
    size_t n;
    uint8_t sig[FC_SIG_LEN];
    int rc = fc_mpack_unpack(buf, len, S_ENVELOPE_DEPTH, &zone, &env);
    if (!rc)
        rc = fc_mpack_array(&env, S_FIELDS, S_FIELDS, &fld, &n);
    /* msgpack-c's objects point into buf for bin data, so *body outlives the zone. */
    if (!rc)
        rc = fc_mpack_bin(&fld[0], body, body_len, max);
    if (!rc)
        rc = fc_mpack_fixbin(&fld[1], signer, FC_PUBKEY_LEN);
    if (!rc)
        rc = fc_mpack_fixbin(&fld[2], sig, FC_SIG_LEN);
    /* Nothing in the body is looked at before the signature checks out. */
    if (!rc && !fc_sign_verify(sig, *body, *body_len, signer))
        rc = FC_EBADSIG;
    if (!rc && trust && !fc_trust_contains(trust, signer))
        rc = FC_EUNTRUSTED;
    msgpack_zone_destroy(&zone);
    return rc;
}

uint8_t *fc_envelope_seal_body(fc_envelope_pack_fn *pack, const void *obj, const fc_signkey_t *key,
                               size_t max, size_t *len)
{
    msgpack_sbuffer body;
    msgpack_sbuffer_init(&body);
    uint8_t *env = NULL;
    if (pack(obj, &body) == 0)
        env = fc_envelope_seal(body.data, body.size, key, max, len);
    msgpack_sbuffer_destroy(&body);
    return env;
}

int fc_envelope_open_body(const uint8_t *buf, size_t len, size_t max, const fc_trust_t *trust,
                          int depth, size_t min_object_bytes, fc_envelope_decode_fn *decode,
                          void *out, uint8_t signer[FC_PUBKEY_LEN])
{
    const uint8_t *body = NULL;
    size_t body_len = 0;
    uint8_t who[FC_PUBKEY_LEN];
    int rc = fc_envelope_open(buf, len, max, trust, &body, &body_len, who);
    if (rc)
        return rc;
    msgpack_zone zone;
    msgpack_zone_init(&zone, 4096);
    msgpack_object obj;
    rc = min_object_bytes ? fc_mpack_unpack_max(body, body_len, depth,
                                                body_len / min_object_bytes + 64, &zone, &obj)
                          : fc_mpack_unpack(body, body_len, depth, &zone, &obj);
    if (!rc)
        rc = decode(&obj, out);
    msgpack_zone_destroy(&zone);
    if (!rc)
        memcpy(signer, who, FC_PUBKEY_LEN);
    return rc;
}

/* ---------------------------------------------------------------------------------------- */
/* Self-test */

/* Opens buf with no trust list and says what came back. */
static int s_open(const uint8_t *buf, size_t len, size_t max)
{
    const uint8_t *body;
    size_t body_len;
    uint8_t signer[FC_PUBKEY_LEN];
    return fc_envelope_open(buf, len, max, NULL, &body, &body_len, signer);
}

/* An envelope of the given fields as they are, packed by hand. */
static uint8_t *s_hand_built(size_t nfields, size_t signer_len, size_t *len)
{
    uint8_t zero[FC_SIG_LEN] = {0};
    msgpack_sbuffer sbuf;
    msgpack_sbuffer_init(&sbuf);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sbuf, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, nfields);
    fc_mpack_pack_bin(&pk, "body", 4);
    if (nfields > 1)
        fc_mpack_pack_bin(&pk, zero, signer_len);
    if (nfields > 2)
        fc_mpack_pack_bin(&pk, zero, FC_SIG_LEN);
    *len = sbuf.size;
    return (uint8_t *)msgpack_sbuffer_release(&sbuf);
}

void fc_envelope_test(bool verbose)
{
    if (verbose)
        printf(" * fc_envelope: ");
    fc_signkey_t key, other;
    fc_signkey_generate(&key);
    fc_signkey_generate(&other);
    fc_trust_t *trust = fc_trust_new();
    fc_trust_add(trust, key.pk);

    /* Round trip: the body comes back byte for byte, pointing into the envelope. */
    const char body[] = "a body the envelope does not look into";
    size_t len = 0;
    uint8_t *env = fc_envelope_seal(body, sizeof body, &key, 1024, &len);
    FC_CHECK(env && len > sizeof body + FC_PUBKEY_LEN + FC_SIG_LEN);
    const uint8_t *got = NULL;
    size_t got_len = 0;
    uint8_t signer[FC_PUBKEY_LEN];
    FC_CHECK(fc_envelope_open(env, len, 1024, trust, &got, &got_len, signer) == FC_OK);
    FC_CHECK(got_len == sizeof body && memcmp(got, body, sizeof body) == 0);
    FC_CHECK(got > env && got + got_len <= env + len);
    FC_CHECK(memcmp(signer, key.pk, FC_PUBKEY_LEN) == 0);
    FC_CHECK(s_open(env, len, 1024) == FC_OK);

    /* Tampering with any byte fails the signature (or the shape); the size limit holds. */
    for (size_t i = 0; i < len; i++) {
        env[i] ^= 0x01;
        int rc = s_open(env, len, 1024);
        FC_CHECK(rc == FC_EBADSIG || rc == FC_EPROTO);
        env[i] ^= 0x01;
    }
    FC_CHECK(s_open(env, len, len - 1) == FC_ETOOBIG);
    FC_CHECK(s_open(env, len - 1, 1024) == FC_EPROTO);
    FC_CHECK(s_open(env, 0, 1024) == FC_EPROTO && s_open(NULL, len, 1024) == FC_EPROTO);
    free(env);

    /* A valid signature by a key not in the trust list. */
    env = fc_envelope_seal(body, sizeof body, &other, 1024, &len);
    FC_CHECK(env && s_open(env, len, 1024) == FC_OK);
    FC_CHECK(fc_envelope_open(env, len, 1024, trust, &got, &got_len, signer) == FC_EUNTRUSTED);
    free(env);

    /* Sealing refuses what would be over the limit, body or envelope. */
    FC_CHECK(fc_envelope_seal(body, sizeof body, &key, sizeof body - 1, &len) == NULL);
    FC_CHECK(fc_envelope_seal(body, sizeof body, &key, sizeof body, &len) == NULL);

    /* Wrong shapes: too few fields, a short signer. */
    env = s_hand_built(2, FC_PUBKEY_LEN, &len);
    FC_CHECK(s_open(env, len, 1024) == FC_EPROTO);
    free(env);
    env = s_hand_built(3, FC_PUBKEY_LEN - 1, &len);
    FC_CHECK(s_open(env, len, 1024) == FC_EPROTO);
    free(env);
    env = s_hand_built(3, FC_PUBKEY_LEN, &len); /* right shape, zero signature */
    FC_CHECK(s_open(env, len, 1024) == FC_EBADSIG);
    free(env);

    fc_trust_destroy(&trust);
    fc_signkey_wipe(&key);
    fc_signkey_wipe(&other);
    if (verbose)
        printf("OK\n");
}
