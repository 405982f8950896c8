/* fc_trustlist.c: builds, seals and opens signed trusted-key lists (key rotation). */
#include "fc_trustlist.h"
#include "fc_envelope.h"
#include "fc_error.h"
#include "fc_mpack.h"
#include "fc_test_check.h"

#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define S_TAG "fleetcast-trust-v1"
#define S_FIELDS 4
#define S_DEPTH 2

static bool s_valid(const fc_trustlist_t *list)
{
    if (list->serial == 0 || list->nkeys == 0 || list->nkeys > FC_MAX_TRUST_KEYS)
        return false;
    for (size_t i = 0; i < list->nkeys; i++)
        for (size_t j = 0; j < i; j++)
            if (memcmp(list->keys[i], list->keys[j], FC_PUBKEY_LEN) == 0)
                return false; /* a duplicate would only hide how many keys there are */
    return true;
}

int fc_trustlist_from_trust(fc_trustlist_t *list, const fc_trust_t *trust, uint64_t serial)
{
    memset(list, 0, sizeof *list);
    size_t n = fc_trust_size(trust);
    if (n == 0)
        return FC_EINVAL;
    if (n > FC_MAX_TRUST_KEYS)
        return FC_ETOOBIG;
    for (size_t i = 0; i < n; i++)
        memcpy(list->keys[i], fc_trust_key(trust, i), FC_PUBKEY_LEN);
    list->nkeys = n;
    list->serial = serial;
    list->created = (int64_t)time(NULL);
    return FC_OK;
}

/* fc_envelope_pack_fn of a trust list. */
static int s_encode_body(const void *obj, msgpack_sbuffer *sbuf)
{
    const fc_trustlist_t *list = (const fc_trustlist_t *)obj;
    msgpack_packer pk;
    msgpack_packer_init(&pk, sbuf, msgpack_sbuffer_write);
    int rc = msgpack_pack_array(&pk, S_FIELDS);
    rc |= fc_mpack_pack_str(&pk, S_TAG);
    rc |= msgpack_pack_uint64(&pk, list->serial);
    rc |= msgpack_pack_int64(&pk, list->created);
    rc |= msgpack_pack_array(&pk, list->nkeys);
    for (size_t i = 0; i < list->nkeys; i++)
        rc |= fc_mpack_pack_bin(&pk, list->keys[i], FC_PUBKEY_LEN);
    return rc;
}

uint8_t *fc_trustlist_seal(const fc_trustlist_t *list, const fc_signkey_t *key, size_t *len)
{
    if (!list || !key || !len || !s_valid(list))
        return NULL;
    return fc_envelope_seal_body(s_encode_body, list, key, FC_MAX_TRUSTLIST, len);
}

/* fc_envelope_decode_fn: the fields of a trust list (out), valid. */
static int s_decode_body(const msgpack_object *top, void *out)
{
    fc_trustlist_t *list = (fc_trustlist_t *)out;
    const msgpack_object *fld, *keys;
    size_t n, nkeys;
    char tag[sizeof S_TAG + 1];
    int rc = fc_mpack_array(top, S_FIELDS, S_FIELDS, &fld, &n);
    if (!rc)
        rc = fc_mpack_str(&fld[0], tag, sizeof tag);
    if (!rc && strcmp(tag, S_TAG) != 0)
        rc = FC_EPROTO;
    if (!rc)
        rc = fc_mpack_u64(&fld[1], &list->serial);
    if (!rc)
        rc = fc_mpack_i64(&fld[2], &list->created);
    if (!rc)
        rc = fc_mpack_array(&fld[3], FC_MAX_TRUST_KEYS, -1, &keys, &nkeys);
    for (size_t i = 0; !rc && i < nkeys; i++)
        rc = fc_mpack_fixbin(&keys[i], list->keys[i], FC_PUBKEY_LEN);
    if (!rc) {
        list->nkeys = nkeys;
        if (!s_valid(list))
            rc = FC_EPROTO;
    }
    return rc;
}

int fc_trustlist_open(const uint8_t *buf, size_t len, const fc_trust_t *trust, fc_trustlist_t *list)
{
    memset(list, 0, sizeof *list);
    uint8_t signer[FC_PUBKEY_LEN];
    int rc = fc_envelope_open_body(buf, len, FC_MAX_TRUSTLIST, trust, S_DEPTH, 0, s_decode_body,
                                   list, signer);
    if (rc)
        memset(list, 0, sizeof *list);
    else
        memcpy(list->signer, signer, FC_PUBKEY_LEN);
    return rc;
}

fc_trust_t *fc_trustlist_trust(const fc_trustlist_t *list)
{
    fc_trust_t *trust = fc_trust_new();
    for (size_t i = 0; i < list->nkeys; i++)
        fc_trust_add(trust, list->keys[i]);
    return trust;
}

/* ---------------------------------------------------------------------------------------- */
/* Self-test */

void fc_trustlist_test(bool verbose)
{
    (void)verbose;
    printf(" * fc_trustlist: ");
    fc_signkey_t old_key, new_key, stranger;
    fc_signkey_generate(&old_key);
    fc_signkey_generate(&new_key);
    fc_signkey_generate(&stranger);
    fc_trust_t *current = fc_trust_new();
    fc_trust_add(current, old_key.pk);

    /* Sign and open: the list and its signer come back. */
    fc_trust_t *next = fc_trust_new();
    fc_trust_add(next, new_key.pk);
    fc_trustlist_t list, got;
    FC_CHECK(fc_trustlist_from_trust(&list, next, 2) == FC_OK);
    size_t len = 0;
    uint8_t *sealed = fc_trustlist_seal(&list, &old_key, &len);
    FC_CHECK(sealed && len > 0 && len <= FC_MAX_TRUSTLIST);
    FC_CHECK(fc_trustlist_open(sealed, len, current, &got) == FC_OK);
    FC_CHECK(got.serial == 2 && got.nkeys == 1 && !memcmp(got.keys[0], new_key.pk, FC_PUBKEY_LEN));
    FC_CHECK(!memcmp(got.signer, old_key.pk, FC_PUBKEY_LEN) && got.created == list.created);
    fc_trust_t *as_trust = fc_trustlist_trust(&got);
    FC_CHECK(fc_trust_size(as_trust) == 1 && fc_trust_contains(as_trust, new_key.pk));
    fc_trust_destroy(&as_trust);
    free(sealed);

    /* Verify: a signer the current list does not hold is refused (it may be trusted by the
       list it signs, which proves nothing). */
    uint8_t *self_signed = fc_trustlist_seal(&list, &new_key, &len);
    FC_CHECK(fc_trustlist_open(self_signed, len, current, &got) == FC_EUNTRUSTED);
    FC_CHECK(fc_trustlist_open(self_signed, len, NULL, &got) == FC_OK); /* signature is fine */
    free(self_signed);
    uint8_t *strange = fc_trustlist_seal(&list, &stranger, &len);
    FC_CHECK(fc_trustlist_open(strange, len, current, &got) == FC_EUNTRUSTED);
    free(strange);

    /* Tamper: any flipped byte fails (bad signature, or a malformed envelope). */
    sealed = fc_trustlist_seal(&list, &old_key, &len);
    for (size_t i = 0; i < len; i++) {
        sealed[i] ^= 0x40;
        FC_CHECK(fc_trustlist_open(sealed, len, NULL, &got) != FC_OK);
        sealed[i] ^= 0x40;
    }
    FC_CHECK(fc_trustlist_open(sealed, len - 1, NULL, &got) != FC_OK);
    FC_CHECK(fc_trustlist_open(sealed, 0, NULL, &got) == FC_EPROTO);
    FC_CHECK(fc_trustlist_open(sealed, FC_MAX_TRUSTLIST + 1, NULL, &got) == FC_ETOOBIG);
    free(sealed);

    /* Serial: 0 is not a list; the serial is signed (a changed one fails above). */
    list.serial = 0;
    FC_CHECK(fc_trustlist_seal(&list, &old_key, &len) == NULL);
    list.serial = 2;

    /* Bounds: no keys, too many, duplicates. */
    fc_trust_t *empty = fc_trust_new();
    FC_CHECK(fc_trustlist_from_trust(&list, empty, 3) == FC_EINVAL);
    fc_trust_t *many = fc_trust_new();
    for (int i = 0; i <= FC_MAX_TRUST_KEYS; i++) {
        fc_signkey_t k;
        fc_signkey_generate(&k);
        fc_trust_add(many, k.pk);
    }
    FC_CHECK(fc_trustlist_from_trust(&list, many, 3) == FC_ETOOBIG);
    FC_CHECK(fc_trustlist_from_trust(&list, next, 3) == FC_OK);
    memcpy(list.keys[1], list.keys[0], FC_PUBKEY_LEN);
    list.nkeys = 2;
    FC_CHECK(fc_trustlist_seal(&list, &old_key, &len) == NULL);
    list.nkeys = FC_MAX_TRUST_KEYS + 1;
    FC_CHECK(fc_trustlist_seal(&list, &old_key, &len) == NULL);

    /* Bodies the sealer would never write, correctly signed, are refused when opened: a
       manifest-like body, the wrong tag, a key of the wrong size, too many keys. */
    const char *cases[] = {"wrong tag", "short key", "too many", "not an array"};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        msgpack_sbuffer sb;
        msgpack_sbuffer_init(&sb);
        msgpack_packer pk;
        msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
        if (c == 3)
            msgpack_pack_uint64(&pk, 1);
        else {
            msgpack_pack_array(&pk, S_FIELDS);
            fc_mpack_pack_str(&pk, c == 0 ? "fleetcast-manifest-v1" : S_TAG);
            msgpack_pack_uint64(&pk, 5);
            msgpack_pack_int64(&pk, 0);
            size_t n = c == 2 ? FC_MAX_TRUST_KEYS + 1 : 1;
            msgpack_pack_array(&pk, n);
            for (size_t i = 0; i < n; i++) {
                uint8_t k[FC_PUBKEY_LEN];
                memset(k, (int)i, sizeof k);
                fc_mpack_pack_bin(&pk, k, c == 1 ? 31 : FC_PUBKEY_LEN);
            }
        }
        uint8_t *env = fc_envelope_seal(sb.data, sb.size, &old_key, FC_MAX_TRUSTLIST, &len);
        FC_CHECK(env);
        int rc = fc_trustlist_open(env, len, current, &got);
        FC_CHECK(rc == FC_EPROTO || rc == FC_ETOOBIG);
        FC_CHECK(got.nkeys == 0);
        free(env);
        msgpack_sbuffer_destroy(&sb);
    }

    fc_trust_destroy(&empty);
    fc_trust_destroy(&many);
    fc_trust_destroy(&next);
    fc_trust_destroy(&current);
    fc_signkey_wipe(&old_key);
    fc_signkey_wipe(&new_key);
    fc_signkey_wipe(&stranger);
    printf("OK\n");
}
