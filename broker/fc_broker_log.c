/* fc_broker_log.c: the broker's --verbose line for each request: its type, sender and fields. */
#include "fc_broker_log.h"
#include "fc_hash.h"

#include <stdio.h>

void fc_broker_log_request(zframe_t *peer, const fc_msg_t *m)
{
    char *hex = zframe_strhex(peer);
    char detail[FC_MAX_TEXT], blob[2 * FC_HASH_LEN + 1];
    fc_hash_hex(m->blob, blob);
    switch (m->type) {
    case FC_MSG_HELLO:
        snprintf(detail, sizeof detail, "role=%s id=%s channel=%s", fc_role_name(m->role), m->id,
                 m->channel);
        break;
    case FC_MSG_GET_CHUNK:
        snprintf(detail, sizeof detail, "blob=%.16s offset=%llu length=%llu", blob,
                 (unsigned long long)m->offset, (unsigned long long)m->length);
        break;
    case FC_MSG_PUT_CHUNK:
        snprintf(detail, sizeof detail, "blob=%.16s offset=%llu", blob,
                 (unsigned long long)m->offset);
        break;
    case FC_MSG_UPLOAD_QUERY:
    case FC_MSG_BLOB_COMMIT:
        snprintf(detail, sizeof detail, "blob=%.16s size=%llu", blob, (unsigned long long)m->size);
        break;
    case FC_MSG_UPLOAD_CHUNKS:
        snprintf(detail, sizeof detail, "blob=%.16s size=%llu chunks=%zu", blob,
                 (unsigned long long)m->size, fc_msg_chunk_ref_count(m));
        break;
    case FC_MSG_UPLOAD_PREFIXES:
        snprintf(detail, sizeof detail, "blob=%.16s size=%llu chunks=%zu", blob,
                 (unsigned long long)m->size, fc_msg_chunk_prefix_count(m));
        break;
    case FC_MSG_DERIVE_OBJECT: {
        char obj[2 * FC_HASH_LEN + 1];
        fc_hash_hex(m->hash, obj);
        snprintf(detail, sizeof detail, "object=%.16s blob=%.16s", obj, blob);
        break;
    }
    case FC_MSG_BLOBS_QUERY:
        snprintf(detail, sizeof detail, "blobs=%zu", fc_msg_blobs_count(m));
        break;
    case FC_MSG_OBJECTS_QUERY:
        snprintf(detail, sizeof detail, "objects=%zu", fc_msg_blobs_count(m));
        break;
    case FC_MSG_PUT_BLOBS:
        snprintf(detail, sizeof detail, "blobs=%zu", m->nitems);
        break;
    case FC_MSG_GET_OBJECT:
    case FC_MSG_GET_OBJECT_DELTA:
    case FC_MSG_PUT_OBJECT:
        fc_hash_hex(m->hash, blob);
        snprintf(detail, sizeof detail, "object=%.16s bytes=%zu", blob, m->bytes_len);
        break;
    case FC_MSG_RELEASE_COMMIT:
        snprintf(detail, sizeof detail, "manifest=%zu bytes", m->bytes_len);
        break;
    case FC_MSG_REPORT:
        snprintf(detail, sizeof detail, "agent=%s state=%s", m->nagents ? m->agents[0].id : "",
                 m->nagents ? m->agents[0].state : "");
        break;
    default:
        if (fc_msg_type_is_config_request(m->type))
            snprintf(detail, sizeof detail, "id=%s group=%s serial=%llu state=%s bytes=%zu", m->id,
                     m->group, (unsigned long long)m->serial, m->state, m->bytes_len);
        else
            snprintf(detail, sizeof detail, "channel=%s", m->channel);
        break;
    }
    zsys_info("fleetcast-broker: %s req=%llu from %s %s", fc_msg_type_name(m->type),
              (unsigned long long)m->req, hex, detail);
    zstr_free(&hex);
}
