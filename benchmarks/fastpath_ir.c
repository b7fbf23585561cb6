/* benchmarks/fastpath_ir.c — the tiny fixed-size loops behind the golden
 * instruction counts of the allocator's fast paths
 * (benchmarks/fastpath_ir_test.sh, benchmarks/golden/fastpath_ir.txt).
 *
 *   fastpath_ir ENTRY [SIZE]      ENTRY: malloc | free | pair | calloc | realloc
 *
 * Run under `valgrind --tool=callgrind --collect-atstart=no` with the
 * allocator LD_PRELOADed: collection is toggled on around the measured calls
 * only, so callgrind's total Ir / the printed "calls=" is the instructions of
 * one call of ENTRY plus a constant loop overhead. Each round allocates a
 * batch of BATCH blocks of SIZE (default 32) bytes and frees them: small
 * enough that every call stays in the thread's caches (the fast path), after
 * warm-up rounds that are not collected.
 *   malloc   the batch's malloc calls        free     the batch's free calls
 *   pair     malloc immediately followed by free of the same block
 *   calloc   calloc(1, SIZE) calls           realloc  realloc(p, SIZE - 1) (same class)
 * Prints "fastpath-ir entry=E size=S calls=N". */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__has_include)
#if __has_include(<valgrind/callgrind.h>)
#include <valgrind/callgrind.h>
#endif
#endif
#ifndef CALLGRIND_TOGGLE_COLLECT
#define CALLGRIND_TOGGLE_COLLECT
#endif

enum { BATCH = 64, ROUNDS = 2000, WARMUP = 50 };

/* Keeps the compiler from pairing or dropping the calls. */
static void *volatile g_sink;

int main(int argc, char **argv) {
  if (argc < 2 || argc > 3) {
    fprintf(stderr, "usage: %s malloc|free|pair|calloc|realloc [SIZE]\n", argv[0]);
    return 2;
  }
  const char *e = argv[1];
  size_t size = argc == 3 ? strtoul(argv[2], NULL, 10) : 32;
  int which = strcmp(e, "malloc") == 0    ? 0
              : strcmp(e, "free") == 0    ? 1
              : strcmp(e, "pair") == 0    ? 2
              : strcmp(e, "calloc") == 0  ? 3
              : strcmp(e, "realloc") == 0 ? 4
                                          : -1;
  if (which < 0 || size < 2 || size > 4096) {
    fprintf(stderr, "%s: bad entry point or size\n", argv[0]);
    return 2;
  }
  void *p[BATCH];
  uint64_t calls = 0;
  for (int r = 0; r < WARMUP + ROUNDS; r++) {
    int on = r >= WARMUP;
    switch (which) {
      case 0:
      case 1:
        if (on && which == 0) CALLGRIND_TOGGLE_COLLECT;
        for (int i = 0; i < BATCH; i++) p[i] = malloc(size);
        if (on && which == 0) CALLGRIND_TOGGLE_COLLECT;
        for (int i = 0; i < BATCH; i++) g_sink = p[i];
        if (on && which == 1) CALLGRIND_TOGGLE_COLLECT;
        for (int i = 0; i < BATCH; i++) free(p[i]);
        if (on && which == 1) CALLGRIND_TOGGLE_COLLECT;
        break;
      case 2:
        if (on) CALLGRIND_TOGGLE_COLLECT;
        for (int i = 0; i < BATCH; i++) {
          void *q = malloc(size);
          g_sink = q;
          free(q);
        }
        if (on) CALLGRIND_TOGGLE_COLLECT;
        break;
      case 3:
        if (on) CALLGRIND_TOGGLE_COLLECT;
        for (int i = 0; i < BATCH; i++) p[i] = calloc(1, size);
        if (on) CALLGRIND_TOGGLE_COLLECT;
        for (int i = 0; i < BATCH; i++) free(p[i]);
        break;
      default:
        for (int i = 0; i < BATCH; i++) p[i] = malloc(size);
        if (on) CALLGRIND_TOGGLE_COLLECT;
        for (int i = 0; i < BATCH; i++) p[i] = realloc(p[i], size - 1);
        if (on) CALLGRIND_TOGGLE_COLLECT;
        for (int i = 0; i < BATCH; i++) free(p[i]);
        break;
    }
    for (int i = 0; i < BATCH; i++) {
      if (which != 2 && p[i] == NULL) {
        fprintf(stderr, "%s: allocation failed\n", argv[0]);
        return 1;
      }
    }
    if (on) calls += BATCH;
  }
  printf("fastpath-ir entry=%s size=%zu calls=%llu\n", e, size, (unsigned long long)calls);
  return 0;
}
