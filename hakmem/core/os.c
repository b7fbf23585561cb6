/* hakmem/core/os.c — mmap-based implementation of hakmem/core/os.h, with
 * its test-only fault injection hook. */
#define _GNU_SOURCE
#include "hakmem/core/os.h"

#include <errno.h>
#include <sys/mman.h>
#include <unistd.h>

#include "hakmem/core/atomic.h"
#include "hakmem/core/bits.h"

/* Every public function leaves errno as it found it (the result is returned
 * instead): free() and friends must not clobber the caller's errno. */

static hk_atomic_word g_page_size;
static hk_atomic_word g_mmap_calls, g_munmap_calls, g_madvise_calls;
static hk_atomic_word g_mapped_bytes, g_purged_bytes;
/* Start of the last mapping made with an alignment above the page size:
 * where the next such mapping is tried (just below it). */
static hk_atomic_word g_align_hint;

size_t hk_os_page_size(void) {
  size_t ps = hk_atomic_load_relaxed(&g_page_size);
  if (HAK_UNLIKELY(ps == 0)) {
    long v = sysconf(_SC_PAGESIZE);
    ps = v > 0 ? (size_t)v : 4096u;
    hk_atomic_store_relaxed(&g_page_size, ps);
  }
  return ps;
}

/* ---- fault injection (test-only, see os.h) ---------------------------------
 * g_fault_armed has bit op set while op has a rule: the only cost when no
 * test uses the hook is its relaxed load in fault_check. The rules, their
 * counters and generators are guarded by g_fault_lock (a spin lock: this
 * file has no other lock, and it is only taken while a rule is set). */

typedef struct fault_state {
  hk_os_fault_t rule;
  bool active;
  uint64_t matched, injected, rng;
} fault_state_t;

static hk_atomic_u32 g_fault_armed;
static hk_atomic_u32 g_fault_lock;
static fault_state_t g_fault[HK_OS_FAULT_OPS];

static void fault_lock(void) {
  while (hk_atomic_exchange_acquire(&g_fault_lock, 1u) != 0) {
    while (hk_atomic_load_relaxed(&g_fault_lock) != 0) hk_cpu_relax();
  }
}

static void fault_unlock(void) { hk_atomic_store_release(&g_fault_lock, 0u); }

static uint64_t fault_next(uint64_t *s) { /* xorshift64* */
  uint64_t x = *s;
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  *s = x;
  return x * 0x2545F4914F6CDD1Dull;
}

static HAK_NOINLINE int fault_decide(unsigned op, size_t size) {
  int rc = 0;
  fault_lock();
  fault_state_t *f = &g_fault[op];
  if (f->active && size >= f->rule.min_size && (f->rule.max_size == 0 || size <= f->rule.max_size)) {
    uint64_t n = f->matched++;
    bool window = n >= f->rule.after && (f->rule.count == 0 || n - f->rule.after < f->rule.count);
    if (window && (f->rule.ppm == 0 || fault_next(&f->rng) % 1000000u < f->rule.ppm)) {
      f->injected++;
      rc = f->rule.error != 0 ? f->rule.error : ENOMEM;
    }
  }
  fault_unlock();
  return rc;
}

/* 0, or the error a test wants op to fail with (before any system call). */
HAK_INLINE int fault_check(unsigned op, size_t size) {
  if (HAK_LIKELY(((hk_atomic_load_relaxed(&g_fault_armed) >> op) & 1u) == 0)) return 0;
  return fault_decide(op, size);
}

void hk_os_fault_set(hk_os_fault_op_t op, const hk_os_fault_t *rule) {
  if ((unsigned)op >= HK_OS_FAULT_OPS) return;
  fault_lock();
  fault_state_t *f = &g_fault[op];
  f->rule = *rule;
  f->active = true;
  f->matched = f->injected = 0;
  f->rng = rule->seed * 0x9E3779B97F4A7C15ull + 0x1234567ull;
  if (f->rng == 0) f->rng = 1;
  atomic_fetch_or_explicit(&g_fault_armed, 1u << op, memory_order_relaxed);
  fault_unlock();
}

void hk_os_fault_clear(hk_os_fault_op_t op) {
  if ((unsigned)op >= HK_OS_FAULT_OPS) return;
  fault_lock();
  g_fault[op].active = false;
  atomic_fetch_and_explicit(&g_fault_armed, ~(1u << op), memory_order_relaxed);
  fault_unlock();
}

void hk_os_fault_clear_all(void) {
  for (unsigned op = 0; op < HK_OS_FAULT_OPS; op++) hk_os_fault_clear((hk_os_fault_op_t)op);
}

uint64_t hk_os_fault_matched(hk_os_fault_op_t op) {
  if ((unsigned)op >= HK_OS_FAULT_OPS) return 0;
  fault_lock();
  uint64_t n = g_fault[op].matched;
  fault_unlock();
  return n;
}

uint64_t hk_os_fault_injected(hk_os_fault_op_t op) {
  if ((unsigned)op >= HK_OS_FAULT_OPS) return 0;
  fault_lock();
  uint64_t n = g_fault[op].injected;
  fault_unlock();
  return n;
}

/* ---- the OS calls ---------------------------------------------------------- */

static bool page_aligned(const void *p, size_t size) {
  size_t ps = hk_os_page_size();
  return size != 0 && hk_bits_is_aligned((uintptr_t)p, ps) && hk_bits_is_aligned(size, ps);
}

static int os_munmap(void *p, size_t size) {
  hk_atomic_add_relaxed(&g_munmap_calls, 1);
  if (munmap(p, size) != 0) return errno;
  hk_atomic_sub_relaxed(&g_mapped_bytes, size);
  return 0;
}

static int os_reserve_aligned_impl(size_t size, size_t align, bool commit, void **out) {
  *out = NULL;
  size_t ps = hk_os_page_size();
  if (!hk_bits_is_pow2(align) || align < ps || !page_aligned(NULL, size)) return EINVAL;
  size_t over = size + align - ps;
  if (over < size) return ENOMEM; /* overflow */
  int injected = fault_check(HK_OS_FAULT_MAP, size);
  if (HAK_UNLIKELY(injected != 0)) return injected;
  int prot = commit ? PROT_READ | PROT_WRITE : PROT_NONE;
  int flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE;
  hk_atomic_add_relaxed(&g_mmap_calls, 1);
  /* Try the exact size first, at the aligned address just below the last
   * aligned mapping (the kernel maps top-down, so that range is usually
   * free and the hint is taken): no over-mapping and no trimming munmaps,
   * which matters near an address-space limit. Without a hint (or when the
   * kernel does not take it) the kernel's address is used if aligned. */
  void *hint = NULL;
  uintptr_t below = hk_atomic_load_relaxed(&g_align_hint);
  if (align > ps && below > size + align + ((uintptr_t)1 << 30)) {
    hint = (void *)hk_bits_align_down(below - size, align);
  }
  void *p = mmap(hint, size, prot, flags, -1, 0);
  if (p == MAP_FAILED) return errno == EINVAL ? EINVAL : ENOMEM;
  hk_atomic_add_relaxed(&g_mapped_bytes, size);
  if (hk_bits_is_aligned((uintptr_t)p, align)) {
    if (align > ps) hk_atomic_store_relaxed(&g_align_hint, (uintptr_t)p);
    *out = p;
    return 0;
  }
  os_munmap(p, size);
  hk_atomic_add_relaxed(&g_mmap_calls, 1);
  p = mmap(NULL, over, prot, flags, -1, 0);
  if (p == MAP_FAILED) return ENOMEM;
  hk_atomic_add_relaxed(&g_mapped_bytes, over);
  uintptr_t base = (uintptr_t)p;
  uintptr_t aligned = hk_bits_align_up(base, align);
  size_t head = aligned - base, tail = over - head - size;
  if (head) os_munmap(p, head);
  if (tail) os_munmap((void *)(aligned + size), tail);
  hk_atomic_store_relaxed(&g_align_hint, aligned);
  *out = (void *)aligned;
  return 0;
}

static int os_commit_impl(void *p, size_t size) {
  if (!page_aligned(p, size)) return EINVAL;
  int injected = fault_check(HK_OS_FAULT_COMMIT, size);
  if (HAK_UNLIKELY(injected != 0)) return injected;
  return mprotect(p, size, PROT_READ | PROT_WRITE) == 0 ? 0 : errno;
}

static int os_decommit_impl(void *p, size_t size) {
  if (!page_aligned(p, size)) return EINVAL;
  int injected = fault_check(HK_OS_FAULT_DECOMMIT, size);
  if (HAK_UNLIKELY(injected != 0)) return injected;
  /* Replacing the mapping drops the pages and the commit charge at once. */
  hk_atomic_add_relaxed(&g_mmap_calls, 1);
  void *q = mmap(p, size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1, 0);
  if (q == MAP_FAILED) return errno;
  hk_atomic_add_relaxed(&g_purged_bytes, size);
  return 0;
}

static int os_purge_impl(void *p, size_t size) {
  if (!page_aligned(p, size)) return EINVAL;
  int injected = fault_check(HK_OS_FAULT_PURGE, size);
  if (HAK_UNLIKELY(injected != 0)) return injected;
  hk_atomic_add_relaxed(&g_madvise_calls, 1);
  if (madvise(p, size, MADV_DONTNEED) != 0) return errno;
  hk_atomic_add_relaxed(&g_purged_bytes, size);
  return 0;
}

static int os_release_impl(void *p, size_t size) {
  if (!page_aligned(p, size)) return EINVAL;
  int injected = fault_check(HK_OS_FAULT_RELEASE, size);
  if (HAK_UNLIKELY(injected != 0)) return injected;
  return os_munmap(p, size);
}

const char *hk_os_error_name(int err) {
  switch (err) {
    case 0: return "OK";
    case ENOMEM: return "ENOMEM";
    case EINVAL: return "EINVAL";
    case EAGAIN: return "EAGAIN";
    case EPERM: return "EPERM";
    case EACCES: return "EACCES";
    default: return "error";
  }
}

void hk_os_stats_get(hk_os_stats_t *out) {
  out->mmap_calls = hk_atomic_load_relaxed(&g_mmap_calls);
  out->munmap_calls = hk_atomic_load_relaxed(&g_munmap_calls);
  out->madvise_calls = hk_atomic_load_relaxed(&g_madvise_calls);
  out->mapped_bytes = hk_atomic_load_relaxed(&g_mapped_bytes);
  out->purged_bytes = hk_atomic_load_relaxed(&g_purged_bytes);
}

int hk_os_reserve_aligned(size_t size, size_t align, bool commit, void **out) {
  int saved = errno;
  int rc = os_reserve_aligned_impl(size, align, commit, out);
  errno = saved;
  return rc;
}

int hk_os_commit(void *p, size_t size) {
  int saved = errno;
  int rc = os_commit_impl(p, size);
  errno = saved;
  return rc;
}

int hk_os_decommit(void *p, size_t size) {
  int saved = errno;
  int rc = os_decommit_impl(p, size);
  errno = saved;
  return rc;
}

int hk_os_purge(void *p, size_t size) {
  int saved = errno;
  int rc = os_purge_impl(p, size);
  errno = saved;
  return rc;
}

#if defined(__linux__) && defined(MREMAP_DONTUNMAP)
/* Whether mremap(MREMAP_DONTUNMAP) keeps the source mapped as this process
 * sees it: probed once on two scratch pages (moving one, then asking mincore
 * about the source). qemu-user 7.2 keeps the source mapped on the host but
 * reports it unmapped and may hand the range out again, so moves are only
 * used where the kernel's answer holds. 0 unknown, 1 usable, 2 not. */
static hk_atomic_u32 g_move_state;

static bool move_usable(void) {
  uint32_t st = hk_atomic_load_acquire(&g_move_state);
  if (st != 0) return st == 1;
  size_t pg = (size_t)sysconf(_SC_PAGESIZE);
  bool ok = false;
  char *m = mmap(NULL, 2 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (m != MAP_FAILED) {
    m[0] = 1;
    unsigned char vec;
    void *r = mremap(m, pg, pg, MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP, m + pg);
    ok = r != MAP_FAILED && m[pg] == 1 && mincore(m, pg, &vec) == 0;
    munmap(m, 2 * pg);
  }
  hk_atomic_store_release(&g_move_state, ok ? 1u : 2u);
  return ok;
}
#endif

int hk_os_move(void *from, size_t size, void *to) {
  if (!page_aligned(from, size) || !page_aligned(to, size) || size == 0) return EINVAL;
#if defined(__linux__) && defined(MREMAP_DONTUNMAP)
  int saved = errno;
  if (!move_usable()) {
    errno = saved;
    return ENOSYS;
  }
  void *r = mremap(from, size, size, MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP, to);
  int rc = r == MAP_FAILED ? errno : 0;
  errno = saved;
  return rc;
#else
  return ENOSYS;
#endif
}

int hk_os_release(void *p, size_t size) {
  int saved = errno;
  int rc = os_release_impl(p, size);
  errno = saved;
  return rc;
}
