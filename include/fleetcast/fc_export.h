/* fc_export.h: FC_EXPORT, the mark of libfleetcast's public API. The library is compiled with
   -fvisibility=hidden, so only functions declared with FC_EXPORT leave the shared object. */
#ifndef FC_EXPORT_H
#define FC_EXPORT_H

#if defined(__GNUC__) || defined(__clang__)
#define FC_EXPORT __attribute__((visibility("default")))
#else
#define FC_EXPORT
#endif

#endif
