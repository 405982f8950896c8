/* fc_version.h: the version every program's --version prints (the project version, and
   `git describe` of the checkout it was built from, generated at build time). */
#ifndef FC_VERSION_H
#define FC_VERSION_H

#include <stdbool.h>

/* "0.1.0" or "0.1.0 (git v0.1.0-12-gabc1234-dirty)"; static. */
const char *fc_version(void);

void fc_version_test(bool verbose);

#endif
