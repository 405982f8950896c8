/* fc_error.h: the error codes every fleetcast module returns, and their text. */
#ifndef FC_ERROR_H
#define FC_ERROR_H

/* Library code returns these, never prints them. Values travel on the wire in ERROR
   replies, so never renumber: only append. */
typedef enum {
    FC_OK = 0,
    FC_EPROTO = 1,     /* malformed frame or field */
    FC_ETOOBIG = 2,    /* a size or count over its limit */
    FC_EBADSIG = 3,    /* signature does not verify */
    FC_EUNTRUSTED = 4, /* signed by a key that is not trusted */
    FC_ENOTFOUND = 5,  /* no such blob, release, agent */
    FC_ESERIAL = 6,    /* serial not higher than the one already present */
    FC_EPATH = 7,      /* path absolute, with "..", or otherwise escaping */
    FC_EHASH = 8,      /* content does not match its hash */
    FC_EIO = 9,        /* read/write failure */
    FC_ENOSPC = 10,    /* disk full */
    FC_EINVAL = 11,    /* bad argument */
    FC_ETIMEOUT = 12,  /* no answer in time */
    FC_EPERM = 13,     /* not allowed for this peer's CURVE key (its role, or an agent id
                          that belongs to another key) */
    FC_EMISSING = 14,  /* a blob the release needs is not (fully) uploaded */
    FC_EREFUSED = 15,  /* a hook refused (postponed) */
    FC_ENOMEM = 16,
    FC_EUNHEALTHY = 17, /* health check failed after install; rolled back */
    FC_ERROR_MAX
} fc_error_t;

/* Former name of FC_EPERM. */
#define FC_EDENIED FC_EPERM

/* Returns a static, human-readable description; never NULL. */
const char *fc_strerror(int code);

#endif
