/* hakmem/introspect.c — see introspect.h.
 *
 * glibc's fields and what HAKMEM puts in them (all bytes unless noted):
 *   arena     address space mapped by HAKMEM (os_mapped_bytes) less the
 *             large blocks in use (which are in hblkhd, as glibc's mmapped
 *             chunks are)
 *   ordblks   free blocks in the small classes' ACTIVE slabs (count)
 *   smblks, usmblks, fsmblks   0 (no fastbins; glibc's usmblks is 0 too)
 *   hblks     large (> 32 KiB) blocks in use (count)
 *   hblkhd    bytes of the large blocks in use
 *   uordblks  bytes of small (<= 32 KiB) blocks in use, at their class size;
 *             blocks held in thread caches count as in use
 *   fordblks  arena - uordblks: free small-block space, EMPTY slabs, cached
 *             SuperSlabs and large spans, metadata
 *   keepcost  what malloc_trim could give back at once: cached large spans
 *             and empty cached SuperSlabs
 * In use by the program = uordblks + hblkhd, as with glibc. */
#define _GNU_SOURCE
#include "hakmem/introspect.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "hakmem/alloc.h"
#include "hakmem/core/lock.h"
#include "hakmem/core/size_class.h"
#include "hakmem/large/large.h"
#include "hakmem/policy/policy.h"
#include "hakmem/segment/segment.h"

#define SS_BYTES ((uint64_t)2 << 20)

typedef struct figures {
  hak_stats_t st;
  hk_seg_usage_t use;
  uint64_t small_used_bytes;
  uint64_t small_free_bytes;
  uint64_t small_free_blocks;
  uint64_t arena;
} figures_t;

static void figures_get(figures_t *f) {
  memset(f, 0, sizeof(*f));
  f->st.size = sizeof(f->st);
  hk_api_stats(&f->st);
  hk_seg_usage_get(&f->use);
  for (unsigned c = 0; c < HAK_SMALL_CLASSES; c++) {
    f->small_used_bytes += f->use.used_blocks[c] * hk_class_size[c];
    f->small_free_bytes += f->use.free_blocks[c] * hk_class_size[c];
    f->small_free_blocks += f->use.free_blocks[c];
  }
  uint64_t mapped = f->st.os_mapped_bytes;
  f->arena = mapped > f->st.large_live_bytes ? mapped - f->st.large_live_bytes : 0;
  /* The counters are read one after the other: never report less arena than
   * what is in use in it. */
  if (f->arena < f->small_used_bytes) f->arena = f->small_used_bytes;
}

struct mallinfo2 hk_introspect_mallinfo2(void) {
  figures_t f;
  figures_get(&f);
  struct mallinfo2 m;
  memset(&m, 0, sizeof(m));
  m.arena = f.arena;
  m.ordblks = f.small_free_blocks;
  m.hblks = f.st.large_live;
  m.hblkhd = f.st.large_live_bytes;
  m.uordblks = f.small_used_bytes;
  m.fordblks = f.arena - f.small_used_bytes;
  m.keepcost = f.st.large_cached_bytes + f.st.superslabs_cached * SS_BYTES;
  return m;
}

static int clamp_int(size_t v) { return v > (size_t)INT_MAX ? INT_MAX : (int)v; }

/* glibc's mallinfo wraps its int fields around; HAKMEM's saturate at INT_MAX. */
struct mallinfo hk_introspect_mallinfo(void) {
  struct mallinfo2 m2 = hk_introspect_mallinfo2();
  struct mallinfo m;
  memset(&m, 0, sizeof(m));
  m.arena = clamp_int(m2.arena);
  m.ordblks = clamp_int(m2.ordblks);
  m.hblks = clamp_int(m2.hblks);
  m.hblkhd = clamp_int(m2.hblkhd);
  m.uordblks = clamp_int(m2.uordblks);
  m.fordblks = clamp_int(m2.fordblks);
  m.keepcost = clamp_int(m2.keepcost);
  return m;
}

static void write_all(int fd, const char *s, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, s, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return;
    s += w;
    n -= (size_t)w;
  }
}

/* glibc prints one block per arena, then the totals. HAKMEM has one heap:
 * "Arena 0" is the small-block space, the totals add the large blocks.
 * glibc's "max mmap" lines are high-water marks; HAKMEM prints the current
 * large blocks there (it keeps no maximum). */
void hk_introspect_malloc_stats(void) {
  int saved = errno;
  figures_t f;
  figures_get(&f);
  char buf[512];
  int n = snprintf(buf, sizeof(buf),
                   "Arena 0:\n"
                   "system bytes     = %10llu\n"
                   "in use bytes     = %10llu\n"
                   "Total (incl. mmap):\n"
                   "system bytes     = %10llu\n"
                   "in use bytes     = %10llu\n"
                   "max mmap regions = %10llu\n"
                   "max mmap bytes   = %10llu\n",
                   (unsigned long long)f.arena, (unsigned long long)f.small_used_bytes,
                   (unsigned long long)(f.arena + f.st.large_live_bytes),
                   (unsigned long long)(f.small_used_bytes + f.st.large_live_bytes),
                   (unsigned long long)f.st.large_live, (unsigned long long)f.st.large_live_bytes);
  if (n > 0) write_all(2, buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
  errno = saved;
}

/* Appends to buf at *len (bounded; the buffer is sized for the whole text). */
static void put(char *buf, size_t cap, size_t *len, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void put(char *buf, size_t cap, size_t *len, const char *fmt, ...) {
  if (*len >= cap) return;
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf + *len, cap - *len, fmt, ap);
  va_end(ap);
  if (n > 0) *len = *len + (size_t)n < cap ? *len + (size_t)n : cap - 1;
}

/* glibc's shape: <malloc version="1"><heap nr="0"><sizes> one <size> per
 * bin of free chunks </sizes> totals, system and aspace </heap> process
 * totals </malloc>. HAKMEM's bins are its small classes (from = to = the
 * block size; total, count: the free blocks in ACTIVE slabs); "rest" is the
 * free small-block space, "mmap" the large blocks in use, "system" the
 * mapped bytes (current; HAKMEM keeps no maximum, so max = current). */
int hk_introspect_malloc_info(int options, FILE *fp) {
  if (options != 0 || fp == NULL) return EINVAL;
  figures_t f;
  figures_get(&f);
  char buf[6144];
  size_t len = 0;
  const size_t cap = sizeof(buf);
  const unsigned long long mapped = (unsigned long long)f.st.os_mapped_bytes;
  put(buf, cap, &len, "<malloc version=\"1\">\n<heap nr=\"0\">\n<sizes>\n");
  for (unsigned c = 0; c < HAK_SMALL_CLASSES; c++) {
    if (f.use.free_blocks[c] == 0) continue;
    put(buf, cap, &len, "  <size from=\"%u\" to=\"%u\" total=\"%llu\" count=\"%llu\"/>\n", hk_class_size[c],
        hk_class_size[c], (unsigned long long)(f.use.free_blocks[c] * hk_class_size[c]),
        (unsigned long long)f.use.free_blocks[c]);
  }
  put(buf, cap, &len, "</sizes>\n<total type=\"fast\" count=\"0\" size=\"0\"/>\n");
  put(buf, cap, &len, "<total type=\"rest\" count=\"%llu\" size=\"%llu\"/>\n",
      (unsigned long long)f.small_free_blocks, (unsigned long long)f.small_free_bytes);
  put(buf, cap, &len, "<system type=\"current\" size=\"%llu\"/>\n<system type=\"max\" size=\"%llu\"/>\n",
      (unsigned long long)f.arena, (unsigned long long)f.arena);
  put(buf, cap, &len, "<aspace type=\"total\" size=\"%llu\"/>\n<aspace type=\"mprotect\" size=\"%llu\"/>\n",
      (unsigned long long)f.arena, (unsigned long long)f.arena);
  put(buf, cap, &len, "</heap>\n<total type=\"fast\" count=\"0\" size=\"0\"/>\n");
  put(buf, cap, &len, "<total type=\"rest\" count=\"%llu\" size=\"%llu\"/>\n",
      (unsigned long long)f.small_free_blocks, (unsigned long long)f.small_free_bytes);
  put(buf, cap, &len, "<total type=\"mmap\" count=\"%llu\" size=\"%llu\"/>\n",
      (unsigned long long)f.st.large_live, (unsigned long long)f.st.large_live_bytes);
  put(buf, cap, &len, "<system type=\"current\" size=\"%llu\"/>\n<system type=\"max\" size=\"%llu\"/>\n", mapped,
      mapped);
  put(buf, cap, &len, "<aspace type=\"total\" size=\"%llu\"/>\n<aspace type=\"mprotect\" size=\"%llu\"/>\n", mapped,
      mapped);
  put(buf, cap, &len, "</malloc>\n");
  /* No HAKMEM lock is held here: fwrite may allocate its buffer. */
  fwrite(buf, 1, len, fp);
  return 0;
}

/* ---- mallopt ---------------------------------------------------------- */

static hk_lock_t g_opt_lock;
static hk_large_config_t g_large_cfg;
static int g_large_cfg_set;

/* glibc's limits for its return values (64-bit). */
#define GLIBC_MAX_FAST_SIZE 160                       /* 80 * sizeof(size_t) / 4 */
#define GLIBC_MMAP_THRESHOLD_MAX ((unsigned long)32 << 20) /* HEAP_MAX_SIZE / 2 */

int hk_introspect_mallopt(int param, int value) {
  switch (param) {
    case M_TRIM_THRESHOLD: {
      /* glibc keeps up to this many free bytes before giving memory back;
       * HAKMEM's equivalent bound is its cache of freed large spans
       * (HAKMEM_LARGE_CACHE_BYTES). The purge delay stays as configured. */
      /* Initialise first, or the first malloc would configure the large box
       * from the policy snapshot over this setting. */
      hak_front_stats_t probe;
      probe.size = (uint32_t)offsetof(hak_front_stats_t, profile);
      hk_api_front_stats(&probe);
      hk_lock(&g_opt_lock);
      if (!g_large_cfg_set) {
        const hk_policy_t *pol = hk_policy_get();
        g_large_cfg.purge_delay_ms = (uint32_t)pol->large_purge_delay_ms;
        g_large_cfg_set = 1;
      }
      g_large_cfg.cache_bytes = (size_t)(unsigned long)(long)value; /* -1: no bound, as glibc */
      hk_large_configure(&g_large_cfg);
      hk_unlock(&g_opt_lock);
      return 1;
    }
    case M_MXFAST:
      /* No fastbins: accepted in glibc's range and ignored. */
      return value >= 0 && value <= GLIBC_MAX_FAST_SIZE;
    case M_MMAP_THRESHOLD:
      /* HAKMEM's large boundary (32 KiB) is fixed and large blocks never pay
       * a system call each: accepted in glibc's range and ignored. */
      return (unsigned long)(long)value <= GLIBC_MMAP_THRESHOLD_MAX;
    default:
      /* M_TOP_PAD, M_MMAP_MAX, M_CHECK_ACTION, M_PERTURB, M_ARENA_TEST,
       * M_ARENA_MAX and unknown parameters: glibc accepts them (1);
       * HAKMEM has nothing they map to and ignores them. */
      return 1;
  }
}
