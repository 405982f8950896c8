/* fc_error.c: human-readable text for every fc_error_t. */
#include "fc_error.h"

const char *fc_strerror(int code)
{
    switch (code) {
    case FC_OK:
        return "success";
    case FC_EPROTO:
        return "malformed message or field";
    case FC_ETOOBIG:
        return "size or count over its limit";
    case FC_EBADSIG:
        return "signature does not verify";
    case FC_EUNTRUSTED:
        return "signed by an untrusted key";
    case FC_ENOTFOUND:
        return "not found";
    case FC_ESERIAL:
        return "serial not higher than the one already present";
    case FC_EPATH:
        return "path absolute, with '..', or otherwise unsafe";
    case FC_EHASH:
        return "content does not match its hash";
    case FC_EIO:
        return "input/output error";
    case FC_ENOSPC:
        return "no space left on device";
    case FC_EINVAL:
        return "invalid argument";
    case FC_ETIMEOUT:
        return "timed out";
    case FC_EPERM:
        return "permission denied: this key may not do that (its role, or an agent id that"
               " belongs to another key)";
    case FC_EMISSING:
        return "a blob the release needs is not fully uploaded";
    case FC_EREFUSED:
        return "refused by a hook";
    case FC_ENOMEM:
        return "out of memory";
    case FC_EUNHEALTHY:
        return "health check failed; rolled back";
    default:
        /* Codes come off the wire in ERROR replies; a newer peer may send one we lack. */
        return "unknown error";
    }
}
