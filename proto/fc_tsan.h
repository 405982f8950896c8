/* fc_tsan.h: tells ThreadSanitizer about the orderings that pass through libzmq, which it
   cannot see (Debian's libzmq is not instrumented: its pipes order threads by atomics TSan
   never observes). Outside a -fsanitize=thread build both macros compile to nothing.

   Use them in pairs on one key, an address both threads know: the thread that hands data
   over calls fc_tsan_release(key) before the send (or before giving bytes to libzmq), the
   thread that takes it calls fc_tsan_acquire(key) after the matching receive (or in the
   free callback). Only at a real handoff: an acquire without its message would hide a
   race, which is what the build is for. */
#ifndef FC_TSAN_H
#define FC_TSAN_H

#if defined(__SANITIZE_THREAD__) /* gcc */
#define FC_TSAN_BUILD 1
#elif defined(__has_feature) /* clang */
#if __has_feature(thread_sanitizer)
#define FC_TSAN_BUILD 1
#endif
#endif

#ifdef FC_TSAN_BUILD
#include <sanitizer/tsan_interface.h>
#define fc_tsan_release(key) __tsan_release((void *)(key))
#define fc_tsan_acquire(key) __tsan_acquire((void *)(key))
#else
#define fc_tsan_release(key) ((void)(key))
#define fc_tsan_acquire(key) ((void)(key))
#endif

#endif
