/* hakmem/introspect.h — glibc's introspection calls answered from HAKMEM's
 * own numbers: mallinfo2, mallinfo, malloc_stats, malloc_info, mallopt.
 *
 * Owns: the mapping of HAKMEM's figures onto glibc's fields (README
 * "glibc introspection"), and mallopt's mapping onto HAKMEM's settings.
 * Boundary: reads the API layer's process numbers (hk_api_stats) and the
 * segment box's per-class usage at call time, so nothing is added to any
 * fast path; shim.c exports these under glibc's names. Nothing here is
 * async-signal-safe (like glibc's). */
#ifndef HAKMEM_INTROSPECT_H
#define HAKMEM_INTROSPECT_H

#include <malloc.h>
#include <stdio.h>

struct mallinfo2 hk_introspect_mallinfo2(void);
struct mallinfo hk_introspect_mallinfo(void);
/* A short summary on stderr, in glibc's layout (write(2), no stdio). */
void hk_introspect_malloc_stats(void);
/* XML in glibc's shape on fp; options must be 0 (else EINVAL, as glibc).
 * The figures are gathered first and no lock is held while fp is written,
 * so stdio may allocate (through HAKMEM) without deadlock. */
int hk_introspect_malloc_info(int options, FILE *fp);
/* glibc's return values: 1 accepted, 0 rejected. */
int hk_introspect_mallopt(int param, int value);

#endif /* HAKMEM_INTROSPECT_H */
