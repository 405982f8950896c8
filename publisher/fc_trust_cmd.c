/* fc_trust_cmd.c: `fleetcast keys rotate|trusted`: publishes and shows the signed trusted-key
   list that agents accept from a key they already trust. */
#include "fc_trust_cmd.h"
#include "fc_client.h"
#include "fc_error.h"
#include "fc_hash.h"
#include "fc_json.h"
#include "fc_key.h"
#include "fc_text.h"
#include "fc_trustlist.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_PUBLIC_TAG "fleetcast-signing-public-v1"

/* Sends req and returns the reply of type want, or NULL with the reason printed. */
static fc_msg_t *s_call(const fc_trust_cmd_options_t *o, fc_msg_t **req_p, fc_msg_type_t want)
{
    int err = 0;
    fc_client_t *client = fc_client_new(o->broker, 2000, o->curve, &err);
    if (!client) {
        fprintf(stderr, "fleetcast: bad broker endpoint '%s'\n", o->broker);
        fc_msg_destroy(req_p);
        return NULL;
    }
    fc_msg_t *reply = fc_client_call(client, req_p, o->timeout_ms);
    char why[512];
    if (!reply && fc_client_why(client, why, sizeof why))
        fprintf(stderr, "fleetcast: %s\n", why);
    else if (!reply)
        fprintf(stderr, "fleetcast: no answer from the broker at %s within %d s\n", o->broker,
                o->timeout_ms / 1000);
    fc_client_destroy(&client);
    if (reply && reply->type != want) {
        fprintf(stderr, "fleetcast: broker refused: %s (%s)\n",
                reply->type == FC_MSG_ERROR ? reply->text : "unexpected reply",
                reply->type == FC_MSG_ERROR ? fc_strerror((int)reply->code) : "");
        fc_msg_destroy(&reply);
    }
    return reply;
}

/* The broker's latest list: FC_OK with *list filled, FC_ENOTFOUND (serial 0) if it has none,
   or another error (printed). */
static int s_latest(const fc_trust_cmd_options_t *o, fc_trustlist_t *list)
{
    memset(list, 0, sizeof *list);
    fc_msg_t *req = fc_msg_new(FC_MSG_GET_TRUST);
    fc_msg_t *reply = s_call(o, &req, FC_MSG_TRUST);
    if (!reply)
        return FC_EIO;
    int err = reply->bytes_len ? fc_trustlist_open(reply->bytes, reply->bytes_len, NULL, list)
                               : FC_ENOTFOUND;
    if (err && err != FC_ENOTFOUND)
        fprintf(stderr, "fleetcast: the broker's trust list does not open: %s\n", fc_strerror(err));
    fc_msg_destroy(&reply);
    return err;
}

static void s_hex(char out[2 * FC_PUBKEY_LEN + 1], const uint8_t *pk)
{
    fc_hex_encode(out, pk, FC_PUBKEY_LEN);
}

static int s_rotate(const fc_trust_cmd_options_t *o)
{
    if (!o->key || !o->trust) {
        fprintf(stderr, "fleetcast: keys rotate needs --key CURRENT.signing.key and --trust "
                        "NEWKEYS.pub\n(see fleetcast --help)\n");
        return 2;
    }
    fc_signkey_t key;
    int err = fc_signkey_load(&key, o->key);
    if (err) {
        fprintf(stderr, "fleetcast: cannot load signing key %s: %s\n", o->key, fc_strerror(err));
        return 1;
    }
    fc_trust_t *keys = fc_trust_load(o->trust, &err);
    fc_trustlist_t cur, next;
    if (!keys)
        fprintf(stderr, "fleetcast: cannot load %s: %s (signing.pub lines, at least one)\n",
                o->trust, fc_strerror(err));
    else
        err = s_latest(o, &cur);
    if (keys && err == FC_OK) {
        bool member = false;
        for (size_t i = 0; i < cur.nkeys; i++)
            member = member || memcmp(cur.keys[i], key.pk, FC_PUBKEY_LEN) == 0;
        if (!member) {
            fprintf(stderr,
                    "fleetcast: %s is not in the current trusted-key list (serial %llu): agents"
                    " and the broker would refuse a list it signs\n",
                    o->key, (unsigned long long)cur.serial);
            err = FC_EUNTRUSTED;
        } else if (o->serial && o->serial <= cur.serial) {
            fprintf(stderr, "fleetcast: --serial %llu is not above the current %llu\n",
                    (unsigned long long)o->serial, (unsigned long long)cur.serial);
            err = FC_ESERIAL;
        }
    } else if (keys && err == FC_ENOTFOUND)
        err = FC_OK; /* the first list: agents accept it if they trust --key already */
    if (keys && !err) {
        err = fc_trustlist_from_trust(&next, keys, o->serial ? o->serial : cur.serial + 1);
        if (err)
            fprintf(stderr, "fleetcast: %s: %s (1..%d keys)\n", o->trust, fc_strerror(err),
                    FC_MAX_TRUST_KEYS);
    }
    size_t len = 0;
    uint8_t *sealed = keys && !err ? fc_trustlist_seal(&next, &key, &len) : NULL;
    fc_signkey_wipe(&key);
    fc_trust_destroy(&keys);
    if (!sealed)
        return 1;
    fc_msg_t *req = fc_msg_new(FC_MSG_TRUST_PUSH);
    fc_msg_set_bytes(req, sealed, len);
    free(sealed);
    fc_msg_t *reply = s_call(o, &req, FC_MSG_OK);
    if (!reply)
        return 1;
    fc_msg_destroy(&reply);
    if (o->json) {
        fc_json_t *j = fc_json_new();
        fc_json_open(j);
        fc_json_key_bool(j, "ok", true);
        fc_json_key_uint(j, "serial", next.serial);
        fc_json_key_uint(j, "keys", next.nkeys);
        fc_json_close(j);
        puts(fc_json_text(j));
        fc_json_destroy(&j);
    } else
        printf("published trusted-key list serial %llu with %zu key(s); agents that trust the "
               "signing key switch to it at once\n",
               (unsigned long long)next.serial, next.nkeys);
    return 0;
}

static int s_trusted(const fc_trust_cmd_options_t *o)
{
    fc_trustlist_t list;
    int err = s_latest(o, &list);
    if (err && err != FC_ENOTFOUND)
        return 1;
    char hex[2 * FC_PUBKEY_LEN + 1], created[32] = "";
    if (o->json) {
        fc_json_t *j = fc_json_new();
        fc_json_open(j);
        fc_json_key_uint(j, "serial", list.serial);
        fc_json_key_int(j, "created", list.created);
        s_hex(hex, list.signer);
        fc_json_key_str(j, "signer", err ? "" : hex);
        fc_json_key(j, "keys");
        fc_json_open_array(j);
        for (size_t i = 0; i < list.nkeys; i++) {
            s_hex(hex, list.keys[i]);
            fc_json_str(j, hex);
        }
        fc_json_close_array(j);
        fc_json_close(j);
        puts(fc_json_text(j));
        fc_json_destroy(&j);
        return 0;
    }
    if (err == FC_ENOTFOUND) {
        printf("(no trusted-key list published: agents trust their --trust file)\n");
        return 0;
    }
    fc_format_time(created, sizeof created, list.created);
    s_hex(hex, list.signer);
    printf("# trusted-key list serial %llu, created %s, signed by %s\n",
           (unsigned long long)list.serial, created, hex);
    for (size_t i = 0; i < list.nkeys; i++) {
        s_hex(hex, list.keys[i]);
        printf("%s %s\n", S_PUBLIC_TAG, hex);
    }
    return 0;
}

int fc_trust_cmd_run(const fc_trust_cmd_options_t *o, int argc, char **argv)
{
    if (argc >= 1 && streq(argv[0], "rotate") && argc == 1)
        return s_rotate(o);
    if (argc >= 1 && streq(argv[0], "trusted") && argc == 1)
        return s_trusted(o);
    fprintf(stderr, "fleetcast: keys wants 'rotate --key FILE --trust FILE' or 'trusted'\n"
                    "(see fleetcast --help)\n");
    return 2;
}
