/* glibc's introspection calls answered by HAKMEM: built twice
 * (tests/interface/BUILD.bazel) -- linked with //hakmem:malloc_shim
 * (introspect_static_test) and as a plain C program run with
 * LD_PRELOAD=libhakmem.so (introspect_preload_test.sh, which also parses the
 * malloc_info XML this program writes to argv[1]).
 *
 * Checks (the bounds are HAKMEM's documented rounding, README "glibc
 * introspection"): mallinfo2/mallinfo come from HAKMEM (dladdr); uordblks
 * grows by the class-rounded bytes of N small blocks, within the thread
 * cache's slack, and falls back after they are freed; hblks/hblkhd count the
 * large blocks exactly as hak_stats_get does; arena = uordblks + fordblks;
 * mallinfo equals mallinfo2 for small numbers; malloc_stats prints glibc's
 * lines on stderr; malloc_info writes while stdio allocates (no deadlock)
 * and rejects options != 0 with EINVAL; mallopt returns glibc's values and
 * M_TRIM_THRESHOLD bounds the large-span cache. Exit status 0 = all pass. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hakmem/hakmem.h"

static int failures;
#define CHECK(cond, ...)                                       \
  do {                                                         \
    if (!(cond)) {                                             \
      failures++;                                              \
      fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond); \
      fprintf(stderr, __VA_ARGS__);                            \
      fputc('\n', stderr);                                     \
    }                                                          \
  } while (0)

typedef void (*stats_fn)(hak_stats_t *);

static stats_fn stats_get(void) {
#ifdef HAK_INTROSPECT_STATIC
  return hak_stats_get;
#else
  return (stats_fn)dlsym(RTLD_DEFAULT, "hak_stats_get");
#endif
}

static hak_stats_t stats(void) {
  hak_stats_t st;
  memset(&st, 0, sizeof(st));
  st.size = sizeof(st);
  stats_get()(&st);
  return st;
}

enum { kN = 20000, kSize = 100, kClass = 128 };
static const size_t kSlack = 256 * 1024; /* thread caches: refill batches, bounded lists */

int main(int argc, char **argv) {
  const char *xml_path = argc > 1 ? argv[1] : NULL;
  /* 1. The calls are HAKMEM's, not the C library's. */
  Dl_info lib, self;
  CHECK(dladdr((void *)mallinfo2, &lib) != 0 && dladdr((void *)main, &self) != 0, "dladdr failed");
#ifdef HAK_INTROSPECT_STATIC
  CHECK(strcmp(lib.dli_fname, self.dli_fname) == 0, "mallinfo2 is in %s, not in the program", lib.dli_fname);
#else
  CHECK(strstr(lib.dli_fname, "libhakmem") != NULL, "mallinfo2 comes from %s, not libhakmem.so", lib.dli_fname);
#endif
  CHECK(stats_get() != NULL, "hak_stats_get not found");
  if (failures) return 1;

  /* 2. uordblks tracks the small blocks in use. */
  static void *p[kN];
  struct mallinfo2 m0 = mallinfo2();
  for (int i = 0; i < kN; i++) {
    p[i] = malloc(kSize);
    CHECK(p[i] != NULL, "malloc");
    memset(p[i], i, kSize);
  }
  struct mallinfo2 m1 = mallinfo2();
  const size_t want = (size_t)kN * kClass;
  printf("uordblks %zu -> %zu (+%zu for %d x %d B, class %d B)\n", m0.uordblks, m1.uordblks,
         m1.uordblks - m0.uordblks, kN, kSize, kClass);
  CHECK(m1.uordblks + kSlack >= m0.uordblks + want && m1.uordblks <= m0.uordblks + want + kSlack,
        "uordblks grew by %zu, expected %zu +- %zu", m1.uordblks - m0.uordblks, want, kSlack);
  CHECK(m1.arena == m1.uordblks + m1.fordblks, "arena %zu != uordblks %zu + fordblks %zu", m1.arena, m1.uordblks,
        m1.fordblks);
  CHECK(m1.arena >= want, "arena %zu smaller than the blocks in use", m1.arena);
  for (int i = 0; i < kN; i++) free(p[i]);
  struct mallinfo2 m2 = mallinfo2();
  printf("uordblks after free %zu\n", m2.uordblks);
  CHECK(m2.uordblks <= m0.uordblks + kSlack, "uordblks %zu after free, was %zu", m2.uordblks, m0.uordblks);

  /* 3. Large blocks: hblks and hblkhd, exactly hak_stats_get's numbers. */
  hak_stats_t s0 = stats();
  struct mallinfo2 l0 = mallinfo2();
  CHECK(l0.hblks == s0.large_live && l0.hblkhd == s0.large_live_bytes, "hblks %zu/%llu hblkhd %zu/%llu", l0.hblks,
        (unsigned long long)s0.large_live, l0.hblkhd, (unsigned long long)s0.large_live_bytes);
  char *volatile a = malloc(100 * 1024);
  char *volatile b = malloc(3 * 1024 * 1024);
  CHECK(a != NULL && b != NULL, "large malloc");
  a[0] = b[0] = 1;
  struct mallinfo2 l1 = mallinfo2();
  hak_stats_t s1 = stats();
  printf("hblks %zu -> %zu, hblkhd %zu -> %zu\n", l0.hblks, l1.hblks, l0.hblkhd, l1.hblkhd);
  CHECK(l1.hblks == l0.hblks + 2, "hblks %zu -> %zu", l0.hblks, l1.hblks);
  CHECK(l1.hblkhd >= l0.hblkhd + 100 * 1024 + 3 * 1024 * 1024 && l1.hblkhd == s1.large_live_bytes,
        "hblkhd %zu -> %zu (hak_stats %llu)", l0.hblkhd, l1.hblkhd, (unsigned long long)s1.large_live_bytes);
  CHECK(l1.hblkhd <= l0.hblkhd + 100 * 1024 + 3 * 1024 * 1024 + 2 * 4096 + 2 * 1024 * 1024,
        "hblkhd grew by %zu", l1.hblkhd - l0.hblkhd);

  /* 4. mallinfo: the same numbers in ints. */
  struct mallinfo2 mi2 = mallinfo2();
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
  struct mallinfo mi = mallinfo(); /* deprecated by glibc, still called by programs */
#pragma GCC diagnostic pop
  CHECK((size_t)mi.hblks == mi2.hblks && (size_t)mi.hblkhd == mi2.hblkhd, "mallinfo hblks %d hblkhd %d", mi.hblks,
        mi.hblkhd);
  CHECK(mi.uordblks > 0 && (size_t)mi.uordblks + kSlack >= mi2.uordblks && (size_t)mi.uordblks <= mi2.uordblks + kSlack,
        "mallinfo uordblks %d, mallinfo2 %zu", mi.uordblks, mi2.uordblks);

  /* 5. malloc_stats: glibc's lines on stderr. */
  char tmpl[] = "/tmp/hak_introspect_XXXXXX";
  const char *dir = getenv("TEST_TMPDIR");
  char path[512];
  snprintf(path, sizeof(path), "%s/malloc_stats.txt", dir ? dir : "/tmp");
  int fd = dir ? open(path, O_RDWR | O_CREAT | O_TRUNC, 0600) : mkstemp(tmpl);
  CHECK(fd >= 0, "open");
  fflush(stderr);
  int saved = dup(2);
  dup2(fd, 2);
  malloc_stats();
  dup2(saved, 2);
  close(saved);
  char text[1024] = {0};
  ssize_t n = pread(fd, text, sizeof(text) - 1, 0);
  close(fd);
  CHECK(n > 0 && strstr(text, "Arena 0:\nsystem bytes     = ") != NULL && strstr(text, "Total (incl. mmap):\n") &&
            strstr(text, "in use bytes     = ") && strstr(text, "max mmap regions = "),
        "malloc_stats printed:\n%s", text);
  printf("malloc_stats:\n%s", text);

  /* 6. malloc_info: open_memstream allocates (through HAKMEM) as it is
   * written: no HAKMEM lock may be held then. */
  char *buf = NULL;
  size_t len = 0;
  FILE *ms = open_memstream(&buf, &len);
  CHECK(ms != NULL, "open_memstream");
  CHECK(malloc_info(0, ms) == 0, "malloc_info(0) failed");
  fclose(ms);
  char mmap_line[128];
  snprintf(mmap_line, sizeof(mmap_line), "<total type=\"mmap\" count=\"%zu\" size=\"%zu\"/>", mallinfo2().hblks,
           mallinfo2().hblkhd);
  CHECK(buf != NULL && strncmp(buf, "<malloc version=\"1\">\n<heap nr=\"0\">\n<sizes>\n", 42) == 0 &&
            strstr(buf, "</malloc>\n") != NULL && strstr(buf, mmap_line) != NULL,
        "malloc_info wrote:\n%s\n(expected %s)", buf ? buf : "(null)", mmap_line);
  free(buf);
  CHECK(malloc_info(1, stdout) == EINVAL, "malloc_info(1) must return EINVAL as glibc");
  if (xml_path != NULL) {
    FILE *f = fopen(xml_path, "w");
    CHECK(f != NULL && malloc_info(0, f) == 0, "malloc_info to %s", xml_path);
    if (f) fclose(f);
  }
  free(a);
  free(b);
  struct mallinfo2 l2 = mallinfo2();
  CHECK(l2.hblks == l0.hblks && l2.hblkhd == l0.hblkhd, "hblks %zu hblkhd %zu after free", l2.hblks, l2.hblkhd);

  /* 7. mallopt: glibc's return values; M_TRIM_THRESHOLD bounds the cache of
   * freed large spans (a freed span stays cached only below the bound). */
  CHECK(mallopt(M_MMAP_THRESHOLD, 1 << 20) == 1, "M_MMAP_THRESHOLD 1 MiB");
  CHECK(mallopt(M_MMAP_THRESHOLD, 64 << 20) == 0, "M_MMAP_THRESHOLD 64 MiB (glibc: > 32 MiB rejected)");
  CHECK(mallopt(M_MXFAST, 64) == 1 && mallopt(M_MXFAST, 200) == 0, "M_MXFAST");
  CHECK(mallopt(M_ARENA_MAX, 2) == 1 && mallopt(M_TOP_PAD, 0) == 1 && mallopt(12345, 1) == 1, "ignored options");
  CHECK(mallopt(M_TRIM_THRESHOLD, 0) == 1, "M_TRIM_THRESHOLD 0");
  char *volatile c = malloc(200 * 1024);
  c[0] = 1;
  free(c);
  hak_stats_t t0 = stats();
  CHECK(t0.large_cached_bytes == 0, "M_TRIM_THRESHOLD 0: %llu bytes cached after a free",
        (unsigned long long)t0.large_cached_bytes);
  CHECK(mallopt(M_TRIM_THRESHOLD, 64 << 20) == 1, "M_TRIM_THRESHOLD 64 MiB");
  c = malloc(200 * 1024);
  c[0] = 1;
  free(c);
  hak_stats_t t1 = stats();
  CHECK(t1.large_cached_bytes >= 200 * 1024, "M_TRIM_THRESHOLD 64 MiB: %llu bytes cached after a free",
        (unsigned long long)t1.large_cached_bytes);
  printf("large cache after a 200 KiB free: %llu B with M_TRIM_THRESHOLD 0, %llu B with 64 MiB\n",
         (unsigned long long)t0.large_cached_bytes, (unsigned long long)t1.large_cached_bytes);
  printf(failures ? "FAILED (%d)\n" : "PASS\n", failures);
  return failures != 0;
}
