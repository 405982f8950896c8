/* fc_test_check.h: FC_CHECK, the self-tests' assert that NDEBUG never compiles out. */
#ifndef FC_TEST_CHECK_H_INCLUDED
#define FC_TEST_CHECK_H_INCLUDED

#include <stdio.h>
#include <stdlib.h>

/* Self-tests check calls with side effects (FC_CHECK(fc_store_put(...) == 0)); with assert a
   build with NDEBUG (CMake's Release and MinSizeRel) drops the call with the check, and the
   test then hangs or passes for nothing. Library code keeps assert for programmer errors,
   and never wraps a call with side effects in it. */
#define FC_CHECK(expr) ((expr) ? (void)0 : fc_check_failed(__FILE__, __LINE__, __func__, #expr))

static inline _Noreturn void fc_check_failed(const char *file, int line, const char *func,
                                             const char *expr)
{
    fprintf(stderr, "%s:%d: %s: check failed: %s\n", file, line, func, expr);
    fflush(stderr);
    abort();
}

#endif
