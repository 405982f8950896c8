/* fc_suggest.h: "did you mean" for the programs' command lines: the known word closest to a
   mistyped one, and the one line that tells getopt_long's failure (unknown option, missing
   value) with the closest option. */
#ifndef FC_SUGGEST_H
#define FC_SUGGEST_H

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>

/* The candidate closest to word by edit distance (a swap of two neighbours counts one), if
   close enough to be a typo: at most 1 edit for words up to 4 characters, 2 up to 8, 3
   beyond. NULL if none is. candidates: n strings (borrowed; NULLs skipped). */
const char *fc_suggest(const char *word, const char *const *candidates, size_t n);

/* After getopt_long (with opterr = 0) returned '?' or ':': one line in buf (returned) saying
   what was wrong with argv[optind - 1]: "unknown option '--brokr' (did you mean
   --broker?)", "option --broker needs a value", "unknown option '-x'". opts: the table
   given to getopt_long. */
const char *fc_suggest_option(const struct option *opts, int argc, char *const *argv, char *buf,
                              size_t size);

void fc_suggest_test(bool verbose);

#endif
