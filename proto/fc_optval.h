/* fc_optval.h: the one strict parser of command-line option values (whole numbers, sizes,
   durations, percentages, endpoints) that every fleetcast program uses. */
#ifndef FC_OPTVAL_H
#define FC_OPTVAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Every parser reads the whole of text and refuses, with FC_EINVAL, anything but its
   grammar: an empty value, blanks, a sign where none is allowed, "0x" or "1e3" forms, any
   character after the number, a value outside min..max (inclusive) and a number too big
   for 64 bits. On success it writes *out (if given) and returns FC_OK; on failure *out is
   untouched and msg (msgsize bytes, may be NULL) holds one line naming the option and the
   value, "--serial needs a whole number 1..9223372036854775807, not 'abc'", for the
   program to print after its own name. name is the option as the user wrote it
   ("--serial"), or an operand's name ("REV"). The value is shown clipped and with control
   characters replaced, so a hostile argument cannot garble the terminal. */

/* Unsigned whole number: decimal digits only ("007" is 7). */
int fc_optval_uint(const char *name, const char *text, uint64_t min, uint64_t max, uint64_t *out,
                   char *msg, size_t msgsize);

/* Signed whole number: an optional '-' then decimal digits (no '+'). */
int fc_optval_int(const char *name, const char *text, int64_t min, int64_t max, int64_t *out,
                  char *msg, size_t msgsize);

/* A size in bytes: a decimal number (a fraction only where it makes whole bytes: "1.5K")
   and an optional binary unit, case-insensitive: B; K, KB, KiB (1024); M, MB, MiB; G, GB,
   GiB; T, TB, TiB. "4096", "64K", "8M", "1GiB". */
int fc_optval_size(const char *name, const char *text, uint64_t min, uint64_t max, uint64_t *out,
                   char *msg, size_t msgsize);

/* A duration, into milliseconds: a decimal number with an optional unit ms, s, m or h
   ("500ms", "30s", "1.5m", "2h"); a bare number counts in unit_ms (1000 for an option
   documented in seconds, so "30" stays 30 s). A value finer than a millisecond is
   refused. */
int fc_optval_duration(const char *name, const char *text, uint64_t unit_ms, uint64_t min_ms,
                       uint64_t max_ms, uint64_t *out_ms, char *msg, size_t msgsize);

/* A whole percentage within min..max (at most 100), with or without a trailing '%'. */
int fc_optval_percent(const char *name, const char *text, uint32_t min, uint32_t max, uint32_t *out,
                      char *msg, size_t msgsize);

/* What an endpoint option admits besides tcp://HOST:PORT (HOST a name, an IPv4 address or
   a [bracketed] IPv6 one; PORT 1..65535). */
enum {
    FC_OPTVAL_BIND = 1,   /* an endpoint to bind: HOST may be *, PORT * (any free one) */
    FC_OPTVAL_IPC = 2,    /* ipc://PATH (at most 107 bytes, the socket address limit) */
    FC_OPTVAL_INPROC = 4, /* inproc://NAME: only within one process */
};

/* A ZeroMQ endpoint of the kinds flags admits (a connect endpoint may name a source address
   first, libzmq's "tcp://SRC;HOST:PORT"). Checks the form only: names are not resolved. */
int fc_optval_endpoint(const char *name, const char *text, int flags, char *msg, size_t msgsize);

/* The same refusal for a value of a grammar a program parses itself (with these parsers
   for its parts), "--listen needs HOST:PORT, not 'x'": writes msg, returns FC_EINVAL. */
int fc_optval_refuse(const char *name, const char *what, const char *text, char *msg,
                     size_t msgsize);

/* Self-test: a table of good and bad values for each parser. */
void fc_optval_test(bool verbose);

#endif
