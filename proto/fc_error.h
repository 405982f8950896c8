/* fc_error.h: the error codes every fleetcast module returns, with their names and text, as
   one table. */
#ifndef FC_ERROR_H
#define FC_ERROR_H

#include <stdbool.h>

/* X(name, value, text): the only list of error codes. Library code returns them, never
   prints them. Values travel on the wire in ERROR replies and names in audit entries, so
   never renumber or rename: only append. docs/PROTOCOL.md (section 6) lists the same
   numbers, names and texts; doc.protocol checks it. */
#define FC_ERROR_TABLE(X)                                                                          \
    X(FC_OK, 0, "success")                                                                         \
    X(FC_EPROTO, 1, "malformed message or field")                                                  \
    X(FC_ETOOBIG, 2, "size or count over its limit")                                               \
    X(FC_EBADSIG, 3, "signature does not verify")                                                  \
    X(FC_EUNTRUSTED, 4, "signed by an untrusted key")                                              \
    X(FC_ENOTFOUND, 5, "not found") /* no such blob, release, agent, revision */                   \
    X(FC_ESERIAL, 6, "serial not higher than the one already present")                             \
    X(FC_EPATH, 7, "path absolute, with '..', or otherwise unsafe")                                \
    X(FC_EHASH, 8, "content does not match its hash")                                              \
    X(FC_EIO, 9, "input/output error")                                                             \
    X(FC_ENOSPC, 10, "no space left on device")                                                    \
    X(FC_EINVAL, 11, "invalid argument")                                                           \
    X(FC_ETIMEOUT, 12, "timed out") /* a requester's own: no answer in time */                     \
    X(FC_EPERM, 13,                                                                                \
      "permission denied: this key may not do that (its role, or an agent id that belongs to "     \
      "another key)")                                                                              \
    X(FC_EMISSING, 14, "a blob the release needs is not fully uploaded")                           \
    X(FC_EREFUSED, 15, "refused by a hook") /* a hook refused (postponed) */                       \
    X(FC_ENOMEM, 16, "out of memory")                                                              \
    X(FC_EUNHEALTHY, 17, "health check failed; rolled back")                                       \
    X(FC_EFORMAT, 18, "manifest format newer than this program reads: upgrade it")

#define FC_ERROR_ENUM(name, value, text) name = value,
typedef enum { FC_ERROR_TABLE(FC_ERROR_ENUM) FC_ERROR_MAX } fc_error_t;
#undef FC_ERROR_ENUM

/* Former name of FC_EPERM. */
#define FC_EDENIED FC_EPERM

/* Returns a static, human-readable description; never NULL ("unknown error" for a code
   outside the table: codes come off the wire, and a newer peer may send one we lack). */
const char *fc_strerror(int code);
/* The code's name, "FC_EBADSIG" for FC_EBADSIG (static; for logs, JSON and the audit log);
   "FC_E?" outside the table; never NULL. */
const char *fc_error_name(int code);
/* The code named name (exact): true and *code set, or false (not in the table, or NULL)
   with *code left alone. */
bool fc_error_from_name(const char *name, int *code);
/* Maps an errno to fc_error_t (ENOSPC/EDQUOT -> FC_ENOSPC, ENOMEM -> FC_ENOMEM, else
   FC_EIO). */
int fc_errno_to_error(int err);

void fc_error_test(bool verbose);

#endif
