/* fc_curve.h: CURVE certificates (CZMQ zcert files) and the CURVE settings of sockets; the
   only code that knows cert files. */
#ifndef FC_CURVE_H
#define FC_CURVE_H

#include "fc_key.h"
#include "fc_limits.h"
#include <czmq.h>
#include <stdbool.h>
#include <stdint.h>

/* A CURVE public key as Z85 text (without the NUL), as zauth reports it in "User-Id". */
#define FC_CURVE_Z85_LEN 40
/* Cert files are small ZPL texts; anything bigger is not one. */
#define FC_CURVE_MAX_CERT (64u * 1024u)
/* Metadata key of a broker cert: hex of the Ed25519 key that signs its timestamps. */
#define FC_CURVE_META_TIMESTAMP "timestamp-key"

/* File layout (CZMQ zcert): NAME.cert holds the public key (and metadata), NAME.cert_secret
   (mode 0600) both keys. Programs read the _secret file for their own identity and the
   public file (or a 40-char Z85 key) for a peer. */

typedef struct fc_curve_t fc_curve_t;

/* Client settings: own identity from the secret cert at cert_path, and the server's public
   key from server_key (a cert file or a 40-char Z85 key). NULL with *err (FC_EIO unreadable,
   FC_EPROTO not a cert or key, FC_EINVAL a public cert where a secret one is needed) and a
   one-line reason in text (may be NULL). */
fc_curve_t *fc_curve_new_client(const char *cert_path, const char *server_key, int *err, char *text,
                                size_t textsize);
/* Server settings: own identity from the secret cert at cert_path. Same errors. */
fc_curve_t *fc_curve_new_server(const char *cert_path, int *err, char *text, size_t textsize);
/* A copy (for a socket made on another thread). */
fc_curve_t *fc_curve_dup(const fc_curve_t *self);
void fc_curve_destroy(fc_curve_t **self_p);
/* Sets the CURVE options on sock (a zsock_t or a libzmq handle) before it binds or connects:
   client: own keys and the server key; server: own keys, curve_server and the ZAP domain
   "fleetcast" (authentication is whatever ZAP handler runs in the process, see zauth).
   self NULL: nothing, the socket stays plain (--insecure). */
void fc_curve_apply(const fc_curve_t *self, void *sock);
/* Own public key as Z85 text; borrowed. */
const char *fc_curve_public_txt(const fc_curve_t *self);
/* Own certificate (secret included); borrowed, valid while self lives. */
const zcert_t *fc_curve_cert(const fc_curve_t *self);

/* A public key from a 40-char Z85 key or a cert file (public or secret) into out.
   fc_error_t: FC_EIO unreadable file, FC_EPROTO neither. */
int fc_curve_read_public(const char *file_or_z85, char out[FC_CURVE_Z85_LEN + 1]);
/* Hex (64 chars) of a Z85 public key, for file names: Z85 has '/' in its alphabet. 0 or -1. */
int fc_curve_key_hex(const char *z85, char out[2 * 32 + 1]);
/* Generates a key pair: path (public) and path + "_secret" (mode 0600). Refuses (FC_EINVAL)
   when the secret file exists: a secret is never overwritten. broker: also records the
   timestamp key (FC_CURVE_META_TIMESTAMP) in both files. pub_out (may be NULL) gets the
   Z85 public key. fc_error_t. */
int fc_curve_generate(const char *path, bool broker, char pub_out[FC_CURVE_Z85_LEN + 1]);
/* Writes a public-only cert for the Z85 key at path (replacing it). fc_error_t. */
int fc_curve_save_public(const char *z85, const char *path);

/* The broker's timestamp signing key, derived from its CURVE secret so no second secret file
   exists: Ed25519 key pair from seed = BLAKE2b-256 keyed with "fleetcast-timestamp" over the
   32-byte CURVE secret key. FC_EINVAL if the cert has no secret. */
int fc_curve_timestamp_key(const zcert_t *broker_secret_cert, fc_signkey_t *out);
/* Its public half, read from the broker's PUBLIC cert (metadata FC_CURVE_META_TIMESTAMP,
   64 hex, written by `fleetcast keygen --role broker`). FC_EIO unreadable, FC_ENOTFOUND no
   such metadata, FC_EPROTO malformed. */
int fc_curve_timestamp_pub(const char *broker_public_cert_path, uint8_t pk[FC_PUBKEY_LEN]);

void fc_curve_test(bool verbose);

#endif
